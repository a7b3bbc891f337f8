import Probes
import Rules

/// Everything one scan found and everything it could not look at.
public struct ScanReport: Sendable, Codable {
    public var scanID: String
    public var root: String
    public var startedAt: Double
    /// Findings still reported: those no suppression accepts.
    public var findings: [Finding]
    /// Findings a suppression accepted, with its reason: counted and listed, never alerted.
    public var suppressed: [SuppressedFinding] = []
    public var skipped: [Skip]
    /// Things the reader should know about the scan's coverage (offline root, no dpkg database...).
    public var notes: [String]
    public var statistics: ScanStatistics
    public var programs: [ProgramSummary]
    /// False when the scan was stopped early: a partial scan must not clear findings.
    public var completed = true
    /// Every package database found in the root and whether it was read: a database that could not be read means
    /// its packages are unknown, which the report says loudly (and `--scan-now` exits 3 when nothing else was found).
    public var packageDatabases: [PackageDatabaseStatus] = []
    /// The image an `--image` scan was of.
    public var image: ImageReference?
    /// The files and directories a `--path` scan was given (empty for a root scan).
    public var scannedPaths: [String] = []
    /// What an SBOM is made of, when the scan was asked to keep it (`ScanOptions.collectInventory`).
    public var inventory: ScanInventory?
    /// The baseline drift was judged against (`--baseline`); nil without one.
    public var baseline: BaselineReference?
    /// What was scanned: the host (or the offline root, the image, the paths) first, then each container.
    public var targets: [TargetSummary] = []

    /// What kept the whole scan from looking where it was asked to, besides single skips: not run as root, an
    /// empty root, a scan stopped early. Each makes the verdict incomplete.
    public var coverageGaps: [String] = []

    /// Package databases that were found but could not be read.
    public var unreadDatabases: [PackageDatabaseStatus] { packageDatabases.filter { !$0.wasRead } }

    /// Why "nothing found" would not mean "it looked": every gap, every unread package database, and each skip
    /// reason that leaves the scan incomplete (with how many subjects it hid). Empty when the scan saw everything.
    public var incompleteReasons: [String] {
        var reasons = coverageGaps
        if !completed && !coverageGaps.contains(Self.stoppedEarly) { reasons.append(Self.stoppedEarly) }
        for database in unreadDatabases {
            reasons.append("package database \(database.path) (\(database.format)) not read: \(database.problem ?? "unknown problem")")
        }
        var counts: [String: (Int, String)] = [:]
        var order: [String] = []
        for skip in skipped where skip.leavesScanIncomplete {
            if counts[skip.reason] == nil { order.append(skip.reason); counts[skip.reason] = (0, (skip.target.map { $0 + ": " } ?? "") + skip.subject) }
            counts[skip.reason]!.0 += 1
        }
        for reason in order {
            let (count, first) = counts[reason]!
            reasons.append(count == 1 ? "\(first): \(reason)" : "\(count) subjects (first \(first)): \(reason)")
        }
        return reasons
    }

    public var isIncomplete: Bool { !incompleteReasons.isEmpty }

    public static let stoppedEarly = "the scan was stopped before it finished"

    /// The subjects (display paths, "pid N") this scan could not look at: the daemon does not clear their findings.
    /// A target whose packages are unknown (a package database found but not read, or none where a baseline
    /// approves packages) is "packages of KEY" (`ScanReport.packagesSubject`): its package findings are not cleared.
    public var incompleteSubjects: Set<String> {
        Set(skipped.filter(\.leavesScanIncomplete).map(\.subject)).union(packagesUnknown.map(Self.packagesSubject))
    }

    /// The targets (by `ScanTarget.stableKey`) whose packages this scan could not establish.
    public var packagesUnknown: Set<String> = []

    public static func packagesSubject(_ targetKey: String) -> String { "packages of " + targetKey }

    /// The highest severity found, or nil when nothing was.
    public var highestSeverity: Severity? { findings.map(\.severity).max() }
}

/// A baseline as a report names it.
public struct BaselineReference: Sendable, Codable {
    public var file: String
    public var sha256: String
    /// The trusted key that signed it; nil: unsigned.
    public var signer: String?
    public var packages: Int
    public var codeFiles: Int
    public var containers: Int
    /// Whether it approves code by SHA-256 (a package-only SBOM does not: running code is then not judged).
    public var approvesCode: Bool

    public init(_ baseline: Baseline) {
        file = baseline.file
        sha256 = baseline.sha256
        signer = baseline.signer
        packages = baseline.primary.packageCount
        codeFiles = baseline.primary.files.count
        containers = baseline.containers.count
        approvesCode = baseline.approvesCode
    }
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
    public var findingsSuppressed = 0
    /// Containers scanned as targets of their own.
    public var containers = 0
    public var durationSeconds = 0.0
}

/// One program's library graph, as the report shows it.
public struct ProgramSummary: Sendable, Codable {
    public var program: String
    public var foundBy: String
    public var libraries: [Library]
    public var missing: [String]
    /// The container it is in (its label); nil for the host's.
    public var target: String?

    public struct Library: Sendable, Codable {
        public var chain: [String]
        public var path: String
    }
}

/// Everything the scan saw, for a software bill of materials.
public struct ScanInventory: Sendable, Codable {
    /// /etc/os-release of the scanned root (ID, VERSION_ID, PRETTY_NAME...).
    public var system: [String: String]
    public var packages: [InstalledPackage]
    public var files: [ScannedFile]
    /// DT_NEEDED edges of every program graph: `from` loads `to` (display paths).
    public var edges: [Edge]

    public init(system: [String: String], packages: [InstalledPackage], files: [ScannedFile], edges: [Edge]) {
        self.system = system
        self.packages = packages
        self.files = files
        self.edges = edges
    }

    public struct Edge: Sendable, Codable, Hashable {
        public var from: String
        public var to: String
    }
}

/// A file the scan read, with what it learned of where it came from.
public struct ScannedFile: Sendable, Codable {
    public enum Kind: String, Sendable, Codable {
        case program, library, file
    }

    public var path: String
    public var sha256: String
    /// The other digests its read computed (the one its package recorded: MD5 for dpkg, SHA-1 for apk).
    public var digests: [DigestAlgorithm: String]
    public var kind: Kind
    public var names: [String]
    /// Index of the owning package in `ScanInventory.packages`.
    public var package: Int?
    public var provenance: Provenance?
    public var pids: [Int32]
    /// The executables of the processes mapping it.
    public var mappedBy: [String]
    public var seenAs: [String]
}
