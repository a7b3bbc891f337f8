#if canImport(Glibc)
import Glibc   // ELOOP, ENOTDIR
#endif

/// A directory treated as `/`: every path is resolved inside it, component by component, the way the kernel would
/// after `chroot`. An absolute symlink restarts at this root, `..` stops at it, so nothing outside is ever read.
///
/// This is userspace resolution (openat2's RESOLVE_IN_ROOT is not reachable without a variadic `syscall`); the final
/// open uses `O_NOFOLLOW` and `OpenFile` checks identity, so a swapped last component is caught.
public struct ConfinedRoot: Sendable, Hashable {
    /// What the root is, which decides how its paths are shown and whose package database describes its files.
    public enum Kind: Sendable, Hashable {
        /// This host's own `/`.
        case host
        /// An offline root: a mounted image, a container's files, an unpacked archive.
        case image
        /// A container's root, seen through `/proc/PID/root` of a live process in it. `key` names the container
        /// (its runtime and id, or its mount namespace), so every process of one container shares one root.
        case container(key: String)
    }

    /// The root as a path on this host, without a trailing slash ("" for the host's own root).
    public let prefix: String
    public let kind: Kind

    /// The same limit as the kernel's for symlinks followed in one lookup.
    public static let maximumSymlinks = 40

    /// The host itself for "/", otherwise an offline image at `hostPath`.
    public init(_ hostPath: String) {
        var trimmed = hostPath
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        prefix = trimmed
        kind = trimmed.isEmpty ? .host : .image
    }

    private init(prefix: String, kind: Kind) {
        self.prefix = prefix
        self.kind = kind
    }

    public static let host = ConfinedRoot("/")

    /// A container's root, at `prefix` on the host (a `PinnedDirectory`'s path).
    public static func container(_ key: String, prefix: String) -> ConfinedRoot {
        ConfinedRoot(prefix: prefix, kind: .container(key: key))
    }

    public var isHost: Bool { kind == .host }

    /// What names this root from one scan to the next: its path, or for a container its key (the process it is
    /// seen through comes and goes).
    public var cacheKey: String {
        if case .container(let key) = kind { return "container:" + key }
        return prefix
    }

    /// A container's root is the same root through any of its processes: one may exit and another take over.
    public static func == (lhs: ConfinedRoot, rhs: ConfinedRoot) -> Bool {
        lhs.cacheKey == rhs.cacheKey && lhs.kind == rhs.kind
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(cacheKey)
    }

    /// How a path inside the root is shown in reports: as is, inside the root. The report names the root (the
    /// image, the container) beside it, never through a /proc/PID path that dies with the process.
    public func displayPath(_ inside: String) -> String {
        inside
    }

    /// The host path of a path inside the root, without resolving anything.
    public func hostPath(_ inside: String) -> String {
        prefix + (inside.hasPrefix("/") ? inside : "/" + inside)
    }

    /// Resolves `path` inside the root and returns the canonical path inside the root.
    /// - Parameters:
    ///   - followFinal: follow a symlink in the last component too (as `open` would).
    ///   - directory: a canonical directory (one `resolve` returned) that a relative `path` starts from; listing a
    ///     directory then costs one lstat per entry instead of one per path component.
    public func resolve(_ path: String, followFinal: Bool = true, in directory: String? = nil) throws(SystemError) -> String {
        try walk(path, followFinal: followFinal, in: directory).resolved
    }

    /// The walk behind `resolve`, also returning the last component's lstat so callers need not stat it again.
    private func walk(_ path: String, followFinal: Bool, in directory: String?) throws(SystemError) -> (resolved: String, status: FileStatus?) {
        var pending = Array(path.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init))
        var resolved: [String] = []
        if let directory, !path.hasPrefix("/") {
            resolved = directory.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        }
        // The canonical path so far, kept as a string too: rebuilding it per component was most of a listing's cost.
        var current = "/" + resolved.joined(separator: "/")
        var links = 0
        var last: FileStatus?
        while let component = pending.popLast() {
            last = nil
            if component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                current = "/" + resolved.joined(separator: "/")
                continue
            }
            let candidate = current == "/" ? "/" + component : current + "/" + component
            let status = try FileSystem.linkStatus(hostPath(candidate))
            let isLast = pending.isEmpty
            if status.kind == .symlink && (!isLast || followFinal) {
                links += 1
                if links > Self.maximumSymlinks {
                    throw SystemError(operation: "resolve", path: hostPath(path), errno: ELOOP)
                }
                let target = try FileSystem.readLink(hostPath(candidate))
                if target.hasPrefix("/") {
                    resolved.removeAll()
                    current = "/"
                }
                pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init))
                continue
            }
            if !isLast && status.kind != .directory {
                throw SystemError(operation: "resolve", path: hostPath(candidate), errno: ENOTDIR)
            }
            resolved.append(component)
            current = candidate
            last = status
        }
        return (current, last)
    }

    /// Opens a regular file inside the root, after resolving every symlink inside it.
    public func open(_ path: String, in directory: String? = nil) throws(FileReadError) -> (resolved: String, file: OpenFile) {
        let resolved: String
        do { resolved = try resolve(path, in: directory) } catch { throw .system(error) }
        return (resolved, try OpenFile(path: hostPath(resolved)))
    }

    /// `stat` of a path inside the root, symlinks resolved inside it; `directory` as for `resolve`.
    public func status(_ path: String, in directory: String? = nil) throws(SystemError) -> (resolved: String, status: FileStatus) {
        let (resolved, last) = try walk(path, followFinal: true, in: directory)
        // A path ending in ".." (or the root itself) has no last lstat from the walk.
        if let last { return (resolved, last) }
        return (resolved, try FileSystem.linkStatus(hostPath(resolved)))
    }

    /// The entries of a directory inside the root.
    public func entries(_ directory: String) throws(SystemError) -> [String] {
        try FileSystem.directoryEntries(hostPath(try resolve(directory)))
    }

    /// A small text file inside the root.
    public func readText(_ path: String, limit: Int64 = 16 << 20, in directory: String? = nil) throws(FileReadError) -> String {
        String(decoding: try readBytes(path, limit: limit, in: directory), as: UTF8.self)
    }

    /// A file inside the root read whole, for parsers that work on bytes.
    public func readBytes(_ path: String, limit: Int64 = 16 << 20, in directory: String? = nil) throws(FileReadError) -> [UInt8] {
        let (_, file) = try open(path, in: directory)
        return try file.readAll(limit: limit)
    }
}
