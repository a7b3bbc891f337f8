import HostIO
import Probes
import Rules

/// `package-age` rules: packages built (dpkg: uploaded) fewer than the rule's days before the scan. A package whose
/// date is unknown is never a finding (`ScanRun.datePackages` notes it, and records a skip when the rule asks).
struct PackageAgeMatcher: RuleKindMatcher {
    let rules: [(Rule, PackageAgeMatch)]

    static func match(of rule: Rule) -> PackageAgeMatch? {
        if case .packageAge(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, PackageAgeMatch)]) { self.rules = rules }

    var isEmpty: Bool { rules.isEmpty }

    /// Whether the rule applies to the package: its ecosystem, and a glob on its binary or source name.
    static func selects(_ match: PackageAgeMatch, _ package: InstalledPackage) -> Bool {
        if let ecosystem = match.ecosystem, package.ecosystem != ecosystem { return false }
        guard let globs = match.packages else { return true }
        return globs.contains { Glob.matches($0, package.name) || Glob.matches($0, package.source) }
    }

    /// Whether any rule needs the package's dates (only those are read: a dpkg package's changelog is a file).
    func wantsDates(of package: InstalledPackage) -> Bool {
        rules.contains { Self.selects($0.1, package) }
    }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        guard let ages = facts.packageAges else { return [] }
        return rules.flatMap { rule, match in
            facts.inventory.packages.compactMap { package -> Finding? in
                guard Self.selects(match, package), let dates = ages.dates[package],
                      case .success(let built) = dates.buildDate(now: ages.now) else { return nil }
                let age = max(0, ages.now - built)
                guard age < Int64(match.minimumDays) * 86_400 else { return nil }
                var evidence = Evidence(package: package.name, version: package.version,
                                        detail: Self.detail(package, dates, built: built, age: age, match))
                evidence.built = UTCDate.iso8601(built)
                evidence.builtFrom = dates.origin.rawValue
                evidence.installed = dates.installed.map(UTCDate.iso8601)
                evidence.ageDays = Int(age / 86_400)
                evidence.minimumDays = match.minimumDays
                return Finding(rule: rule, evidence: evidence)
            }
        }
    }

    /// Both dates, the age and the policy, in words.
    static func detail(_ package: InstalledPackage, _ dates: PackageDates, built: Int64, age: Int64, _ match: PackageAgeMatch) -> String {
        var text = "\(package.ecosystem.rawValue) package \(package.name) \(package.version) (source \(package.source), \(package.architecture)): "
        text += "built \(UTCDate.format(built)) by \(dates.origin.rawValue)"
        if let file = dates.file { text += " of \(file)" }
        if let installed = dates.installed { text += ", installed \(UTCDate.format(installed))" }
        let days = age / 86_400
        text += "; \(days) day\(days == 1 ? "" : "s") old, younger than the policy's minimum of \(match.minimumDays) days"
        return text
    }
}
