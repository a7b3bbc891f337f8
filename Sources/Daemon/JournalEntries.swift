import Engine
import FoundationEssentials
import Journal
import Rules

/// Builds the journal entries the daemon sends: structured CHAINWATCH_* fields for SIEMs that keep them, and a
/// MESSAGE with a stable key=value tail for forwarders that pass on MESSAGE alone (Wazuh, Splunk by default).
public enum JournalEntries {
    public static let summaryMessageID = "c7a0e2d4b1f94e6a8d3b5c9e1f2a4b60"
    public static let clearedMessageID = "4e1b7c2a9d3f45e08b6a2c1d7f9e3a51"
    public static let rulesErrorMessageID = "9b2f4d6e8a1c43b5a7d9e0f2c4b6d8e1"
    public static let lifecycleMessageID = "e3c5a7b9d1f2430e8c6a4b2d0f9e7c51"

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
        ]
        for case let (name, value?) in optional { fields.append(JournalField(name, value)) }
        if case .reminder(_, let firstSeen) = event { fields.append(JournalField("CHAINWATCH_FIRST_SEEN", String(Int(firstSeen)))) }
        return fields
    }

    public static func summary(_ report: ScanReport, findingsAboveInfo: Int) -> [JournalField] {
        let s = report.statistics
        let tail = KeyValueTail.render([
            ("scan_id", report.scanID), ("findings", String(report.findings.count)), ("above_info", String(findingsAboveInfo)),
            ("highest", report.highestSeverity?.rawValue ?? "none"), ("duration_s", String(format3(s.durationSeconds))),
            ("processes", String(s.processes)), ("skipped", String(report.skipped.count)),
            ("suppressed", String(report.suppressed.count)),
            ("unread_package_databases", report.unreadDatabases.isEmpty ? nil : report.unreadDatabases.map(\.path).joined(separator: " ")),
        ])
        // A package database that could not be read leaves its packages unchecked: a warning, not an info line.
        var fields = base(messageID: summaryMessageID, priority: report.unreadDatabases.isEmpty ? 6 : 4,
                          message: "Scan finished: \(report.findings.count) findings (\(findingsAboveInfo) above info, \(report.suppressed.count) suppressed) -- " + tail)
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
        return fields
    }

    public static func rulesError(_ error: String, keptRules: Int) -> [JournalField] {
        let first = error.split(separator: "\n").first.map(String.init) ?? error
        return base(messageID: rulesErrorMessageID, priority: 3,
                    message: "Rules reload failed; still running the previous \(keptRules) rules -- "
                        + KeyValueTail.render([("error", first)]))
            + [JournalField("CHAINWATCH_RULES_ERROR", error)]
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

/// `key="value"` pairs in which a value cannot forge a key: quotes and backslashes are escaped, control
/// characters (a newline in a file name) become \xNN.
enum KeyValueTail {
    static func render(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { key, value in value.map { "\(key)=\"\(escape($0))\"" } }.joined(separator: " ")
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5c: out += "\\\\"
            case 0..<0x20, 0x7f:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    /// The sentence keeps to one line. It holds only rule text, never a scanned file's name: attacker-controlled
    /// values go in the tail, escaped, so nothing before " -- " can imitate it.
    var sanitizedForMessage: String { KeyValueTail.escape(self) }
}
