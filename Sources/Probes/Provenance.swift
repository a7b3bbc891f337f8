import HostIO

/// Where a file the scan read came from: its package and whether it is still what the package installed, where it
/// lives, and whether anyone but root can change it. Facts only; provenance rules decide what is a finding.
public struct Provenance: Sendable, Hashable, Codable {
    /// The file's content against its package's record.
    public enum Integrity: String, Sendable, Hashable, Codable, CaseIterable {
        /// The digest the package recorded equals the file's.
        case matches
        /// It differs: the file was changed after the package installed it.
        case modified
        /// The owning package recorded no digest for it (no md5sums, a config file, a ghost).
        case notRecorded = "not-recorded"
        /// No package lists the file.
        case unowned
        /// The admin diverted the package's file away (`dpkg-divert --local`); what is here is theirs.
        case locallyDiverted = "locally-diverted"
        /// The file is in another root (a container's, seen through a process) whose package database this scan
        /// does not read.
        case notChecked = "not-checked"
        /// What was read is no longer at its path (deleted or replaced since a process mapped it, as after an
        /// upgrade): the package's digest describes the new file, so nothing is compared.
        case replaced
    }

    /// What kind of place the file's path is in.
    public enum Place: String, Sendable, Hashable, Codable, CaseIterable {
        /// The system's own directories: /usr (but /usr/local), /lib*, /bin, /sbin, /etc, /boot.
        case system
        case usrLocal = "usr-local"
        case opt
        /// /home, /root, /var/home.
        case home
        /// /tmp, /var/tmp, /dev/shm, /run/user, /run/shm: any user can create files there.
        case temporary
        /// A memfd: code loaded from memory, in no directory.
        case memfd
        case other
    }

    public var package: InstalledPackage?
    public var integrity: Integrity
    /// The digests compared, or why nothing was.
    public var integrityDetail: String?
    public var place: Place
    /// Why a user other than root can change or replace the file (it or a directory above it is theirs or
    /// writable by them); nil when only root can.
    public var writableBy: String?
    /// The file was deleted from disk while mapped.
    public var deleted: Bool

    public init(package: InstalledPackage?, integrity: Integrity, integrityDetail: String?, place: Place,
                writableBy: String?, deleted: Bool) {
        self.package = package
        self.integrity = integrity
        self.integrityDetail = integrityDetail
        self.place = place
        self.writableBy = writableBy
        self.deleted = deleted
    }

    private static let places: [(String, Place)] = [
        ("/usr/local/", .usrLocal), ("/opt/", .opt),
        ("/tmp/", .temporary), ("/var/tmp/", .temporary), ("/dev/shm/", .temporary), ("/run/user/", .temporary),
        ("/run/shm/", .temporary), ("/var/run/user/", .temporary), ("/var/lock/", .temporary), ("/run/lock/", .temporary),
        ("/home/", .home), ("/root/", .home), ("/var/home/", .home),
        ("/usr/", .system), ("/lib/", .system), ("/lib64/", .system), ("/lib32/", .system), ("/libx32/", .system),
        ("/bin/", .system), ("/sbin/", .system), ("/etc/", .system), ("/boot/", .system),
    ]

    /// The place of a path inside its root (memfd mappings are named "/memfd:NAME").
    public static func place(of path: String) -> Place {
        if path.hasPrefix("/memfd:") { return .memfd }
        return places.first { path.hasPrefix($0.0) }?.1 ?? .other
    }

    /// Compares the digest computed when the file was read with the one its package recorded.
    /// - Parameter computed: the file's digest with the recorded digest's algorithm, if the read computed it.
    public static func integrity(recorded: RecordedDigest, computed: (DigestAlgorithm) -> String?,
                                 packages: [InstalledPackage]) -> (Integrity, String?) {
        switch recorded {
        case .unowned:
            return (.unowned, nil)
        case .locallyDiverted(let to):
            return (.locallyDiverted, "diverted by the local admin; the package's file is at \(to)")
        case .notRecorded(_, let reason):
            return (.notRecorded, reason)
        case .recorded(let algorithm, let hex, let index, let listed):
            let owner = packages[index].name
            guard let actual = computed(algorithm) else {
                return (.notRecorded, "\(owner) recorded a \(algorithm.rawValue) digest, which this read did not compute")
            }
            if actual == hex { return (.matches, nil) }
            return (.modified, "\(owner) recorded \(algorithm.rawValue) \(hex) for \(listed); the file has \(actual)")
        }
    }
}

/// Who besides root can change a file: its owner, or anyone who can write to it or to a directory above it (and
/// so rename another file in its place). Directory answers are kept, since the files a scan reads share a few
/// dozen directories.
public struct WritabilityCheck {
    private var directories: [String: String?] = [:]
    /// The answer for each directory as named (before resolving it), so files sharing a directory resolve it once.
    private var named: [String: String?] = [:]

    public init() {}

    /// Why a non-root user can change `path` (inside `root`), whose own status is `status` (nil: gone); nil when
    /// only root can. An image root's own directory and those above it are not judged: they belong to the host.
    public mutating func nonRootWriter(root: ConfinedRoot, path: String, status: FileStatus?) -> String? {
        if let status, let reason = Self.reason(status, isDirectory: false, shown: root.displayPath(path)) { return reason }
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        let directory = slash == path.utf8.startIndex ? "/" : String(path[..<slash])
        if let known = named[root.prefix + "\u{0}" + directory] { return known }
        let answer = directoryWriter(root: root, directory: directory)
        named[root.prefix + "\u{0}" + directory] = answer
        return answer
    }

    private mutating func directoryWriter(root: ConfinedRoot, directory: String) -> String? {
        guard let resolved = try? root.resolve(directory) else { return nil }
        var prefixes: [String] = root.isHost ? ["/"] : []
        var current = ""
        for component in resolved.split(separator: "/") {
            current += "/" + component
            prefixes.append(current)
        }
        // The deepest directory first: its answer is what a user's own directory would give.
        for prefix in prefixes.reversed() {
            if let known = directories[root.prefix + prefix] {
                if let known { return known }
                continue
            }
            let reason = (try? FileSystem.linkStatus(root.hostPath(prefix))).flatMap {
                Self.reason($0, isDirectory: true, shown: root.displayPath(prefix))
            }
            directories[root.prefix + prefix] = reason
            if let reason { return reason }
        }
        return nil
    }

    private static func reason(_ status: FileStatus, isDirectory: Bool, shown: String) -> String? {
        if status.owner != 0 { return "uid \(status.owner) owns \(shown)" }
        // A sticky directory (/tmp) lets others add entries but not replace those of root.
        let sticky = isDirectory && status.permissions & 0o1000 != 0
        if status.permissions & 0o002 != 0 && !sticky { return "\(shown) is writable by every user" }
        if status.permissions & 0o020 != 0 && status.group != 0 && !sticky {
            return "\(shown) is writable by group \(status.group)"
        }
        return nil
    }
}
