import CYAML

/// Why a text is not YAML, at which line (1-based), as libyaml's parser reports it.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int?
    public var problem: String

    public init(line: Int?, problem: String) {
        self.line = line
        self.problem = problem
    }

    public var description: String { line.map { "line \($0): \(problem)" } ?? problem }
}

/// Reads YAML with libyaml's event parser (`yaml_parser_parse`) into `Node`s. One document per text; no tag
/// resolution and no alias expansion, so a hostile file costs what its bytes cost.
public enum YAMLParser {
    public static let maximumDepth = 64

    /// The single document in `text`, or nil when it holds none.
    public static func compose(_ text: String) throws(YAMLError) -> Node? {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { bytes = [0x0a] }  // libyaml needs a non-empty buffer to hand out
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) != 0 else { throw YAMLError(line: nil, problem: "out of memory") }
        defer { yaml_parser_delete(parser) }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLError) -> Node? in
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            var builder = Builder()
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(parser, &event) != 0 else { throw Self.error(of: parser) }
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return builder.document
                case YAML_DOCUMENT_START_EVENT:
                    if builder.documents == 1 {
                        throw YAMLError(line: line, problem: "a second document ('---'): a rule file holds one")
                    }
                case YAML_DOCUMENT_END_EVENT:
                    builder.documents += 1
                case YAML_SCALAR_EVENT:
                    let scalar = event.data.scalar
                    let value = UnsafeBufferPointer(start: scalar.value, count: Int(scalar.length))
                    try builder.add(.scalar(Node.Scalar(string: String(decoding: value, as: UTF8.self), line: line)))
                case YAML_ALIAS_EVENT:
                    try builder.add(.alias(line: line))
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    // Nodes are released recursively: a bound on nesting keeps a hostile file from exhausting the stack.
                    guard builder.depth < maximumDepth else {
                        throw YAMLError(line: line, problem: "nested deeper than \(maximumDepth) levels")
                    }
                    builder.open(mapping: event.type == YAML_MAPPING_START_EVENT, line: line)
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    try builder.close()
                default:
                    continue
                }
            }
        }
    }

    private static func error(of parser: UnsafeMutablePointer<yaml_parser_t>) -> YAMLError {
        let problem = parser.pointee.problem.map { String(cString: $0) } ?? "not valid YAML"
        let context = parser.pointee.context.map { String(cString: $0) }
        let mark = parser.pointee.problem_mark
        return YAMLError(line: Int(mark.line) + 1, problem: context.map { "\(problem) \($0)" } ?? problem)
    }

    /// Assembles nodes from events: a stack of open collections, a mapping's pending key kept until its value.
    /// Frames hold plain arrays (not enum payloads) so appending never copies a collection.
    private struct Builder {
        private struct Frame {
            var isMapping: Bool
            var line: Int
            var nodes: [Node] = []
            var pairs: [Node.Mapping.Pair] = []
            var keys: Set<String> = []
            var pendingKey: Node?
        }

        private var stack: [Frame] = []
        var document: Node?
        var documents = 0
        var depth: Int { stack.count }

        mutating func open(mapping: Bool, line: Int) {
            stack.append(Frame(isMapping: mapping, line: line))
        }

        mutating func close() throws(YAMLError) {
            guard let frame = stack.popLast() else { return }
            try add(frame.isMapping ? .mapping(Node.Mapping(pairs: frame.pairs, line: frame.line))
                                    : .sequence(Node.Sequence(nodes: frame.nodes, line: frame.line)))
        }

        mutating func add(_ node: Node) throws(YAMLError) {
            guard let top = stack.indices.last else {
                document = node
                return
            }
            guard stack[top].isMapping else {
                stack[top].nodes.append(node)
                return
            }
            guard let key = stack[top].pendingKey else {
                stack[top].pendingKey = node
                return
            }
            if let name = key.scalar?.string, !stack[top].keys.insert(name).inserted {
                throw YAMLError(line: key.line, problem: "duplicate key '\(name)' in a mapping")
            }
            stack[top].pairs.append(Node.Mapping.Pair(key: key, value: node))
            stack[top].pendingKey = nil
        }
    }
}
