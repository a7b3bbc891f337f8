import FoundationEssentials
import HostIO
import Probes
import Rules

/// A finding accepted by a suppression: kept, with why, where the suppression is written and until when.
public struct SuppressedFinding: Sendable, Codable, Hashable {
    public var finding: Finding
    public var reason: String
    /// The last day the suppression applies (YYYY-MM-DD), if it ends.
    public var expires: String?
    /// The suppression's file and line.
    public var definedAt: String
}

/// The rule set's suppressions, compiled once per load, applied to every scan's findings.
struct SuppressionMatcher: Sendable {
    struct Compiled: Sendable {
        var suppression: Suppression
        var paths: GlobSet?
        var executables: [String]?
    }

    let compiled: [Compiled]

    init(_ suppressions: [Suppression]) {
        compiled = suppressions.map { Compiled(suppression: $0, paths: $0.paths.map(GlobSet.init), executables: $0.executables) }
    }

    /// Splits findings into those still reported and those accepted; an expired suppression accepts nothing and
    /// says so in a note.
    func apply(_ findings: [Finding], running: [Probes.ProcessInfo], now: Double) -> (active: [Finding], suppressed: [SuppressedFinding], notes: [String]) {
        guard !compiled.isEmpty else { return (findings, [], []) }
        let executables = Dictionary(running.compactMap { process in process.executable.map { (process.pid, ScanPlan.trimmingDeleted($0)) } },
                                     uniquingKeysWith: { first, _ in first })
        var notes: [String] = []
        var live: [Compiled] = []
        for entry in compiled {
            if entry.suppression.applies(at: now) { live.append(entry); continue }
            notes.append("suppression of \(entry.suppression.rule) at \(entry.suppression.location) expired on \(entry.suppression.expires!); its findings are reported again")
        }
        var active: [Finding] = []
        var suppressed: [SuppressedFinding] = []
        for finding in findings {
            guard let entry = live.first(where: { Self.matches($0, finding, executables: executables) }) else {
                active.append(finding)
                continue
            }
            suppressed.append(SuppressedFinding(finding: finding, reason: entry.suppression.reason,
                                                expires: entry.suppression.expires?.description,
                                                definedAt: entry.suppression.location.description))
        }
        return (active, suppressed, notes)
    }

    static func matches(_ entry: Compiled, _ finding: Finding, executables: [Int32: String]) -> Bool {
        let suppression = entry.suppression
        guard suppression.rule == finding.rule else { return false }
        let evidence = finding.evidence
        if let paths = entry.paths {
            guard let path = evidence.path, paths.matches(path) else { return false }
        }
        if let packages = suppression.packages {
            guard let package = evidence.package, packages.contains(package) else { return false }
        }
        let pidExecutables = (evidence.pids ?? evidence.pid.map { [$0] } ?? []).compactMap { executables[$0] }
        if let programs = suppression.programs {
            let names = (evidence.chain?.first.map { [baseName($0)] } ?? []) + pidExecutables.map(baseName)
            guard names.contains(where: programs.contains) else { return false }
        }
        if let globs = suppression.containers {
            guard finding.target?.kind == .container,
                  let name = finding.target?.name ?? finding.target?.containerName ?? finding.target?.shortID,
                  globs.contains(where: { Glob.matches($0, name) }) else { return false }
        }
        if let globs = suppression.images {
            guard finding.target?.kind == .container, let image = finding.target?.image,
                  globs.contains(where: { Glob.matches($0, image) }) else { return false }
        }
        if let globs = entry.executables {
            guard pidExecutables.contains(where: { executable in globs.contains { Glob.matches($0, executable) } }) else { return false }
        }
        return true
    }
}
