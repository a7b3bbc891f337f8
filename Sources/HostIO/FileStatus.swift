#if canImport(Glibc)
import Glibc
#endif

/// The identity of a file on this host: the device it lives on and its inode.
public struct FileIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    public var description: String { "\(device):\(inode)" }
}

/// What `stat(2)` says about a file, in Swift types.
public struct FileStatus: Hashable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable {
        case regular, directory, symlink, fifo, socket, characterDevice, blockDevice, unknown
    }

    public let identity: FileIdentity
    public let kind: Kind
    public let size: Int64
    public let permissions: UInt32
    public let owner: UInt32
    public let group: UInt32
    /// Modification and status-change times in nanoseconds: with size and identity, the key of the hash cache.
    public let modified: Int64
    public let changed: Int64

    public var isRegular: Bool { kind == .regular }
    public var isWritableByGroupOrOthers: Bool { permissions & 0o022 != 0 }

    /// A status for something that is not a file on this host: an archive member, known by its header.
    public init(identity: FileIdentity, kind: Kind, size: Int64, permissions: UInt32, owner: UInt32 = 0, group: UInt32 = 0,
                modified: Int64 = 0, changed: Int64 = 0) {
        self.identity = identity
        self.kind = kind
        self.size = size
        self.permissions = permissions
        self.owner = owner
        self.group = group
        self.modified = modified
        self.changed = changed
    }

    init(_ st: stat) {
        identity = FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        case S_IFCHR: kind = .characterDevice
        case S_IFBLK: kind = .blockDevice
        default: kind = .unknown
        }
        size = Int64(st.st_size)
        permissions = UInt32(st.st_mode & 0o7777)
        owner = st.st_uid
        group = st.st_gid
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        changed = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }
}

public enum FileSystem {
    /// `lstat(2)`: the link itself, never its target.
    public static func linkStatus(_ path: String) throws(SystemError) -> FileStatus {
        try Syscall.linkStatus(path)
    }

    /// `stat(2)`: follows symlinks. Use only on paths the scanner controls or on /proc magic links.
    public static func status(_ path: String) throws(SystemError) -> FileStatus {
        try Syscall.status(path)
    }

    /// `readlink(2)`.
    public static func readLink(_ path: String) throws(SystemError) -> String {
        String(decoding: try Syscall.readlink(path), as: UTF8.self)
    }

    /// The names in a directory (without `.` and `..`), sorted so scans are deterministic.
    public static func directoryEntries(_ path: String) throws(SystemError) -> [String] {
        let fd = try Syscall.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        return try Syscall.directoryNames(fd, path: path).sorted()
    }

