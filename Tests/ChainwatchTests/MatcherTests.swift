import Testing
@testable import ELFReader
@testable import Engine
import HostIO
@testable import Probes
@testable import Rules

/// The plan's matchers on facts built here, without a scan: conditions, names, file types and escalation.
@Suite struct MatcherTests {
    static func plan(_ rules: String) throws -> ScanPlan {
        let (decoded, problems) = RuleLoader.decode("chainwatch-rules: 1\nrules:\n" + rules, file: "test.yaml")
        try #require(problems.isEmpty, "\(problems)")
        return ScanPlan(RuleSet(rules: decoded, files: ["test.yaml"]))
    }

    /// One rule entry; `match` is the YAML flow mapping of its match.
    static func rule(_ id: String, kind: String, severity: String = "high", match: String) -> String {
        let messageID = String(repeating: String(id.count % 10), count: 31) + String(id.utf8.count % 10)
        return "  - {id: \(id), title: t, kind: \(kind), severity: \(severity), message-id: \(messageID), description: d, match: \(match)}\n"
    }

    static let sshdELF = ELFInfo(fileClass: .elf64, machine: 62, osABI: 0, type: 3, needed: ["libsystemd.so.0"])

    /// A file seen under `names` with `bytes` as content, searched with the plan's patterns as a read would.
    static func file(_ path: String, names: [String], bytes: [UInt8], inode: UInt64, elf: ELFInfo? = nil,
                     plan: ScanPlan) throws -> FileRecord {
        var record = FileRecord(opener: .root(.host, path), identity: FileIdentity(device: 1, inode: inode), root: .host, path: path)
        for name in names { record.addName(name) }
        var stream = MultiPatternSearch.Stream(plan.bytePatterns)
        stream.feed(bytes[...])
        let facts = FileFacts(identity: FileIdentity(device: 1, inode: inode), status: try FileSystem.status("/"),
                              sha256: String(repeating: String(inode % 10), count: 64),
                              isELF: bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46]), elf: elf)
        record.take(facts, hits: stream.found)
        return record
    }

    static func facts(_ files: [FileRecord], graphs: [(ProgramLocation, DependencyGraph)] = []) -> ScanFacts {
        ScanFacts(root: .host, inventory: PackageInventory(), files: files, graphs: graphs)
    }

    static let elfMagic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]
    static let first = Array("first-pattern-bytes!".utf8), second = Array("second-pattern-bytes".utf8)
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    @Test func conditionAnyNeedsOnePatternAndAllNeedsEvery() throws {
        let patterns = "[\"\(Self.hex(Self.first))\", \"\(Self.hex(Self.second))\"]"
        let plan = try Self.plan(Self.rule("any", kind: "byte-signature", match: "{condition: any, patterns: \(patterns)}")
            + Self.rule("all", kind: "byte-signature", match: "{condition: all, patterns: \(patterns)}"))
        let one = try Self.file("/one", names: ["one"], bytes: Self.elfMagic + Self.first, inode: 1, plan: plan)
        let both = try Self.file("/both", names: ["both"], bytes: Self.elfMagic + Self.second + [0] + Self.first, inode: 2, plan: plan)
        let none = try Self.file("/none", names: ["none"], bytes: Self.elfMagic + Array(Self.first.dropLast()), inode: 3, plan: plan)
        let found = plan.findings(Self.facts([one, both, none])).map { "\($0.rule) \($0.evidence.path!)" }
        #expect(Set(found) == ["any /one", "any /both", "all /both"])
    }

    @Test func fileRulesMatchEveryNameAFileGoesByAndSayWhichMatched() throws {
        var elf = Self.sshdELF
        elf.soname = "liblzma.so.5"
        elf.symbolsRead = true
        elf.symbols = [ELFSymbol(name: "lzma_crc64", type: ELFSymbol.ifuncType, binding: 1, isDefined: true, table: .dynamic)]
        let plan = try Self.plan(Self.rule("ifunc", kind: "elf-feature", match: "{files: [\"liblzma.so*\"], ifunc-symbols: true}")
            + Self.rule("other", kind: "elf-feature", match: "{files: [\"libother*\"], ifunc-symbols: true}"))
        // Saved as libcrcaccel.so.1; its SONAME (taken from the facts) says liblzma.so.5.
        let record = try Self.file("/lib/libcrcaccel.so.1", names: ["libcrcaccel.so.1"], bytes: Self.elfMagic, inode: 4, elf: elf, plan: plan)
        #expect(record.names == ["libcrcaccel.so.1", "liblzma.so.5"])
        let findings = plan.findings(Self.facts([record]))
        #expect(findings.map(\.rule) == ["ifunc"])
        #expect(findings.first?.evidence.matchedName == "liblzma.so.5")
        #expect(findings.first?.evidence.detail == "IFUNC symbols: lzma_crc64")
    }

    @Test func fileTypeELFTakesOnlyELFFilesAndNoFilesKeyTakesEveryName() throws {
        let pattern = "[\"\(Self.hex(Self.first))\"]"
        let plan = try Self.plan(Self.rule("elf-only", kind: "byte-signature", match: "{file-type: elf, patterns: \(pattern)}")
            + Self.rule("any-file", kind: "byte-signature", match: "{patterns: \(pattern)}"))
        let elf = try Self.file("/a.so", names: ["a.so"], bytes: Self.elfMagic + Self.first, inode: 5, plan: plan)
        let text = try Self.file("/notes.txt", names: ["notes.txt"], bytes: Array("see: ".utf8) + Self.first, inode: 6, plan: plan)
        let found = plan.findings(Self.facts([elf, text])).map { "\($0.rule) \($0.evidence.path!)" }
        #expect(Set(found) == ["elf-only /a.so", "any-file /a.so", "any-file /notes.txt"])
        #expect(plan.findings(Self.facts([text])).allSatisfy { $0.evidence.matchedName == nil })
    }

    /// sshd -> libsystemd.so.0 -> liblzma.so.5: info on its own, critical once liblzma has a high finding.
    @Test(arguments: [false, true])
    func chainsEscalateWhenTheLibraryTheyReachIsFlagged(_ flagged: Bool) throws {
        let lzmaBytes = Self.elfMagic + (flagged ? Self.first : [])
        let plan = try Self.plan(
            Self.rule("chain", kind: "dependency-chain", severity: "info",
                      match: "{binary: sshd, library: \"liblzma.so*\", through: \"libsystemd.so*\", escalate-to: critical}")
            + Self.rule("unreached", kind: "dependency-chain", severity: "info",
                        match: "{binary: sshd, library: \"liblzma.so*\", through: \"libfoo.so*\"}")
            + Self.rule("sig", kind: "byte-signature", severity: "critical", match: "{patterns: [\"\(Self.hex(Self.first))\"]}"))
        let lzma = try Self.file("/lib/liblzma.so.5.6.1", names: ["liblzma.so.5.6.1", "liblzma.so.5"], bytes: lzmaBytes, inode: 9, plan: plan)
        var graph = DependencyGraph(program: "/usr/sbin/sshd")
        let identities = [7, 8, 9].map { FileIdentity(device: 1, inode: $0) }
        graph.nodes = [
            .init(name: "/usr/sbin/sshd", path: "/usr/sbin/sshd", identity: identities[0], elf: Self.sshdELF, children: [1], chain: ["/usr/sbin/sshd"]),
            .init(name: "libsystemd.so.0", path: "/lib/libsystemd.so.0.35.0", identity: identities[1], elf: Self.sshdELF,
                  parents: [0], children: [2], chain: ["/usr/sbin/sshd", "libsystemd.so.0"]),
            .init(name: "liblzma.so.5", path: "/lib/liblzma.so.5.6.1", identity: identities[2], elf: Self.sshdELF,
                  parents: [1], chain: ["/usr/sbin/sshd", "libsystemd.so.0", "liblzma.so.5"]),
        ]
        let location = ProgramLocation(root: .host, path: "/usr/sbin/sshd", foundBy: "standard path")
        let findings = plan.findings(Self.facts([lzma], graphs: [(location, graph)]))
        let chain = try #require(findings.first { $0.rule == "chain" })
        #expect(chain.severity == (flagged ? .critical : .info))
        #expect(chain.evidence.chain == ["/usr/sbin/sshd", "libsystemd.so.0", "liblzma.so.5"])
        #expect(chain.evidence.path == "/lib/liblzma.so.5.6.1")
        #expect(chain.evidence.detail?.contains("flagged by sig") == flagged)
        #expect(!findings.contains { $0.rule == "unreached" }, "the chain does not pass through libfoo")
    }
}
