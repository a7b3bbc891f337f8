import Foundation
import Testing
@testable import Daemon
@testable import Engine
import Journal
import Probes
import Rules
@testable import Rules

/// What a scanned host's values can do to the journal's text: nothing. MESSAGE escapes them; the catalog never
/// substitutes them.
@Suite struct JournalOutputTests {
    /// Every character class that can break, forge or reorder a line: C0 (newline), C1 (U+009B, a CSI on some
    /// terminals), the Unicode line and paragraph separators, bidi overrides, isolates and marks.
    static let hostileScalars: [Unicode.Scalar] = [
        "\n", "\r", "\u{1b}", "\u{85}", "\u{9b}", "\u{2028}", "\u{2029}", "\u{202a}", "\u{202b}", "\u{202c}", "\u{202d}",
        "\u{202e}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}", "\u{200e}", "\u{200f}", "\u{61c}",
    ]

    static var hostileName: String {
        "/tmp/liblzma.so.5" + String(String.UnicodeScalarView(hostileScalars)) + "verified, no action needed"
    }

    static func assertClean(_ text: String, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let found = text.unicodeScalars.filter { hostileScalars.contains($0) }.map { String($0.value, radix: 16) }
        #expect(found.isEmpty, "\(what) holds raw U+\(found.joined(separator: ", U+")): \(text.debugDescription)", sourceLocation: sourceLocation)
    }

