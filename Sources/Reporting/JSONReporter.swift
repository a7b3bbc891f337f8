import Engine
import FoundationEssentials
import HostIO
import Probes
import Rules

/// The machine-readable report: one JSON document, `format_version` 2, described by the JSON Schema in
/// docs/schema/report.schema.json (docs/json-report.md): the flat `findings` list, the same findings grouped by
/// `subjects`, what could not be looked at, and the targets.
public struct JSONReporter {
    /// The document's format: raised when a field changes meaning or type (2: RFC 3339 times, `scan.input`, finding
    /// and subject ids, tags and references).
    public static let formatVersion = 2

    public init() {}

    /// Why a report could not be written: a pipeline must never read an empty or partial document as a scan.
    public struct EncodingFailure: Error, CustomStringConvertible {
        public let description: String
    }

    public func render(_ report: ScanReport) throws(EncodingFailure) -> String {
        let subjects = Subject.group(report.findings)
        var subjectOf: [String: String] = [:]
        for subject in subjects {
            for finding in subject.findings + subject.restating.values.flatMap({ $0 }) { subjectOf[finding.id] = subject.id }
        }
        let document = Document(
            formatVersion: Self.formatVersion,
            chainwatch: ChainwatchVersion.current,
            verdict: .init(report),
            scan: .init(report),
            findings: report.findings.map { JSONFinding($0, subject: subjectOf[$0.id]) },
            subjects: subjects.map(JSONSubject.init),
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
            // Never an empty "{}" a pipeline would read as a clean scan: the caller exits 2.
            throw EncodingFailure(description: "the JSON report could not be encoded: \(error)")
        }
    }

    struct Document: Encodable {
        var formatVersion: Int
        var chainwatch: String
        var verdict: Verdict
        var scan: Scan
        var findings: [JSONFinding]
        /// The findings grouped by what they are about, most severe first (each finding id in exactly one).
        var subjects: [JSONSubject]
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
        var codeInUse: JSONCodeInUse?

        init(_ summary: TargetSummary) {
            scanned = summary.scanned
            codeInUse = summary.codeInUse.map(JSONCodeInUse.init)
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
        /// The root the scan read (`/` for the host); absent for a `--path` scan, which has no root.
        var root: String?
        /// What was asked to be scanned: the host, an offline root, an image or paths.
        var input: Input
        /// The machine that ran the scan, so reports from a fleet can be told apart.
        var host: Host
        /// RFC 3339, UTC, with milliseconds.
        var startedAt: String
        var statistics: ScanStatistics
        var packageDatabases: [Database]
        var image: ImageReference?
        var paths: [String]?
        var baseline: BaselineReference?

        struct Input: Encodable {
            var kind: String
            var root: String?
            var paths: [String]?
            var image: String?
        }

        struct Host: Encodable {
            var hostname: String?
            /// /etc/machine-id of the scanning host; absent when it cannot be read.
            var machineId: String?
        }

        init(_ report: ScanReport) {
            id = report.scanID
            let paths = report.scannedPaths.isEmpty ? nil : report.scannedPaths
            if let image = report.image {
                input = Input(kind: "image", image: image.path)
                root = nil
            } else if let paths {
                input = Input(kind: "paths", paths: paths)
                root = nil
            } else {
                input = Input(kind: report.root == "/" ? "host" : "root", root: report.root)
                root = report.root
            }
            host = Host(hostname: JSONReporter.firstLine(of: "/proc/sys/kernel/hostname"),
                        machineId: JSONReporter.firstLine(of: "/etc/machine-id"))
            startedAt = JSONReporter.rfc3339(report.startedAt)
            statistics = report.statistics
            packageDatabases = report.packageDatabases.map(Database.init)
            image = report.image
            self.paths = paths
            baseline = report.baseline
        }
    }

    /// The first line of a small file of this host, trimmed; nil when unreadable or empty.
    static func firstLine(of path: String) -> String? {
        guard let text = try? FileSystem.readText(path, limit: 4096) else { return nil }
        let line = text.split(separator: "\n").first.map { String($0).trimmingWhitespace() } ?? ""
        return line.isEmpty ? nil : line
    }

    /// Seconds since the epoch as RFC 3339 in UTC with milliseconds: 2026-12-07T06:33:20.123Z.
    static func rfc3339(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// A subject: what findings are about, its identity once, and the ids of its findings.
    struct JSONSubject: Encodable {
        var id: String
        var kind: Subject.Kind
        var target: ScanTarget?
        var path: String?
        var package: String?
        var version: String?
        var sha256: String?
        var pids: [Int32]?
        var seenAs: [String]?
        var chains: [[String]]?
        var highestSeverity: String
        /// Ids of its findings, most severe first, one per distinct thing said.
        var findings: [String]
        /// Ids of findings that say the same as one in `findings` (the same rule again, or the same evidence).
        var restating: [String]?

        init(_ subject: Subject) {
            id = subject.id
            kind = subject.kind
            target = subject.target
            path = subject.path
            package = subject.package
            version = subject.version
            sha256 = subject.sha256
            pids = subject.pids.isEmpty ? nil : subject.pids
            seenAs = subject.seenAs.isEmpty ? nil : subject.seenAs
            chains = subject.chains.isEmpty ? nil : subject.chains
            highestSeverity = subject.highestSeverity.rawValue
            findings = subject.findings.map(\.id)
            let folded = subject.restating.values.flatMap { $0.map(\.id) }
            restating = folded.isEmpty ? nil : folded.sorted()
        }
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
        /// Stable across scans for the same rule, target and subject (16 hex digits).
        var id: String
        /// The subject's id (see `subjects`).
        var subject: String
        var rule: String
        var kind: String
        var severity: String
        var title: String
        var messageId: String
        var evidence: Evidence
        var tags: [String]
        var references: [String]
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

        init(_ finding: Finding, subject: String? = nil, suppressedBy entry: SuppressedFinding? = nil) {
            if let entry {
                suppressed = true
                suppression = Suppression(reason: entry.reason, expires: entry.expires, definedAt: entry.definedAt)
            }
            id = finding.id
            self.subject = subject ?? finding.subjectID
            tags = finding.tags
            references = finding.references
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
