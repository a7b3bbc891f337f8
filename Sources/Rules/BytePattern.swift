/// A byte string with wildcards, written as hex: "f30f1efa ?? 48". Whitespace is ignored; `??` is any byte.
public struct BytePattern: Sendable, Hashable, CustomStringConvertible {
    /// nil entries are wildcards.
    public let bytes: [UInt8?]
    public let text: String

    /// Longest pattern accepted: the matcher's work per file grows with it.
    public static let maximumLength = 4096

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case oddDigits
        case badCharacter(Character)
        case tooLong(Int)
        case onlyWildcards

        public var description: String {
            switch self {
            case .empty: return "empty pattern"
            case .oddDigits: return "odd number of hex digits (each byte is two digits, a wildcard byte is ??)"
            case .badCharacter(let c): return "'\(c)' is not a hex digit or ?? (jumps and alternatives are not supported)"
            case .tooLong(let n): return "\(n) bytes is longer than the \(BytePattern.maximumLength)-byte limit"
            case .onlyWildcards: return "a pattern needs at least one fixed byte"
            }
        }
    }

    public init(_ text: String) throws(ParseError) {
        var digits: [Character] = []
        for character in text where !character.isWhitespace {
            guard character.isHexDigit || character == "?" else { throw .badCharacter(character) }
            digits.append(character)
        }
        guard !digits.isEmpty else { throw .empty }
        guard digits.count % 2 == 0 else { throw .oddDigits }
        var bytes: [UInt8?] = []
        var index = 0
        while index < digits.count {
            let pair = String(digits[index...index + 1])
            if pair == "??" {
                bytes.append(nil)
            } else if let value = UInt8(pair, radix: 16) {
                bytes.append(value)
            } else {
                throw .badCharacter(pair.contains("?") ? "?" : digits[index])
            }
            index += 2
        }
        guard bytes.count <= Self.maximumLength else { throw .tooLong(bytes.count) }
        guard bytes.contains(where: { $0 != nil }) else { throw .onlyWildcards }
        self.bytes = bytes
        self.text = text
    }

    public var description: String { text }
}
