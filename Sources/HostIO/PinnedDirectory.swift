#if canImport(Glibc)
import Glibc
#endif

/// A directory held open (O_PATH) for as long as this value lives, reachable as a path through
/// `/proc/self/fd/N`: a container's root stays readable even when every process in it exits mid-scan, and its
/// parents can be walked with `..` whatever a process's chroot says.
public final class PinnedDirectory: Sendable {
    /// O_PATH (010000000 on Linux, every architecture but alpha/parisc/sparc): Glibc's module hides it behind
    /// _GNU_SOURCE. A descriptor that names a directory without opening it for reading.
    static let pathOnly: Int32 = 0o10000000

    let descriptor: Int32
    /// Where the directory was opened from, for messages.
    public let origin: String

    /// Opens `path` (following a final /proc magic link such as /proc/PID/root).
    public init(_ path: String) throws(SystemError) {
        descriptor = try Syscall.open(path, Self.pathOnly | O_DIRECTORY | O_CLOEXEC)
        origin = path
    }

    private init(descriptor: Int32, origin: String) {
        self.descriptor = descriptor
        self.origin = origin
    }

    /// The path that reaches the directory through this process's descriptor table.
    public var path: String { "/proc/self/fd/\(descriptor)" }

    public func status() throws(SystemError) -> FileStatus {
        try Syscall.status(descriptor, path: origin)
    }

    /// The directory above: `..` resolved from here, by the kernel, against the scanner's own root. From a
    /// chrooted process's root it climbs out of the chroot; at the root of a mount namespace it stays.
    public func parent() throws(SystemError) -> PinnedDirectory {
        PinnedDirectory(descriptor: try Syscall.openAt(descriptor, "..", Self.pathOnly | O_DIRECTORY | O_CLOEXEC, path: origin + "/.."),
                        origin: origin + "/..")
    }

    /// The top of the tree this directory is in, as far as `..` goes (at most `limit` levels): for a process in
    /// another mount namespace, its namespace's root, wherever inside it the process chrooted.
    public func top(limit: Int = 4096) throws(SystemError) -> (directory: PinnedDirectory, status: FileStatus) {
        var current = self, status = try current.status()
        for _ in 0..<limit {
            let up = try current.parent()
            let upStatus = try up.status()
            if upStatus.identity == status.identity { return (current, status) }
            (current, status) = (up, upStatus)
        }
        return (current, status)
    }

    deinit { Syscall.closeReadOnly(descriptor) }
}
