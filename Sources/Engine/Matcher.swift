import ELFReader
import HostIO
import Probes
import Rules

/// Matches rules against the facts of one scan. Knows nothing of how the facts were gathered.
struct Matcher {
    let rules: RuleSet
    let inventory: PackageInventory
    let files: [FileRecord]
    let graphs: [(ProgramLocation, DependencyGraph)]

    func findings() -> [Finding] {
        var findings: [Finding] = []
        for rule in rules.rules {
            switch rule.match {
            case .packageVersion(let match): findings += packageFindings(rule, match)
            case .fileHash(let match): findings += hashFindings(rule, match)
            case .byteSignature(let match): findings += byteFindings(rule, match)
            case .elfFeature(let match): findings += elfFindings(rule, match)
            case .dependencyChain: break
            }
        }
        // Chains last: their severity rises when the library they reach has a finding of its own.
        for rule in rules.rules {
            if case .dependencyChain(let match) = rule.match { findings += chainFindings(rule, match, others: findings) }
        }
        return findings.sorted {
            ($0.severity.rank, $1.rule, $1.evidence.path ?? "") > ($1.severity.rank, $0.rule, $0.evidence.path ?? "")
        }
    }

    // MARK: package-version

    func packageFindings(_ rule: Rule, _ match: PackageVersionMatch) -> [Finding] {
        inventory.packages(named: match.packages).compactMap { package in
            guard package.ecosystem.rawValue == match.ecosystem,
                  Self.versionMatches(package.version, match) else { return nil }
            return Finding(rule: rule, evidence: Evidence(
                package: package.name, version: package.version,
                detail: "\(match.ecosystem) package \(package.name) \(package.version) (source \(package.source), \(package.architecture))"))
        }
    }

    static func versionMatches(_ version: String, _ match: PackageVersionMatch) -> Bool {
        let compare = { (a: String, b: String) in VersionOrdering.compare(a, b, ecosystem: match.ecosystem) }
        if match.versions.contains(where: { compare(version, $0) == 0 }) { return true }
        return match.ranges.contains { range in
            if let introduced = range.introduced, compare(version, introduced) < 0 { return false }
            if let fixed = range.fixed, compare(version, fixed) >= 0 { return false }
            if let last = range.lastAffected, compare(version, last) > 0 { return false }
            return true
        }
    }

    // MARK: file rules

    func hashFindings(_ rule: Rule, _ match: FileHashMatch) -> [Finding] {
        let known = Dictionary(match.hashes.map { ($0.sha256, $0) }, uniquingKeysWith: { first, _ in first })
        return files.compactMap { file in
            guard let facts = file.facts, let hash = known[facts.sha256] else { return nil }
            return Finding(rule: rule, evidence: evidence(for: file, detail: "SHA-256 of \(hash.file), published at \(hash.source)"))
        }
    }

    func byteFindings(_ rule: Rule, _ match: ByteSignatureMatch) -> [Finding] {
        let globs = GlobSet(match.files)
        return files.compactMap { file in
            guard globs.matchesAny(file.names), let facts = file.facts, facts.bytesScanned else { return nil }
            let found = match.patterns.indices.filter { facts.byteMatches.contains(ByteMatcher.patternID(rule: rule.id, index: $0)) }
            let hit = match.condition == .all ? found.count == match.patterns.count : !found.isEmpty
            guard hit else { return nil }
            let shown = found.map { "#\($0 + 1) \(Self.abbreviate(match.patterns[$0].text))" }.joined(separator: ", ")
            return Finding(rule: rule, evidence: evidence(for: file, detail: "\(found.count) of \(match.patterns.count) byte patterns found: \(shown)"))
        }
    }

