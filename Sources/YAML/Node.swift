/// One node of a YAML document with the line it starts on (1-based): what a strict decoder needs to point a user
/// at the line of a mistake. Values are kept as written (no type resolution): the decoder decides what a scalar means.
public enum Node: Sendable, Equatable {
    case scalar(Scalar)
    case sequence(Sequence)
    case mapping(Mapping)
    /// `*name`: kept as a node of its own so a decoder can refuse it; never expanded (no alias bombs).
    case alias(line: Int)

    public struct Scalar: Sendable, Equatable {
        public var string: String
        public var line: Int

        public init(string: String, line: Int) {
            self.string = string
            self.line = line
        }
    }

    public struct Sequence: Sendable, Equatable, RandomAccessCollection {
        public var nodes: [Node]
        public var line: Int
        public var startIndex: Int { nodes.startIndex }
        public var endIndex: Int { nodes.endIndex }
        public subscript(position: Int) -> Node { nodes[position] }
    }

    /// A mapping's pairs in document order. Keys are unique (the parser refuses a repeated key).
    public struct Mapping: Sendable, Equatable {
        public var pairs: [Pair]
        public var line: Int

        public struct Pair: Sendable, Equatable {
            public var key: Node
            public var value: Node
        }

        public var keys: [Node] { pairs.map(\.key) }

        /// The value of the plain-string key `key`.
        public subscript(key: String) -> Node? {
            pairs.first { $0.key.scalar?.string == key }?.value
        }
    }

    public var scalar: Scalar? {
        if case .scalar(let scalar) = self { return scalar }
        return nil
    }

    public var line: Int {
        switch self {
        case .scalar(let scalar): scalar.line
        case .sequence(let sequence): sequence.line
        case .mapping(let mapping): mapping.line
        case .alias(let line): line
        }
    }
}
