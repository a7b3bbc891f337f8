import HostIO

/// A package the system's package database says is installed.
public struct InstalledPackage: Sendable, Hashable, Codable {
    /// Which package system recorded it; also names the version ordering that applies.
    public var ecosystem: PackageEcosystem
    public var name: String
    public var version: String
    /// The source package (dpkg's Source field without its version; the name itself when absent).
    public var source: String
    public var architecture: String
    /// The database's state for it, e.g. dpkg's "install ok installed".
    public var state: String

    public init(ecosystem: PackageEcosystem, name: String, version: String, source: String, architecture: String, state: String) {
        self.ecosystem = ecosystem
        self.name = name
        self.version = version
        self.source = source
        self.architecture = architecture
        self.state = state
    }
}

/// A package database found in a root: where, in which format, how many packages it gave, and why it could not
/// be read when it could not (then its packages are unknown, not absent).
public struct PackageDatabaseStatus: Sendable, Hashable, Codable {
    public var path: String
    /// "dpkg", "rpm sqlite", "rpm Berkeley DB", "rpm ndb", "apk", "pacman".
    public var format: String
    public var packages: Int
    /// Why it was not read; nil when it was.
    public var problem: String?

    public init(path: String, format: String, packages: Int, problem: String? = nil) {
        self.path = path
        self.format = format
        self.packages = packages
        self.problem = problem
    }

    public var wasRead: Bool { problem == nil }
}

/// What the package databases of one root hold: packages, which package owns which file, and the digests the
/// databases record for files (or where to find them).
public struct PackageInventory: Sendable {
    public private(set) var packages: [InstalledPackage] = []
    /// Problems reading a database: recorded, never fatal.
    public var problems: [String] = []
    /// Every package database found in the root and whether it was read.
    public var databases: [PackageDatabaseStatus] = []
    /// Owner of each listed file, keyed by a digest of its path instead of the path: a Debian host lists ~120k
    /// paths, ~15 MB as Strings and ~2.5 MB as digests. The digest is seeded per process (see ByteHash), so a
    /// package cannot list a path crafted to collide; a chance collision only mislabels one file's owner.
    private var owners: [Int: Int32] = [:]
    /// Files listed in a bin or sbin directory, by name, for locating the programs rules name (sshd).
    private var programs: [String: [Program]] = [:]
    /// Packages by name and by source name, for package rules.
    private var byName: [String: [Int]] = [:]
    /// Where each package's file digests are (parallel to `packages`).
    private var digestSources: [DigestSource] = []
    /// Digests the database itself holds (rpm headers, apk's Z: lines), by path key, packed into `digestBytes`.
    private var recorded: [Int: PackedDigest] = [:]
    private var digestBytes: [UInt8] = []
    /// dpkg-divert's diversions, and every package listing a diverted path (the first lister is not its owner).
    public private(set) var diversions: [Diversion] = []
    private var divertedListers: [Int: [Int32]] = [:]
    /// Indices into `diversions` by each end's path (and its merged-/usr twin): a lookup per file, not a loop.
    private var divertedFrom: [String: Int] = [:]
    private var divertedTo: [String: Int] = [:]
    /// Build and install dates the databases record (rpm, apk, pacman); dpkg records none.
    private var dates: [InstalledPackage: PackageDates] = [:]
    /// Listed paths that are code by their name, by package (`PackageInventory+Code.swift`).
    var codePaths: [Int32: CodePathList] = [:]
    var codePathCount = 0
    /// Packages some of whose code paths were not kept (over `maximumCodePaths`).
    var codePathsCut: Set<Int32> = []

    struct Program: Sendable {
        var path: String
        var package: Int32
    }

    /// Where a package's per-file digests are recorded.
    public enum DigestSource: Sendable, Hashable {
        /// The database has none for it.
        case none
        /// dpkg's info/PACKAGE[:ARCH].md5sums, read when a file of the package is checked.
        case dpkgMD5Sums
        /// In the database record itself, with this algorithm (rpm FILEDIGESTS, apk Z:).
        case database(DigestAlgorithm)
    }

    struct PackedDigest: Sendable {
        var offset: Int32
        var algorithm: DigestAlgorithm
    }

