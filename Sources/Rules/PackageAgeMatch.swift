import Probes

/// A minimum age for installed packages (the "no release younger than 60 days" policy): packages built (for dpkg,
/// uploaded) more recently than `minimumDays` before the scan are findings. Checked against the build date each
/// database records; see docs/package-age.md.
public struct PackageAgeMatch: Sendable, Hashable {
    /// What a package whose build date is unknown does to the scan.
    public enum UnknownDates: String, Sendable, Hashable, CaseIterable {
        /// Counted and listed in a note; the verdict stays complete (containers often ship no changelogs).
        case note
        /// Also a recorded skip that leaves the verdict incomplete: for hosts where every package must be dated.
        case incomplete
    }

    public var minimumDays: Int
    /// Which package databases; nil: every one.
    public var ecosystem: PackageEcosystem?
    /// Globs on the binary or source package name; nil: every package.
    public var packages: [String]?
    public var unknownDates: UnknownDates

    public init(minimumDays: Int, ecosystem: PackageEcosystem? = nil, packages: [String]? = nil, unknownDates: UnknownDates = .note) {
        self.minimumDays = minimumDays
        self.ecosystem = ecosystem
        self.packages = packages
        self.unknownDates = unknownDates
    }

    /// Longest policy accepted: ten years. A longer one is surely a typo (days for hours?) and would flag everything.
    public static let maximumDays = 3650
}
