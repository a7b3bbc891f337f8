import Foundation
import Testing
import ELFReader
import HostIO
import Rules

/// The resolver walk and the shipped ifunc-resolver rules on libraries built at test time by make-ifunc.sh: the
/// benign kinds found on real systems give no finding, the backdoor's shapes do, and hostile code is a recorded
/// problem, never a crash or a stall.
@Suite(.serialized) struct IFUNCResolverTests {
    static let built: Result<String, Error> = Result { try Support.fixture("make-ifunc.sh") }

    static func library(_ name: String) throws -> String {
        try built.get() + "/" + name
    }

    static func resolvers(_ path: String, limits: ResolverWalk.Limits = .standard) throws -> ResolverScan {
        let elf = try ELFParser.parse(try OpenFile(path: path).readAll(limit: 64 << 20), readSymbols: false, resolvers: limits)
        return try #require(elf.resolvers)
    }

    static func resolverRulesDirectory() -> String { Support.rulesDirectory + "/ifunc-resolvers" }

    @Test func benignResolverKindsGiveNoFinding() throws {
        let out = try Self.built.get()
        let benign = ["libifunc-cpuid.so", "libifunc-clones.so", "libifunc-auxval.so", "libifunc-glibc-style.so",
                      "libifunc-local-helper.so"]
        var arguments = ["--rules", Self.resolverRulesDirectory()]
        for name in benign { arguments += ["--path", out + "/" + name] }
        let (result, document) = try Support.scanJSON(arguments)
        #expect(result.status == 0, "\(Support.findings(document))")
        #expect(Support.findings(document).isEmpty)
        // Each was walked: the figures behind "benign" are real.
        let clones = try Self.resolvers(out + "/libifunc-clones.so").resolvers
        #expect(clones.count == 3 && clones.allSatisfy { $0.instructions > 300 && $0.localFunctions.contains("__cpu_indicator_init") })
        let auxval = try Self.resolvers(out + "/libifunc-auxval.so").resolvers
        #expect(auxval.first?.calls == ["getauxval"])
        let helper = try Self.resolvers(out + "/libifunc-local-helper.so").resolvers
        #expect(helper.contains { $0.name == "crc64_resolve" && $0.localFunctions.contains("_get_cpuid") && $0.cpuid > 0 })
    }

    @Test func backdoorShapesAreFoundWithoutANameOrSignature() throws {
        let out = try Self.built.get()
        var arguments = ["--rules", Self.resolverRulesDirectory()]
        let shapes = ["libifunc-rtld-walker.so", "libifunc-rtld-walker-stripped.so", "libifunc-rtld-walker-irelative.so",
                      "libifunc-got-swap.so"]
        for name in shapes { arguments += ["--path", out + "/" + name] }
        let (result, document) = try Support.scanJSON(arguments)
        #expect(result.status == 1)
        let findings = Support.findings(document)
        func rules(_ name: String) -> Set<String> {
            Set(findings.filter { ($0["evidence"] as? [String: Any])?["path"] as? String == out + "/" + name }
                .compactMap { $0["rule"] as? String })
        }
        for walker in shapes.prefix(3) {
            #expect(rules(walker).contains("ifunc-resolver-reaches-loader"), "\(walker): \(findings)")
        }
        #expect(rules("libifunc-got-swap.so") == ["ifunc-resolver-patches-through-pointers"], "\(findings)")
        #expect(findings.allSatisfy { $0["severity"] as? String == "high" })
        let detail = findings.compactMap { ($0["evidence"] as? [String: Any])?["detail"] as? String }
        #expect(detail.contains { $0.contains("reads _r_debug through the GOT") && $0.contains("crc64_resolve") })

        // The resolver named by nothing but an IRELATIVE addend was found and walked.
        let irelative = try Self.resolvers(out + "/libifunc-rtld-walker-irelative.so").resolvers
        #expect(irelative.contains { $0.symbols.isEmpty && $0.irelativeRelocations > 0 && $0.dataReferences == ["_r_debug"] })
    }

