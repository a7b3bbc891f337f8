import HostIO
import Probes
import Rules

/// `provenance` rules: files of named programs, of root's (or every) process, or at rest in the loader's
/// directories, whose package, content or place is what the rule asks about: no package owns it, it differs from
/// what its package installed, it lives in a temporary place or one a non-root user can write.
struct ProvenanceMatcher: RuleKindMatcher {
    struct Compiled: Sendable {
        var rule: Rule
        var match: ProvenanceMatch
        var programs: Set<String>
        var files: GlobSet?
    }

    let rules: [Compiled]
    /// Program names whose graphs the scan must walk for these rules.
    let programs: [String]

    static func match(of rule: Rule) -> ProvenanceMatch? {
        if case .provenance(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, ProvenanceMatch)]) {
        self.rules = rules.map { Compiled(rule: $0, match: $1, programs: Set($1.programs), files: $1.files.map(GlobSet.init)) }
        var programs: [String] = []
        for (_, match) in rules { for name in match.programs where !programs.contains(name) { programs.append(name) } }
        self.programs = programs
    }

    /// Whether any rule needs provenance facts (and so the package digests computed while files are read).
    var isEmpty: Bool { rules.isEmpty }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        guard !rules.isEmpty else { return [] }
        let rootProcesses = Set(facts.running.filter { $0.userID == 0 }.map(\.pid))
        var findings: [Finding] = []
        for compiled in rules {
            let inPrograms = members(of: compiled.programs, facts)
            for file in facts.files {
                guard let provenance = file.provenance, let identity = file.facts?.identity else { continue }
                var scope: [String] = []
                if let via = inPrograms[identity] { scope.append(via) }
                switch compiled.match.processes {
                case .root?:
                    let pids = file.pids.filter(rootProcesses.contains)
                    if !pids.isEmpty { scope.append("mapped by root's pid\(pids.count == 1 ? "" : "s") \(pids.sorted().map(String.init).joined(separator: ", "))") }
                case .all?:
                    if !file.pids.isEmpty { scope.append("mapped") }
                case nil:
                    break
                }
                if compiled.match.libraryDirectories && file.seenAs.contains("library directory") { scope.append("in a library directory") }
                guard !scope.isEmpty else { continue }
                var matchedName: String?
                if let globs = compiled.files {
                    guard let name = file.names.first(where: globs.matches) else { continue }
                    matchedName = name
                }
                guard let reasons = Self.reasons(compiled.match, provenance) else { continue }
                var evidence = facts.evidence(for: file, matchedName: matchedName,
                                              detail: (reasons + scope).joined(separator: "; "))
                evidence.integrity = provenance.integrity.rawValue
                evidence.location = provenance.place.rawValue
                evidence.writableBy = provenance.writableBy
                if let package = provenance.package {
                    evidence.package = package.name
                    evidence.version = package.version
                }
                findings.append(Finding(rule: compiled.rule, evidence: evidence, fileIdentity: identity))
            }
        }
        return findings
    }

    /// The files of the named programs' graphs (walked on disk, and as each running process of them mapped them)
    /// and the executable mappings of their processes, each with how it was reached.
    private func members(of programs: Set<String>, _ facts: ScanFacts) -> [FileIdentity: String] {
        guard !programs.isEmpty else { return [:] }
        var result: [FileIdentity: String] = [:]
        for (location, graph) in facts.graphs where programs.contains(baseName(location.path)) {
            for node in graph.nodes where result[node.identity] == nil {
                result[node.identity] = node.chain.count == 1 ? "is \(baseName(location.path))" : "in \(baseName(location.path))'s graph: \(node.chain.joined(separator: " -> "))"
            }
        }
        for process in facts.running {
            guard let executable = process.executable.map(ScanPlan.trimmingDeleted),
                  programs.contains(baseName(executable)) else { continue }
            for mapping in process.mappings ?? [] where mapping.isExecutable && result[mapping.identity] == nil {
                result[mapping.identity] = "mapped by \(baseName(executable)) (pid \(process.pid))"
            }
        }
        return result
    }

    /// What in `provenance` the rule's conditions found, one phrase each; nil when the condition is not met.
    static func reasons(_ match: ProvenanceMatch, _ provenance: Provenance) -> [String]? {
        var checks: [String?] = []
        if match.unowned {
            let none = provenance.integrity == .unowned || provenance.integrity == .locallyDiverted
            checks.append(none ? Self.ownerPhrase(provenance) : nil)
        }
        if !match.integrity.isEmpty {
            checks.append(match.integrity.contains(provenance.integrity)
                ? "integrity \(provenance.integrity.rawValue)" + (provenance.integrityDetail.map { ": \($0)" } ?? "") : nil)
        }
        if !match.places.isEmpty {
            checks.append(match.places.contains(provenance.place) ? "in a \(provenance.place.rawValue) location" : nil)
        }
        if match.writableByNonRoot {
            checks.append(provenance.writableBy.map { "changeable by a non-root user: \($0)" })
        }
        if match.deleted {
            checks.append(provenance.deleted ? "deleted from disk while mapped" : nil)
        }
        let found = checks.compactMap { $0 }
        switch match.condition {
        case .any: return found.isEmpty ? nil : found
        case .all: return found.count == checks.count ? found : nil
        }
    }

    private static func ownerPhrase(_ provenance: Provenance) -> String {
        provenance.integrity == .locallyDiverted ? "no package owns it (\(provenance.integrityDetail ?? "locally diverted"))"
            : "no package owns it"
    }
}
