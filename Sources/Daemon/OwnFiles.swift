import HostIO

/// Why chainwatch did not read or write one of its own files.
public struct OwnFileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}

/// The files chainwatch writes for itself (the daemon's state and pid file, the metrics textfile, installed rule
/// bundles and signing keys) go only into a directory no other user can write. Whoever can write the directory can
/// plant the file before it is written or swap it after: a state file that marks a backdoor as already announced,
/// metrics that say all is well, a FIFO where the temporary file will be opened. `FileSystem.writeAtomically`
/// creates its temporary file with O_EXCL under a random name; this refuses the directories where that is not enough.
public enum OwnFiles {
    /// Writes `bytes` to `path` atomically, after checking its directory.
    public static func write(_ bytes: [UInt8], to path: String, permissions: UInt32 = 0o600) throws(OwnFileError) {
        let directory = directory(of: path)
        if let problem = sharingProblem(of: directory) { throw OwnFileError(path: path, problem: problem) }
        do { try FileSystem.writeAtomically(bytes, to: path, permissions: permissions) } catch {
            throw OwnFileError(path: path, problem: "\(error.operation) failed: \(error.reason)")
        }
    }

    /// Why another user could write in `directory` (followed if a symlink), or nil when only root and the user
    /// chainwatch runs as can: it must be owned by one of them and not writable by group or others. Nil too when
    /// the directory cannot be looked at: the write then fails with its own error.
    public static func sharingProblem(of directory: String) -> String? {
        guard let status = try? FileSystem.status(directory) else { return nil }
        let me = effectiveUserID()
        let mode = String(status.permissions, radix: 8)
        if status.owner != 0 && status.owner != me {
            return "the directory \(directory) belongs to uid \(status.owner) (mode \(mode)), who could replace the file; "
                + "use a directory only root can write (chown root \(directory), or another directory)"
        }
        if status.isWritableByGroupOrOthers {
            return "the directory \(directory) is writable by group or others (mode \(mode)), who could plant or replace the file; "
                + "use a directory only root can write (chmod go-w \(directory), or another directory)"
        }
        return nil
    }

    /// The directory part of a path: "." for a bare name, "/" for a file in the root.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
