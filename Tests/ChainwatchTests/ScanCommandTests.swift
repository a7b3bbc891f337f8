import Foundation
import Testing

/// Tests that start processes on this host or scan it whole run one at a time: a fixture process one test starts
/// must not show up in another's host scan.
@Suite(.serialized) enum LiveSystemTests {}

extension LiveSystemTests {
/// The command line end to end: the built binary, the shipped rules, fixture roots and live processes.
@Suite(.serialized) struct ScanCommandTests {
    static func rules(_ document: [String: Any]) -> [String: [[String: Any]]] {
        Dictionary(grouping: Support.findings(document)) { $0["rule"] as? String ?? "" }
    }

    static func kinds(_ document: [String: Any]) -> Set<String> {
        Set(Support.findings(document).compactMap { $0["kind"] as? String })
    }

    @Test func backdooredFixtureRootIsCritical() throws {
        let root = try Support.makeRoot(["--version", "5.6.1-1"])
        defer { Support.remove(root + "/..") }
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(result.status == 1, "\(result.stderr)")
        let findings = Support.findings(document)
        let package = try #require(findings.first { $0["kind"] as? String == "package-version" })
        #expect(package["severity"] as? String == "critical")
        #expect((package["evidence"] as? [String: Any])?["version"] as? String == "5.6.1-1")
        #expect(Self.kinds(document).isSuperset(of: ["package-version", "elf-feature", "dependency-chain"]))
        let chain = try #require(findings.first { $0["kind"] as? String == "dependency-chain" })
        #expect(chain["severity"] as? String == "critical", "the chain to a flagged liblzma is raised")
        let evidence = try #require(chain["evidence"] as? [String: Any])
        #expect(evidence["chain"] as? [String] == ["/usr/sbin/sshd", "libsystemd.so.0", "liblzma.so.5"])
        #expect((evidence["path"] as? String)?.hasSuffix("liblzma.so.5.6.1") == true)
        #expect((document["notes"] as? [String])?.contains { $0.contains("process checks skipped") } == true)
        // The look-alike fixed version and the removed (config-files) stanza are not flagged.
        #expect(!findings.contains { ($0["evidence"] as? [String: Any])?["package"] as? String == "xz-utils" })
    }

    @Test func fixedLookAlikeVersionIsNotAPackageFinding() throws {
        let root = try Support.makeRoot(["--version", "5.6.1+really5.4.5-1", "--no-ifunc"])
        defer { Support.remove(root + "/..") }
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(!Self.kinds(document).contains("package-version"), "\(result.stdout)")
    }

    @Test func signatureBytesAreFound() throws {
        let root = try Support.makeRoot(["--signature", "--version", "5.4.1-1"])
        defer { Support.remove(root + "/..") }
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(result.status == 1)
        let signature = try #require(Support.findings(document).first { $0["kind"] as? String == "byte-signature" })
        #expect(signature["severity"] as? String == "critical")
        let evidence = try #require(signature["evidence"] as? [String: Any])
        #expect((evidence["sha256"] as? String)?.count == 64)
    }

    @Test func noSignatureNoByteFinding() throws {
        let root = try Support.makeRoot(["--version", "5.4.1-1"])
        defer { Support.remove(root + "/..") }
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(!Self.kinds(document).contains("byte-signature"))
    }

    @Test func strippedLibraryResolversFoundThroughDebugData() throws {
        let root = try Support.makeRoot(["--strip", "--version", "5.4.1-1"])
        defer { Support.remove(root + "/..") }
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        let elf = Support.findings(document).filter { $0["kind"] as? String == "elf-feature" }
        let details = elf.compactMap { ($0["evidence"] as? [String: Any])?["detail"] as? String }
        #expect(details.contains { $0.contains("crc64_resolve") && $0.contains("debugdata") }, "\(details)")
    }

    @Test func cleanRootWithTheHostsLiblzmaIsClean() throws {
        let root = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(root + "/..") }
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(result.status == 0, "\(Support.findings(document))")
        #expect(Support.findings(document).allSatisfy { $0["severity"] as? String == "info" })
        #expect(Self.kinds(document).contains("dependency-chain"))
    }

    @Test func textReportGroupsBySeverityWithEvidence() throws {
        let root = try Support.makeRoot(["--version", "5.6.0-0.2"])
        defer { Support.remove(root + "/..") }
        let result = try Support.chainwatch(["--scan-now", "--rules", Support.rulesDirectory, "--root", root])
        #expect(result.status == 1)
        #expect(result.stdout.contains("CRITICAL ("))
        #expect(result.stdout.contains("chain:   /usr/sbin/sshd -> libsystemd.so.0 -> liblzma.so.5 (/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1)"))
        #expect(result.stdout.contains("package: liblzma5 5.6.0-0.2"))
    }

