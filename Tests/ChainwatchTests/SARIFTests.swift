import Foundation
import Rules
import Testing

extension LiveSystemTests {
/// `scan --format sarif` validated by the OASIS SARIF 2.1.0 schema (Tests/Fixtures/cyclonedx-validate.sh --schema, Python's
/// jsonschema), stable across scans, and keyed the way GitHub code scanning keys alerts; `--fail-on`'s exit codes.
@Suite(.serialized) struct SARIFTests {
    struct Scan {
        var status: Int32
        var text: String
        var log: [String: Any]
        var run: [String: Any] { (log["runs"] as? [[String: Any]])?.first ?? [:] }
        var results: [[String: Any]] { run["results"] as? [[String: Any]] ?? [] }
        var rules: [[String: Any]] { ((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]] ?? [] }
        var invocation: [String: Any] { (run["invocations"] as? [[String: Any]])?.first ?? [:] }
        var fingerprints: [String] { results.compactMap { ($0["partialFingerprints"] as? [String: String])?["chainwatch/v1"] } }
        var uris: [String] {
            results.compactMap { result in
                (((result["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["artifactLocation"] as? [String: Any])?["uri"] as? String
            }
        }
    }

    static func sarif(_ arguments: [String]) throws -> Scan {
        let result = try Support.run(Support.builtBinary, ["scan", "--format", "sarif", "--rules", Support.rulesDirectory] + arguments)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return Scan(status: result.status, text: result.stdout, log: try #require(object, "not JSON: \(result.stdout.prefix(300)) \(result.stderr)"))
    }

    /// The log validated against the SARIF 2.1.0 schema by jsonschema (format checks on: uri, uri-reference, date-time).
    static func expectValid(_ scan: Scan, _ label: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let directory = try Support.temporaryDirectory("sarif")
        defer { Support.remove(directory) }
        let path = directory + "/\(label).sarif"
        try scan.text.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try Support.run(Support.fixtures + "/cyclonedx-validate.sh",
                                     ["--schema", Support.fixtures + "/schemas/sarif-schema-2.1.0.json", path])
        #expect(result.status == 0, "\(label): \(result.stdout)\(result.stderr)", sourceLocation: sourceLocation)
    }

    /// The text without the invocation's start and end times, the only values that may change between two scans.
    static func withoutTimes(_ text: String) -> String {
        text.split(separator: "\n").filter { !$0.contains("\"startTimeUtc\"") && !$0.contains("\"endTimeUtc\"") }.joined(separator: "\n")
    }

    /// Two scans of the same input: byte-equal but for the times, the same fingerprints, each result's ruleId a
    /// loaded rule's id with the security-severity and level of its severity.
    static func expectStableAndKeyed(_ first: Scan, _ second: Scan, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        #expect(withoutTimes(first.text) == withoutTimes(second.text), sourceLocation: sourceLocation)
        #expect(!first.fingerprints.isEmpty && first.fingerprints == second.fingerprints, sourceLocation: sourceLocation)
        #expect(Set(first.fingerprints).count == first.fingerprints.count, "one fingerprint per result", sourceLocation: sourceLocation)
        let loaded = try RuleLoader.load(from: [Support.rulesDirectory])
        #expect(first.rules.compactMap { $0["id"] as? String } == loaded.rules.map(\.id).sorted(), sourceLocation: sourceLocation)
        let scores: [Severity: String] = [.critical: "9.5", .high: "8.0", .medium: "5.5", .low: "3.0", .info: "0.0"]
        for rule in first.rules {
            let loadedRule = try #require(loaded.rules.first { $0.id == rule["id"] as? String })
            #expect((rule["properties"] as? [String: Any])?["security-severity"] as? String == scores[loadedRule.severity], sourceLocation: sourceLocation)
            #expect((rule["shortDescription"] as? [String: Any])?["text"] as? String == loadedRule.title, sourceLocation: sourceLocation)
        }
        let ids = Set(loaded.rules.map(\.id))
        for result in first.results {
            let ruleId = try #require(result["ruleId"] as? String)
            #expect(ids.contains(ruleId), sourceLocation: sourceLocation)
            let severity = try #require(Severity(rawValue: (result["properties"] as? [String: Any])?["chainwatch/severity"] as? String ?? ""))
            let level = severity >= .high ? "error" : severity == .medium ? "warning" : "note"
            #expect(result["level"] as? String == level, sourceLocation: sourceLocation)
        }
    }

    /// A `--root` scan of make-root.sh's backdoored root: valid, stable, its locations inside the root.
    @Test func rootScanIsValidStableAndRelativeToTheRoot() throws {
        let root = try Support.makeRoot(["--version", "5.6.1-1", "--signature"])
        defer { Support.remove(root + "/..") }
        let first = try Self.sarif(["--root", root])
        let second = try Self.sarif(["--root", root])
        #expect(first.status == 1)
        try Self.expectValid(first, "root")
        try Self.expectStableAndKeyed(first, second)
        // The same rules as the JSON report's findings.
        let (_, json) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(first.results.compactMap { $0["ruleId"] as? String }.sorted() == Support.findings(json).compactMap { $0["rule"] as? String }.sorted())
        #expect(first.uris.contains("usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"), "\(first.uris)")
        #expect(first.uris.contains("var/lib/dpkg/status"), "the package finding points at its database: \(first.uris)")
        #expect(!first.uris.contains { $0.hasPrefix("/") || $0.contains(root) })
        let base = (first.run["originalUriBaseIds"] as? [String: Any])?["%SRCROOT%"] as? [String: Any]
        #expect(base?["uri"] as? String == "file://" + root + "/")
        #expect(first.invocation["executionSuccessful"] as? Bool == true)
        // The fingerprint does not depend on where the root is: the same root copied elsewhere gives the same ones.
        let copy = try Support.temporaryDirectory("sarif-copy")
        defer { Support.remove(copy) }
        #expect(try Support.run("/bin/cp", ["-a", root, copy + "/elsewhere"]).status == 0)
        #expect(try Self.sarif(["--root", copy + "/elsewhere"]).fingerprints == first.fingerprints)
    }

    /// A `--path` scan of make-archives.sh's archives: members are located at their archive, relative to the
    /// scanned directory; a file name with a space, '#', '%', a newline and non-ASCII is a valid URI reference;
    /// an archive libarchive refuses makes the run unsuccessful with the skip as a notification (exit 3 without
    /// findings).
    @Test func pathScanIsValidWithArchiveMembersAndOddNames() throws {
        let out = try Support.fixture("make-archives.sh")
        defer { Support.remove(out + "/..") }
        let odd = out + "/odd name #1 %25 \u{e9}\ntar.tar"
        try FileManager.default.copyItem(atPath: out + "/xz-5.6.1.tar", toPath: odd)
        let first = try Self.sarif(["--path", out])
        let second = try Self.sarif(["--path", out])
        #expect(first.status == 1)
        try Self.expectValid(first, "path")
        try Self.expectStableAndKeyed(first, second)
        #expect(first.uris.contains("xz-5.6.1.tar.gz"), "\(first.uris)")
        #expect(first.uris.contains("odd%20name%20%231%20%2525%20%C3%A9%0Atar.tar"), "\(first.uris)")
        #expect(first.results.contains { ($0["properties"] as? [String: Any])?["chainwatch/archive-member"] as? String != nil })

        let broken = out + "/clean/broken.tar.gz"
        try Data([0x1f, 0x8b, 0x08, 0x00] + Array(repeating: 0x41, count: 4096)).write(to: URL(fileURLWithPath: broken))
        let incomplete = try Self.sarif(["--path", broken])
        #expect(incomplete.status == 3)
        try Self.expectValid(incomplete, "incomplete")
        #expect(incomplete.invocation["executionSuccessful"] as? Bool == false)
        let notes = incomplete.invocation["toolExecutionNotifications"] as? [[String: Any]] ?? []
        #expect(notes.contains { ($0["descriptor"] as? [String: Any])?["id"] as? String == "skip/damaged" }, "\(notes)")
    }

    /// An `--image` scan (make-image.sh's OCI archive): valid and stable; the base names the image, not the
    /// temporary directory it was unpacked in.
    @Test func imageScanIsValidAndNamesNoTemporaryDirectory() throws {
        let out = try Support.fixture("make-image.sh")
        defer { Support.remove(out + "/..") }
        let first = try Self.sarif(["--image", out + "/image-oci.tar"])
        let second = try Self.sarif(["--image", out + "/image-oci.tar"])
        #expect(first.status == 1)
        try Self.expectValid(first, "image")
        try Self.expectStableAndKeyed(first, second)
        let base = (first.run["originalUriBaseIds"] as? [String: Any])?["%SRCROOT%"] as? [String: Any]
        #expect(base?["uri"] == nil)
        #expect(((base?["description"] as? [String: Any])?["text"] as? String)?.contains("sha256:") == true)
        #expect(first.uris.contains("usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"), "\(first.uris)")
    }

    /// A scan of this host (its processes, containers and skips) is a valid log too; each skip that leaves the scan
    /// incomplete is a warning notification, and the run is unsuccessful exactly when the scan exits 3.
    @Test func hostScanIsValid() throws {
        let scan = try Self.sarif(["--no-library-dirs"])
        #expect([0, 1, 3].contains(scan.status), "\(scan.text.prefix(300))")
        try Self.expectValid(scan, "host")
        let base = (scan.run["originalUriBaseIds"] as? [String: Any])?["%SRCROOT%"] as? [String: Any]
        #expect(base?["uri"] as? String == "file:///")
        if scan.status == 3 { #expect(scan.invocation["executionSuccessful"] as? Bool == false) }
        if scan.status == 0 { #expect(scan.invocation["executionSuccessful"] as? Bool == true) }
    }

    /// `--fail-on SEVERITY`: exit 1 only at or above it; the default is low (anything above info), as before.
    @Test func failOnSetsTheThresholdOfExitOne() throws {
        let bad = try Support.makeRoot(["--version", "5.6.1-1"])
        defer { Support.remove(bad + "/..") }
        let quiet = try Support.makeRoot(["--version", "5.4.1-1", "--no-ifunc"])
        defer { Support.remove(quiet + "/..") }
        func status(_ arguments: [String]) throws -> Int32 {
            try Support.run(Support.builtBinary, ["scan", "--rules", Support.rulesDirectory, "--format", "json"] + arguments).status
        }
        // The backdoored root has critical findings; the quiet one only the info-level "sshd loads liblzma" pair.
        for severity in ["critical", "high", "medium", "low", "info"] { #expect(try status(["--root", bad, "--fail-on", severity]) == 1) }
        #expect(try status(["--root", bad]) == 1)
        #expect(try status(["--root", quiet]) == 0)
        #expect(try status(["--root", quiet, "--fail-on", "low"]) == 0)
        #expect(try status(["--root", quiet, "--fail-on", "info"]) == 1)
        #expect(try Support.run(Support.builtBinary, ["--scan-now", "--rules", Support.rulesDirectory, "--root", quiet, "--fail-on", "info"]).status == 1)
    }
}
}
