import Archive
import Crypto
import Daemon
import Engine
import Foundation
import Rules
import Testing

/// Fleet operation: suppressions with reasons, the node_exporter textfile (scraped from the real
/// prometheus-node-exporter, checked by promtool), and signed rule bundles (installed, refused, interrupted).
@Suite struct FleetTests {
    /// A private copy of the shipped rules plus `extra` files, root-owned as the loader requires.
    static func rules(_ extra: [String: String] = [:]) throws -> String {
        let directory = try Support.temporaryDirectory("rules")
        try FileManager.default.removeItem(atPath: directory)
        try FileManager.default.copyItem(atPath: Support.rulesDirectory, toPath: directory)
        for (name, text) in extra { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
        return directory
    }

    static let signatureRule = "xz-backdoor-sig-openwall-detect-sh"

    static func suppression(expires: String? = nil, paths: String = "\"/usr/lib/x86_64-linux-gnu/liblzma.so.*\"") -> String {
        """
        chainwatch-rules: 1
        suppressions:
          - rule: \(signatureRule)
            reason: "lab image with a planted test library (TICKET-42)"
            paths: [\(paths)]
        \(expires.map { "    expires: \($0)" } ?? "")
        """
    }

    @Test func suppressedByPathIsCountedNotReported() throws {
        let root = try Support.makeRoot(["--version", "5.6.1-1", "--signature"])
        defer { Support.remove(root + "/..") }
        let rules = try Self.rules(["accept.yaml": Self.suppression()])
        defer { Support.remove(rules) }
        let (result, document) = try Support.scanBuiltJSON(["--rules", rules, "--root", root])
        #expect(result.status == 1, "the package finding still counts")
        #expect(!Support.findings(document).contains { $0["rule"] as? String == Self.signatureRule })
        let suppressed = document["suppressed"] as? [[String: Any]] ?? []
        let entry = try #require(suppressed.first { $0["rule"] as? String == Self.signatureRule })
        #expect(entry["suppressed"] as? Bool == true)
        let why = try #require(entry["suppression"] as? [String: Any])
        #expect(why["reason"] as? String == "lab image with a planted test library (TICKET-42)")
        #expect((why["defined_at"] as? String)?.hasSuffix("accept.yaml:3") == true, "\(why)")
        let statistics = (document["scan"] as? [String: Any])?["statistics"] as? [String: Any]
        #expect(statistics?["findings_suppressed"] as? Int == suppressed.count)

        // The text report counts them, and --verbose lists each with its reason.
        let text = try Support.builtChainwatch(["--scan-now", "--rules", rules, "--root", root, "--verbose"])
        #expect(text.stdout.contains("SUPPRESSED (\(suppressed.count))"), "\(text.stdout)")
        #expect(text.stdout.contains("reason:  lab image with a planted test library (TICKET-42)"))

        // The daemon's journal summary carries the count; its alerts are made from the reported findings only.
        var options = ScanOptions()
        options.root = root
        let report = Engine.Scanner(rules: try RuleLoader.load(from: [rules]), options: options).run()
        #expect(!report.findings.contains { $0.rule == Self.signatureRule })
        let summary = JournalEntries.summary(report, findingsAboveInfo: 0)
        #expect(summary.contains { $0.name == "CHAINWATCH_FINDINGS_SUPPRESSED" && $0.value == String(report.suppressed.count) })
    }

    @Test func anExpiredSuppressionNoLongerApplies() throws {
        let root = try Support.makeRoot(["--version", "5.6.1-1", "--signature"])
        defer { Support.remove(root + "/..") }
        let rules = try Self.rules(["accept.yaml": Self.suppression(expires: "2020-01-31")])
        defer { Support.remove(rules) }
        let (_, document) = try Support.scanBuiltJSON(["--rules", rules, "--root", root])
        #expect(Support.findings(document).contains { $0["rule"] as? String == Self.signatureRule })
        #expect((document["suppressed"] as? [[String: Any]] ?? []).isEmpty)
        let notes = document["notes"] as? [String] ?? []
        #expect(notes.contains { $0.contains("expired on 2020-01-31") }, "\(notes)")
    }

    @Test(arguments: [
        ("rule: \(signatureRule)\n    reson: typo", "accept.yaml:4: 'reson': unknown key; did you mean 'reason'?"),
        ("rule: xz-backdoor-sig-openwal-detect-sh\n    reason: a reason", "accept.yaml:3: 'rule': no loaded rule has the id 'xz-backdoor-sig-openwal-detect-sh'; did you mean"),
        ("rule: \(signatureRule)\n    reason: a reason\n    expires: 2027-02-29", "accept.yaml:5: 'expires': '2027-02-29' is not a date"),
        ("rule: \(signatureRule)", "accept.yaml:3: 'reason': required key is missing"),
    ])
    func suppressionMistakesAreErrors(_ body: String, _ expected: String) throws {
        let rules = try Self.rules(["accept.yaml": "chainwatch-rules: 1\nsuppressions:\n  - \(body)\n"])
        defer { Support.remove(rules) }
        let result = try Support.builtChainwatch(["--check-rules", rules])
        #expect(result.status == 2)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
    }
}

extension FleetTests {
    /// The textfile a scan writes: accepted by promtool, and scraped through the real node_exporter with the
    /// right values after a scan with a planted finding and after it clears.
    @Test func metricsThroughNodeExporter() throws {
        let work = try Support.temporaryDirectory("metrics")
        defer { Support.remove(work) }
        let textfiles = work + "/textfile"
        try FileManager.default.createDirectory(atPath: textfiles, withIntermediateDirectories: true)
        let metrics = textfiles + "/chainwatch.prom"
        let planted = try Support.makeRoot(["--version", "5.6.1-1", "--signature"])
        defer { Support.remove(planted + "/..") }
        let clean = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(clean + "/..") }

