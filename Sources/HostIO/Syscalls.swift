#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Every system call HostIO makes, one thin function each (after swift-system's `Internals/Syscalls.swift`):
/// errno is read in one place, EINTR is retried, failures become `SystemError` with the errno kept.
/// Nothing outside this file calls the C library's file functions.
enum Syscall {
    /// lstat(2).
    static func linkStatus(_ path: String) throws(SystemError) -> FileStatus {
        var st = stat()
        try nothingOrErrno("lstat", path) { lstat(path, &st) }
        return FileStatus(st)
    }

    /// stat(2).
    static func status(_ path: String) throws(SystemError) -> FileStatus {
        var st = stat()
        try nothingOrErrno("stat", path) { stat(path, &st) }
        return FileStatus(st)
    }

    /// fstat(2).
    static func status(_ fd: Int32, path: String) throws(SystemError) -> FileStatus {
        var st = stat()
        try nothingOrErrno("fstat", path) { fstat(fd, &st) }
        return FileStatus(st)
    }

    static func open(_ path: String, _ flags: Int32, permissions: UInt32 = 0) throws(SystemError) -> Int32 {
        try valueOrErrno("open", path) { Glibc.open(path, flags, mode_t(permissions)) }
    }

    /// openat(2) relative to a directory descriptor.
    static func openAt(_ directory: Int32, _ name: String, _ flags: Int32, path: String) throws(SystemError) -> Int32 {
        try valueOrErrno("openat", path) { Glibc.openat(directory, name, flags) }
    }

    /// close(2). Not retried on EINTR: Linux releases the descriptor even then, and a retry could close a
    /// descriptor another thread has just been given.
    static func close(_ fd: Int32, path: String) throws(SystemError) {
        if Glibc.close(fd) != 0 {
            let code = Glibc.errno
            if code != EINTR { throw SystemError(operation: "close", path: path, errno: code) }
        }
    }

    /// close(2) where there is nothing left to do about a failure (read-only descriptors, error paths).
    static func closeReadOnly(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// pread(2) into `buffer[range]`.
    static func pread(_ fd: Int32, path: String, into buffer: inout [UInt8], _ range: Range<Int>, at offset: Int64) throws(SystemError) -> Int {
        try valueOrErrno("pread", path) {
            buffer.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress! + range.lowerBound, range.count, off_t(offset)) }
        }
    }

    /// read(2) into `buffer[range]`.
    static func read(_ fd: Int32, path: String, into buffer: inout [UInt8], _ range: Range<Int>) throws(SystemError) -> Int {
        try valueOrErrno("read", path) {
            buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + range.lowerBound, range.count) }
        }
    }

    /// write(2) from `bytes[range]`.
    static func write(_ fd: Int32, path: String, from bytes: [UInt8], _ range: Range<Int>) throws(SystemError) -> Int {
        try valueOrErrno("write", path) {
            bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + range.lowerBound, range.count) }
        }
    }

    static func fchmod(_ fd: Int32, path: String, permissions: UInt32) throws(SystemError) {
        try nothingOrErrno("fchmod", path) { Glibc.fchmod(fd, mode_t(permissions)) }
    }

    static func fsync(_ fd: Int32, path: String) throws(SystemError) {
        try nothingOrErrno("fsync", path) { Glibc.fsync(fd) }
    }

    static func rename(_ from: String, _ to: String) throws(SystemError) {
        try nothingOrErrno("rename", to) { Glibc.rename(from, to) }
    }

    static func unlink(_ path: String) throws(SystemError) {
        try nothingOrErrno("unlink", path) { Glibc.unlink(path) }
    }

    static func symlink(_ target: String, _ path: String) throws(SystemError) {
        try nothingOrErrno("symlink", path) { Glibc.symlink(target, path) }
    }

    static func chmod(_ path: String, permissions: UInt32) throws(SystemError) {
        try nothingOrErrno("chmod", path) { Glibc.chmod(path, mode_t(permissions)) }
    }

    static func rmdir(_ path: String) throws(SystemError) {
        try nothingOrErrno("rmdir", path) { Glibc.rmdir(path) }
    }

    /// mkdtemp(3): a new directory only this user can enter.
    static func makeTemporaryDirectory(_ template: String) throws(SystemError) -> String {
        var bytes = Array(template.utf8CString)
        let result = bytes.withUnsafeMutableBufferPointer { Glibc.mkdtemp($0.baseAddress!) }
        guard result != nil else { throw SystemError(operation: "mkdtemp", path: template, errno: errno) }
        return String(cString: bytes)
    }

    static func mkdir(_ path: String, permissions: UInt32) throws(SystemError) {
        try nothingOrErrno("mkdir", path) { Glibc.mkdir(path, mode_t(permissions)) }
    }

    static func readlink(_ path: String) throws(SystemError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try valueOrErrno("readlink", path) {
            buffer.withUnsafeMutableBytes { Glibc.readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) }
        }
        return Array(buffer[0..<count])
    }

    /// posix_fadvise(2) returns the error number instead of setting errno. Advice is a hint: callers may ignore
    /// the error.
    static func advise(_ fd: Int32, path: String, offset: Int64, length: Int64, _ advice: Int32) throws(SystemError) {
        let code = Glibc.posix_fadvise(fd, off_t(offset), off_t(length), advice)
        if code != 0 { throw SystemError(operation: "posix_fadvise", path: path, errno: code) }
    }

    /// The names in the directory open at `fd` (fdopendir/readdir/closedir); takes ownership of `fd`.
    static func directoryNames(_ fd: Int32, path: String) throws(SystemError) -> [String] {
        guard let dir = Glibc.fdopendir(fd) else {
            let code = Glibc.errno
            closeReadOnly(fd)
            throw SystemError(operation: "opendir", path: path, errno: code)
        }
        defer { Glibc.closedir(dir) }
        var names: [String] = []
        while true {
            // readdir returns NULL both at the end and on error; only errno tells them apart.
            Glibc.errno = 0
            guard let entry = Glibc.readdir(dir) else {
                let code = Glibc.errno
                if code != 0 { throw SystemError(operation: "readdir", path: path, errno: code) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether a datagram socket can connect to the Unix socket at `path` (socket, connect, close).
    static func datagramSocketAccepts(_ path: String) -> Bool {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { closeReadOnly(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    static func effectiveUserID() -> UInt32 { Glibc.geteuid() }

    static func processID() -> Int32 { Glibc.getpid() }

    static func kill(_ pid: Int32, _ signal: Int32) throws(SystemError) {
        try nothingOrErrno("kill", "pid \(pid)") { Glibc.kill(pid, signal) }
    }

    static func ignore(signal number: Int32) { _ = Glibc.signal(number, SIG_IGN) }

    /// The C library's text for an errno (strerror).
    static func describe(errno code: Int32) -> String { String(cString: Glibc.strerror(code)) }
}

/// Runs a call that returns -1 and sets errno on failure, retrying on EINTR; any other failure becomes a
/// `SystemError` at once.
@inline(__always)
func valueOrErrno<T: FixedWidthInteger>(_ operation: String, _ path: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(operation: operation, path: path, errno: code)
    }
}

/// `valueOrErrno` for calls whose only result is success (0) or failure (-1).
@inline(__always)
func nothingOrErrno(_ operation: String, _ path: String, _ body: () -> Int32) throws(SystemError) {
    _ = try valueOrErrno(operation, path, body)
}
