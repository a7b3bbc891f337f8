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

    /// Drops entries not used by the latest scan, so the cache does not grow with files long gone.
    func retain(only identities: Set<FileIdentity>) {
        entries.withLock { $0 = $0.filter { identities.contains($0.key.identity) } }
    }

    public var count: Int { entries.withLock { $0.count } }
}
