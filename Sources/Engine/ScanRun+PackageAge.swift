import Probes
import Rules

extension ScanRun {
    /// Package dates, for package-age rules only: the build date the database recorded (rpm, apk, pacman) or, for
    /// dpkg, the first changelog entry's date, read only for the packages a rule selects. Packages whose date is
    /// unknown are noted per rule (with a skip when the rule says `unknown-dates: incomplete`), never judged.
    mutating func datePackages(_ t: Int) {
        guard !plan.ages.isEmpty else { return }
        let target = targets[t]
        var dates: [InstalledPackage: PackageDates] = [:]
        for package in target.inventory.packages where plan.ages.wantsDates(of: package) {
            dates[package] = target.inventory.recordedDates(of: package)
                ?? (package.ecosystem == .debian ? DebianChangelog.dates(of: package, root: target.root)
                    : PackageDates(origin: .init(package.ecosystem), built: .unknown("its database records no build date")))
        }
        let ages = PackageAges(now: Int64(report.startedAt), dates: dates)
        targets[t].packageAges = ages
        let name = t == 0 ? options.root : target.target.label
        for (rule, match) in plan.ages.rules where plan.applies(rule.id, to: target.target.kind) {
            let selected = target.inventory.packages.filter { PackageAgeMatcher.selects(match, $0) }
            let unknown = selected.compactMap { package -> (InstalledPackage, String)? in
                if case .failure(let problem) = ages.buildDate(of: package) { return (package, problem.reason) }
                return nil
            }
            guard !unknown.isEmpty else { continue }
            let shown = unknown.prefix(5).map { "\($0.0.name) (\($0.1))" }.joined(separator: "; ")
            report.notes.append("\(rule.id): build date unknown for \(unknown.count) of \(selected.count) packages in \(name), not judged: "
                                + shown + (unknown.count > 5 ? "; and \(unknown.count - 5) more" : ""))
            guard match.unknownDates == .incomplete else { continue }
            report.skipped += unknown.map { package, reason in
                targeted(Skip(subject: "package \(package.name) \(package.version) (\(rule.id))", reason: "build date unknown: \(reason)",
                              code: dates[package]?.file != nil ? .damaged : .unreadable), t)
            }
        }
    }
}
