import Engine
import FoundationEssentials
import Journal
import Reporting
import Rules

/// Builds the journal entries the daemon sends: structured CHAINWATCH_* fields for SIEMs that keep them, and a
/// MESSAGE with a stable key=value tail for forwarders that pass on MESSAGE alone (Wazuh, Splunk by default).
public enum JournalEntries {
    public static let summaryMessageID = "c7a0e2d4b1f94e6a8d3b5c9e1f2a4b60"
    public static let clearedMessageID = "4e1b7c2a9d3f45e08b6a2c1d7f9e3a51"
    public static let rulesErrorMessageID = "9b2f4d6e8a1c43b5a7d9e0f2c4b6d8e1"
    public static let lifecycleMessageID = "e3c5a7b9d1f2430e8c6a4b2d0f9e7c51"
    public static let droppedMessageID = "a6d4f2b8c0e1479d9b3a5c7e1f8d2b40"
    public static let baselineErrorMessageID = "4c8e2a6f1d3b45e79a0c2e4f6b8d1a35"

    static func base(messageID: String, priority: Int, message: String) -> [JournalField] {
        [JournalField("MESSAGE", message), JournalField("MESSAGE_ID", messageID),
         JournalField("PRIORITY", String(priority)), JournalField("SYSLOG_IDENTIFIER", "chainwatch")]
    }