    /// A live process mapping a fixture liblzma is found through /proc, with its pid.
    @Test func liveProcessMappingFixtureLibraryIsFound() throws {
        let root = try Support.makeRoot(["--signature"])
        defer { Support.remove(root + "/..") }
        let lib = root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"
        let mapsLib = root + "/../maps-lib"
        try #require(try Support.run(Support.packageRoot + "/Tests/Fixtures/make-root.sh", ["--maps-lib", mapsLib]).status == 0)
        let process = try Support.Background(mapsLib, [lib])
        defer { process.stop() }
        #expect(process.waitForLine() == "ready")
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--no-library-dirs"])
        #expect(result.status == 1)
        let hits = Support.findings(document).filter { ($0["evidence"] as? [String: Any])?["path"] as? String == lib }
        #expect(!hits.isEmpty, "\(Support.findings(document).map { $0["rule"] ?? "" })")
        for hit in hits {
            let pids = (hit["evidence"] as? [String: Any])?["pids"] as? [Int] ?? []
            #expect(pids.contains(Int(process.pid)))
        }
    }

    /// A library deleted from disk while a process still maps it is read through /proc/PID/map_files.
    @Test func deletedButMappedLibraryIsFound() throws {
        let root = try Support.makeRoot(["--signature"])
        defer { Support.remove(root + "/..") }
        let copy = root + "/../liblzma.so.5.6.1"
        try FileManager.default.copyItem(atPath: root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1", toPath: copy)
        let mapsLib = root + "/../maps-lib"
        try #require(try Support.run(Support.packageRoot + "/Tests/Fixtures/make-root.sh", ["--maps-lib", mapsLib]).status == 0)
        let process = try Support.Background(mapsLib, [copy])
        defer { process.stop() }
        #expect(process.waitForLine() == "ready")
        try FileManager.default.removeItem(atPath: copy)
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--no-library-dirs"])
        let hit = Support.findings(document).first {
            let evidence = $0["evidence"] as? [String: Any]
            return (evidence?["pids"] as? [Int])?.contains(Int(process.pid)) == true && $0["kind"] as? String == "byte-signature"
        }
        let evidence = try #require(hit?["evidence"] as? [String: Any], "\(Support.findings(document))")
        #expect((evidence["seen_as"] as? [String])?.contains("mapped (deleted from disk)") == true)
    }

    /// No false alarm on a clean Debian 12: nothing above info, exit 0.
    @Test func thisHostIsClean() throws {
        let result = try Support.chainwatch(["--scan-now", "--rules", Support.hostRulesDirectory])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("Result: nothing above info found."))
    }

    @Test func checkRulesReportsATypoWithFileLineAndKey() throws {
        let directory = try Support.temporaryDirectory("typo")
        defer { Support.remove(directory) }
        try RuleLoaderTests.valid.replacingOccurrences(of: "    title:", with: "    titel:")
            .write(toFile: directory + "/bad.yaml", atomically: true, encoding: .utf8)
        let result = try Support.chainwatch(["--check-rules", directory])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bad.yaml:4: 'titel': unknown key; did you mean 'title'?"), "\(result.stderr)")
        let good = try Support.chainwatch(["--check-rules", Support.rulesDirectory])
        #expect(good.status == 0, "\(good.stderr)")
    }

    @Test func badArgumentsExitTwoAndHelpExplainsEveryOption() throws {
        #expect(try Support.chainwatch(["--scan-now", "--format", "xml"]).status == 2)
        #expect(try Support.chainwatch(["--scan-now", "--root", "/nonexistent-root"]).status == 2)
        #expect(try Support.chainwatch(["--scan-now", "--rules", "/nonexistent-rules"]).status == 2)
        let help = try Support.chainwatch(["--help"])
        #expect(help.status == 0)
        for option in ["--scan-now", "--check-rules", "Exit status"] {
            #expect(help.stdout.contains(option), "help lacks \(option)")
        }
        // The scan's options are in its own help (`--scan-now --help` is `scan --help`).
        let scanHelp = try Support.chainwatch(["--scan-now", "--help"])
        #expect(scanHelp.status == 0)
        for option in ["--rules", "--root", "--format", "--fail-on", "--jobs", "--verbose", "--no-processes", "--no-library-dirs", "Exit status"] {
            #expect(scanHelp.stdout.contains(option), "scan help lacks \(option)")
        }
    }
}
}
