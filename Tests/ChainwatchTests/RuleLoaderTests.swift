import Foundation
import Testing
@testable import Rules

@Suite struct RuleLoaderTests {
    static let valid = """
        chainwatch-rules: 1
        rules:
          - id: test-ifunc
            title: IFUNC in liblzma
            kind: elf-feature
            severity: high
            message-id: 00112233445566778899aabbccddeeff
            description: test
            references: [https://example.invalid/a]
            tags: [test]
            match:
              files: ["liblzma.so*"]
              ifunc-symbols: true
        """

    static func load(_ text: String, name: String = "rules.yaml") throws -> (RuleSet?, RuleLoadError?) {
        let directory = try Support.temporaryDirectory("rules")
        defer { Support.remove(directory) }
        try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        do { return (try RuleLoader.load(from: [directory]), nil) } catch { return (nil, error) }
    }

    @Test func loadsAValidRule() throws {
        let (set, error) = try Self.load(Self.valid)
        #expect(error == nil)
        let rule = try #require(set?.rules.first)
        #expect(rule.id == "test-ifunc" && rule.severity == .high && rule.kind == .elfFeature)
        #expect(rule.location.line == 3)
    }

    @Test func aTypoNamesFileLineAndKey() throws {
        let text = Self.valid.replacingOccurrences(of: "    severity: high", with: "    severty: high")
        let (_, error) = try Self.load(text, name: "typo.yaml")
        let problems = try #require(error).problems
        let unknown = try #require(problems.first { $0.key == "severty" })
        #expect(unknown.file.hasSuffix("/typo.yaml"))
        #expect(unknown.line == 6)
        #expect(unknown.message.contains("did you mean 'severity'"))
        #expect(problems.contains { $0.key == "severity" && $0.message.contains("missing") })
    }

    @Test(arguments: [
        ("    severity: high", "    severity: severe", "severity"),
        ("    message-id: 00112233445566778899aabbccddeeff", "    message-id: 0011", "message-id"),
        ("      ifunc-symbols: true", "      ifunc-symbols: yes please", "ifunc-symbols"),
        ("    kind: elf-feature", "    kind: elf-features", "kind"),
        ("      files: [\"liblzma.so*\"]", "      files: [\"/usr/lib/liblzma.so*\"]", "files"),
    ])
    func badValuesAreReported(_ original: String, _ replacement: String, _ key: String) throws {
        let (_, error) = try Self.load(Self.valid.replacingOccurrences(of: original, with: replacement))
        let problems = try #require(error).problems
        #expect(problems.contains { $0.key == key && $0.line != nil }, "\(problems)")
    }

    @Test func badHexPatternNamesTheLine() throws {
        let text = """
            chainwatch-rules: 1
            rules:
              - id: sig
                title: t
                kind: byte-signature
                severity: critical
                message-id: 00112233445566778899aabbccddeeff
                description: d
                match:
                  files: ["liblzma.so*"]
                  patterns:
                    - "f30f1efa 55 48"
                    - "f30f1efa zz"
            """
        let (_, error) = try Self.load(text)
        let problem = try #require(error?.problems.first)
        #expect(problem.line == 13 && problem.key == "patterns")
    }

    @Test func invalidYAMLGivesALine() throws {
        let (_, error) = try Self.load("chainwatch-rules: 1\nrules:\n  - id: [unclosed\n")
        #expect(error?.problems.first?.line != nil)
    }

    @Test func duplicateIdsAcrossFilesAreRejected() throws {
        let directory = try Support.temporaryDirectory("rules")
        defer { Support.remove(directory) }
        try Self.valid.write(toFile: directory + "/a.yaml", atomically: true, encoding: .utf8)
        try Self.valid.write(toFile: directory + "/b.yaml", atomically: true, encoding: .utf8)
        #expect(throws: RuleLoadError.self) { try RuleLoader.load(from: [directory]) }
    }

    @Test func bytePatternsAcceptWildcards() throws {
        let pattern = try BytePattern("f3 0f ?? fa")
        #expect(pattern.bytes == [0xf3, 0x0f, nil, 0xfa])
        #expect(throws: BytePattern.ParseError.self) { try BytePattern("f3 0") }
        #expect(throws: BytePattern.ParseError.self) { try BytePattern("?? ??") }
        #expect(throws: BytePattern.ParseError.self) { try BytePattern("[2-4]") }
    }

    @Test func theShippedRulesLoad() throws {
        let set = try RuleLoader.load(from: [Support.rulesDirectory])
        #expect(set.rules.count >= 5)
        // No YARA file is shipped: YARA rules are the admin's own (docs/yara.md); YARATests loads public ones.
        // Package-age rules are opt-in (a freshly updated host has young security updates): the shipped one is
        // rules/package-age/package-age.yaml.example, which PackageAgeTests loads.
        for kind in RuleKind.allCases where kind != .yara && kind != .packageAge {
            #expect(!set.rules(of: kind).isEmpty, "no shipped \(kind.rawValue) rule")
        }
    }
}