        let port = 19_000 + Int.random(in: 0..<900)
        let exporter = try Support.Background("/usr/bin/prometheus-node-exporter", [
            "--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults", "--collector.textfile",
            "--collector.textfile.directory=\(textfiles)",
        ])
        defer { exporter.stop() }
        func scrape() throws -> String {
            for _ in 0..<50 {
                let result = try Support.run("/usr/bin/curl", ["-fsS", "http://127.0.0.1:\(port)/metrics"])
                if result.status == 0 { return result.stdout }
                usleep(100_000)
            }
            Issue.record("node_exporter did not answer on 127.0.0.1:\(port)")
            return ""
        }
        func value(_ text: String, _ series: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }

        let first = try Support.builtChainwatch(["--scan-now", "--rules", Support.rulesDirectory, "--root", planted, "--metrics-file", metrics])
        #expect(first.status == 1, "\(first.stderr)")
        let check = try Support.run("/bin/sh", ["-c", "promtool check metrics < '\(metrics)'"])
        #expect(check.status == 0, "promtool: \(check.stdout)\(check.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: metrics)
        #expect((attributes[.posixPermissions] as? Int) == 0o644, "node_exporter's user must be able to read it")
        let scraped = try scrape()
        #expect((value(scraped, "chainwatch_findings{severity=\"critical\"}") ?? 0) >= 1, "\(scraped.split(separator: "\n").filter { $0.hasPrefix("chainwatch") })")
        #expect(value(scraped, "chainwatch_rule_findings{rule=\"\(Self.signatureRule)\",severity=\"critical\"}") == 1)
        #expect(value(scraped, "chainwatch_last_scan_completed") == 1)
        #expect((value(scraped, "chainwatch_last_scan_duration_seconds") ?? -1) >= 0)
        #expect(value(scraped, "chainwatch_rules_loaded") == Double(try RuleLoader.load(from: [Support.rulesDirectory]).rules.count))
        #expect(value(scraped, "node_textfile_scrape_error") == 0)

        let second = try Support.builtChainwatch(["--scan-now", "--rules", Support.rulesDirectory, "--root", clean, "--metrics-file", metrics])
        #expect(second.status == 0, "\(second.stdout)")
        let cleared = try scrape()
        #expect(value(cleared, "chainwatch_findings{severity=\"critical\"}") == 0)
        #expect(value(cleared, "chainwatch_rule_findings{rule=\"\(Self.signatureRule)\",severity=\"critical\"}") == 0)
        #expect(!FileManager.default.fileExists(atPath: metrics + ".tmp.\(first.status)"), "no temporary file left")
        #expect(try FileManager.default.contentsOfDirectory(atPath: textfiles) == ["chainwatch.prom"])
    }
}

