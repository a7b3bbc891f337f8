import Crypto
import Rules

/// What findings are about, so a report can say each thing once: a file (its path in its target), a package
/// (version findings with no file of their own), a process, or the scan itself. Every finding belongs to exactly
/// one subject; a subject's identity (path, package, hash, pids, where seen) is the union of its findings'.
public struct Subject: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case file, package, process, scan
    }

    /// Stable across scans: derived from the target's stable key and the path, package or pid (`Subject.key`).
    public var id: String
    public var kind: Kind
    public var target: ScanTarget?
    public var path: String?
    public var package: String?
    public var version: String?
    public var sha256: String?
    public var pids: [Int32]
    public var seenAs: [String]
    /// Distinct chains from a program to this file, shortest first.
    public var chains: [[String]]
    public var archive: [String]?
    /// Its findings, highest severity first; those that say the same thing as another are in `restating`.
    public var findings: [Finding]
    /// Findings folded into another of the same subject (by the kept finding's rule): the same rule again (a file
    /// on disk and as mapped), or another rule with the same specific evidence. The most severe is kept.
    public var restating: [String: [Finding]]

    public var highestSeverity: Severity { findings.map(\.severity).max() ?? .info }

    /// The key of the subject a finding belongs to, before package findings are folded into a file of the package.
    static func key(of finding: Finding) -> (kind: Kind, key: String) {
        let target = finding.target.map { $0.kind == .container ? $0.stableKey : $0.kind.rawValue } ?? "host"
        let evidence = finding.evidence
        let perProcess = finding.kind == .gotIntegrity || (finding.kind == .loaderInjection && evidence.pid != nil)
        if let path = evidence.path { return (perProcess ? .process : .file, target + "|file|" + path) }
        if let package = evidence.package { return (.package, target + "|package|" + package + "@" + (evidence.version ?? "")) }
        if let pid = evidence.pid { return (.process, target + "|pid|" + String(pid)) }
        return (.scan, target + "|scan|" + finding.rule)
    }

    /// A short stable identifier for a key: 16 hex digits of its SHA-256.
    static func identifier(_ key: String) -> String {
        String(SHA256.hash(data: Array(key.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined().prefix(16))
    }

    /// Groups findings by subject, most severe subject first. A package's version finding joins the file subject
    /// of the same package in the same target when there is exactly one (the library the package installed).
    public static func group(_ findings: [Finding]) -> [Subject] {
        var order: [String] = []
        var members: [String: [Finding]] = [:]
        var kinds: [String: Kind] = [:]
        for finding in findings {
            let (kind, key) = key(of: finding)
            if members[key] == nil { order.append(key); kinds[key] = kind }
            members[key, default: []].append(finding)
        }
        // Package subjects fold into the one file subject of that package (same target), if there is exactly one.
        for key in order where kinds[key] == .package {
            guard let sample = members[key]?.first, let package = sample.evidence.package else { continue }
            let target = sample.target
            let files = order.filter { other in
                kinds[other] != .package && members[other]?.contains { $0.target == target && $0.evidence.package == package } == true
            }
            if files.count == 1 {
                members[files[0], default: []] += members[key] ?? []
                members[key] = nil
            }
        }
        let subjects = order.compactMap { key in members[key].map { make(key: key, kind: kinds[key]!, findings: $0) } }
        return subjects.sorted { ($0.highestSeverity.rank, $1.path ?? $1.package ?? "") > ($1.highestSeverity.rank, $0.path ?? $0.package ?? "") }
    }

    static func make(key: String, kind: Kind, findings: [Finding]) -> Subject {
        let sorted = findings.sorted(by: Finding.reportOrder)
        var kept: [Finding] = []
        var restating: [String: [Finding]] = [:]
        for finding in sorted {
            // The same rule twice (a file on disk and as mapped) or the same specific evidence under another rule:
            // one line, the most severe, with the others named.
            if let index = kept.firstIndex(where: { $0.rule == finding.rule || (!finding.specificEvidence.isEmpty && $0.specificEvidence == finding.specificEvidence) }) {
                restating[kept[index].rule, default: []].append(finding)
                continue
            }
            kept.append(finding)
        }
        let evidence = sorted.map(\.evidence)
        var chains: [[String]] = []
        for chain in evidence.compactMap(\.chain) where chain.count > 1 && !chains.contains(chain) { chains.append(chain) }
        var seen: [String] = []
        for way in evidence.flatMap({ $0.seenAs ?? [] }) where !seen.contains(way) { seen.append(way) }
        let pids = Set(evidence.flatMap { $0.pids ?? $0.pid.map { [$0] } ?? [] }).sorted()
        return Subject(
            id: identifier(key), kind: kind, target: sorted.first?.target, path: evidence.compactMap(\.path).first,
            package: evidence.compactMap(\.package).first, version: evidence.compactMap(\.version).first,
            sha256: evidence.compactMap(\.sha256).first, pids: pids, seenAs: seen,
            chains: chains.sorted { $0.count < $1.count }, archive: evidence.compactMap(\.archive).first,
            findings: kept, restating: restating)
    }
}

extension Finding {
    /// Stable across scans: 16 hex digits of the SHA-256 of `key` (rule, target, path, package, chain, symbol).
    public var id: String { Subject.identifier(key) }

    /// The identifier of the subject this finding is about, as `Subject.group` gives it (before a package finding
    /// is folded into its file: the journal has no other findings to fold with).
    public var subjectID: String { Subject.identifier(Subject.key(of: self).key) }

    /// What this finding says beyond the subject's identity: the detail, the GOT slot, the integrity verdict.
    public var specificEvidence: String {
        let e = evidence
        return [e.detail, e.symbol.map { "symbol \($0) slot \(e.slotAddress ?? "?")" }, e.pointsTo.map { "points into \($0)" },
                e.expected.map { "expected \($0)" }, e.integrity, e.location, e.writableBy, e.matchedName, e.mapping,
                e.yaraRule, e.yaraStrings?.joined(separator: ", ")]
            .compactMap { $0 }.joined(separator: "; ")
    }
}
