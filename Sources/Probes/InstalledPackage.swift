/// A package the system's package database says is installed.
public struct InstalledPackage: Sendable, Hashable, Codable {
    /// Which package system recorded it; also names the version ordering that applies.
    public enum Ecosystem: String, Sendable, Hashable, Codable, CaseIterable {
        case debian, rpm, alpine, arch
    }

    public var ecosystem: Ecosystem
    public var name: String
    public var version: String
    /// The source package (dpkg's Source field without its version; the name itself when absent).
    public var source: String
    public var architecture: String
    /// The database's state for it, e.g. dpkg's "install ok installed".
    public var state: String

    public init(ecosystem: Ecosystem, name: String, version: String, source: String, architecture: String, state: String) {
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
    public var packages: [InstalledPackage] = []
    /// Owner of each file path as the database lists it.
    public internal(set) var owners: [String: Int] = [:]
    /// Problems reading a database: recorded, never fatal.
    public var problems: [String] = []

    public init() {}

    /// The package that owns `path`, trying the merged-/usr twin (dpkg lists /lib/x where the file is /usr/lib/x).
    public func owner(of path: String) -> InstalledPackage? {
        for candidate in MergedUsr.twins(of: path) {
            if let index = owners[candidate] { return packages[index] }
        }
        return nil
    }

    mutating func add(_ package: InstalledPackage, files: [String]) {
        let index = packages.count
        packages.append(package)
        for file in files where owners[file] == nil { owners[file] = index }
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