    /// A dpkg diversion: files a package would install at `from` go to `to`, and `package` (nil: the local admin)
    /// owns what is at `from`.
    public struct Diversion: Sendable, Hashable {
        public var from: String
        public var to: String
        public var package: String?
    }

    /// Who put the file at a path there, by the databases, with diversions applied.
    public enum Ownership: Sendable, Hashable {
        /// `package` (an index into `packages`) lists the file as `listed`, the name its digest is recorded under.
        case package(Int, listed: String)
        /// No package lists it.
        case unowned
        /// The local admin diverted the package file that was at this path to `to`: what is here is theirs.
        case locallyDiverted(to: String)
    }

    public init() {}

    /// Number of distinct file paths the databases list.
    public var fileCount: Int { owners.count }

    /// The package that owns `path`, with merged /usr and diversions applied.
    public func owner(of path: String) -> InstalledPackage? {
        if case .package(let index, _) = ownership(of: path) { return packages[index] }
        return nil
    }

    /// Who put the file at `path` there. dpkg lists /lib/x where the file is /usr/lib/x (merged /usr), and lists
    /// a diverted file under its original name: the file at a diversion's `to` is the original package's, the file
    /// at its `from` is the diverting package's (or the admin's, for a local diversion).
    public func ownership(of path: String) -> Ownership {
        let twins = MergedUsr.twins(of: path)
        if !diversions.isEmpty {
            for twin in twins {
                if let index = divertedTo[twin] {
                    let diversion = diversions[index]
                    let lister = listers(of: diversion.from).first { packages[Int($0)].name != diversion.package }
                    return lister.map { .package(Int($0), listed: diversion.from) } ?? .unowned
                }
                if let index = divertedFrom[twin] {
                    let diversion = diversions[index]
                    guard let by = diversion.package else { return .locallyDiverted(to: diversion.to) }
                    let lister = listers(of: diversion.from).first { packages[Int($0)].name == by }
                    return lister.map { .package(Int($0), listed: diversion.from) } ?? .unowned
                }
            }
        }
        for candidate in twins {
            if let index = owners[ByteHash.of(candidate)] { return .package(Int(index), listed: candidate) }
        }
        return .unowned
    }

    /// Where the file `package` lists at `listed` is: a diversion moves every other package's file at its `from`
    /// to its `to` (a local diversion, every package's).
    func installedPath(listed: String, package: Int32) -> String {
        guard !diversions.isEmpty else { return listed }
        for twin in MergedUsr.twins(of: listed) {
            if let index = divertedFrom[twin] {
                let diversion = diversions[index]
                return diversion.package == packages[Int(package)].name ? listed : diversion.to
            }
        }
        return listed
    }

    private func listers(of path: String) -> [Int32] {
        MergedUsr.twins(of: path).flatMap { divertedListers[ByteHash.of($0)] ?? [] }
    }

    public func digestSource(of package: Int) -> DigestSource { digestSources[package] }

    /// The build and install dates the package's database recorded; nil for dpkg, which records none.
    public func recordedDates(of package: InstalledPackage) -> PackageDates? { dates[package] }

    /// The algorithm of the digest recorded for the file at `path`, so the read that hashes it computes that
    /// digest too; nil when no package owns it or its package records none.
    public func digestAlgorithm(for path: String) -> DigestAlgorithm? {
        guard case .package(let index, let listed) = ownership(of: path) else { return nil }
        switch digestSources[index] {
        case .none: return nil
        case .dpkgMD5Sums: return .md5
        case .database(let algorithm): return recorded[ByteHash.of(listed)] != nil ? algorithm : nil
        }
    }

    /// A digest the database itself recorded for a listed path (rpm, apk), as lowercase hex.
    public func recordedDigest(listed path: String) -> (DigestAlgorithm, String)? {
        guard let packed = recorded[ByteHash.of(path)] else { return nil }
        let start = Int(packed.offset)
        return (packed.algorithm, digestBytes[start..<start + packed.algorithm.byteCount].hex)
    }

    /// Installed packages whose name or source name is one of `names`, in database order.
    public func packages(named names: [String]) -> [InstalledPackage] {
        Set(names.flatMap { byName[$0] ?? [] }).sorted().map { packages[$0] }
    }

