#if canImport(Glibc)
import Glibc
#endif
import HostIO

/// The system calls an image unpack needs that HostIO does not offer yet: the host's machine name, the free space
/// of the unpack directory, and removal of a tree of any depth. Written like HostIO's `Syscall` (errno read in one
/// place, EINTR retried, failures as `SystemError`) so they can move there unchanged; they live here because this
/// change was limited to the image unpacker's files.
enum ImageSyscall {
    /// uname(2)'s machine field (`uname -m`): x86_64, aarch64, armv7l...
    static func machine() -> String {
        var name = utsname()
        guard uname(&name) == 0 else { return "unknown" }
        return withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Space left on the filesystem holding a directory.
    struct FreeSpace {
        var bytes: Int64
        /// Files (inodes) that can still be created; Int64.max where the filesystem has no such limit (btrfs).
        var files: Int64
    }

    /// statvfs(2) of `path`: blocks and inodes this process may still use (root may use the reserved ones).
    static func freeSpace(_ path: String) throws(SystemError) -> FreeSpace {
        var result = statvfs()
        try retrying("statvfs", path) { statvfs(path, &result) }
        let root = geteuid() == 0
        let blocks = root ? result.f_bfree : result.f_bavail
        let files = result.f_files == 0 ? Int64.max : Int64(root ? result.f_ffree : result.f_favail)
        return FreeSpace(bytes: Int64(blocks) * Int64(result.f_frsize), files: files)
    }

    /// Removes `path` and everything under it without following a symlink, without recursion and without ever
    /// naming a path longer than one component: each directory is opened relative to its parent (openat with
    /// O_NOFOLLOW), emptied with unlinkat, and left through "..", so a tree thousands of levels deep (past
    /// PATH_MAX) goes as well as a flat one, with two descriptors open at most. For chainwatch's own private
    /// directories only (mode 0700, nobody else renames in them, which is what makes ".." the way back).
    static func removeTree(_ path: String) throws(SystemError) {
        var status = stat()
        try retrying("lstat", path) { lstat(path, &status) }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            try retrying("unlink", path) { unlink(path) }
            return
        }
        var fd = try openDirectory(AT_FDCWD, Array(path.utf8CString), shown: path)
        defer { _ = close(fd) }
        /// A directory being emptied: its name in its parent (nil for `path`) and its subdirectories still to go.
        struct Frame {
            var name: [CChar]?
            var pending: [[CChar]]
        }
        var frames = [Frame(name: nil, pending: try removeFiles(in: fd, shown: path))]
        while let last = frames.indices.last {
            if let next = frames[last].pending.popLast() {
                let child: Int32
                do { child = try openDirectory(fd, next, shown: path) } catch where error.errno == ENOENT {
                    continue
                } catch where error.errno == ENOTDIR {
                    try unlinkAt(fd, next, 0, shown: path)
                    continue
                }
                _ = close(fd)
                fd = child
                frames.append(Frame(name: next, pending: try removeFiles(in: fd, shown: path)))
                continue
            }
            guard let name = frames.removeLast().name else { break }
            let parent = try openDirectory(fd, Array("..".utf8CString), shown: path)
            _ = close(fd)
            fd = parent
            try unlinkAt(fd, name, AT_REMOVEDIR, shown: path)
        }
        try retrying("rmdir", path) { rmdir(path) }
    }

    /// Unlinks every entry of the directory open at `fd` that is not a directory; returns the directories' names.
    private static func removeFiles(in fd: Int32, shown: String) throws(SystemError) -> [[CChar]] {
        var directories: [[CChar]] = []
        for (name, type) in try entries(fd, shown: shown) {
            var isDirectory = type == DT_DIR
            if type == DT_UNKNOWN {
                var status = stat()
                try retrying("fstatat", shown) { fstatat(fd, name, &status, AT_SYMLINK_NOFOLLOW) }
                isDirectory = status.st_mode & S_IFMT == S_IFDIR
            }
            if isDirectory {
                directories.append(name)
            } else {
                do { try unlinkAt(fd, name, 0, shown: shown) } catch where error.errno == EISDIR { directories.append(name) }
            }
        }
        return directories
    }

    /// The entries of the directory open at `fd` (names NUL-terminated, with readdir's d_type), read through a
    /// duplicate so `fd` stays open.
    private static func entries(_ fd: Int32, shown: String) throws(SystemError) -> [([CChar], Int32)] {
        let copy = try retrying("dup", shown) { dup(fd) }
        guard let directory = fdopendir(copy) else {
            let code = errno
            _ = close(copy)
            throw SystemError(operation: "fdopendir", path: shown, errno: code)
        }
        defer { closedir(directory) }
        var result: [([CChar], Int32)] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                if errno != 0 { throw SystemError(operation: "readdir", path: shown, errno: errno) }
                return result
            }
            var name = withUnsafeBytes(of: entry.pointee.d_name) { raw in raw.prefix { $0 != 0 }.map { CChar(bitPattern: $0) } }
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            name.append(0)
            result.append((name, Int32(entry.pointee.d_type)))
        }
    }

    /// openat(2) of a directory, never through a symlink; a directory this user may not enter (an image's mode
    /// 0000 directory, for a scan that is not root) is given mode 0700 first.
    private static func openDirectory(_ at: Int32, _ name: [CChar], shown: String) throws(SystemError) -> Int32 {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        do {
            return try retrying("openat", shown) { openat(at, name, flags) }
        } catch where error.errno == EACCES {
            try retrying("fchmodat", shown) { fchmodat(at, name, 0o700, 0) }
            return try retrying("openat", shown) { openat(at, name, flags) }
        }
    }

    /// unlinkat(2); in a directory this user may not write (an image's mode 0555 directory), after giving it 0700.
    private static func unlinkAt(_ fd: Int32, _ name: [CChar], _ flags: Int32, shown: String) throws(SystemError) {
        do {
            try retrying("unlinkat", shown) { unlinkat(fd, name, flags) }
        } catch where error.errno == EACCES || error.errno == EPERM {
            try retrying("fchmod", shown) { fchmod(fd, 0o700) }
            try retrying("unlinkat", shown) { unlinkat(fd, name, flags) }
        } catch where error.errno == ENOENT {
            return
        }
    }

    /// Runs a call that returns -1 and sets errno on failure, retrying on EINTR (HostIO's `valueOrErrno`).
    @discardableResult
    private static func retrying(_ operation: String, _ path: String, _ body: () -> Int32) throws(SystemError) -> Int32 {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(operation: operation, path: path, errno: code)
        }
    }
}
