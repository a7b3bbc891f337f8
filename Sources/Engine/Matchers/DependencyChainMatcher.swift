import HostIO
import Probes
import Rules

/// `dependency-chain` rules: a program whose library graph reaches a library, optionally through another. Runs
/// after the file rules: a chain's severity rises when the library it reaches has a finding of its own.
struct DependencyChainMatcher: RuleKindMatcher {
    let rules: [(Rule, DependencyChainMatch)]
    /// The programs whose graphs the scan walks, each once, in rule order.
    let programs: [String]

    static func match(of rule: Rule) -> DependencyChainMatch? {
        if case .dependencyChain(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, DependencyChainMatch)]) {
        self.rules = rules
        var programs: [String] = []
        for (_, match) in rules where !programs.contains(match.binary) { programs.append(match.binary) }
        self.programs = programs
    }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        // The same chain in several processes (sshd's listener and its sessions) is one finding, with every pid.
        var merged: [String: Finding] = [:]
        var order: [String] = []
        for finding in rules.flatMap({ rule, match in findings(rule, match, facts, earlier: earlier) }) {
            guard var known = merged[finding.key] else {
                merged[finding.key] = finding
                order.append(finding.key)
                continue
            }
            let pids = Set((known.evidence.pids ?? []) + (finding.evidence.pids ?? [])).sorted()
            known.evidence.pids = pids.isEmpty ? nil : pids
            known.evidence.pid = pids.first
            known.severity = max(known.severity, finding.severity)
            merged[finding.key] = known
        }
        return order.compactMap { merged[$0] }
    }

    private func findings(_ rule: Rule, _ match: DependencyChainMatch, _ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        let library = GlobSet([match.library])
        let through = match.through.map { GlobSet([$0]) }
        var findings: [Finding] = []
        for (location, graph) in facts.graphs where baseName(location.path) == match.binary {
            for (index, node) in graph.nodes.enumerated() where index > 0 && library.matchesAny(Self.names(of: node)) {
                let passes = through.map { glob in { (node: DependencyGraph.Node) in glob.matchesAny(Self.names(of: node)) } }
                guard let path = graph.chain(to: index, through: passes) else { continue }
                var evidence = facts.file(withIdentity: node.identity).map { facts.evidence(for: $0, detail: nil) } ?? Evidence()
                evidence.path = location.root.displayPath(node.path)
                evidence.chain = path.map { graph.nodes[$0].name }
                // A live graph's chain is that process's; an on-disk one is no process's.
                evidence.pid = location.pid
                evidence.pids = location.pid.map { [$0] }
                let flagged = earlier.filter {
                    $0.severity >= .high && ($0.fileIdentity == node.identity
                        || ($0.kind == .packageVersion && $0.evidence.package != nil && $0.evidence.package == evidence.package))
                }
                var severity = rule.severity
                if let escalate = match.escalateTo, !flagged.isEmpty { severity = max(severity, escalate) }
                var detail = "\(location.path) (\(location.foundBy)) loads \(node.name) from \(node.path)"
                if !flagged.isEmpty {
                    detail += "; that library is flagged by \(Set(flagged.map(\.rule)).sorted().joined(separator: ", "))"
                }
                evidence.detail = detail
                findings.append(Finding(rule: rule, severity: severity, evidence: evidence))
            }
        }
        return findings
    }

    /// A node goes by the name it was requested by, its file's base name and its SONAME.
    static func names(of node: DependencyGraph.Node) -> [String] {
        [node.name, baseName(node.path)] + (node.elf.soname.map { [$0] } ?? [])
    }
}