    public static func event(_ event: AlertEvent, scanID: String) -> [JournalField] {
        let finding = event.finding
        let e = finding.evidence
        let cleared: Bool
        if case .cleared = event { cleared = true } else { cleared = false }
        let sentence: String
        switch event {
        case .new: sentence = "\(finding.severity.rawValue.capitalized): \(finding.title)"
        case .changed: sentence = "\(finding.severity.rawValue.capitalized), evidence changed: \(finding.title)"
        case .reminder: sentence = "\(finding.severity.rawValue.capitalized), still present: \(finding.title)"
        case .cleared: sentence = "Cleared, no longer found: \(finding.title)"
        }
        var tail: [(String, String?)] = [("event", event.name), ("rule", finding.rule), ("severity", finding.severity.rawValue),
                                        ("path", e.path), ("pid", e.pid.map(String.init)), ("package", e.package),
                                        ("version", e.version), ("sha256", e.sha256)]
        if let chain = e.chain { tail.append(("chain", chain.joined(separator: " -> "))) }
        if e.symbol != nil { tail += [("symbol", e.symbol), ("points_to", e.pointsTo), ("expected", e.expected)] }
        if e.integrity != nil { tail += [("integrity", e.integrity), ("location", e.location), ("writable_by", e.writableBy)] }
        if e.built != nil { tail += [("built", e.built), ("installed", e.installed), ("age_days", e.ageDays.map(String.init))] }
        if e.baseline != nil {
            tail += [("approved_versions", e.approvedVersions?.joined(separator: " ")), ("approved_sha256", e.approvedSHA256?.joined(separator: " "))]
        }
        let container = finding.target?.kind == .container ? finding.target : nil
        if let container {
            tail += [("container", container.name ?? container.shortID), ("container_id", container.id), ("image", container.image),
                     ("runtime", container.runtime?.rawValue)]
        }
        let message = sentence.sanitizedForMessage + " -- " + KeyValueTail.render(tail)

        var fields = base(messageID: cleared ? clearedMessageID : finding.messageID,
                          priority: cleared ? 5 : finding.severity.journalPriority, message: message)
        fields += [
            JournalField("CHAINWATCH_EVENT", event.name),
            JournalField("CHAINWATCH_RULE", finding.rule),
            JournalField("CHAINWATCH_RULE_MESSAGE_ID", finding.messageID),
            JournalField("CHAINWATCH_KIND", finding.kind.rawValue),
            JournalField("CHAINWATCH_SEVERITY", finding.severity.rawValue),
            JournalField("CHAINWATCH_TITLE", finding.title),
            JournalField("CHAINWATCH_SCAN_ID", scanID),
            // The JSON report's finding id and subject id: a SIEM groups one file's or process's entries by the subject.
            JournalField("CHAINWATCH_FINDING_ID", finding.id),
            JournalField("CHAINWATCH_SUBJECT", finding.subjectID),
        ]
        let optional: [(String, String?)] = [
            ("CHAINWATCH_PATH", e.path), ("CHAINWATCH_SHA256", e.sha256), ("CHAINWATCH_PACKAGE", e.package),
            ("CHAINWATCH_VERSION", e.version), ("CHAINWATCH_PID", e.pid.map(String.init)),
            ("CHAINWATCH_PIDS", e.pids.map { $0.map(String.init).joined(separator: " ") }),
            ("CHAINWATCH_CHAIN", e.chain?.joined(separator: " -> ")), ("CHAINWATCH_DETAIL", e.detail),
            ("CHAINWATCH_MATCHED_NAME", e.matchedName), ("CHAINWATCH_SYMBOL", e.symbol),
            ("CHAINWATCH_SLOT_ADDRESS", e.slotAddress), ("CHAINWATCH_POINTS_TO", e.pointsTo),
            ("CHAINWATCH_EXPECTED", e.expected), ("CHAINWATCH_INTEGRITY", e.integrity),
            ("CHAINWATCH_LOCATION", e.location), ("CHAINWATCH_WRITABLE_BY", e.writableBy),
            ("CHAINWATCH_YARA_RULE", e.yaraRule), ("CHAINWATCH_YARA_NAMESPACE", e.yaraNamespace),
            ("CHAINWATCH_YARA_STRINGS", e.yaraStrings?.joined(separator: ", ")), ("CHAINWATCH_MAPPING", e.mapping),
            ("CHAINWATCH_BUILT", e.built), ("CHAINWATCH_BUILT_FROM", e.builtFrom), ("CHAINWATCH_INSTALLED", e.installed),
            ("CHAINWATCH_AGE_DAYS", e.ageDays.map(String.init)), ("CHAINWATCH_MINIMUM_DAYS", e.minimumDays.map(String.init)),
            ("CHAINWATCH_BASELINE", e.baseline), ("CHAINWATCH_APPROVED_VERSIONS", e.approvedVersions?.joined(separator: " ")),
            ("CHAINWATCH_APPROVED_SHA256", e.approvedSHA256?.joined(separator: " ")),
            // The container a finding is in, so a SIEM can group and route by it.
            ("CHAINWATCH_TARGET", finding.target?.kind.rawValue),
            ("CHAINWATCH_CONTAINER_ID", container?.id), ("CHAINWATCH_CONTAINER_SHORT_ID", container?.shortID),
            ("CHAINWATCH_CONTAINER_NAME", container?.name), ("CHAINWATCH_CONTAINER_IMAGE", container?.image),
            ("CHAINWATCH_CONTAINER_IMAGE_ID", container?.imageID), ("CHAINWATCH_CONTAINER_RUNTIME", container?.runtime?.rawValue),
            ("CHAINWATCH_CONTAINER_POD", container?.pod), ("CHAINWATCH_CONTAINER_NAMESPACE", container?.namespace),
            ("CHAINWATCH_CONTAINER_K8S_NAME", container?.containerName),
        ]
        for case let (name, value?) in optional { fields.append(JournalField(name, value)) }
        if case .reminder(_, let firstSeen) = event { fields.append(JournalField("CHAINWATCH_FIRST_SEEN", String(Int(firstSeen)))) }
        return fields
    }

