#if canImport(Glibc)
import Glibc
#endif

/// Shell-style name matching (fnmatch(3) without flags): `*`, `?` and `[...]` on one file name.
public enum Glob {
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}

/// Globs compiled for matching many names: literal names in a set, `literal*` as prefixes, `*literal` as suffixes,
/// and the rest through fnmatch once the name starts with the pattern's literal head. A scan asks "does any rule
/// glob match this file's names" for every file it sees.
public struct GlobSet: Sendable {
    private let literals: Set<String>
    private let prefixes: [[UInt8]]
    private let suffixes: [[UInt8]]
    private let others: [(head: [UInt8], pattern: String)]

    public init(_ patterns: [String]) {
        var literals: Set<String> = [], prefixes: [[UInt8]] = [], suffixes: [[UInt8]] = []
        var others: [(head: [UInt8], pattern: String)] = []
        for pattern in patterns {
            let bytes = Array(pattern.utf8)
            let specials = bytes.indices.filter { Self.isSpecial(bytes[$0]) }
            let star = UInt8(ascii: "*")
            if specials.isEmpty {
                literals.insert(pattern)
            } else if specials == [bytes.count - 1], bytes.last == star {
                prefixes.append(Array(bytes.dropLast()))
            } else if specials == [0], bytes.first == star {
                suffixes.append(Array(bytes.dropFirst()))
            } else {
                others.append((Array(bytes[..<specials[0]]), pattern))
            }
        }
        self.literals = literals
        self.prefixes = prefixes
        self.suffixes = suffixes
        self.others = others
    }

    public func matches(_ name: String) -> Bool {
        let bytes = name.utf8
        // String equality is Unicode-canonical; fnmatch compares bytes, so a literal hit is confirmed byte for byte.
        if let literal = literals.firstIndex(of: name), literals[literal].utf8.elementsEqual(bytes) { return true }
        return prefixes.contains { bytes.starts(with: $0) }
            || suffixes.contains { bytes.count >= $0.count && bytes.suffix($0.count).elementsEqual($0) }
            || others.contains { bytes.starts(with: $0.head) && Glob.matches($0.pattern, name) }
    }

    private static func isSpecial(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "\\")
    }

    /// Whether any of `names` matches any glob.
    public func matchesAny(_ names: [String]) -> Bool {
        names.contains(where: matches)
    }
}
