#if canImport(Glibc)
import Glibc
#endif
import HostIO
import Probes
import Synchronization

/// One `.so` entry of a loader directory, resolved inside the root.
struct LibraryEntry: Sendable {
    enum Outcome: Sendable {
        case library(resolved: String, identity: FileIdentity)
        case skipped(reason: String, code: Skip.Code)
        /// Gone, a dangling symlink, or a directory: nothing to read and nothing to report.
        case ignored
    }

    var entry: String
    var outcome: Outcome
    /// It resolved to a regular file in this same directory: it can only change if the directory does (an
    /// in-place edit of the file is caught by the file cache's stat), so a cached listing may keep it.
    var staysInDirectory: Bool
}

/// The libraries lying in one loader directory, listed again only when the directory changed.
enum LibraryDirectory {
    static func entries(root: ConfinedRoot, directory: String, status: FileStatus, cache: FactsCache?) -> [LibraryEntry] {
        if let kept = cache?.listing(root: root, directory: directory, status: status) {
            // Entries that resolved elsewhere may have changed without this directory changing: resolve them again.
            return kept.map { $0.staysInDirectory ? $0 : resolve(root: root, entry: $0.entry, in: directory) }
        }
        let names: [String]
        do { names = try root.entries(directory) } catch {
            // A directory that cannot be listed (a path too long, an I/O error) hides whatever it holds.
            if error.isNotFound { return [] }
            return [LibraryEntry(entry: "", outcome: .skipped(reason: "directory not listed (\(error.reason)); its libraries were not read", code: Self.code(error)),
                                 staysInDirectory: false)]
        }
        let entries = names.filter { $0.contains(".so") }.map { resolve(root: root, entry: $0, in: directory) }
        cache?.storeListing(entries, root: root, directory: directory, status: status)
        return entries
    }

    /// A symlink loop leads to nothing ld.so could load either: it hides nothing. Anything else unread does.
    private static func code(_ error: SystemError) -> Skip.Code {
        if error.errno == ELOOP { return .notApplicable }
        return error.isPermissionDenied && effectiveUserID() != 0 ? .notPermitted : .unreadable
    }

    static func resolve(root: ConfinedRoot, entry: String, in directory: String) -> LibraryEntry {
        let resolved: String
        let status: FileStatus
        do {
            (resolved, status) = try root.status(entry, in: directory)
        } catch {
            return LibraryEntry(entry: entry, outcome: error.isNotFound ? .ignored : .skipped(reason: error.reason, code: Self.code(error)),
                                staysInDirectory: false)
        }
        guard status.isRegular else {
            let outcome: LibraryEntry.Outcome = status.kind == .directory
                ? .ignored : .skipped(reason: "not a regular file (\(status.kind.rawValue)); not read", code: .notApplicable)
            return LibraryEntry(entry: entry, outcome: outcome, staysInDirectory: false)
        }
        let parent = resolved.utf8.lastIndex(of: UInt8(ascii: "/")).map { String(resolved[..<$0]) }
        return LibraryEntry(entry: entry, outcome: .library(resolved: resolved, identity: status.identity),
                            staysInDirectory: parent == directory)
    }
}