    public static func summary(_ report: ScanReport, findingsAboveInfo: Int) -> [JournalField] {
        let s = report.statistics
        let incomplete = report.incompleteReasons
        let tail = KeyValueTail.render([
            ("scan_id", report.scanID), ("findings", String(report.findings.count)), ("above_info", String(findingsAboveInfo)),
            ("highest", report.highestSeverity?.rawValue ?? "none"), ("duration_s", String(format3(s.durationSeconds))),
            ("processes", String(s.processes)), ("containers", String(s.containers)), ("skipped", String(report.skipped.count)),
            ("suppressed", String(report.suppressed.count)),
            ("unread_package_databases", report.unreadDatabases.isEmpty ? nil : report.unreadDatabases.map(\.path).joined(separator: " ")),
            ("incomplete", incomplete.isEmpty ? nil : String(incomplete.count)),
        ])
        // A scan that could not look at everything (a package database, a file, a process) may have missed what it
        // was looking for: a warning, not an info line.
        var fields = base(messageID: summaryMessageID, priority: incomplete.isEmpty ? 6 : 4,
                          message: "Scan finished\(incomplete.isEmpty ? "" : " INCOMPLETE"): \(report.findings.count) findings "
                              + "(\(findingsAboveInfo) above info, \(report.suppressed.count) suppressed) -- " + tail)
        fields += [
            JournalField("CHAINWATCH_SCAN_ID", report.scanID),
            JournalField("CHAINWATCH_FINDINGS", String(report.findings.count)),
            JournalField("CHAINWATCH_FINDINGS_ABOVE_INFO", String(findingsAboveInfo)),
            JournalField("CHAINWATCH_FINDINGS_SUPPRESSED", String(report.suppressed.count)),
            JournalField("CHAINWATCH_HIGHEST_SEVERITY", report.highestSeverity?.rawValue ?? "none"),
            JournalField("CHAINWATCH_DURATION", format3(s.durationSeconds)),
            JournalField("CHAINWATCH_PROCESSES", String(s.processes)),
            JournalField("CHAINWATCH_PROCESSES_SKIPPED", String(s.processesSkipped)),
            JournalField("CHAINWATCH_SKIPPED", String(report.skipped.count)),
            JournalField("CHAINWATCH_FILES_READ", String(s.filesRead)),
            JournalField("CHAINWATCH_FILES_FROM_CACHE", String(s.filesFromCache)),
        ]
        for database in report.unreadDatabases {
            fields.append(JournalField("CHAINWATCH_UNREAD_PACKAGE_DATABASE", "\(database.path): \(database.problem ?? "")"))
        }
        fields.append(JournalField("CHAINWATCH_INCOMPLETE", incomplete.isEmpty ? "0" : "1"))
        for reason in incomplete.prefix(100) { fields.append(JournalField("CHAINWATCH_INCOMPLETE_REASON", reason)) }
        return fields
    }

    /// How many entries a full pending queue cost while the journal was away; sent before the rest is delivered.
    public static func dropped(_ count: Int, kept: Int) -> [JournalField] {
        base(messageID: droppedMessageID, priority: 4,
             message: "\(count) journal entries were dropped, oldest first, while the journal was unreachable "
                 + "(at most \(kept) are kept) -- " + KeyValueTail.render([("dropped", String(count))]))
            + [JournalField("CHAINWATCH_DROPPED", String(count))]
    }

    public static func rulesError(_ error: String, keptRules: Int) -> [JournalField] {
        let first = error.split(separator: "\n").first.map(String.init) ?? error
        return base(messageID: rulesErrorMessageID, priority: 3,
                    message: "Rules reload failed; still running the previous \(keptRules) rules -- "
                        + KeyValueTail.render([("error", first)]))
            + [JournalField("CHAINWATCH_RULES_ERROR", error)]
    }

    /// A baseline that could not be put in force, and which one still is.
    public static func baselineError(_ error: String, kept: Baseline?) -> [JournalField] {
        let keeping = kept.map { "still judging drift against the previous baseline (sha256 \($0.sha256))" }
            ?? "no baseline in force: drift is not judged"
        return base(messageID: baselineErrorMessageID, priority: 3,
                    message: "Baseline refused; \(keeping) -- " + KeyValueTail.render([("error", error)]))
            + [JournalField("CHAINWATCH_BASELINE_ERROR", error)]
    }

    public static func lifecycle(_ what: String, detail: String) -> [JournalField] {
        base(messageID: lifecycleMessageID, priority: 6, message: "chainwatch daemon \(what) -- " + KeyValueTail.render([("state", what), ("detail", detail)]))
            + [JournalField("CHAINWATCH_DAEMON", what)]
    }

    static func format3(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// `key="value"` pairs in which a value cannot forge a key or a line: `TerminalText.escape` (backslashes, C0 and
/// C1 controls, line and paragraph separators, bidi controls), then quotes as \".
enum KeyValueTail {
    static func render(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { key, value in value.map { "\(key)=\"\(escape($0))\"" } }.joined(separator: " ")
    }

    static func escape(_ value: String) -> String {
        TerminalText.escape(value).replacing("\"", with: "\\\"")
    }
}

extension String {
    /// The sentence keeps to one line. It holds only rule text, never a scanned file's name: attacker-controlled
    /// values go in the tail, escaped, so nothing before " -- " can imitate it.
    var sanitizedForMessage: String { KeyValueTail.escape(self) }
}
