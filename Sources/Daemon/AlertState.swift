import Engine
import FoundationEssentials
import HostIO
import Journal

/// What the daemon remembers between scans and restarts: which findings it has announced, and entries it could
/// not deliver yet. Written atomically to the state directory after every change.
public struct AlertState: Codable, Sendable, Equatable {
    public struct Tracked: Codable, Sendable, Equatable {
        public var finding: Finding
        public var fingerprint: String
        public var firstSeen: Double
        public var lastSent: Double
        /// The last scan that found it (state files from before containers: nil, read as `lastSent`).
        public var lastSeen: Double?
    }

    public var version = 1
    public var findings: [String: Tracked] = [:]
    /// Journal entries not yet delivered, oldest first; bounded (`AlertSink.maximumPending`).
    public var pending: [[JournalField]] = []
    /// Entries dropped from a full `pending` queue (oldest first) that the journal has not been told about yet.
    public var droppedUnannounced = 0
    /// Every entry ever dropped from a full queue: the metrics counter.
    public var droppedTotal = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case version, findings, pending, droppedUnannounced, droppedTotal
    }

    /// State files written before the queue had a bound have no drop counters: they read as zero.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        findings = try container.decode([String: Tracked].self, forKey: .findings)
        pending = try container.decode([[JournalField]].self, forKey: .pending)
        droppedUnannounced = try container.decodeIfPresent(Int.self, forKey: .droppedUnannounced) ?? 0
        droppedTotal = try container.decodeIfPresent(Int.self, forKey: .droppedTotal) ?? 0
    }

    public static let fileName = "state.json"
    /// The largest state file a start reads; `save` never writes a larger one.
    public static let maximumFileSize = 64 << 20

    /// The state in `directory`, or an empty one if there is none. A directory another user can write is refused:
    /// whoever can plant a state file can mark a finding as already announced.
    public static func load(from directory: String) throws -> AlertState {
        if let problem = OwnFiles.sharingProblem(of: directory) { throw OwnFileError(path: directory + "/" + fileName, problem: problem) }
        let path = directory + "/" + fileName
        do {
            let bytes = try OpenFile(path: path).readAll(limit: Int64(maximumFileSize))
            return try JSONDecoder().decode(AlertState.self, from: Data(bytes))
        } catch let error as FileReadError where error.isNotFound {
            return AlertState()
        }
    }

    /// Writes the state (`OwnFiles`: only into a directory no other user can write). A state whose JSON would
    /// be over `maximumFileSize` (pending entries of hostile paths can grow sixfold as JSON escapes) first loses
    /// its oldest pending entries, counted as dropped, so the next start can always read what is written.
    public mutating func save(to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var bytes = Array(try encoder.encode(self))
        while bytes.count > Self.maximumFileSize && !pending.isEmpty {
            let excess = Double(bytes.count - Self.maximumFileSize) / Double(bytes.count)
            dropOldestPending(max(1, min(pending.count, Int((Double(pending.count) * excess).rounded(.up)) + pending.count / 20)))
            bytes = Array(try encoder.encode(self))
        }
        guard bytes.count <= Self.maximumFileSize else {
            throw OwnFileError(path: directory + "/" + Self.fileName,
                               problem: "\(bytes.count) bytes of remembered findings is over the \(Self.maximumFileSize)-byte limit a start reads; not saved")
        }
        try OwnFiles.write(bytes, to: directory + "/" + Self.fileName)
    }

    /// Drops the `count` oldest pending entries, counting them.
    mutating func dropOldestPending(_ count: Int) {
        guard count > 0 else { return }
        pending.removeFirst(count)
        droppedUnannounced += count
        droppedTotal += count
    }
}

/// What to tell the journal about one finding after a scan.
public enum AlertEvent: Sendable, Equatable {
    case new(Finding)
    case changed(Finding)
    case reminder(Finding, firstSeen: Double)
    case cleared(Finding)

    public var name: String {
        switch self {
        case .new: return "new"
        case .changed: return "changed"
        case .reminder: return "reminder"
        case .cleared: return "cleared"
        }
    }

    public var finding: Finding {
        switch self {
        case .new(let f), .changed(let f), .reminder(let f, _), .cleared(let f): return f
        }
    }
}

