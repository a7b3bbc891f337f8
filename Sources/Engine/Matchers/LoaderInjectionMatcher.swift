import Probes
import Rules

/// `loader-injection` rules: code put into programs by the loader's own mechanisms rather than by their
/// DT_NEEDED entries: /etc/ld.so.preload, LD_PRELOAD / LD_AUDIT / LD_LIBRARY_PATH in a process's environment,
/// DT_AUDIT / DT_DEPAUDIT entries, and executable memory backed by a memfd or by no file at all.
struct LoaderInjectionMatcher: RuleKindMatcher {
    let rules: [(Rule, LoaderInjectionMatch, ProgramSelector)]

    static func match(of rule: Rule) -> LoaderInjectionMatch? {
        if case .loaderInjection(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, LoaderInjectionMatch)]) {
        self.rules = rules.map { ($0, $1, ProgramSelector($1.programs)) }
    }

    /// Whether some rule looks at the process running `executable` (its environment and mappings are then kept).
    func checks(_ executable: String?) -> Bool {
        guard let executable else { return false }
        return rules.contains { !$0.1.programs.isEmpty && $0.2.selects(executable) }
    }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        var findings: [Finding] = []
        for (rule, match, programs) in rules {
            if match.preloadFile, let preload = facts.preload {
                findings.append(Finding(rule: rule, evidence: Evidence(
                    path: facts.root.displayPath("/etc/ld.so.preload"),
                    detail: preload.isEmpty ? "present, names no library"
                        : "loads into every program: \(preload.joined(separator: ", "))")))
            }
            for process in facts.running {
                guard let executable = process.executable, programs.selects(executable) else { continue }
                for name in match.environment {
                    guard let value = process.loaderEnvironment[name] else { continue }
                    findings.append(Finding(rule: rule, evidence: Evidence(
                        path: executable, pid: process.pid, pids: [process.pid],
                        detail: "started with \(name)=\(value)")))
                }
                guard match.codeOutsideFiles else { continue }
                for mapping in process.mappings ?? [] where mapping.isExecutable && mapping.path.hasPrefix("/memfd:") {
                    findings.append(Finding(rule: rule, evidence: Evidence(
                        path: executable, pid: process.pid, pids: [process.pid],
                        detail: "executable memfd mapping \(mapping.path) at 0x\(String(mapping.start, radix: 16))")))
                }
                if let first = process.anonymousExecutable.first {
                    findings.append(Finding(rule: rule, evidence: Evidence(
                        path: executable, pid: process.pid, pids: [process.pid],
                        detail: "\(process.anonymousExecutable.count) executable mappings backed by no file, the first at 0x\(String(first.lowerBound, radix: 16))")))
                }
            }
            guard match.auditEntries else { continue }
            for (location, graph) in facts.graphs where programs.selects(location.path) {
                for node in graph.nodes {
                    for (tag, library) in [("DT_AUDIT", node.elf.audit), ("DT_DEPAUDIT", node.elf.dependencyAudit)] {
                        guard let library else { continue }
                        var evidence = Evidence(path: location.root.displayPath(node.path), chain: node.chain,
                                                detail: "\(tag) names \(library)")
                        evidence.pid = location.pid
                        evidence.pids = location.pid.map { [$0] }
                        findings.append(Finding(rule: rule, evidence: evidence))
                    }
                }
            }
        }
        return findings
    }
}
