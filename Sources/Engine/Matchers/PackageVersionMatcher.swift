import Probes
import Rules

/// `package-version` rules: installed packages of an ecosystem at a known-bad version or in a bad range.
struct PackageVersionMatcher: RuleKindMatcher {
    let rules: [(Rule, PackageVersionMatch)]

    static func match(of rule: Rule) -> PackageVersionMatch? {
        if case .packageVersion(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, PackageVersionMatch)]) { self.rules = rules }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        rules.flatMap { rule, match in
            facts.inventory.packages(named: match.packages).compactMap { package -> Finding? in
                guard package.ecosystem == match.ecosystem, Self.versionMatches(package.version, match) else { return nil }
                return Finding(rule: rule, evidence: Evidence(
                    package: package.name, version: package.version,
                    detail: "\(match.ecosystem.rawValue) package \(package.name) \(package.version) (source \(package.source), \(package.architecture))"))
            }
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
}
