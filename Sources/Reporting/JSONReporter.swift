import Engine
import FoundationEssentials
import Probes
import Rules

/// The machine-readable report: one JSON document with a `findings` array (schema in the README).
public struct JSONReporter {
    public init() {}

    public func render(_ report: ScanReport) -> String {
        let document = Document(
            chainwatch: ChainwatchVersion.current,
            verdict: .init(report),
            scan: .init(id: report.scanID, root: report.root, startedAt: report.startedAt, statistics: report.statistics,
                        packageDatabases: report.packageDatabases.map(Database.init), image: report.image,
                        paths: report.scannedPaths.isEmpty ? nil : report.scannedPaths),
            findings: report.findings.map { JSONFinding($0) },
            suppressed: report.suppressed.map { JSONFinding($0.finding, suppressedBy: $0) },
            skipped: report.skipped, notes: report.notes, programs: report.programs,
            targets: report.targets.map(JSONTarget.init))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        do {
            // Characters that reorder or hide text (bidi controls, C1, U+2028) as \uXXXX: the same values to a parser,
            // nothing a person or a terminal showing the JSON can be misled by.
            return TerminalText.escapingInvisibleInJSON(String(decoding: try encoder.encode(document), as: UTF8.self)) + "\n"
        } catch {
            // Never an empty "{}" a pipeline would read as a clean scan.
            preconditionFailure("the JSON report could not be encoded: \(error)")
        }
    }

    struct Document: Encodable {
        var chainwatch: String
        var verdict: Verdict
        var scan: Scan
        var findings: [JSONFinding]
        var suppressed: [JSONFinding]
        var skipped: [Probes.Skip]
        var notes: [String]
        var programs: [ProgramSummary]
        /// The host (or the root, the image, the paths) first, then each container scanned.
        var targets: [JSONTarget]
    }

    struct JSONTarget: Encodable {
        var target: ScanTarget
        var label: String
        var pids: [Int32]
        var packages: Int
        var packageDatabases: [String]
        var problems: [String]
        var scanned: Bool

        init(_ summary: TargetSummary) {
            scanned = summary.scanned
            target = summary.target
            label = summary.target.label
            pids = summary.pids
            packages = summary.packages
            packageDatabases = summary.packageDatabases
            problems = summary.problems
        }
    }

    /// What the exit status says, for a pipeline: `findings` (1), `incomplete` (3: it could not look, with why),
    /// or `clean` (0).
    struct Verdict: Encodable {
        var result: String
        var complete: Bool
        var incompleteReasons: [String]
        var highestSeverity: String?

        init(_ report: ScanReport) {
            let above = report.highestSeverity.map { $0 > .info } ?? false
            incompleteReasons = report.incompleteReasons
            complete = incompleteReasons.isEmpty
            result = above ? "findings" : complete ? "clean" : "incomplete"
            highestSeverity = report.highestSeverity?.rawValue
        }
    }

    struct Scan: Encodable {
        var id: String
        var root: String
        var startedAt: Double
        var statistics: ScanStatistics
        var packageDatabases: [Database]
        var image: ImageReference?
        var paths: [String]?
    }

    struct Database: Encodable {
        var path: String
        var format: String
        var packages: Int
        var read: Bool
        var problem: String?

        init(_ status: PackageDatabaseStatus) {
            path = status.path
            format = status.format
            packages = status.packages
            read = status.wasRead
            problem = status.problem
        }
    }

    struct JSONFinding: Encodable {
        var rule: String
        var kind: String
        var severity: String
        var title: String
        var messageId: String
        var evidence: Evidence
        /// What it is about: kind host, container (id, short_id, name, runtime, image, image_id, pod, namespace,
        /// container_name), root, image or paths.
        var target: ScanTarget?
        var suppressed: Bool?
        var suppression: Suppression?

        struct Suppression: Encodable {
            var reason: String
            var expires: String?
            var definedAt: String
        }

        init(_ finding: Finding, suppressedBy entry: SuppressedFinding? = nil) {
            if let entry {
                suppressed = true
                suppression = Suppression(reason: entry.reason, expires: entry.expires, definedAt: entry.definedAt)
            }
            rule = finding.rule
            kind = finding.kind.rawValue
            severity = finding.severity.rawValue
            title = finding.title
            messageId = finding.messageID
            evidence = finding.evidence
            target = finding.target
        }
    }
}