    /// Listed files in a bin or sbin directory whose last path component is `name`, sorted by path.
    public func programs(named name: String) -> [(path: String, package: InstalledPackage)] {
        (programs[name] ?? []).sorted { $0.path < $1.path }.map { ($0.path, packages[Int($0.package)]) }
    }

    /// Adds a package with its files and, where the database records them, each file's digest (raw bytes of
    /// `algorithm`'s length; nil or malformed for files without one, such as directories and symlinks).
    mutating func add(_ package: InstalledPackage, files: [String], digests: [[UInt8]?] = [], algorithm: DigestAlgorithm? = nil,
                      dates: PackageDates? = nil) {
        let index = Int32(packages.count)
        if let dates { self.dates[package] = dates }
        append(package, digestSource: algorithm.map(DigestSource.database) ?? .none)
        for (position, file) in files.enumerated() {
            addFile(ArraySlice(file.utf8), package: index)
            guard let algorithm, position < digests.count, let digest = digests[position],
                  digest.count == algorithm.byteCount else { continue }
            let key = ByteHash.of(file)
            if recorded[key] == nil {
                recorded[key] = PackedDigest(offset: Int32(digestBytes.count), algorithm: algorithm)
                digestBytes += digest
            }
        }
    }

    /// Adds a dpkg package with its file list as the database stores it: one path per line. Its digests are in
    /// its md5sums file, read when one of its files is checked.
    mutating func add(_ package: InstalledPackage, fileList: [UInt8]) {
        let index = Int32(packages.count)
        append(package, digestSource: .dpkgMD5Sums)
        ByteSearch.forEachLine(in: fileList) { line in
            if !line.isEmpty { addFile(fileList[line], package: index) }
        }
    }

    /// Diversions must be known before the file lists are added: the packages listing a diverted path are kept.
    mutating func setDiversions(_ list: [Diversion]) {
        diversions = list
        for (index, diversion) in list.enumerated() {
            for twin in MergedUsr.twins(of: diversion.from) {
                divertedListers[ByteHash.of(twin)] = []
                if divertedFrom[twin] == nil { divertedFrom[twin] = index }
            }
            for twin in MergedUsr.twins(of: diversion.to) where divertedTo[twin] == nil { divertedTo[twin] = index }
        }
    }

    private mutating func append(_ package: InstalledPackage, digestSource: DigestSource) {
        byName[package.name, default: []].append(packages.count)
        if package.source != package.name { byName[package.source, default: []].append(packages.count) }
        packages.append(package)
        digestSources.append(digestSource)
    }

    private mutating func addFile(_ path: ArraySlice<UInt8>, package: Int32) {
        let key = ByteHash.of(path)
        if owners[key] == nil { owners[key] = package }
        if divertedListers[key] != nil { divertedListers[key]!.append(package) }
        keepIfCode(path, package: package)
        // Only paths like /usr/sbin/sshd become Strings: a few thousand of them.
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")), slash > path.startIndex, slash + 1 < path.endIndex,
              Self.endsWithProgramDirectory(path[..<slash]) else { return }
        let name = String(decoding: path[(slash + 1)...], as: UTF8.self)
        programs[name, default: []].append(Program(path: String(decoding: path, as: UTF8.self), package: package))
    }

    private static let bin = Array("/bin".utf8), sbin = Array("/sbin".utf8)

    private static func endsWithProgramDirectory(_ directory: ArraySlice<UInt8>) -> Bool {
        directory.suffix(bin.count).elementsEqual(bin) || directory.suffix(sbin.count).elementsEqual(sbin)
    }
}

/// Merged /usr: /lib, /bin, /sbin and /lib64 are symlinks into /usr, so one file has two names.
public enum MergedUsr {
    private static let topLevel = ["/lib/", "/lib64/", "/lib32/", "/libx32/", "/bin/", "/sbin/"]

    /// The path and, for one under a merged directory, its other name.
    public static func twins(of path: String) -> [String] {
        if path.hasPrefix("/usr/") {
            let rest = String(path.dropFirst(4))
            return topLevel.contains(where: { rest.hasPrefix($0) }) ? [path, rest] : [path]
        }
        return topLevel.contains(where: { path.hasPrefix($0) }) ? [path, "/usr" + path] : [path]
    }
}
