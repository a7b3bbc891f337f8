import HostIO
import Probes
import Rules

/// `baseline-drift` rules: what differs from the baseline the scan was given (`ScanOptions.baseline`), in each
/// target against that target's approved state. Without a baseline they find nothing. What the scan could not
/// establish is never drift: a package database that was not read judges none of its ecosystem's packages, and a
/// file that was not read has no hash to judge.
struct BaselineDriftMatcher: RuleKindMatcher {
    let rules: [(Rule, BaselineDriftMatch)]
    /// Programs whose graphs the scan must walk for these rules (`in-graph-of`).
    var programs: [String] {
        var programs: [String] = []
        for (_, match) in rules { for name in match.inGraphOf where !programs.contains(name) { programs.append(name) } }
        return programs
    }

    static func match(of rule: Rule) -> BaselineDriftMatch? {
        if case .baselineDrift(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, BaselineDriftMatch)]) { self.rules = rules }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        // A --path scan has no packages and no processes: nothing of a baseline applies to it.
        guard let baseline = facts.baseline, !rules.isEmpty, facts.target.kind != .paths else { return [] }
        guard let section = baseline.section(for: facts.target) else {
            return rules.filter { $0.1.drift == .containerNotInBaseline }.map { rule, _ in
                var evidence = Evidence(detail: "\(facts.target.label) is not in baseline \(baseline.file): nothing in it is approved; "
                                        + "approve it by writing the baseline again while it runs")
                evidence.baseline = baseline.file
                return Finding(rule: rule, evidence: evidence)
            }
        }
        // The installed packages of the ecosystems that can be judged, by what names them in a baseline: once for
        // the three package rules.
        var judged: Set<PackageEcosystem> = [], installed: [BaselinePackageKey: [InstalledPackage]]?
        var findings: [Finding] = []
        for (rule, match) in rules {
            switch match.drift {
            case .unapprovedCode where !match.inGraphOf.isEmpty: findings += unapprovedInGraph(rule, match, facts, section, baseline)
            case .unapprovedCode: findings += unapprovedCode(rule, match, facts, section, baseline)
            case .packageAdded, .packageRemoved, .packageVersionChanged:
                if installed == nil {
                    judged = Self.judgedEcosystems(facts.inventory)
                    installed = Dictionary(grouping: facts.inventory.packages.filter { judged.contains($0.ecosystem) }, by: BaselinePackageKey.init)
                }
                findings += packages(rule, match.drift, installed: installed!, judged: judged, section, baseline: baseline)
            case .packageFileChanged: findings += changedFiles(rule, facts, section, baseline: baseline)
            case .containerNotInBaseline: break
            }
        }
        return findings
    }

    /// Ecosystems whose packages can be compared: a database of the ecosystem was found and every one found was
    /// read. One that could not be read, or none at all where the baseline approves packages of it
    /// (`ScanRun.noteBaselineGaps` records that), leaves its packages unknown, neither added nor removed.
    static func judgedEcosystems(_ inventory: PackageInventory) -> Set<PackageEcosystem> {
        var found: Set<PackageEcosystem> = [], unread: Set<PackageEcosystem> = []
        for database in inventory.databases {
            guard let ecosystem = ecosystem(ofFormat: database.format) else { continue }
            found.insert(ecosystem)
            if !database.wasRead { unread.insert(ecosystem) }
        }
        return found.subtracting(unread)
    }

    static func ecosystem(ofFormat format: String) -> PackageEcosystem? {
        switch format.split(separator: " ").first {
        case "dpkg": .debian
        case "rpm": .rpm
        case "apk": .alpine
        case "pacman": .arch
        default: nil
        }
    }

    /// Mapped code whose bytes the baseline approves nowhere.
    private func unapprovedCode(_ rule: Rule, _ match: BaselineDriftMatch, _ facts: ScanFacts, _ section: BaselineSection,
                                _ baseline: Baseline) -> [Finding] {
        guard baseline.approvesCode else { return [] }
        let processes = Dictionary(facts.running.map { ($0.pid, $0) }, uniquingKeysWith: { first, _ in first })
        let programs = Set(match.programs)
        return facts.files.compactMap { file -> Finding? in
            guard !file.pids.isEmpty, let sha256 = file.facts?.sha256, !baseline.approvedHashes.contains(sha256) else { return nil }
            let privileged = file.pids.sorted().compactMap { pid -> String? in
                guard let process = processes[pid] else { return nil }
                let program = process.executable.map { baseName(ScanPlan.trimmingDeleted($0)) }
                if process.userID == 0 { return "pid \(pid) (\(program ?? "?"), root)" }
                if let program, programs.contains(program) { return "pid \(pid) (\(program))" }
                return nil
            }
            switch match.mappedBy {
            case .privileged where privileged.isEmpty: return nil
            case .unprivileged where !privileged.isEmpty: return nil
            default: break
            }
            var detail = "SHA-256 \(sha256) is not approved by baseline \(baseline.file)"
            if let approved = section.files[file.path] {
                detail += "; approved at this path: " + approved.sorted().joined(separator: ", ")
            }
            detail += privileged.isEmpty ? "; mapped by pid\(file.pids.count == 1 ? "" : "s") " + file.pids.sorted().map(String.init).joined(separator: ", ")
                : "; mapped by " + privileged.joined(separator: ", ")
            var evidence = facts.evidence(for: file, detail: detail)
            evidence.baseline = baseline.file
            evidence.approvedSHA256 = section.files[file.path]?.sorted()
            return Finding(rule: rule, evidence: evidence, fileIdentity: file.facts?.identity)
        }
    }

    /// Code the named programs' walked graphs reach, that no process maps yet, whose bytes the baseline approves
    /// nowhere: what sshd loads at its next start (the xz case between the upgrade and the restart), and on an
    /// offline root or an image the only code there is.
    private func unapprovedInGraph(_ rule: Rule, _ match: BaselineDriftMatch, _ facts: ScanFacts, _ section: BaselineSection,
                                   _ baseline: Baseline) -> [Finding] {
        guard baseline.approvesCode else { return [] }
        let programs = Set(match.inGraphOf)
        return facts.files.compactMap { file -> Finding? in
            guard file.pids.isEmpty, let sha256 = file.facts?.sha256, !baseline.approvedHashes.contains(sha256),
                  let chain = file.chains.filter({ $0.first.map { programs.contains(baseName($0)) } == true }).min(by: { $0.count < $1.count })
            else { return nil }
            var detail = "SHA-256 \(sha256) is not approved by baseline \(baseline.file); "
            detail += chain.count == 1 ? "it is \(chain[0]), which no process runs yet" : "\(chain.joined(separator: " -> ")) loads it at its next start"
            var evidence = facts.evidence(for: file, detail: detail)
            evidence.chain = chain
            evidence.baseline = baseline.file
            evidence.approvedSHA256 = section.files[file.path]?.sorted()
            return Finding(rule: rule, evidence: evidence, fileIdentity: file.facts?.identity)
        }
    }

    /// Packages added, removed, or at another version, each ecosystem compared only where its databases were read.
    private func packages(_ rule: Rule, _ drift: BaselineDriftMatch.Drift, installed: [BaselinePackageKey: [InstalledPackage]],
                          judged: Set<PackageEcosystem>, _ section: BaselineSection, baseline: Baseline) -> [Finding] {
        func finding(_ key: BaselinePackageKey, version: String?, approved: Set<String>?, _ text: String) -> Finding {
            var evidence = Evidence(package: key.name, version: version, detail: text)
            evidence.baseline = baseline.file
            evidence.approvedVersions = approved?.sorted()
            return Finding(rule: rule, evidence: evidence)
        }
        var findings: [Finding] = []
        switch drift {
        case .packageAdded:
            for key in installed.keys.sorted() where section.approvedVersions(of: installed[key]![0]) == nil {
                let versions = installed[key]!.map(\.version).sorted()
                findings.append(finding(key, version: versions.first, approved: nil,
                                        "\(key.ecosystem.rawValue) package \(key.display) \(versions.joined(separator: ", ")) is installed; baseline \(baseline.file) does not list it"))
            }
        case .packageVersionChanged:
            for key in installed.keys.sorted() {
                let packages = installed[key]!
                guard let approved = section.approvedVersions(of: packages[0]) else { continue }
                let unapproved = packages.filter { package in !approved.contains { Self.sameVersion($0, package.version) } }
                guard !unapproved.isEmpty else { continue }
                let versions = unapproved.map(\.version).sorted()
                findings.append(finding(key, version: versions.first, approved: approved,
                                        "\(key.ecosystem.rawValue) package \(key.display) is at \(versions.joined(separator: ", ")); baseline \(baseline.file) approved \(approved.sorted().joined(separator: ", "))"))
            }
        case .packageRemoved:
            for key in section.packages.keys.sorted() where judged.contains(key.ecosystem) {
                let present = key.architecture == nil
                    ? installed.keys.contains { $0.ecosystem == key.ecosystem && $0.name == key.name }
                    : installed[key] != nil
                guard !present else { continue }
                let approved = section.packages[key]!
                findings.append(finding(key, version: nil, approved: approved,
                                        "\(key.ecosystem.rawValue) package \(key.display) \(approved.sorted().joined(separator: ", ")) approved by baseline \(baseline.file) is not installed"))
            }
        default: break
        }
        return findings
    }

    /// An approval is of one exact build: versions are the same string, an explicit "0:" epoch aside (dpkg's 1.0
    /// and 1.00 order equal, and are not the same upload).
    static func sameVersion(_ a: String, _ b: String) -> Bool {
        func plain(_ version: String) -> Substring { version.hasPrefix("0:") ? version.dropFirst(2) : Substring(version) }
        return plain(a) == plain(b)
    }

    /// Code files of a package still at its approved version whose content is not what was approved at that path.
    private func changedFiles(_ rule: Rule, _ facts: ScanFacts, _ section: BaselineSection, baseline: Baseline) -> [Finding] {
        facts.files.compactMap { file -> Finding? in
            guard let sha256 = file.facts?.sha256, let approved = section.files[file.path], !approved.contains(sha256),
                  let owner = facts.owner(of: file), let then = section.owners[file.path], then.key.name == owner.name,
                  Self.sameVersion(then.version, owner.version) else { return nil }
            var evidence = facts.evidence(for: file, detail: "\(file.path) of \(owner.ecosystem.rawValue) package \(owner.name) \(owner.version) "
                                          + "has SHA-256 \(sha256); baseline \(baseline.file) approved \(approved.sorted().joined(separator: ", ")) "
                                          + "at the same version")
            evidence.baseline = baseline.file
            evidence.approvedSHA256 = approved.sorted()
            return Finding(rule: rule, evidence: evidence, fileIdentity: file.facts?.identity)
        }
    }
}
