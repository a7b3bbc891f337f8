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
    }

    public var version = 1
    public var findings: [String: Tracked] = [:]
    /// Journal entries not yet delivered, oldest first.
    public var pending: [[JournalField]] = []

    public init() {}

    public static let fileName = "state.json"

    public static func load(from directory: String) throws -> AlertState {
        let path = directory + "/" + fileName
        do {
            let bytes = try OpenFile(path: path).readAll(limit: 64 << 20)
            return try JSONDecoder().decode(AlertState.self, from: Data(bytes))
        } catch let error as FileReadError where error.isNotFound {
            return AlertState()
        }
    }

    public func save(to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try FileSystem.writeAtomically(Array(try encoder.encode(self)), to: directory + "/" + Self.fileName)
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
    public static func plan(
        _ state: inout AlertState, findings: [Finding], now: Double, reminder: Double
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
                current[finding.key] = tracked
            } else {
                events.append(.new(finding))
                current[finding.key] = AlertState.Tracked(finding: finding, fingerprint: fingerprint, firstSeen: now, lastSent: now)
            }
        }
        for (key, tracked) in state.findings.sorted(by: { $0.key < $1.key }) where current[key] == nil {
            events.append(.cleared(tracked.finding))
        }
        state.findings = current
        return events
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