    func elfFindings(_ rule: Rule, _ match: ELFFeatureMatch) -> [Finding] {
        let globs = GlobSet(match.files)
        return files.compactMap { file in
            guard globs.matchesAny(file.names), let elf = file.facts?.elf else { return nil }
            // Each listed feature is present or not: the IFUNC test, the IRELATIVE test, and each symbol name.
            var wanted = match.symbols.count
            var found = 0
            var present: [String] = []
            if match.ifuncSymbols {
                wanted += 1
                let names = Set(elf.ifuncSymbols.map(\.name)).sorted()
                if !names.isEmpty {
                    found += 1
                    present.append("IFUNC symbols: \(names.prefix(8).joined(separator: ", "))")
                }
            }
            if match.irelativeRelocations {
                wanted += 1
                if elf.irelativeRelocations > 0 {
                    found += 1
                    present.append("\(elf.irelativeRelocations) IRELATIVE relocations")
                }
            }
            let symbols = match.symbols.filter { elf.hasSymbol(named: $0) }
            if !symbols.isEmpty {
                found += symbols.count
                let tables = Set(elf.symbols.filter { symbols.contains($0.name) }.map(\.table.rawValue)).sorted()
                present.append("symbols: \(symbols.joined(separator: ", ")) (in \(tables.joined(separator: ", ")))")
            }
            guard match.condition == .all ? found == wanted : found > 0 else { return nil }
            return Finding(rule: rule, evidence: evidence(for: file, detail: present.joined(separator: "; ")))
        }
    }

    // MARK: dependency-chain

    func chainFindings(_ rule: Rule, _ match: DependencyChainMatch, others: [Finding]) -> [Finding] {
        var findings: [Finding] = []
        for (location, graph) in graphs where baseName(location.path) == match.binary {
            for (index, node) in graph.nodes.enumerated() where index > 0 && Self.nodeMatches(node, match.library) {
                let through: ((DependencyGraph.Node) -> Bool)? = match.through.map { glob in { Self.nodeMatches($0, glob) } }
                guard let path = graph.chain(to: index, through: through) else { continue }
                let file = files.first { $0.facts?.identity == node.identity }
                var evidence = file.map { self.evidence(for: $0, detail: nil) } ?? Evidence()
                let shownRoot = location.root.isHost || location.root.prefix.hasPrefix("/proc/") ? location.root.prefix : ""
                evidence.path = shownRoot + node.path
                evidence.chain = path.map { graph.nodes[$0].name }
                evidence.pid = nil
                evidence.pids = nil
                var severity = rule.severity
                let libraryFindings = others.filter {
                    $0.severity >= .high && ($0.evidence.path == evidence.path
                        || ($0.kind == .packageVersion && $0.evidence.package != nil && $0.evidence.package == evidence.package))
                }
                if let escalate = match.escalateTo, !libraryFindings.isEmpty {
                    severity = max(severity, escalate)
                }
                var detail = "\(location.path) (\(location.foundBy)) loads \(node.name) from \(node.path)"
                if !libraryFindings.isEmpty {
                    detail += "; that library is flagged by \(Set(libraryFindings.map(\.rule)).sorted().joined(separator: ", "))"
                }
                evidence.detail = detail
                findings.append(Finding(rule: rule, severity: severity, evidence: evidence))
            }
        }
        return findings
    }

    // MARK: helpers

    func evidence(for file: FileRecord, detail: String?) -> Evidence {
        var evidence = Evidence(path: file.path, sha256: file.facts?.sha256, detail: detail)
        if let owner = owner(of: file) {
            evidence.package = owner.name
            evidence.version = owner.version
        }
        let pids = file.pids.sorted()
        if !pids.isEmpty {
            evidence.pid = pids[0]
            evidence.pids = pids
        }
        evidence.chain = file.chains.min { $0.count < $1.count }
        evidence.seenAs = file.seenAs
        return evidence
    }

    func owner(of file: FileRecord) -> InstalledPackage? {
        switch file.opener {
        case .root(let root, let path):
            return root.prefix.hasPrefix("/proc/") ? nil : inventory.owner(of: path)
        case .mapped:
            return inventory.owner(of: file.path)
        }
    }

    static func namesMatch(_ names: [String], _ globs: [String]) -> Bool {
        names.contains { name in globs.contains { Glob.matches($0, name) } }
    }

    static func nodeMatches(_ node: DependencyGraph.Node, _ glob: String) -> Bool {
        namesMatch([node.name, baseName(node.path)] + (node.elf.soname.map { [$0] } ?? []), [glob])
    }

    static func abbreviate(_ text: String) -> String {
        let compact = text.filter { !$0.isWhitespace }
        return compact.count > 24 ? String(compact.prefix(24)) + "..." : compact
    }
}
