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
        case .mapped(let mapFiles, let rootPath):
            do { return try FileSystem.status(mapFiles) } catch where error.isPermissionDenied {
                guard let rootPath else { throw error }
                return try FileSystem.linkStatus(rootPath)
            }
        }
    }

    static func open(_ opener: FileRecord.Opener) throws -> OpenFile {
        switch opener {
        case .member:
            throw FileReadError.notRegular(path: "archive member", kind: .unknown)
        case .root(let root, let path):
            return try OpenFile(path: root.hostPath(path))
        case .mapped(let mapFiles, let rootPath):
            let failure: FileReadError
            do {
                return try OpenFile(path: mapFiles, followSymlinks: true)
            } catch {
                failure = error
            }
            // map_files needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE); the process's root view needs only ptrace read.
            guard case .system(let system) = failure, system.isPermissionDenied, let rootPath else { throw failure }
            return try OpenFile(path: rootPath, followSymlinks: false)
        }
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? FileReadError {
            switch error {
            case .system(let system) where system.isNotFound: return "gone before it could be read (process exited or file removed)"
            case .tooLarge(_, let size, let limit): return "\(size) bytes is over the \(limit)-byte read limit; not read"
            case .notRegular(_, let kind): return "not a regular file (\(kind.rawValue)); not read"
            case .changed: return "changed while it was read; read again next scan"
            default: return error.description
            }
        }
        return "\(error)"
    }
}
