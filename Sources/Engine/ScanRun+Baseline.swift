import Probes

extension ScanRun {
    /// What a baseline approves that this target cannot be compared with: packages of an ecosystem whose database
    /// is not in the target at all. Unknown, not removed: a recorded skip, so the verdict is incomplete.
    mutating func noteBaselineGaps(_ t: Int) {
        guard let baseline = options.baseline, targets[t].target.kind != .paths,
              let section = baseline.section(for: targets[t].target) else { return }
        let found = Set(targets[t].inventory.databases.compactMap { BaselineDriftMatcher.ecosystem(ofFormat: $0.format) })
        var missing: [PackageEcosystem: Int] = [:]
        for key in section.packages.keys where !found.contains(key.ecosystem) { missing[key.ecosystem, default: 0] += 1 }
        let name = t == 0 ? options.root : targets[t].target.label
        if !missing.isEmpty { report.packagesUnknown.insert(targets[t].target.stableKey) }
        for (ecosystem, count) in missing.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            report.skipped.append(targeted(Skip(
                subject: "baseline packages (\(ecosystem.rawValue))",
                reason: "no \(ecosystem.rawValue) package database found in \(name): the \(count) \(ecosystem.rawValue) packages baseline \(baseline.file) approves were not compared",
                code: .unreadable), t))
        }
    }
}