    /// Writes `bytes` to `path` atomically: a new temporary file in the same directory, fsync, close, rename. A
    /// failure at any step (close included: NFS and full disks report there) leaves `path` as it was.
    /// The temporary file is created as mkstemp(3) does (`O_EXCL` under a name nobody can predict), so nothing
    /// planted at a name in advance (a FIFO that would block the open, a symlink) is ever opened.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, permissions: UInt32 = 0o600) throws(SystemError) {
        let (fd, temporary) = try createTemporary(beside: path, permissions: permissions)
        var failure: SystemError?
        do {
            // The mode asked for, whatever the umask (a metrics file other users' exporters must read).
            try Syscall.fchmod(fd, path: temporary, permissions: permissions)
            var offset = 0
            while offset < bytes.count {
                offset += try Syscall.write(fd, path: temporary, from: bytes, offset..<bytes.count)
            }
            try Syscall.fsync(fd, path: temporary)
        } catch { failure = error }
        do { try Syscall.close(fd, path: temporary) } catch { failure = failure ?? error }
        if failure == nil {
            do { try Syscall.rename(temporary, path) } catch { failure = error }
        }
        if let failure {
            try? Syscall.unlink(temporary)
            throw failure
        }
    }

    /// A new file `PATH.tmp.RANDOM` (O_CREAT | O_EXCL | O_NOFOLLOW), tried again under another name if one exists.
    private static func createTemporary(beside path: String, permissions: UInt32) throws(SystemError) -> (Int32, String) {
        var attempt = 0
        while true {
            // 64 bits from the system's generator (getrandom): not guessable from the pid or the time.
            let temporary = path + ".tmp." + String(UInt64.random(in: .min ... .max), radix: 36)
            do {
                let fd = try Syscall.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                                          permissions: permissions)
                return (fd, temporary)
            } catch where error.errno == EEXIST && attempt < 16 {
                attempt += 1
            }
        }
    }

    /// A /proc file read whole: open, read to end of file, close. No stat before or after, unlike `OpenFile`:
    /// the kernel generates these (their stat says size 0), and a scan reads a few per process, every scan.
    /// O_NONBLOCK and O_NOFOLLOW keep a path that is not what it should be from blocking or leading elsewhere.
    public static func readKernelFile(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = try Syscall.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        defer { Syscall.closeReadOnly(fd) }
        var bytes = [UInt8](repeating: 0, count: min(limit, 16 << 10))
        var filled = 0
        while true {
            if filled == bytes.count {
                guard bytes.count < limit else {
                    throw SystemError(operation: "read", path: path, errno: EFBIG)
                }
                bytes += [UInt8](repeating: 0, count: min(bytes.count, limit - bytes.count))
            }
            let n = try Syscall.read(fd, path: path, into: &bytes, filled..<bytes.count)
            if n == 0 { break }
            filled += n
        }
        bytes.removeLast(bytes.count - filled)
        return bytes
    }

    /// A /proc file (maps, environ) read in chunks and handed on one record at a time, split at `separator`, so a
    /// process with 77 MB of maps or a 5 MB environment is read whole without being held whole. A record longer
    /// than `maximumRecord` is handed on cut to that length with `truncated` set (the rest of it is skipped).
    /// - Returns: the bytes read.
    @discardableResult
    public static func forEachKernelRecord(_ path: String, separator: UInt8, maximumRecord: Int,
                                           _ body: (_ record: ArraySlice<UInt8>, _ truncated: Bool) -> Void) throws(SystemError) -> Int64 {
        let fd = try Syscall.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        defer { Syscall.closeReadOnly(fd) }
        var buffer = [UInt8](repeating: 0, count: max(64 << 10, maximumRecord + 1))
        var filled = 0
        var total: Int64 = 0
        var skippingRest = false   // inside a record already handed on truncated
        while true {
            let n = try Syscall.read(fd, path: path, into: &buffer, filled..<buffer.count)
            total += Int64(n)
            filled += n
            var start = 0
            while let end = ByteSearch.index(of: separator, in: buffer, start..<filled) {
                if skippingRest { skippingRest = false } else { body(buffer[start..<end], false) }
                start = end + 1
            }
            if n == 0 {
                if start < filled && !skippingRest { body(buffer[start..<filled], false) }
                return total
            }
            // Keep the unfinished record; one that fills the buffer is handed on cut short.
            if filled - start > maximumRecord {
                if !skippingRest { body(buffer[start..<(start + maximumRecord)], true) }
                skippingRest = true
                start = filled
            }
            if start > 0 {
                buffer.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: $0.baseAddress! + start, byteCount: filled - start) }
                filled -= start
            }
        }
    }

    /// `mkdir(2)`: one new directory.
    public static func makeDirectory(_ path: String, permissions: UInt32 = 0o755) throws(SystemError) {
        try Syscall.mkdir(path, permissions: permissions)
    }

    /// `mkdir -p` with the given permissions for directories it creates.
    public static func makeDirectories(_ path: String, permissions: UInt32 = 0o755) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            do { try Syscall.mkdir(current, permissions: permissions) } catch where error.errno == EEXIST { continue }
        }
    }

    /// A new private directory (mode 0700) `TMPDIR/PREFIX.XXXXXX`.
    public static func makeTemporaryDirectory(prefix: String) throws(SystemError) -> String {
        try makeTemporaryDirectory(in: ProcessEnvironment.temporaryDirectory, prefix: prefix)
    }

    /// A new private directory (mode 0700) `DIRECTORY/PREFIX.XXXXXX`.
    public static func makeTemporaryDirectory(in directory: String, prefix: String) throws(SystemError) -> String {
        var base = directory
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        return try Syscall.makeTemporaryDirectory(base + "/" + prefix + ".XXXXXX")
    }

    public static func setPermissions(_ path: String, _ permissions: UInt32) throws(SystemError) {
        try Syscall.chmod(path, permissions: permissions)
    }

    /// Removes one file or symlink (never a symlink's target).
    public static func remove(_ path: String) throws(SystemError) {
        try Syscall.unlink(path)
    }

    public static func makeSymlink(at path: String, to target: String) throws(SystemError) {
        try Syscall.symlink(target, path)
    }

    /// rename(2): atomically replaces `destination` (a file or a symlink) with `source`.
    public static func rename(_ source: String, to destination: String) throws(SystemError) {
        try Syscall.rename(source, destination)
    }

    /// Removes `path` and everything under it without following any symlink: a symlink is removed, never its
    /// target. For chainwatch's own temporary directories (an unpacked image).
    public static func removeTree(_ path: String) throws(SystemError) {
        let status = try Syscall.linkStatus(path)
        guard status.kind == .directory else { return try Syscall.unlink(path) }
        for entry in try directoryEntries(path) { try removeTree(path + "/" + entry) }
        try Syscall.rmdir(path)
    }

    /// Removes `root/components...` (a whole tree for a directory) only if every directory on the way is a real
    /// directory, never a symlink: for whiteouts, which name a path of the layer tree, not a path to resolve.
    /// Returns false when there was nothing there to remove.
    @discardableResult
    public static func removeBeneath(_ root: String, components: [String]) throws(SystemError) -> Bool {
        var path = root
        for (index, component) in components.enumerated() {
            path += "/" + component
            let status: FileStatus
            do { status = try Syscall.linkStatus(path) } catch where error.isNotFound { return false }
            if index == components.count - 1 {
                try removeTree(path)
                return true
            }
            guard status.kind == .directory else { return false }
        }
        return false
    }

    /// Whether something listens on the Unix datagram socket at `path` (a stale socket file refuses).
    public static func datagramSocketAccepts(_ path: String) -> Bool {
        Syscall.datagramSocketAccepts(path)
    }
}

/// The environment variables HostIO honours, read once.
enum ProcessEnvironment {
    /// $TMPDIR when it is an absolute path, else /tmp.
    static var temporaryDirectory: String {
        guard let value = getenv("TMPDIR").map({ String(cString: $0) }), value.hasPrefix("/") else { return "/tmp" }
        return value
    }
}

/// This process.
public enum ProcessIdentity {
    public static var current: Int32 { Syscall.processID() }

    /// Sends `signal` to `pid` (kill(2)).
    public static func send(_ signal: Int32, to pid: Int32) throws(SystemError) {
        try Syscall.kill(pid, signal)
    }
}