extension FleetTests {
    struct Publisher {
        let work: String
        var keys: String { work + "/keys" }
        var key: String { work + "/signing.key" }
        var state: String { work + "/state" }

        init() throws {
            work = try Support.temporaryDirectory("bundle")
            try FileManager.default.createDirectory(atPath: work + "/keys", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: work + "/state", withIntermediateDirectories: true)
            let made = try Support.builtChainwatch(["--generate-signing-key", key])
            try #require(made.status == 0, "\(made.stderr)")
            try FileManager.default.copyItem(atPath: key + ".pub", toPath: keys + "/publisher.pub")
        }

        func sign(_ rules: String, version: String, key: String? = nil) throws -> String {
            let out = work + "/rules-\(version)-\(UUID().uuidString.prefix(6)).bundle"
            let result = try Support.builtChainwatch(["--sign-rules", rules, "--signing-key", key ?? self.key, "--bundle-version", version, "--output", out])
            try #require(result.status == 0, "\(result.stderr)")
            return out
        }

        func install(_ bundle: String) throws -> Support.Result {
            try Support.builtChainwatch(["--install-rules", bundle, "--keys", keys, "--state-dir", state])
        }

        var installed: String? { RuleBundle.installedVersion(stateDirectory: state) }
        var target: String? { try? FileManager.default.destinationOfSymbolicLink(atPath: state + "/rules") }
    }

    @Test func signedBundlesInstallOnlyWhenEverythingChecks() throws {
        let publisher = try Publisher()
        defer { Support.remove(publisher.work) }
        let good = try publisher.sign(Support.rulesDirectory, version: "2026.12.2")
        let first = try publisher.install(good)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(publisher.installed == "2026.12.2")
        let loaded = try RuleLoader.load(from: [publisher.state + "/rules"])
        #expect(loaded.rules.count == (try RuleLoader.load(from: [Support.rulesDirectory])).rules.count)
        let target = publisher.target

        func refused(_ bundle: String, _ reason: String) throws {
            let result = try publisher.install(bundle)
            #expect(result.status == 2, "\(bundle): \(result.stdout)")
            #expect(result.stderr.contains(reason), "\(result.stderr)")
            #expect(result.stderr.contains("The installed rules are unchanged."))
            #expect(publisher.installed == "2026.12.2")
            #expect(publisher.target == target)
            #expect((try? RuleLoader.load(from: [publisher.state + "/rules"]))?.rules.count == loaded.rules.count)
        }

        // A flipped byte in a rule file.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        let marker = Array("chainwatch-rules: 1".utf8)
        let at = try #require((0..<(bytes.count - marker.count)).first { Array(bytes[$0..<$0 + marker.count]) == marker })
        bytes[at + 18] = UInt8(ascii: "2")
        let flipped = publisher.work + "/flipped.bundle"
        try Data(bytes).write(to: URL(fileURLWithPath: flipped))
        try refused(flipped, "is not the file the manifest signs")

        // Signed by a key that is not trusted.
        let other = publisher.work + "/other.key"
        try #require(try Support.builtChainwatch(["--generate-signing-key", other]).status == 0)
        try refused(try publisher.sign(Support.rulesDirectory, version: "2026.12.3", key: other), "does not verify with any key")

        // Older than the installed one.
        try refused(try publisher.sign(Support.rulesDirectory, version: "2026.11.30"), "is older than the installed 2026.12.2")

        // Truncated.
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        let truncated = publisher.work + "/truncated.bundle"
        // Cut inside a rule file's bytes (where the flipped byte was), not at a member's end: half the bundle can
        // fall between two members and read as a bundle that lacks files (refused too, for another reason).
        try Data(whole.prefix(at + 5)).write(to: URL(fileURLWithPath: truncated))
        try refused(truncated, "not a readable bundle")

        // Correctly signed, but a rule does not validate (made by hand: --sign-rules refuses invalid rules).
        let invalid = "chainwatch-rules: 1\nrules:\n  - id: broken\n    titel: typo\n"
        let manifest = "{\"chainwatch-bundle\": 1, \"version\": \"2026.12.4\", \"files\": {\"broken.yaml\": \""
            + SHA256.hash(data: Array(invalid.utf8)).map { String(format: "%02x", $0) }.joined() + "\"}}"
        let keyText = try String(contentsOfFile: publisher.key, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: try #require(Data(base64Encoded: keyText)))
        let signature = try key.signature(for: Array(manifest.utf8)).base64EncodedString()
        let handmade = publisher.work + "/invalid.bundle"
        try Data(try TarWriter.archive([("manifest.json", Array(manifest.utf8)), ("manifest.json.sig", Array(signature.utf8)),
                                        ("broken.yaml", Array(invalid.utf8))])).write(to: URL(fileURLWithPath: handmade))
        try refused(handmade, "the bundle's rules do not validate")

        // Killed at the rename that would put it in place: the previous rules stay.
        let next = try publisher.sign(Support.rulesDirectory, version: "2026.12.5")
        // Each file is written to a temporary name and renamed, then the bundle manifest, then the one rename
        // that switches the rules: that last one is killed.
        let files = (FileManager.default.enumerator(atPath: Support.rulesDirectory)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".md") }.count
        let killed = try Support.run("/usr/bin/strace", ["-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2",
                                                         "-e", "inject=rename,renameat,renameat2:signal=KILL:when=\(files + 2)",
                                                         Support.builtBinary, "--install-rules", next, "--keys", publisher.keys, "--state-dir", publisher.state])
        #expect(killed.status != 0)
        #expect(publisher.installed == "2026.12.2")
        #expect(publisher.target == target)

        #expect(try FileManager.default.contentsOfDirectory(atPath: publisher.state + "/bundles").count == 2, "the interrupted copy is left, unused")

        // And a good newer bundle still installs over it, clearing what the interrupted one left.
        #expect(try publisher.install(next).status == 0)
        #expect(publisher.installed == "2026.12.5")
        #expect(try FileManager.default.contentsOfDirectory(atPath: publisher.state + "/bundles").count == 1)
    }
}

