/// When a package was built and installed, as its database records it (for dpkg, which records neither, the date
/// of its changelog's first entry and the time its file list was written). Seconds since the epoch, UTC.
public struct PackageDates: Sendable, Hashable {
    /// Where the build date comes from: it names the field in evidence, so a reader knows how far to trust it.
    public enum Origin: String, Sendable, Hashable, CaseIterable {
        case rpmBuildTime = "rpm BUILDTIME"
        case apkBuildTime = "apk t: (build time)"
        case pacmanBuildDate = "pacman %BUILDDATE%"
        /// Not a build date: the upload date the maintainer wrote, a heuristic (a binNMU or a rebuild keeps it).
        case debianChangelog = "upload date of the first entry of changelog.Debian (heuristic)"

        /// Where packages of an ecosystem get their build date.
        public init(_ ecosystem: PackageEcosystem) {
            switch ecosystem {
            case .debian: self = .debianChangelog
            case .rpm: self = .rpmBuildTime
            case .alpine: self = .apkBuildTime
            case .arch: self = .pacmanBuildDate
            }
        }
    }

    /// The build date as found, or why it is unknown.
    public enum Built: Sendable, Hashable {
        case known(Int64)
        case unknown(String)
    }

    public var origin: Origin
    public var built: Built
    /// rpm INSTALLTIME, pacman %INSTALLDATE%, the mtime of dpkg's info/PKG.list; nil where none is recorded.
    public var installed: Int64?
    /// The file the date was read from, where it is not the database itself (a dpkg package's changelog).
    public var file: String?

    public init(origin: Origin, built: Built, installed: Int64? = nil, file: String? = nil) {
        self.origin = origin
        self.built = built
        self.installed = installed
        self.file = file
    }

    /// 1990-01-01T00:00:00Z: no package database or changelog of a package still installed is older; an earlier
    /// date (0, the epoch, is the usual one) is a field left unset or forged, not an age.
    public static let earliestBelievable: Int64 = 631_152_000
    /// How far after the scan's clock a date may be (build hosts' clocks drift) before it is not believed.
    public static let futureTolerance: Int64 = 86_400

    /// The build date when it is believable at `now`; otherwise why not. A date in the future or before 1990 is
    /// unknown, neither old nor young.
    public func buildDate(now: Int64) -> Result<Int64, DateProblem> {
        switch built {
        case .unknown(let reason): return .failure(DateProblem(reason: reason))
        case .known(let seconds) where seconds < Self.earliestBelievable:
            return .failure(DateProblem(reason: "\(origin.rawValue) \(UTCDate.format(seconds)) is before 1990"))
        case .known(let seconds) where seconds > now + Self.futureTolerance:
            return .failure(DateProblem(reason: "\(origin.rawValue) \(UTCDate.format(seconds)) is after the scan's clock"))
        case .known(let seconds): return .success(seconds)
        }
    }

    public struct DateProblem: Error, Sendable, Hashable {
        public var reason: String

        public init(reason: String) { self.reason = reason }
    }
}

extension PackageDates.Built {
    /// A decimal seconds field of a database (apk `t:`, pacman `%BUILDDATE%`), or why it is unknown.
    init(seconds text: String?, field: String) {
        guard let text else { self = .unknown("no \(field) field"); return }
        guard let value = Int64(text) else { self = .unknown("\(field) '\(text.prefix(32))' is not a number of seconds"); return }
        self = .known(value)
    }
}
