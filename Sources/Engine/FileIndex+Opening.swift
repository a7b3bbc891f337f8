#if canImport(Glibc)
import Glibc
#endif
import HostIO
import Probes

/// Opening a record's file again, exactly the one that was seen, and saying why it could not be read.
extension FileIndex {
    /// Starts reading a file the scan will read soon; a file that cannot be opened now is left to the read.
    static func prefetch(_ opener: FileRecord.Opener) {
        (try? open(opener))?.prefetch()
    }

    /// What `open(opener)` would fstat, from a stat of the same path (following only /proc magic links).
    static func status(_ opener: FileRecord.Opener) throws -> FileStatus {
        switch opener {
        case .member:
            throw FileReadError.notRegular(path: "archive member", kind: .unknown)
        case .root(let root, let path):
            return try FileSystem.linkStatus(root.hostPath(path))
        case .mapped(let ways):
            return try firstWay(ways) { way in
                do { return try FileSystem.status(way.mapFiles) } catch let error as SystemError where error.isPermissionDenied {
                    guard let rootPath = way.rootPath else { throw error }
                    return try FileSystem.linkStatus(rootPath)
                }
            }
        }
    }

    static func open(_ opener: FileRecord.Opener) throws -> OpenFile {
        switch opener {
        case .member:
            throw FileReadError.notRegular(path: "archive member", kind: .unknown)
        case .root(let root, let path):
            return try OpenFile(path: root.hostPath(path))
        case .mapped(let ways):
            return try firstWay(ways) { way in
                do {
                    return try OpenFile(path: way.mapFiles, followSymlinks: true)
                } catch let failure as FileReadError {
                    // map_files needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE); the process's root view needs only
                    // ptrace read.
                    guard case .system(let system) = failure, system.isPermissionDenied, let rootPath = way.rootPath else { throw failure }
                    return try OpenFile(path: rootPath, followSymlinks: false)
                }
            }
        }
    }

    /// The first of a record's ways that still leads to it: the mapping processes in turn, then the paths it lies
    /// at, a path taken only when the file there is the record's (same inode; same device too on the host, where
    /// maps and stat agree). Gone only when every way is.
    static func open(_ openers: [FileRecord.Opener], identity: FileIdentity) throws -> (OpenFile, FileRecord.Opener) {
        try firstWay(Array(openers.enumerated())) { (position, opener) in
            let file = try open(opener)
            guard position == 0 || isSame(file.status.identity, identity, opener: opener) else {
                throw FileReadError.system(SystemError(operation: "open", path: file.path, errno: ENOENT))
            }
            return (file, opener)
        }
    }

    /// The stat `open(openers, identity:)` would see, and through which way.
    static func status(_ openers: [FileRecord.Opener], identity: FileIdentity) throws -> (FileStatus, FileRecord.Opener) {
        try firstWay(Array(openers.enumerated())) { (position, opener) in
            let status = try status(opener)
            guard position == 0 || isSame(status.identity, identity, opener: opener) else {
                throw FileReadError.system(SystemError(operation: "stat", path: "\(opener)", errno: ENOENT))
            }
            return (status, opener)
        }
    }

    private static func isSame(_ found: FileIdentity, _ wanted: FileIdentity, opener: FileRecord.Opener) -> Bool {
        guard found.inode == wanted.inode else { return false }
        // On overlayfs (a container's root) maps names the underlying file's device, stat the overlay's.
        if case .root(let root, _) = opener, !root.isHost { return true }
        return found.device == wanted.device
    }

    /// Tries each way in order; "not found" moves on to the next, any other failure is kept (and thrown if no way
    /// works, so a permission problem is not reported as "gone").
    private static func firstWay<Way, Result>(_ ways: [Way], _ body: (Way) throws -> Result) throws -> Result {
        var kept: Error?
        var last: Error?
        for way in ways {
            do { return try body(way) } catch {
                last = error
                if !isGone(error) && kept == nil { kept = error }
            }
        }
        throw kept ?? last ?? FileReadError.system(SystemError(operation: "open", path: "(no way to the file)", errno: ENOENT))
    }

    private static func isGone(_ error: Error) -> Bool {
        if let error = error as? FileReadError { return error.isNotFound }
        if let error = error as? SystemError { return error.isNotFound }
        return false
    }

    /// The skip a failed read of `subject` is: its reason, and whether it hides anything.
    static func skip(_ subject: String, _ error: Error) -> Skip {
        var code = Skip.Code.unreadable
        if let error = error as? FileReadError {
            switch error {
            case .system(let system) where system.isNotFound: code = .gone
            case .system(let system) where system.isPermissionDenied: code = effectiveUserID() == 0 ? .unreadable : .notPermitted
            case .notRegular: code = .notApplicable
            default: break
            }
        }
        return Skip(subject: subject, reason: describe(error), code: code)
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? FileReadError {
            switch error {
            case .system(let system) where system.isNotFound: return "gone before it could be read (every process mapping it exited, and no path leads to it)"
            case .tooLarge(_, let size, let limit): return "\(size) bytes is over the \(limit)-byte read limit; not read"
            case .notRegular(_, let kind): return "not a regular file (\(kind.rawValue)); not read"
            case .changed: return "changed while it was read; read again next scan"
            default: return error.description
            }
        }
        return "\(error)"
    }
}
