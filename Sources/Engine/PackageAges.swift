import Probes

/// The build and install dates of one target's packages that package-age rules select, and the scan's clock they
/// are measured against (so every rule and the notes agree on "now").
struct PackageAges: Sendable {
    /// Seconds since the epoch when the scan started.
    let now: Int64
    let dates: [InstalledPackage: PackageDates]

    /// The package's build date, believable at `now`, or why it is unknown.
    func buildDate(of package: InstalledPackage) -> Result<Int64, PackageDates.DateProblem> {
        guard let dates = dates[package] else { return .failure(.init(reason: "not dated")) }
        return dates.buildDate(now: now)
    }
}