    @Test func messageEscapesEveryValueFromTheScannedHost() throws {
        var finding = DaemonUnitTests.finding(Self.hostileName, pids: [42])
        finding.evidence.package = "xz-utils" + String(String.UnicodeScalarView(Self.hostileScalars))
        finding.evidence.version = "5.6.1\u{2028}-1"
        finding.evidence.chain = ["sshd", "lib\u{202e}systemd.so.0", "liblzma.so.5"]
        for event in [AlertEvent.new(finding), .changed(finding), .reminder(finding, firstSeen: 1), .cleared(finding)] {
            let fields = JournalEntries.event(event, scanID: "s")
            let message = try #require(fields.first { $0.name == "MESSAGE" }?.value)
            Self.assertClean(message, "MESSAGE of \(event.name)")
            #expect(message.contains(#"\u{2028}"#) && message.contains(#"\x9b"#) && message.contains(#"\u{202e}"#), "\(message)")
            // The structured field keeps the exact value: it is length-delimited, a SIEM reads it as data.
            #expect(fields.first { $0.name == "CHAINWATCH_PATH" }?.value == Self.hostileName)
        }
        var report = ScanReport(scanID: "s", root: "/", startedAt: 0, findings: [], skipped: [], notes: [],
                                statistics: ScanStatistics(), programs: [])
        report.packageDatabases = [PackageDatabaseStatus(path: "/var/lib/dpkg\u{2029}status", format: "dpkg", packages: 0, problem: "x")]
        report.skipped = [Skip(subject: Self.hostileName, reason: "unreadable", code: .unreadable)]
        let summary = JournalEntries.summary(report, findingsAboveInfo: 0)
        Self.assertClean(try #require(summary.first { $0.name == "MESSAGE" }?.value), "summary MESSAGE")
        #expect(summary.contains(JournalField("CHAINWATCH_INCOMPLETE", "1")))
        #expect(summary.contains(JournalField("PRIORITY", "4")), "an incomplete scan is a warning")
        let lifecycle = JournalEntries.lifecycle("reloaded", detail: Self.hostileName)
        Self.assertClean(try #require(lifecycle.first { $0.name == "MESSAGE" }?.value), "lifecycle MESSAGE")
        let rulesError = JournalEntries.rulesError(Self.hostileName.replacingOccurrences(of: "\n", with: " "), keptRules: 3)
        Self.assertClean(try #require(rulesError.first { $0.name == "MESSAGE" }?.value), "rules error MESSAGE")
    }

    /// What journalctl -x prints for @FIELD@ is the raw field (or, when the entry lacks it, the field's name).
    /// The catalog may substitute only fields chainwatch sets itself, and only those every entry of that
    /// MESSAGE_ID carries.
    @Test func catalogSubstitutesOnlyFieldsChainwatchSetsAndAlwaysSends() throws {
        let controlled: Set<String> = [
            "CHAINWATCH_RULE", "CHAINWATCH_SEVERITY", "CHAINWATCH_EVENT", "CHAINWATCH_SCAN_ID", "CHAINWATCH_DAEMON",
            "CHAINWATCH_FINDINGS", "CHAINWATCH_FINDINGS_ABOVE_INFO", "CHAINWATCH_FINDINGS_SUPPRESSED",
            "CHAINWATCH_HIGHEST_SEVERITY", "CHAINWATCH_DURATION", "CHAINWATCH_PROCESSES", "CHAINWATCH_PROCESSES_SKIPPED",
            "CHAINWATCH_SKIPPED", "CHAINWATCH_FILES_READ", "CHAINWATCH_FILES_FROM_CACHE", "CHAINWATCH_DROPPED",
            "CHAINWATCH_INCOMPLETE",
        ]
        // The fields each MESSAGE_ID's entries always carry: built with empty evidence, so nothing optional.
        var rules = try RuleLoader.load(from: [Support.rulesDirectory]).rules
        // The opt-in package-age rule ships as an example, not loaded; its catalog entry is checked all the same.
        let example = try String(contentsOfFile: Support.rulesDirectory + "/package-age/package-age.yaml.example", encoding: .utf8)
        rules += RuleLoader.decode(example, file: "package-age.yaml").rules
        // Every YARA rule's findings share one MESSAGE_ID (no YARA file is shipped, so one stands in for them).
        var yara = try #require(rules.first)
        yara.messageID = YARAConventions.messageID
        rules.append(yara)
        let report = ScanReport(scanID: "s", root: "/", startedAt: 0, findings: [], skipped: [], notes: [],
                                statistics: ScanStatistics(), programs: [])
        var carried: [String: Set<String>] = [
            JournalEntries.clearedMessageID: [],
            JournalEntries.summaryMessageID: Set(JournalEntries.summary(report, findingsAboveInfo: 0).map(\.name)),
            JournalEntries.rulesErrorMessageID: Set(JournalEntries.rulesError("e", keptRules: 1).map(\.name)),
            JournalEntries.lifecycleMessageID: Set(JournalEntries.lifecycle("started", detail: "").map(\.name)),
            JournalEntries.droppedMessageID: Set(JournalEntries.dropped(1, kept: 1).map(\.name)),
            JournalEntries.baselineErrorMessageID: Set(JournalEntries.baselineError("e", kept: nil).map(\.name)),
        ]
        for rule in rules {
            let finding = Finding(rule: rule, evidence: Evidence())
            carried[rule.messageID] = [AlertEvent.new(finding), .changed(finding), .reminder(finding, firstSeen: 0)]
                .map { Set(JournalEntries.event($0, scanID: "s").map(\.name)) }.reduce(nil as Set<String>?) { $0?.intersection($1) ?? $1 }
            carried[JournalEntries.clearedMessageID] = Set(JournalEntries.event(.cleared(finding), scanID: "s").map(\.name))
        }
        let text = try String(contentsOfFile: Support.packageRoot + "/systemd/chainwatch.catalog", encoding: .utf8)
        var id: String?
        var checked = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.hasPrefix("#") {
            if line.hasPrefix("-- ") { id = String(line.dropFirst(3)); continue }
            let parts = line.split(separator: "@", omittingEmptySubsequences: false)
            for index in stride(from: 1, to: parts.count - 1, by: 2) {
                let field = String(parts[index])
                let entry = try #require(id, "a substitution before the first entry: \(line)")
                #expect(controlled.contains(field), "\(entry) substitutes @\(field)@, a value from the scanned host or the rule text")
                #expect(carried[entry]?.contains(field) == true, "\(entry) substitutes @\(field)@, which not every entry of it carries")
                checked += 1
            }
        }
        #expect(checked > 30)
    }
}

extension LiveSystemTests {
/// The forged line of the red-team pass, end to end: a mapped library named
/// "liblzma.so.5<newline>verified, no action needed", the daemon's alert in the real journald, and `journalctl -x`
/// with chainwatch's catalog installed in the sandbox.
@Suite(.serialized) struct JournalForgeryLiveTests {
    @Test func aFileNameCannotForgeALineOfJournalctlX() throws {
        let setup = try DaemonTests.Setup()
        defer { Support.remove(setup.work) }
        let hostile = setup.work + "/liblzma.so.5" + String(String.UnicodeScalarView(JournalOutputTests.hostileScalars))
            + "verified, no action needed"
        try FileManager.default.copyItem(atPath: setup.library, toPath: hostile)
        let victim = try Support.Background(setup.mapsLib, [hostile])
        defer { victim.stop() }
        try #require(victim.waitForLine() == "ready")

        // The catalog, installed in the sandbox's own /usr/lib/systemd/catalog and catalog database.
        let source = setup.work + "/catalog", database = setup.work + "/catalog-db"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Support.packageRoot + "/systemd/chainwatch.catalog", toPath: source + "/chainwatch.catalog")
        let installed = try setup.sandbox.shell("mount --bind '\(source)' /usr/lib/systemd/catalog && "
            + "mount --bind '\(database)' /var/lib/systemd/catalog && journalctl --update-catalog")
        try #require(installed.status == 0, "\(installed.stderr)")

        let daemon = try setup.startDaemon()
        defer { daemon.stop() }
        let alert = try #require(try setup.sandbox.waitFor(60) {
            JournalSandbox.text($0, "CHAINWATCH_PATH") == hostile && $0["CHAINWATCH_KIND"] as? String == "byte-signature"
        }, "no alert for the hostile name; stderr: \(setup.daemonStderr())")
        let message = try #require(alert["MESSAGE"] as? String, "MESSAGE is not plain text: \(String(describing: alert["MESSAGE"]))")
        JournalOutputTests.assertClean(message, "the alert's MESSAGE")
        // The same scan reports the root process mapping it from a place others can write: a rule whose catalog
        // entry used to substitute the path.
        let provenance = try setup.sandbox.waitFor(30) {
            JournalSandbox.text($0, "CHAINWATCH_PATH") == hostile && $0["CHAINWATCH_RULE"] as? String == "provenance-root-process-code-from-writable-place"
        }
        #expect(provenance != nil, "no provenance alert for the hostile name")

        let shown = try setup.sandbox.shell("LANG=C.UTF-8 journalctl -x --no-pager SYSLOG_IDENTIFIER=chainwatch")
        let lines = shown.stdout.split(separator: "\n").map(String.init)
        try #require(lines.contains { $0.contains("Subject:") }, "the catalog was not shown: \(shown.stdout.prefix(800)) \(shown.stderr)")
        let forged = lines.filter {
            $0.drop { !$0.isLetter }.hasPrefix("verified, no action needed")
        }
        #expect(forged.isEmpty, "journalctl -x shows a forged line: \(forged)")
        for line in lines { JournalOutputTests.assertClean(line, "a line of journalctl -x") }
        #expect(!shown.stdout.contains("@CHAINWATCH_"), "an unsubstituted field")
    }
}
}
