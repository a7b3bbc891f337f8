import HostIO

/// What the package databases recorded about one file's content.
public enum RecordedDigest: Sendable, Hashable {
    /// `package` (an index into the inventory's packages) recorded this digest for the file, listed as `listed`.
    case recorded(DigestAlgorithm, hex: String, package: Int, listed: String)
    /// `package` owns the file but recorded no digest for it (no md5sums file, a config file, a ghost).
    case notRecorded(package: Int, reason: String)
    case unowned
    /// The admin diverted the package's file away from this path (`dpkg-divert --local`).
    case locallyDiverted(to: String)
}

/// Finds the digest each package recorded for the files a scan read.
public enum PackageIntegrity {
    /// For each of `paths`, what the databases recorded. dpkg's md5sums are read once per owning package, and only
    /// for packages owning one of `paths` (a few dozen files, not dpkg's thousand).
    public static func recordedDigests(for paths: some Sequence<String>, inventory: PackageInventory,
                                       root: ConfinedRoot) -> (digests: [String: RecordedDigest], problems: [String]) {
        var result: [String: RecordedDigest] = [:]
        var problems: [String] = []
        var dpkgWanted: [Int: [(path: String, listed: String)]] = [:]
        for path in paths where result[path] == nil {
            switch inventory.ownership(of: path) {
            case .unowned:
                result[path] = .unowned
            case .locallyDiverted(let to):
                result[path] = .locallyDiverted(to: to)
            case .package(let index, let listed):
                switch inventory.digestSource(of: index) {
                case .none:
                    result[path] = .notRecorded(package: index, reason: "the package database records no file digests")
                case .database:
                    // Every twin: rpm and apk list one name, the file may be found by the other.
                    if let (algorithm, hex) = inventory.recordedDigest(listed: listed) {
                        result[path] = .recorded(algorithm, hex: hex, package: index, listed: listed)
                    } else {
                        result[path] = .notRecorded(package: index, reason: "no digest recorded for \(listed)")
                    }
                case .dpkgMD5Sums:
                    dpkgWanted[index, default: []].append((path, listed))
                }
            }
        }
        for (index, files) in dpkgWanted.sorted(by: { $0.key < $1.key }) {
            let package = inventory.packages[index]
            do {
                guard let sums = try DpkgDatabase.md5sums(of: package, root: root, wanted: Set(files.map(\.listed))) else {
                    for file in files { result[file.path] = .notRecorded(package: index, reason: "\(package.name) has no md5sums file") }
                    continue
                }
                for file in files {
                    result[file.path] = sums[file.listed].map { .recorded(.md5, hex: $0, package: index, listed: file.listed) }
                        ?? .notRecorded(package: index, reason: "\(package.name)'s md5sums has no entry for \(file.listed) (a config file or one made by a maintainer script)")
                }
            } catch {
                problems.append("dpkg md5sums of \(package.name): \(error); its files' integrity not checked")
                for file in files { result[file.path] = .notRecorded(package: index, reason: "md5sums not readable") }
            }
        }
        return (result, problems)
    }
}
