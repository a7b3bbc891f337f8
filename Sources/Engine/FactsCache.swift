import HostIO
import Probes
import Synchronization

/// Remembers file facts between scans, keyed by what changes when a file does: device, inode, size, mtime and
/// ctime. A daemon scan where nothing changed opens and fstats each file and reads none.
public final class FactsCache: Sendable {
    struct Key: Hashable {
        var identity: FileIdentity
        var size: Int64
        var modified: Int64
        var changed: Int64
    }

    private let entries = Mutex<[Key: FileFacts]>([:])
    /// Loader directories as last listed, by root and canonical path, with the directory's stat at the time.
    private let listings = Mutex<[String: (status: FileStatus, entries: [LibraryEntry])]>([:])
    /// The last parsed package inventory and the database stamp it was read at.
    private let packages = Mutex<(root: String, stamp: [FileStatus?], inventory: PackageInventory)?>(nil)

    public init() {}

    func lookup(_ status: FileStatus, request: InspectionRequest) -> FileFacts? {
        let key = Key(identity: status.identity, size: status.size, modified: status.modified, changed: status.changed)
        guard let facts = entries.withLock({ $0[key] }), facts.satisfies(request) else { return nil }
        return facts
    }

    func store(_ facts: FileFacts) {
        let status = facts.status
        let key = Key(identity: status.identity, size: status.size, modified: status.modified, changed: status.changed)
        entries.withLock { $0[key] = facts }
    }

    /// The package inventory of `root`, parsed again only when a database changed since the last scan: parsing
    /// dpkg's status and file lists is most of a scan in which nothing else changed.
    func packageInventory(root: ConfinedRoot) -> PackageInventory {
        let stamp = PackageDatabases.stamp(root: root)
        if let last = packages.withLock({ $0 }), last.root == root.prefix, last.stamp == stamp {
            return last.inventory
        }
        // The stamp is taken before reading, so a change made while reading shows up as a new stamp next time.
        let inventory = PackageDatabases.read(root: root)
        // A read that hit problems (a file list mid-rewrite) is not kept: the next scan tries again.
        packages.withLock { $0 = inventory.problems.isEmpty ? (root.prefix, stamp, inventory) : nil }
        return inventory
    }

    /// A directory's entries as last listed, if its device, inode, size and times (ctime cannot be set back by
    /// anyone) are unchanged: then no entry was added, removed, renamed or replaced.
    func listing(root: ConfinedRoot, directory: String, status: FileStatus) -> [LibraryEntry]? {
        listings.withLock { $0[root.prefix + directory] }.flatMap { $0.status == status ? $0.entries : nil }
    }

    func storeListing(_ entries: [LibraryEntry], root: ConfinedRoot, directory: String, status: FileStatus) {
        listings.withLock { $0[root.prefix + directory] = (status, entries) }
    }

    /// Drops entries not used by the latest scan, so the cache does not grow with files long gone.
    func retain(only identities: Set<FileIdentity>) {
        entries.withLock { $0 = $0.filter { identities.contains($0.key.identity) } }
    }

    public var count: Int { entries.withLock { $0.count } }
}
