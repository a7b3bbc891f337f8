import HostIO

/// The mounts of a mount namespace (/proc/PID/mountinfo), to know a file's filesystem without touching the file:
/// on FUSE or a network filesystem even a stat can block for good, so the question must be answered from the
/// kernel's table, by device number (a mapping's) or by the longest mount point over a path.
public struct MountTable: Sendable {
    public struct Mount: Sendable, Hashable {
        public var device: UInt64
        public var mountPoint: String
        public var type: String
        /// The superblock's options (an overlay's layers), kept for overlay mounts only.
        public var superOptions: String? = nil
    }

    public private(set) var mounts: [Mount] = []
    private var byDevice: [UInt64: String] = [:]

    public init(mounts: [Mount]) {
        self.mounts = mounts
        // A later mount over the same device wins, as it does in the table.
        for mount in mounts { byDevice[mount.device] = mount.type }
    }

    /// The mounts `procPath/PID/mountinfo` lists (`self` for the scanner's own namespace); empty if unreadable.
    public static func read(_ mountinfo: String = "/proc/self/mountinfo") -> MountTable {
        guard let bytes = try? FileSystem.readKernelFile(mountinfo, limit: 64 << 20) else { return MountTable(mounts: []) }
        return parse(bytes)
    }

    /// Lines "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPEROPTIONS".
    public static func parse(_ bytes: [UInt8]) -> MountTable {
        var mounts: [Mount] = []
        ByteSearch.forEachLine(in: bytes) { range in
            let fields = bytes[range].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
            guard fields.count >= 7, let dash = fields.firstIndex(where: { $0.elementsEqual([UInt8(ascii: "-")]) }),
                  dash >= 6, dash + 1 < fields.count else { return }
            let numbers = fields[2].split(separator: UInt8(ascii: ":"))
            guard numbers.count == 2, let major = UInt64(String(decoding: numbers[0], as: UTF8.self)),
                  let minor = UInt64(String(decoding: numbers[1], as: UTF8.self)) else { return }
            var examined = 0
            let type = String(decoding: fields[dash + 1], as: UTF8.self)
            mounts.append(Mount(device: MemoryMapParser.makeDevice(major: major, minor: minor),
                                mountPoint: MemoryMapParser.unescape(fields[4], examined: &examined), type: type,
                                superOptions: type == "overlay" && dash + 3 < fields.count
                                    ? MemoryMapParser.unescape(fields[dash + 3], examined: &examined) : nil))
        }
        return MountTable(mounts: mounts)
    }

    /// The filesystem type of the mount a device number belongs to, if this table lists it.
    public func type(ofDevice device: UInt64) -> String? { byDevice[device] }

    /// The filesystem type of the mount `path` (absolute, as this namespace sees it, symlinks not resolved) lies
    /// on: the last-mounted longest mount point over it.
    public func type(containing path: String) -> String? {
        var best: Mount?
        for mount in mounts where Self.isUnder(path, mount.mountPoint) {
            if best == nil || mount.mountPoint.utf8.count >= best!.mountPoint.utf8.count { best = mount }
        }
        return best?.type
    }

    private static func isUnder(_ path: String, _ mountPoint: String) -> Bool {
        if mountPoint == "/" { return path.hasPrefix("/") }
        return path == mountPoint || path.hasPrefix(mountPoint + "/")
    }

    /// Filesystems whose reads (and opens and stats) wait on a user process or a remote server, which may never
    /// answer: FUSE (fusepy, sshfs, a container's fuse-overlayfs), NFS, CIFS/SMB, 9p, Ceph, AFS, Lustre and kin.
    /// Files on them are read on a thread of their own with a deadline (`FileIndex`), never on the scan's own.
    public static func readsMayBlock(_ type: String) -> Bool {
        if type == "fuse" || type == "fuseblk" || type.hasPrefix("fuse.") { return true }
        return ["nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "afs", "lustre", "glusterfs", "ncpfs", "coda",
                "davfs", "gfs2", "ocfs2", "orangefs", "beegfs", "gpfs", "virtiofs"].contains(type)
    }
}