    @Test func hostileResolversAreBoundedProblemsNotCrashes() throws {
        let path = try Self.library("libifunc-hostile.so")
        let resolvers = try Self.resolvers(path).resolvers
        func named(_ symbol: String) -> IFUNCResolver? { resolvers.first { $0.symbols.contains(symbol) } }
        #expect(named("cw_loop").map { $0.problems.isEmpty && $0.instructions < 10 } == true, "a loop of jumps ends")
        #expect(named("cw_mid_insn")?.problems.contains { if case .intoInstruction = $0 { true } else { false } } == true)
        #expect(named("cw_invalid")?.problems.contains { if case .invalidInstruction = $0 { true } else { false } } == true)
        #expect(named("cw_in_data")?.problems.contains { if case .outsideCode = $0 { true } else { false } } == true)
        #expect(named("cw_recursive")?.functions == 2)
        // The scan records the file as a problem (damaged), not a finding, and not clean.
        let (result, document) = try Support.scanJSON(["--rules", Self.resolverRulesDirectory(), "--path", path])
        let skipped = document["skipped"] as? [[String: Any]] ?? []
        #expect(skipped.contains { $0["subject"] as? String == path && ($0["reason"] as? String)?.contains("IFUNC resolver") == true })
        #expect(result.status == 3, "a scan that could not walk a resolver says it is incomplete: \(result.stdout.prefix(300))")
    }

    /// An ELF file libelf cannot parse (here its section table lies past the end) had its resolvers walked by
    /// nothing: with resolver rules loaded it is unknown (exit 3), never clean.
    @Test func anUnparseableELFIsUnknownNotClean() throws {
        let directory = try Support.temporaryDirectory("ifunc-bad-elf")
        defer { Support.remove(directory) }
        let library = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Self.library("libifunc-rtld-walker.so"))))
        try Data(library.prefix(3000)).write(to: URL(fileURLWithPath: directory + "/libcut.so.1"))
        let (result, document) = try Support.scanJSON(["--rules", Self.resolverRulesDirectory(), "--path", directory])
        #expect(result.status == 3, "\(result.stdout.prefix(400))")
        let skipped = document["skipped"] as? [[String: Any]] ?? []
        #expect(skipped.contains { ($0["reason"] as? String)?.contains("IFUNC resolvers not walked") == true && $0["code"] as? String == "damaged" })
    }

    @Test func walkStopsAtItsBoundsAndSaysSo() throws {
        let path = try Self.library("libifunc-rtld-walker.so")
        let tight = ResolverWalk.Limits(instructionsPerResolver: 20, instructionsPerFile: 200_000, timePerFile: .seconds(5))
        let bounded = try Self.resolvers(path, limits: tight).resolvers
        #expect(bounded.contains { $0.bound == .instructions && $0.instructions == 20 })
        let budget = ResolverWalk.Limits(instructionsPerResolver: 20_000, instructionsPerFile: 0, timePerFile: .seconds(5))
        #expect(try Self.resolvers(path, limits: budget).resolvers.allSatisfy { $0.bound == .fileBudget })
    }

    /// A high resolver finding of the library sshd reaches escalates the chain, as any high finding of it does.
    @Test func resolverFindingEscalatesSshdsChain() throws {
        let root = try Support.makeRoot(["--version", "5.4.1-1"])
        defer { Support.remove(root + "/..") }
        let target = root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: try Self.library("libifunc-rtld-walker-stripped.so"), toPath: target)
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        let findings = Support.findings(document)
        #expect(findings.contains { $0["rule"] as? String == "ifunc-resolver-reaches-loader" })
        let chain = try #require(findings.first { $0["kind"] as? String == "dependency-chain" })
        #expect(chain["severity"] as? String == "critical", "\(findings.map { ($0["rule"] ?? "", $0["severity"] ?? "") })")
    }

    @Test func badThresholdsAreRuleErrorsWithFileAndLine() throws {
        let directory = try Support.temporaryDirectory("ifunc-rules")
        defer { Support.remove(directory) }
        try """
        chainwatch-rules: 1
        rules:
          - id: bad-resolver-rule
            title: bad
            kind: ifunc-resolver
            severity: high
            message-id: 0123456789abcdef0123456789abcdef
            description: bad thresholds
            match:
              instructions-over: -5
              pointer-writes-over: many
        """.write(toFile: directory + "/bad.yaml", atomically: true, encoding: .utf8)
        let result = try Support.chainwatch(["--check-rules", directory])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bad.yaml:10") && result.stderr.contains("instructions-over"), "\(result.stderr)")
        #expect(result.stderr.contains("bad.yaml:11") && result.stderr.contains("pointer-writes-over"), "\(result.stderr)")
    }
}
