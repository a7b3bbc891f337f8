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

/// What the package databases of one root hold: packages and which package owns which file.
public struct PackageInventory: Sendable {
    public private(set) var packages: [InstalledPackage] = []
    /// Problems reading a database: recorded, never fatal.
    public var problems: [String] = []
    /// Owner of each listed file, keyed by a digest of its path instead of the path: a Debian host lists ~120k
    /// paths, ~15 MB as Strings and ~2.5 MB as digests. The digest is seeded per process (see ByteHash), so a
    /// package cannot list a path crafted to collide; a chance collision only mislabels one file's owner.
    private var owners: [Int: Int32] = [:]
    /// Files listed in a bin or sbin directory, by name, for locating the programs rules name (sshd).
    private var programs: [String: [Program]] = [:]
    /// Packages by name and by source name, for package rules.
    private var byName: [String: [Int]] = [:]

    struct Program: Sendable {
        var path: String
        var package: Int32
    }

    public init() {}

    /// Number of distinct file paths the databases list.
    public var fileCount: Int { owners.count }

    /// The package that owns `path`, trying the merged-/usr twin (dpkg lists /lib/x where the file is /usr/lib/x).
    public func owner(of path: String) -> InstalledPackage? {
        for candidate in MergedUsr.twins(of: path) {
            if let index = owners[ByteHash.of(candidate)] { return packages[Int(index)] }
        }
        return nil
    }

    /// Installed packages whose name or source name is one of `names`, in database order.
    public func packages(named names: [String]) -> [InstalledPackage] {
        Set(names.flatMap { byName[$0] ?? [] }).sorted().map { packages[$0] }
    }

    /// Listed files in a bin or sbin directory whose last path component is `name`, sorted by path.
    public func programs(named name: String) -> [(path: String, package: InstalledPackage)] {
        (programs[name] ?? []).sorted { $0.path < $1.path }.map { ($0.path, packages[Int($0.package)]) }
    }

    mutating func add(_ package: InstalledPackage, files: [String]) {
        let index = Int32(packages.count)
        append(package)
        for file in files { addFile(ArraySlice(file.utf8), package: index) }
    }

    /// Adds a package with its file list as the database stores it: one path per line.
    mutating func add(_ package: InstalledPackage, fileList: [UInt8]) {
        let index = Int32(packages.count)
        append(package)
        ByteSearch.forEachLine(in: fileList) { line in
            if !line.isEmpty { addFile(fileList[line], package: index) }
        }
    }

    private mutating func append(_ package: InstalledPackage) {
        byName[package.name, default: []].append(packages.count)
        if package.source != package.name { byName[package.source, default: []].append(packages.count) }
        packages.append(package)
    }

    private mutating func addFile(_ path: ArraySlice<UInt8>, package: Int32) {
        let key = ByteHash.of(path)
        if owners[key] == nil { owners[key] = package }
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
enum MergedUsr {
    private static let topLevel = ["/lib/", "/lib64/", "/lib32/", "/libx32/", "/bin/", "/sbin/"]

    static func twins(of path: String) -> [String] {
        if path.hasPrefix("/usr/") {
            let rest = String(path.dropFirst(4))
            return topLevel.contains(where: { rest.hasPrefix($0) }) ? [path, rest] : [path]
        }
        return topLevel.contains(where: { path.hasPrefix($0) }) ? [path, "/usr" + path] : [path]
    }
}
