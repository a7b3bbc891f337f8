#if canImport(Glibc)
import Glibc
#endif

/// Why a file could not be read.
public enum FileReadError: Error, CustomStringConvertible, Sendable, Equatable {
    case system(SystemError)
    /// FIFOs, devices, sockets and directories are never opened for reading: opening one can block or have effects.
    case notRegular(path: String, kind: FileStatus.Kind)
    /// The file read is not the one that was stat'ed, or it changed while it was read.
    case changed(path: String)
    case tooLarge(path: String, size: Int64, limit: Int64)

    public var description: String {
        switch self {
        case .system(let error): return error.description
        case .notRegular(let path, let kind): return "\(path): not a regular file (\(kind.rawValue)); not read"
        case .changed(let path): return "\(path): the file changed while it was being read"
        case .tooLarge(let path, let size, let limit):
            return "\(path): \(size) bytes is over the \(limit)-byte limit for this check; not read"
        }
    }

    public var isNotFound: Bool {
        if case .system(let error) = self { return error.isNotFound }
        return false
    }
}

/// A regular file opened read-only, checked to be the file that was stat'ed before it was opened.
///
/// Opening is `O_NONBLOCK | O_NOCTTY`, so even a file swapped for a FIFO between stat and open cannot hang the
/// scan; the identity check after `fstat` catches the swap.
public final class OpenFile {
    public let path: String
    public let status: FileStatus
    private let descriptor: Int32

    /// Opens `path` if it is a regular file. `followSymlinks` is for /proc magic links (map_files, exe) only;
    /// paths inside a scanned root are resolved by `ConfinedRoot` first and opened with `O_NOFOLLOW`.
    public init(path: String, followSymlinks: Bool = false) throws(FileReadError) {
        let before: FileStatus
        do {
            before = followSymlinks ? try FileSystem.status(path) : try FileSystem.linkStatus(path)
        } catch { throw .system(error) }
        guard before.isRegular else { throw .notRegular(path: path, kind: before.kind) }

        let flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (followSymlinks ? 0 : O_NOFOLLOW)
        let fd: Int32
        do { fd = try valueOrErrno("open", path) { open(path, flags) } } catch { throw .system(error) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw .system(SystemError(operation: "fstat", path: path, errno: code))
        }
        let after = FileStatus(st)
        guard after.isRegular, after.identity == before.identity else {
            close(fd)
            throw .changed(path: path)
        }
        self.path = path
        self.status = after
        self.descriptor = fd
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
    }

    deinit { close(descriptor) }

    /// Asks the kernel to start reading the first `limit` bytes into the page cache now, without waiting: a scan
    /// hands this to files it will read next, so cold reads overlap (I/O depth) without more hashing threads.
    public func prefetch(limit: Int64 = 16 << 20) {
        posix_fadvise(descriptor, 0, off_t(min(status.size, limit)), POSIX_FADV_WILLNEED)
    }

    /// Reads at most `count` bytes at `offset` (pread); fewer at end of file.
    public func read(at offset: Int64, count: Int) throws(FileReadError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n: Int
            do {
                n = try valueOrErrno("pread", path) {
                    buffer.withUnsafeMutableBytes { raw in
                        pread(descriptor, raw.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
                    }
                }
            } catch { throw .system(error) }
            if n == 0 { break }
            filled += n
        }
        buffer.removeLast(count - filled)
        return buffer
    }

    /// Streams the file from its start in chunks; the slice passed to `body` is valid only during the call.
    /// Fails with `.changed` if the file's size or modification time moved while it was read.
    public func forEachChunk(size chunkSize: Int = 1 << 20, _ body: (ArraySlice<UInt8>) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let n = try valueOrErrno("read", path) {
                buffer.withUnsafeMutableBytes { raw in Glibc.read(descriptor, raw.baseAddress!, chunkSize) }
            }
            if n == 0 { break }
            try body(buffer[0..<n])
        }
        try checkUnchanged()
    }

    /// The whole file, refusing files over `limit` bytes. Fails with `.changed` if it moved while read.
    public func readAll(limit: Int64) throws(FileReadError) -> [UInt8] {
        guard status.size <= limit else { throw .tooLarge(path: path, size: status.size, limit: limit) }
        // /proc files report size 0: read until EOF, bounded by the limit.
        var bytes = try read(at: 0, count: Int(max(status.size, 4096)))
        while bytes.count < Int(limit) {
            let more = try read(at: Int64(bytes.count), count: 64 * 1024)
            if more.isEmpty { break }
            bytes += more
            if Int64(bytes.count) > limit { throw .tooLarge(path: path, size: Int64(bytes.count), limit: limit) }
        }
        try checkUnchanged()
        return bytes
    }

    private func checkUnchanged() throws(FileReadError) {
        var st = stat()
        guard fstat(descriptor, &st) == 0 else {
            throw .system(SystemError(operation: "fstat", path: path, errno: errno))
        }
        let now = FileStatus(st)
        // /proc files have size 0 and no stable mtime worth comparing.
        if status.size != 0 && (now.size != status.size || now.modified != status.modified) {
            throw .changed(path: path)
        }
    }
}

extension FileSystem {
    /// A small text file read whole (a /proc entry, a config file), refusing anything that is not a regular file.
    public static func readText(_ path: String, limit: Int64 = 16 << 20, followSymlinks: Bool = false) throws(FileReadError) -> String {
        let file = try OpenFile(path: path, followSymlinks: followSymlinks)
        return String(decoding: try file.readAll(limit: limit), as: UTF8.self)
    }
}
