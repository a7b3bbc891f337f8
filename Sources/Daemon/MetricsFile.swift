import Engine
import FoundationEssentials
import HostIO
import Rules

/// The scan's figures as a Prometheus text-format file for node_exporter's textfile collector: written to a
/// temporary file and renamed, so the collector never reads half of one. Names follow Prometheus's conventions
/// (`chainwatch_` prefix, base units, `_seconds`, `_total` for counters).
public struct MetricsFile: Sendable {
    /// What the daemon counts across scans.
    public struct Counters: Sendable {
        public var scans = 0
        public var reloadFailures = 0
        public var journalPending = 0
        /// Journal entries dropped from a full pending queue, ever (kept in the state, so across restarts).
        public var journalDropped = 0

        public init(scans: Int = 0, reloadFailures: Int = 0, journalPending: Int = 0, journalDropped: Int = 0) {
            self.scans = scans
            self.reloadFailures = reloadFailures
            self.journalPending = journalPending
            self.journalDropped = journalDropped
        }
    }

    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Writes the file (`OwnFiles`: refused in a directory another user can write, where a planted file would
    /// tell the monitoring that all is well).
    public func write(_ report: ScanReport?, rules: RuleSet, counters: Counters) throws(OwnFileError) {
        try OwnFiles.write(Array(Self.render(report, rules: rules, counters: counters).utf8), to: path, permissions: 0o644)
    }

    /// The file's text. Without a completed scan yet, only the counters and rule figures.
    public static func render(_ report: ScanReport?, rules: RuleSet, counters: Counters) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [([(String, String)], Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples {
                let text = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
                out += "\(name)\(text) \(format(value))\n"
            }
        }
        metric("chainwatch_rules_loaded", "gauge", "Rules in force.", [([], Double(rules.rules.count))])
        metric("chainwatch_suppressions_loaded", "gauge", "Suppressions in force (expired ones included).", [([], Double(rules.suppressions.count))])
        metric("chainwatch_scans_total", "counter", "Scans finished since the daemon started.", [([], Double(counters.scans))])
        metric("chainwatch_rule_reload_failures_total", "counter", "Rule reloads that failed (the previous rules were kept).", [([], Double(counters.reloadFailures))])
        metric("chainwatch_journal_entries_pending", "gauge", "Journal entries not yet delivered (journald unreachable).", [([], Double(counters.journalPending))])
        metric("chainwatch_journal_entries_dropped_total", "counter", "Undelivered journal entries dropped, oldest first, because the pending queue was full.", [([], Double(counters.journalDropped))])
        guard let report else { return out }
        let s = report.statistics
        let bySeverity = Severity.allCases.map { severity in
            ([("severity", severity.rawValue)], Double(report.findings.filter { $0.severity == severity }.count))
        }
        metric("chainwatch_findings", "gauge", "Findings of the last scan by severity, suppressed ones not included.", bySeverity)
        var perRule: [String: Int] = Dictionary(uniqueKeysWithValues: rules.rules.map { ($0.id, 0) })
        for finding in report.findings { perRule[finding.rule, default: 0] += 1 }
        let rulesByID = Dictionary(rules.rules.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        metric("chainwatch_rule_findings", "gauge", "Findings of the last scan by rule, suppressed ones not included.",
               perRule.keys.sorted().map { ([("rule", $0), ("severity", rulesByID[$0]?.severity.rawValue ?? "unknown")], Double(perRule[$0]!)) })
        metric("chainwatch_findings_suppressed", "gauge", "Findings of the last scan that a suppression accepted.", [([], Double(report.suppressed.count))])
        metric("chainwatch_last_scan_start_timestamp_seconds", "gauge", "When the last scan started (Unix time).", [([], report.startedAt)])
        metric("chainwatch_last_scan_duration_seconds", "gauge", "How long the last scan took.", [([], s.durationSeconds)])
        metric("chainwatch_last_scan_end_timestamp_seconds", "gauge", "When the last scan ended (Unix time).", [([], report.startedAt + s.durationSeconds)])
        metric("chainwatch_last_scan_completed", "gauge", "1 if the last scan ran to its end, 0 if it was stopped early.", [([], report.completed ? 1 : 0)])
        metric("chainwatch_last_scan_incomplete", "gauge", "1 if the last scan could not look at everything it was asked to (its findings may miss something), else 0.", [([], report.isIncomplete ? 1 : 0)])
        metric("chainwatch_processes_scanned", "gauge", "Processes the last scan read.", [([], Double(s.processes))])
        metric("chainwatch_containers_scanned", "gauge", "Running containers the last scan scanned as roots of their own.", [([], Double(s.containers))])
        metric("chainwatch_processes_skipped", "gauge", "Processes the last scan could not read (exited, not permitted).", [([], Double(s.processesSkipped))])
        metric("chainwatch_files_examined", "gauge", "Distinct files the last scan looked at.", [([], Double(s.filesExamined))])
        metric("chainwatch_files_read", "gauge", "Files the last scan read.", [([], Double(s.filesRead))])
        metric("chainwatch_files_from_cache", "gauge", "Files the last scan answered from its cache, unchanged since they were read.", [([], Double(s.filesFromCache))])
        metric("chainwatch_read_bytes", "gauge", "Bytes the last scan read.", [([], Double(s.bytesRead))])
        metric("chainwatch_skipped", "gauge", "Files and processes the last scan skipped.", [([], Double(report.skipped.count))])
        metric("chainwatch_package_databases_unread", "gauge", "Package databases the last scan found but could not read.", [([], Double(report.unreadDatabases.count))])
        return out
    }

    static func escape(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