/// Decides, from the remembered findings and a complete scan's findings, what to send: alert once, again when the
/// evidence changes or the reminder period passes, and "cleared" when a finding is gone.
public enum AlertPlanner {
    /// `unexamined` are the subjects the scan could not look at (`ScanReport.incompleteSubjects`: display paths
    /// and "pid N"). A remembered finding about one of them is not "gone", only unseen: it stays tracked as it
    /// was, neither cleared nor re-announced, until a scan looks at its subject again.
    /// - Parameters:
    ///   - scannedTargets: the `stableKey`s of the targets this scan looked at. A finding in a container this scan
    ///     did not see at all (stopped, or between its stop and start) is kept for `containerGrace` seconds: a
    ///     restart is not "cleared" and "new" for the same problem; a container gone for longer is cleared.
    public static func plan(
        _ state: inout AlertState, findings: [Finding], unexamined: Set<String> = [], now: Double, reminder: Double,
        scannedTargets: Set<String>? = nil, containerGrace: Double = 0
    ) -> [AlertEvent] {
        var events: [AlertEvent] = []
        var current: [String: AlertState.Tracked] = [:]
        for finding in findings where current[finding.key] == nil {
            let fingerprint = Self.fingerprint(finding)
            if var tracked = state.findings[finding.key] {
                if tracked.fingerprint != fingerprint {
                    events.append(.changed(finding))
                    tracked.lastSent = now
                } else if now - tracked.lastSent >= reminder {
                    events.append(.reminder(finding, firstSeen: tracked.firstSeen))
                    tracked.lastSent = now
                }
                tracked.finding = finding
                tracked.fingerprint = fingerprint
                tracked.lastSeen = now
                current[finding.key] = tracked
            } else {
                events.append(.new(finding))
                current[finding.key] = AlertState.Tracked(finding: finding, fingerprint: fingerprint, firstSeen: now, lastSent: now, lastSeen: now)
            }
        }
        let unseen = Unexamined(unexamined)
        for (key, tracked) in state.findings.sorted(by: { $0.key < $1.key }) where current[key] == nil {
            if unseen.covers(tracked.finding) {
                current[key] = tracked
            } else if let target = tracked.finding.target, target.kind == .container, let scannedTargets,
                      !scannedTargets.contains(target.stableKey), now - (tracked.lastSeen ?? tracked.lastSent) < containerGrace {
                current[key] = tracked
            } else {
                events.append(.cleared(tracked.finding))
            }
        }
        state.findings = current
        return events
    }

    /// The subjects a scan could not look at, as paths and pids ("pid N", or "pid N (program)" for a process
    /// whose GOT could not be read).
    struct Unexamined {
        var paths: Set<String> = []
        var pids: Set<Int32> = []
        /// Targets whose packages were unknown: a finding about a package (no file) there is not cleared.
        var packageTargets: Set<String> = []

        init(_ subjects: Set<String>) {
            let packages = ScanReport.packagesSubject("")
            for subject in subjects {
                if subject.hasPrefix(packages) {
                    packageTargets.insert(String(subject.dropFirst(packages.count)))
                } else if subject.hasPrefix("pid "), let pid = Int32(subject.dropFirst(4).prefix { $0.isASCII && $0.isNumber }) {
                    pids.insert(pid)
                } else {
                    paths.insert(subject)
                }
            }
        }

        /// Whether the finding is about something not looked at: its file (or a directory above it, or the archive
        /// it is a member of), or a process it names.
        func covers(_ finding: Finding) -> Bool {
            let e = finding.evidence
            if e.package != nil, e.path == nil, packageTargets.contains(finding.target?.stableKey ?? ScanTarget(kind: .host).stableKey) {
                return true
            }
            if let path = e.path, !paths.isEmpty {
                var prefix = Substring(path)
                while true {
                    if paths.contains(String(prefix)) { return true }
                    guard let cut = prefix.lastIndex(where: { $0 == "/" || $0 == "!" }), cut > prefix.startIndex else { break }
                    prefix = prefix[..<cut]
                }
            }
            return ((e.pid.map { [$0] } ?? []) + (e.pids ?? [])).contains { pids.contains($0) }
        }
    }

    /// The facts whose change makes a finding worth announcing again. Which pids map a file is left out (it changes
    /// whenever a process starts), whether any process maps it is not.
    static func fingerprint(_ finding: Finding) -> String {
        let e = finding.evidence
        return [finding.severity.rawValue, e.path ?? "", e.sha256 ?? "", e.package ?? "", e.version ?? "",
                e.pid == nil ? "" : "mapped", (e.chain ?? []).joined(separator: ">")]
            .joined(separator: "|")
    }
}
