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
        var st = stat()
        _ = try valueOrErrno("lstat", path) { lstat(path, &st) }
        return FileStatus(st)
    }

    /// `stat(2)`: follows symlinks. Use only on paths the scanner controls or on /proc magic links.
    public static func status(_ path: String) throws(SystemError) -> FileStatus {
        var st = stat()
        _ = try valueOrErrno("stat", path) { stat(path, &st) }
        return FileStatus(st)
    }

    /// `readlink(2)`.
    public static func readLink(_ path: String) throws(SystemError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try valueOrErrno("readlink", path) { readlink(path, &buffer, buffer.count - 1) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The names in a directory (without `.` and `..`), sorted so scans are deterministic.
    public static func directoryEntries(_ path: String) throws(SystemError) -> [String] {
        let fd = try valueOrErrno("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW) }
        guard let dir = fdopendir(fd) else {
            let code = errno
            close(fd)
            throw SystemError(operation: "opendir", path: path, errno: code)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, permissions: UInt32 = 0o600) throws(SystemError) {
        let temporary = path + ".tmp.\(getpid())"
        let fd = try valueOrErrno("open", temporary) {
            open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode_t(permissions))
        }
        var failure: SystemError?
        var offset = 0
        while offset < bytes.count && failure == nil {
            do {
                offset += try valueOrErrno("write", temporary) {
                    bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
                }
            } catch { failure = error }
        }
        if failure == nil, fsync(fd) != 0 { failure = SystemError(operation: "fsync", path: temporary, errno: errno) }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = SystemError(operation: "rename", path: path, errno: errno) }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    /// A /proc file read whole: open, read to end of file, close. No stat before or after, unlike `OpenFile`:
    /// the kernel generates these (their stat says size 0), and a scan reads a few per process, every scan.
    /// O_NONBLOCK and O_NOFOLLOW keep a path that is not what it should be from blocking or leading elsewhere.
    public static func readKernelFile(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = try valueOrErrno("open", path) { open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: min(limit, 16 << 10))
        var filled = 0
        while true {
            if filled == bytes.count {
                guard bytes.count < limit else {
                    throw SystemError(operation: "read", path: path, errno: EFBIG)
                }
                bytes += [UInt8](repeating: 0, count: min(bytes.count, limit - bytes.count))
            }
            let n = try valueOrErrno("read", path) {
                bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeLast(bytes.count - filled)
        return bytes
    }

    /// `mkdir -p` with the given permissions for directories it creates.
    public static func makeDirectories(_ path: String, permissions: UInt32 = 0o755) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode_t(permissions)) != 0 && errno != EEXIST {
                throw SystemError(operation: "mkdir", path: current, errno: errno)
            }
        }
    }
}
