import HostIO
import Rules

/// Finds the byte-signature rules' patterns in a file's bytes.
///
/// Each pattern is searched by its longest run of fixed bytes (memmem), and each hit is then checked against the
/// whole pattern, wildcards included.
public struct ByteMatcher: Sendable {
    struct CompiledPattern: Sendable {
        var id: String
        var pattern: BytePattern
        var anchor: [UInt8]
        var anchorOffset: Int
    }

    struct CompiledRule: Sendable {
        var globs: GlobSet
        var patterns: [CompiledPattern]
    }

    private let rules: [CompiledRule]
    /// Every byte rule's globs together, for `applies(to:)`.
    private let anyGlob: GlobSet

    public init(rules: [Rule]) {
        var globs: [String] = []
        self.rules = rules.compactMap { rule in
            guard case .byteSignature(let match) = rule.match else { return nil }
            globs += match.files
            return CompiledRule(globs: GlobSet(match.files), patterns: match.patterns.enumerated().map { index, pattern in
                let (anchor, offset) = Self.anchor(of: pattern)
                return CompiledPattern(id: Self.patternID(rule: rule.id, index: index), pattern: pattern, anchor: anchor, anchorOffset: offset)
            })
        }
        anyGlob = GlobSet(globs)
    }

    public static func patternID(rule: String, index: Int) -> String { "\(rule)#\(index)" }

    /// Whether any byte rule applies to a file known by these names.
    public func applies(to names: [String]) -> Bool {
        anyGlob.matchesAny(names)
    }

    /// The ids ("rule#index") of the patterns found in `bytes`, for the rules whose globs match `names`.
    public func matches(names: [String], bytes: [UInt8]) -> [String] {
        var found: [String] = []
        for rule in rules where rule.globs.matchesAny(names) {
            for pattern in rule.patterns where Self.contains(pattern, in: bytes) {
                found.append(pattern.id)
            }
        }
        return found
    }

    static func contains(_ compiled: CompiledPattern, in bytes: [UInt8]) -> Bool {
        let length = compiled.pattern.bytes.count
        for hit in ByteSearch.occurrences(of: compiled.anchor, in: bytes, limit: 1 << 16) {
            let start = hit - compiled.anchorOffset
            guard start >= 0, start + length <= bytes.count else { continue }
            var matched = true
            for (offset, expected) in compiled.pattern.bytes.enumerated() {
                if let expected, bytes[start + offset] != expected {
                    matched = false
                    break
                }
            }
            if matched { return true }
        }
        return false
    }

    /// The longest run of fixed bytes in the pattern, and where it starts.
    static func anchor(of pattern: BytePattern) -> ([UInt8], Int) {
        var best: ([UInt8], Int) = ([], 0)
        var current: [UInt8] = []
        var start = 0
        for (index, byte) in pattern.bytes.enumerated() {
            if let byte {
                if current.isEmpty { start = index }
                current.append(byte)
                if current.count > best.0.count { best = (current, start) }
            } else {
                current = []
            }
        }
        return best
    }
}
