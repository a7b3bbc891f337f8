#if canImport(Glibc)
import Glibc   // ELOOP, ENOTDIR, ENAMETOOLONG, PATH_MAX
#endif
import HostIO

/// The image's filesystem while its layers are applied: a private directory on this host, written the way a
/// container runtime applies a layer (containerd's `applyNaive` with `fs.RootPath`, moby's chrooted unpack). A
/// member's parent directories are resolved inside the root, symlinks followed as `chroot` would (an absolute
/// target starts again at the root, `..` stops at it), so `l/liblzma.so.5` below an earlier layer's
/// `l -> usr/lib/x86_64-linux-gnu` lands in that directory, and no symlink can lead a write out of the root. The
/// member's own name is never followed: whatever is there is replaced, unless both are directories.
struct ImageTree {
    /// The root as a path on this host, without a trailing slash.
    let root: String
    /// Layer paths of parent directories already resolved, to their canonical path inside the root (real
    /// directories all the way): most members share a parent, so most need no lstat. Dropped whenever a directory
    /// or symlink is removed, the only change that can make an entry wrong.
    private var parents: [String: String] = [:]
    /// Layer paths refused as too long: whatever lies below one is longer still (nothing there exists to lead
    /// elsewhere), so a 3,000-deep chain costs one walk, not one per level. Dropped with `parents`.
    private var tooLong: Set<String> = []

    /// The longest path the kernel takes (PATH_MAX counts the terminating NUL); the scan opens files by path, so
    /// nothing longer is written.
    static let pathLimit = Int(PATH_MAX) - 1

    init(root: String) {
        self.root = root
    }

    /// Where a member goes: its canonical path inside the root (no leading slash) and on this host.
    struct Place {
        var inside: String
        var host: String
    }

    /// Why a member has no place.
    enum Refusal: Error {
        /// Its path on this host would be longer than PATH_MAX.
        case tooLong
        /// A parent is a regular file, or its symlinks loop (more than the kernel's 40).
        case badParent(String)
    }

    /// The place of the member named `components` (sanitized: no `..`, no empty component).
    mutating func place(_ components: [String]) throws(Refusal) -> Place {
        do throws(Refusal) {
            let parent = try resolve(components.dropLast())
            let inside = parent.isEmpty ? components[components.count - 1] : parent + "/" + components[components.count - 1]
            let host = root + "/" + inside
            guard host.utf8.count <= Self.pathLimit else { throw Refusal.tooLong }
            return Place(inside: inside, host: host)
        } catch {
            if case .tooLong = error { tooLong.insert(components.joined(separator: "/")) }
            throw error
        }
    }

    /// Notes that the directory member named `components` is now a real directory at `place`, so its children
    /// need no walk (a chain of nested directories costs one lstat each, not one per level each).
    mutating func remember(directory components: [String], at place: Place) {
        parents[components.joined(separator: "/")] = place.inside
    }

    /// A symlink was created: a path that was too long through a missing component may not be any more.
    mutating func symlinkCreated() {
        tooLong.removeAll(keepingCapacity: true)
    }

    /// The canonical path inside the root of a directory named by layer path components ("" for the root itself);
    /// components that do not exist yet are kept as written (the writer creates them).
    mutating func resolve(_ components: ArraySlice<String>) throws(Refusal) -> String {
        let key = components.joined(separator: "/")
        if let known = parents[key] { return known }
        if tooLong.contains(key) { throw .tooLong }
        var pending = Array(components.reversed())
        var resolved: [String] = []
        var links = 0
        var missing = false
        while let component = pending.popLast() {
            if component.isEmpty || component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            resolved.append(component)
            if missing { continue }
            let host = root + "/" + resolved.joined(separator: "/")
            guard host.utf8.count <= Self.pathLimit else { throw .tooLong }
            let status: FileStatus
            do { status = try FileSystem.linkStatus(host) } catch {
                if error.errno == ENOENT { missing = true; continue }
                if error.errno == ENAMETOOLONG { throw .tooLong }
                throw .badParent("\(resolved.joined(separator: "/")): \(error.reason)")
            }
            if status.kind == .symlink {
                links += 1
                guard links <= ConfinedRoot.maximumSymlinks else { throw .badParent("\(resolved.joined(separator: "/")): too many levels of symbolic links") }
                let target: String
                do { target = try FileSystem.readLink(host) } catch { throw .badParent("\(resolved.joined(separator: "/")): \(error.reason)") }
                resolved.removeLast()
                if target.hasPrefix("/") { resolved.removeAll() }
                pending.append(contentsOf: target.split(separator: "/").reversed().map(String.init))
                continue
            }
            guard status.kind == .directory else { throw .badParent("\(resolved.joined(separator: "/")) is not a directory") }
        }
        let canonical = resolved.joined(separator: "/")
        if !missing { parents[key] = canonical }
        return canonical
    }

    /// Makes way for a member at `place`: what is there goes, unless both are directories (a directory member
    /// over an existing directory only updates it). Returns whether something was removed.
    @discardableResult
    mutating func clear(_ place: Place, forDirectory: Bool) throws(SystemError) -> Bool {
        let existing: FileStatus
        do { existing = try FileSystem.linkStatus(place.host) } catch where error.isNotFound { return false }
        if forDirectory && existing.kind == .directory { return false }
        try remove(place.host, kind: existing.kind)
        return true
    }

    /// Removes `name` from the directory at layer path `directory` (a whiteout `.wh.NAME`); false when there was
    /// nothing to remove.
    mutating func whiteOut(_ name: String, in directory: ArraySlice<String>) throws(SystemError) -> Bool {
        guard let parent = try? resolve(directory) else { return false }
        let host = root + "/" + (parent.isEmpty ? name : parent + "/" + name)
        let existing: FileStatus
        do { existing = try FileSystem.linkStatus(host) } catch where error.isNotFound || error.errno == ENAMETOOLONG { return false }
        try remove(host, kind: existing.kind)
        return true
    }

    /// `.wh..wh..opq`: empties the directory at layer path `directory` of everything but `keep` (canonical paths
    /// inside the root this layer wrote).
    mutating func makeOpaque(_ directory: ArraySlice<String>, keep: Set<String>) throws(SystemError) {
        guard let canonical = try? resolve(directory) else { return }
        let host = canonical.isEmpty ? root : root + "/" + canonical
        guard (try? FileSystem.linkStatus(host))?.kind == .directory else { return }
        let prefix = canonical.isEmpty ? "" : canonical + "/"
        for entry in try FileSystem.directoryEntries(host) where !keep.contains(prefix + entry) {
            let path = host + "/" + entry
            try remove(path, kind: try FileSystem.linkStatus(path).kind)
        }
    }

    private mutating func remove(_ host: String, kind: FileStatus.Kind) throws(SystemError) {
        if kind == .directory {
            try ImageSyscall.removeTree(host)
        } else {
            try FileSystem.remove(host)
        }
        if kind == .directory || kind == .symlink {
            parents.removeAll(keepingCapacity: true)
            tooLong.removeAll(keepingCapacity: true)
        }
    }
}
