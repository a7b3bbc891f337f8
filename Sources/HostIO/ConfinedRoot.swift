#if canImport(Glibc)
import Glibc
#endif

/// A directory treated as `/`: every path is resolved inside it, component by component, the way the kernel would
/// after `chroot`. An absolute symlink restarts at this root, `..` stops at it, so nothing outside is ever read.
///
/// This is userspace resolution (openat2's RESOLVE_IN_ROOT is not reachable without a variadic `syscall`); the final
/// open uses `O_NOFOLLOW` and `OpenFile` checks identity, so a swapped last component is caught.
public struct ConfinedRoot: Sendable, Hashable {
    /// The root as a path on this host, without a trailing slash ("" for the host's own root).
    public let prefix: String

    /// The same limit as the kernel's for symlinks followed in one lookup.
    public static let maximumSymlinks = 40

    public init(_ hostPath: String) {
        var trimmed = hostPath
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        prefix = trimmed
    }

    public static let host = ConfinedRoot("/")

    public var isHost: Bool { prefix.isEmpty }

    /// The host path of a path inside the root, without resolving anything.
    public func hostPath(_ inside: String) -> String {
        prefix + (inside.hasPrefix("/") ? inside : "/" + inside)
    }

    /// Resolves `path` inside the root and returns the canonical path inside the root.
    /// - Parameter followFinal: follow a symlink in the last component too (as `open` would).
    public func resolve(_ path: String, followFinal: Bool = true) throws(SystemError) -> String {
        var pending = Array(path.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init))
        var resolved: [String] = []
        var links = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let candidate = "/" + (resolved + [component]).joined(separator: "/")
            let status = try FileSystem.linkStatus(hostPath(candidate))
            let isLast = pending.isEmpty
            if status.kind == .symlink && (!isLast || followFinal) {
                links += 1
                if links > Self.maximumSymlinks {
                    throw SystemError(operation: "resolve", path: hostPath(path), errno: ELOOP)
                }
                let target = try FileSystem.readLink(hostPath(candidate))
                if target.hasPrefix("/") { resolved.removeAll() }
                pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init))
                continue
            }
            if !isLast && status.kind != .directory {
                throw SystemError(operation: "resolve", path: hostPath(candidate), errno: ENOTDIR)
            }
            resolved.append(component)
        }
        return "/" + resolved.joined(separator: "/")
    }

    /// Opens a regular file inside the root, after resolving every symlink inside it.
    public func open(_ path: String) throws(FileReadError) -> (resolved: String, file: OpenFile) {
        let resolved: String
        do { resolved = try resolve(path) } catch { throw .system(error) }
        return (resolved, try OpenFile(path: hostPath(resolved)))
    }

    /// `stat` of a path inside the root, symlinks resolved inside it.
    public func status(_ path: String) throws(SystemError) -> (resolved: String, status: FileStatus) {
        let resolved = try resolve(path)
        return (resolved, try FileSystem.linkStatus(hostPath(resolved)))
    }

    /// The entries of a directory inside the root.
    public func entries(_ directory: String) throws(SystemError) -> [String] {
        try FileSystem.directoryEntries(hostPath(try resolve(directory)))
    }

    /// A small text file inside the root.
    public func readText(_ path: String, limit: Int64 = 16 << 20) throws(FileReadError) -> String {
        let (_, file) = try open(path)
        return String(decoding: try file.readAll(limit: limit), as: UTF8.self)
    }
}
