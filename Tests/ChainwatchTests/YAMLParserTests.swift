import Testing
import YAML

/// The libyaml wrapper: values as written, lines for every node, and the inputs a strict rule decoder must refuse.
@Suite struct YAMLParserTests {
    @Test func nodesKeepTheirLinesAndValuesAsWritten() throws {
        let text = "a: 1\nb:\n  - x\n  - 'y: z'\nc: {d: true}\ne:\n"
        let root = try #require(try YAMLParser.compose(text))
        guard case .mapping(let map) = root else { Issue.record("not a mapping: \(root)"); return }
        #expect(map.keys.compactMap { $0.scalar?.string } == ["a", "b", "c", "e"])
        #expect(map["a"]?.scalar == Node.Scalar(string: "1", line: 1))
        guard case .sequence(let list) = try #require(map["b"]) else { Issue.record("b is not a list"); return }
        #expect(list.map { $0.scalar?.string } == ["x", "y: z"])
        #expect(list.map(\.line) == [3, 4])
        guard case .mapping(let inner) = try #require(map["c"]) else { Issue.record("c is not a mapping"); return }
        #expect(inner["d"]?.scalar?.string == "true" && inner.line == 5)
        #expect(map["e"]?.scalar?.string == "")  // an empty value is an empty scalar: the decoder says "must not be empty"
    }

    @Test func aDuplicateKeyIsRefusedAtItsLine() {
        #expect(throws: YAMLError(line: 3, problem: "duplicate key 'a' in a mapping")) {
            try YAMLParser.compose("a: 1\nb: 2\na: 3\n")
        }
    }

    @Test func syntaxErrorsNameTheirLine() throws {
        let error = try #require(throws: YAMLError.self) { try YAMLParser.compose("a: 1\nb: [unclosed\nc: 2\n") }
        #expect(error.line != nil && error.line! >= 2)
        #expect(!error.problem.isEmpty)
    }

    @Test func aliasesAreNodesNotExpansions() throws {
        let root = try #require(try YAMLParser.compose("a: &x [1, 2]\nb: *x\n"))
        guard case .mapping(let map) = root else { Issue.record("not a mapping"); return }
        #expect(map["b"] == .alias(line: 2))
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: YAMLParser.maximumDepth + 1) + String(repeating: "]", count: YAMLParser.maximumDepth + 1)
        #expect(throws: YAMLError.self) { try YAMLParser.compose(deep) }
        let allowed = String(repeating: "[", count: YAMLParser.maximumDepth) + String(repeating: "]", count: YAMLParser.maximumDepth)
        #expect((try? YAMLParser.compose(allowed)) != nil)
    }

    @Test func oneDocumentOnly() throws {
        #expect(try YAMLParser.compose("") == nil)
        #expect(throws: YAMLError.self) { try YAMLParser.compose("a: 1\n---\nb: 2\n") }
    }
}
