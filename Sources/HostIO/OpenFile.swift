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
    /// Bytes read so far by `readNext`.
    private var bytesRead = 0
    /// Called after each chunk is read with the bytes read so far. Tests use it to change a file mid-read.
    public var chunkObserver: ((Int) -> Void)?

    /// Bytes per read(2)/pread(2) call.
    public static let chunkSize = 1 << 20

    /// Opens `path` if it is a regular file. `followSymlinks` is for /proc magic links (map_files, exe) only;
    /// paths inside a scanned root are resolved by `ConfinedRoot` first and opened with `O_NOFOLLOW`.
    public init(path: String, followSymlinks: Bool = false) throws(FileReadError) {
        let before: FileStatus
        do {
            before = followSymlinks ? try Syscall.status(path) : try Syscall.linkStatus(path)
        } catch { throw .system(error) }
        guard before.isRegular else { throw .notRegular(path: path, kind: before.kind) }

        let flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (followSymlinks ? 0 : O_NOFOLLOW)
        let fd: Int32
        let after: FileStatus
        do {
            fd = try Syscall.open(path, flags)
        } catch { throw .system(error) }
        do {
            after = try Syscall.status(fd, path: path)
        } catch {
            Syscall.closeReadOnly(fd)
            throw .system(error)
        }
        guard after.isRegular, after.identity == before.identity else {
            Syscall.closeReadOnly(fd)
            throw .changed(path: path)
        }
        self.path = path
        self.status = after
        self.descriptor = fd
        try? Syscall.advise(fd, path: path, offset: 0, length: 0, POSIX_FADV_SEQUENTIAL)
    }

    // Read-only: a failed close loses no data, and there is no caller left to tell.
    deinit { Syscall.closeReadOnly(descriptor) }

    /// Asks the kernel to start reading the first `limit` bytes into the page cache now, without waiting: a scan
    /// hands this to files it will read next, so cold reads overlap (I/O depth) without more hashing threads.
    public func prefetch(limit: Int64 = 16 << 20) {
        try? Syscall.advise(descriptor, path: path, offset: 0, length: min(status.size, limit), POSIX_FADV_WILLNEED)
    }

    /// Reads at most `count` bytes at `offset` (pread); fewer at end of file.
    public func read(at offset: Int64, count: Int) throws(FileReadError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let filled = try fill(&buffer, from: 0, at: offset)
        buffer.removeLast(count - filled)
        return buffer
    }

    /// Fills `buffer[start...]` from the file at `offset`, chunk by chunk; returns the bytes now in the buffer.
    private func fill(_ buffer: inout [UInt8], from start: Int, at offset: Int64) throws(FileReadError) -> Int {
        var filled = start
        while filled < buffer.count {
            let want = min(Self.chunkSize, buffer.count - filled)
            let position = offset + Int64(filled - start)
            let n: Int
            do {
                n = try Syscall.pread(descriptor, path: path, into: &buffer, filled..<(filled + want), at: position)
            } catch { throw .system(error) }
            if n == 0 { break }
            filled += n
            chunkObserver?(filled)
        }
        return filled
    }

    /// Reads the file's next bytes (read(2), from where the last call left off) into `buffer`, at most its count;
    /// 0 at end of file. For readers that interleave several files; `checkUnchanged()` after the last.
    public func readNext(into buffer: inout [UInt8]) throws(FileReadError) -> Int {
        let n: Int
        do { n = try Syscall.read(descriptor, path: path, into: &buffer, 0..<buffer.count) } catch { throw .system(error) }
        if n > 0 {
            bytesRead += n
            chunkObserver?(bytesRead)
        }
        return n
    }

    /// The whole file, refusing files over `limit` bytes. Fails with `.changed` if it moved while read.
    public func readAll(limit: Int64) throws(FileReadError) -> [UInt8] {
        guard status.size <= limit else { throw .tooLarge(path: path, size: status.size, limit: limit) }
        // /proc files report size 0, and a file may have grown: read on until EOF, bounded by the limit.
        var bytes = [UInt8](repeating: 0, count: Int(max(status.size, 4096)))
        let filled = try fill(&bytes, from: 0, at: 0)
        let full = filled == bytes.count
        bytes.removeLast(bytes.count - filled)
        while full {
            let more = try read(at: Int64(bytes.count), count: 64 * 1024)
            if more.isEmpty { break }
            bytes += more
            if Int64(bytes.count) > limit { throw .tooLarge(path: path, size: Int64(bytes.count), limit: limit) }
        }
        try checkUnchanged()
        return bytes
    }

    /// Lends the descriptor to a C library that reads the file itself (libelf's elf_begin). The descriptor stays
    /// owned here: `body` must not close it or keep it.
    public func withDescriptor<R, E: Error>(_ body: (Int32) throws(E) -> R) throws(E) -> R {
        try body(descriptor)
    }

    /// Whether the file is still what was opened: same size, mtime and ctime (ctime cannot be set back by anyone,
    /// so restoring the mtime after a rewrite does not hide it). Fails with `.changed` otherwise.
    public func checkUnchanged() throws(FileReadError) {
        let now: FileStatus
        do { now = try Syscall.status(descriptor, path: path) } catch { throw .system(error) }
        // /proc files have size 0 and no stable times worth comparing.
        if status.size != 0 && (now.size != status.size || now.modified != status.modified || now.changed != status.changed) {
            throw .changed(path: path)
        }
    }
}

extension FileSystem {
    /// A small text file read whole (a /proc entry, a config file), refusing anything that is not a regular file.
    /// A file read whole (never following a final symlink unless asked).
    public static func readBytes(_ path: String, limit: Int64 = 16 << 20, followSymlinks: Bool = false) throws(FileReadError) -> [UInt8] {
        try OpenFile(path: path, followSymlinks: followSymlinks).readAll(limit: limit)
    }

    public static func readText(_ path: String, limit: Int64 = 16 << 20, followSymlinks: Bool = false) throws(FileReadError) -> String {
        let file = try OpenFile(path: path, followSymlinks: followSymlinks)
        return String(decoding: try file.readAll(limit: limit), as: UTF8.self)
    }
}
