import Probes
import Rules

/// Everything one scan found and everything it could not look at.
public struct ScanReport: Sendable, Codable {
    public var scanID: String
    public var root: String
    public var startedAt: Double
    public var findings: [Finding]
    public var skipped: [Skip]
    /// Things the reader should know about the scan's coverage (offline root, no dpkg database...).
    public var notes: [String]
    public var statistics: ScanStatistics
    public var programs: [ProgramSummary]
    /// False when the scan was stopped early: a partial scan must not clear findings.
    public var completed = true

    /// The highest severity found, or nil when nothing was.
    public var highestSeverity: Severity? { findings.map(\.severity).max() }
}

public struct ScanStatistics: Sendable, Codable {
    public var rules = 0
    public var packages = 0
    public var processes = 0
    public var processesSkipped = 0
    /// Processes whose GOT a got-integrity rule had read.
    public var processesChecked = 0
    public var filesExamined = 0
    public var filesRead = 0
    public var bytesRead: Int64 = 0
    public var filesFromCache = 0
    public var durationSeconds = 0.0
}

/// One program's library graph, as the report shows it.
public struct ProgramSummary: Sendable, Codable {
    public var program: String
    public var foundBy: String
    public var libraries: [Library]
    public var missing: [String]

    public struct Library: Sendable, Codable {
        public var chain: [String]
        public var path: String
    }
}
