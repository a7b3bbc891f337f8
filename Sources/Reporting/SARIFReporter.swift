import Crypto
import Engine
import FoundationEssentials
import Probes
import Rules

/// The scan as a SARIF 2.1.0 log (JSON), shaped the way GitHub code scanning reads it: one run, every loaded rule in
/// `tool.driver.rules` (id = the chainwatch rule id, tags, `security-severity`), a result per finding with its
/// location relative to the scanned input (`%SRCROOT%`: the `--root` directory, the `--image`'s filesystem, the
/// directory holding every `--path`), a `partialFingerprints` entry that survives rescans, and the skips as the
/// invocation's notifications (`executionSuccessful` false when the verdict is incomplete).
/// Everything is sorted and only the invocation's start and end times change between two scans of the same input.
public struct SARIFReporter {
    public let rules: RuleSet

    public init(rules: RuleSet) {
        self.rules = rules
    }

    /// The `security-severity` GitHub code scanning sorts and labels alerts by (a CVSS-like 0.0-10.0 score as a
    /// string): over 9.0 is shown as critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
    public static func securitySeverity(_ severity: Severity) -> String {
        switch severity {
        case .critical: return "9.5"
        case .high: return "8.0"
        case .medium: return "5.5"
        case .low: return "3.0"
        case .info: return "0.0"
        }
    }

    /// SARIF's `level`: what a viewer marks as an error, a warning or a note.
    public static func level(_ severity: Severity) -> String {
        switch severity {
        case .critical, .high: return "error"
        case .medium: return "warning"
        case .low, .info: return "note"
        }
    }

    /// The key under `partialFingerprints`; versioned so that a change of what is hashed can be told apart.
    public static let fingerprintKey = "chainwatch/v1"

    /// The log as text, or the encoder's error: a pipeline must never read half a log, or `{}`, as "no results".
    public func render(_ report: ScanReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(log(report)), as: UTF8.self)
        return TerminalText.escapingInvisibleInJSON(text) + "\n"
    }

    func log(_ report: ScanReport) -> Log {
        let base = SARIFBase(report)
        let sortedRules = rules.rules.sorted { $0.id < $1.id }
        let index = Dictionary(sortedRules.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        let results = report.findings
            .map { result($0, base: base, ruleIndex: index[$0.rule]) }
            .sorted { ($0.sortKey) < ($1.sortKey) }
        var originalBases = [SARIFBase.sourceRoot: base.sourceRootLocation]
        for (id, description) in base.containerBases(report) {
            originalBases[id] = ArtifactLocation(uri: nil, uriBaseId: nil, description: Message(text: description))
        }
        return Log(runs: [Run(
            tool: Tool(driver: Driver(
                name: "chainwatch", version: ChainwatchVersion.current, semanticVersion: ChainwatchVersion.current,
                // No public project page exists yet: informationUri is optional, and a made-up one would mislead.
                informationUri: nil,
                rules: sortedRules.map(descriptor))),
            invocations: [invocation(report)],
            originalUriBaseIds: originalBases,
            results: results,
            properties: RunProperties(target: base.description, image: report.image))])
    }

    func descriptor(_ rule: Rule) -> ReportingDescriptor {
        let references = rule.references.isEmpty ? "" : "\n\nReferences:\n" + rule.references.map { "- " + $0 }.joined(separator: "\n")
        return ReportingDescriptor(
            id: rule.id, name: rule.title,
            shortDescription: Message(text: rule.title),
            fullDescription: Message(text: rule.description.isEmpty ? rule.title : rule.description),
            help: Message(text: (rule.description.isEmpty ? rule.title : rule.description) + references),
            defaultConfiguration: Configuration(level: Self.level(rule.severity)),
            properties: RuleProperties(
                tags: Array(Set(rule.tags + ["security", rule.kind.rawValue])).sorted(),
                securitySeverity: Self.securitySeverity(rule.severity),
                severity: rule.severity.rawValue, kind: rule.kind.rawValue))
    }

    func result(_ finding: Finding, base: SARIFBase, ruleIndex: Int?) -> Result {
        let place = base.place(of: finding)
        let fingerprintInput = [finding.rule, place.targetKey, place.pathInInput ?? "", finding.evidence.package ?? "",
                                finding.evidence.chain?.joined(separator: ">") ?? "", finding.evidence.symbol ?? ""]
            .joined(separator: "\u{0}")
        let fingerprint = SHA256.hash(data: Array(fingerprintInput.utf8)).map { byte in
            String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }.joined()
        return Result(
            ruleId: finding.rule, ruleIndex: ruleIndex, level: Self.level(finding.severity),
            message: Message(text: Self.evidenceText(finding)),
            locations: place.location.map { [Location(physicalLocation: PhysicalLocation(artifactLocation: $0))] },
            partialFingerprints: [Self.fingerprintKey: fingerprint],
            properties: ResultProperties(severity: finding.severity.rawValue, securitySeverity: Self.securitySeverity(finding.severity),
                                         target: finding.target.map(\.label), member: place.member))
    }

    /// What this finding says, one line: the title, then the evidence that made it match.
    static func evidenceText(_ finding: Finding) -> String {
        let evidence = finding.evidence
        var parts: [String] = []
        if let path = evidence.path { parts.append(path) }
        if let package = evidence.package { parts.append("package " + package + (evidence.version.map { " " + $0 } ?? "")) }
        if let chain = evidence.chain { parts.append("chain " + chain.joined(separator: " -> ")) }
        if let symbol = evidence.symbol {
            parts.append("symbol \(symbol)" + (evidence.pointsTo.map { ", slot points into \($0)" } ?? "")
                + (evidence.expected.map { ", expected \($0)" } ?? ""))
        }
        if let integrity = evidence.integrity { parts.append("integrity " + integrity) }
        if let writableBy = evidence.writableBy { parts.append("writable by " + writableBy) }
        if let pids = evidence.pids ?? evidence.pid.map({ [$0] }) { parts.append("pids " + pids.map(String.init).joined(separator: ", ")) }
        if let sha256 = evidence.sha256 { parts.append("sha256 " + sha256) }
        if let detail = evidence.detail { parts.append(detail) }
        return finding.title + (parts.isEmpty ? "" : ": " + parts.joined(separator: "; "))
    }

    func invocation(_ report: ScanReport) -> Invocation {
        var notifications: [Notification] = report.incompleteReasons.map {
            Notification(level: "error", message: Message(text: "incomplete: " + $0), descriptor: Reference(id: "incomplete"))
        }
        let skips = report.skipped.sorted { ($0.code.rawValue, $0.target ?? "", $0.subject, $0.reason) < ($1.code.rawValue, $1.target ?? "", $1.subject, $1.reason) }
        notifications += skips.map { skip in
            Notification(level: skip.leavesScanIncomplete ? "warning" : "note",
                         message: Message(text: (skip.target.map { $0 + ": " } ?? "") + skip.subject + ": " + skip.reason),
                         descriptor: Reference(id: "skip/" + skip.code.rawValue))
        }
        return Invocation(
            executionSuccessful: !report.isIncomplete,
            startTimeUtc: Self.timestamp(report.startedAt),
            endTimeUtc: Self.timestamp(report.startedAt + report.statistics.durationSeconds),
            toolExecutionNotifications: notifications)
    }

    static func timestamp(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds.rounded(.down)).formatted(Date.ISO8601FormatStyle())
    }
}