extension LiveSystemTests {
/// A running daemon picks up an installed bundle: --install-rules signals it and it reloads (seen in its metrics).
@Suite(.serialized) struct BundleReloadTests {
    @Test func theDaemonReloadsAnInstalledBundle() throws {
        let publisher = try FleetTests.Publisher()
        defer { Support.remove(publisher.work) }
        let fewer = try FleetTests.rules()
        defer { Support.remove(fewer) }
        try FileManager.default.removeItem(atPath: fewer + "/loader-injection")
        let first = try publisher.sign(fewer, version: "1.0")
        #expect(try publisher.install(first).status == 0)

        let metrics = publisher.work + "/chainwatch.prom"
        let daemon = try Support.Background(Support.builtBinary, [
            "--state-dir", publisher.state, "--interval", "1h", "--metrics-file", metrics,
        ])
        defer { daemon.stop() }
        func rulesLoaded(_ expected: Int, timeout: Double = 60) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let text = try? String(contentsOfFile: metrics, encoding: .utf8),
                   text.contains("chainwatch_rules_loaded \(expected)\n"), text.contains("chainwatch_last_scan_completed 1") { return true }
                usleep(100_000)
            }
            return false
        }
        let fewerCount = try RuleLoader.load(from: [fewer]).rules.count
        let allCount = try RuleLoader.load(from: [Support.rulesDirectory]).rules.count
        #expect(fewerCount < allCount)
        #expect(rulesLoaded(fewerCount), "the daemon loaded the installed bundle")

        let second = try publisher.install(try publisher.sign(Support.rulesDirectory, version: "1.1"))
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("told the daemon (pid \(daemon.pid)) to reload"), "\(second.stdout)")
        #expect(rulesLoaded(allCount), "reloaded after the install")
        #expect(daemon.process.isRunning)
    }
}
}
