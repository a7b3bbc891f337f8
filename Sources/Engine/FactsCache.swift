import HostIO
import Probes
import Synchronization

/// Remembers file facts between scans, keyed by what changes when a file does: device, inode, size, mtime and
/// ctime. A daemon scan where nothing changed opens and fstats each file and reads none.
///
/// Facts hold nothing that depends on the rules. Byte-pattern hits do, so they are kept with the digest of the
/// patterns they were found with: after a reload that changes any pattern every file is read again once, and
/// every rule applies to every file at the next scan.
public final class FactsCache: Sendable {
    struct Key: Hashable {
        var identity: FileIdentity
        var size: Int64
        var modified: Int64
        var changed: Int64

        init(_ status: FileStatus) {
            identity = status.identity
            size = status.size
            modified = status.modified
            changed = status.changed
        }
    }

    struct Entry: Sendable {
        var facts: FileFacts
        var hits: PatternHits
        /// `ScanPlan.bytePatternDigest` of the patterns `hits` index (and of the YARA rules `yara` is for).
        var patterns: String
        var yara: YARAOutcome? = nil
    }

    private let entries = Mutex<[Key: Entry]>([:])
    /// Loader directories as last listed, by root and canonical path, with the directory's stat at the time.
    private let listings = Mutex<[String: (status: FileStatus, entries: [LibraryEntry])]>([:])
    /// Each root's last parsed package inventory and the database stamp it was read at (the host's and each
    /// container's: `ConfinedRoot.cacheKey`).
    private let packages = Mutex<[String: (stamp: [FileStatus?], inventory: PackageInventory)]>([:])
    /// Digests the packages recorded for files already looked up, valid while the database stamp is unchanged.
    private let recorded = Mutex<[String: (stamp: [FileStatus?], digests: [String: RecordedDigest])]>([:])

    public init() {}

    /// - Parameter patterns: the digest of the patterns the hits must be for; nil when there are no patterns, and
    ///   so no hits to want.
    func lookup(_ status: FileStatus, needingSymbols: Bool, digests: Set<DigestAlgorithm> = [],
                needingResolvers: Bool = false, patterns: String?) -> (FileFacts, PatternHits, YARAOutcome?)? {
        guard let entry = entries.withLock({ $0[Key(status)] }),
              entry.facts.answers(needingSymbols: needingSymbols, digests: digests, needingResolvers: needingResolvers) else {
            return nil
        }
        guard let patterns else { return (entry.facts, [], nil) }
        return entry.patterns == patterns ? (entry.facts, entry.hits, entry.yara) : nil
    }

    func store(_ facts: FileFacts, hits: PatternHits, patterns: String, yara: YARAOutcome? = nil) {
        entries.withLock { $0[Key(facts.status)] = Entry(facts: facts, hits: hits, patterns: patterns, yara: yara) }
    }

    /// The package inventory of `root`, parsed again only when a database changed since the last scan: parsing
    /// dpkg's status and file lists is most of a scan in which nothing else changed.
    func packageInventory(root: ConfinedRoot) -> PackageInventory {
        let stamp = PackageDatabases.stamp(root: root)
        if let last = packages.withLock({ $0[root.cacheKey] }), last.stamp == stamp {
            return last.inventory
        }
        // The stamp is taken before reading, so a change made while reading shows up as a new stamp next time.
        let inventory = PackageDatabases.read(root: root)
        // A read that hit problems (a file list mid-rewrite) is not kept: the next scan tries again.
        packages.withLock { $0[root.cacheKey] = inventory.problems.isEmpty ? (stamp, inventory) : nil }
        return inventory
    }

    /// What the packages recorded for each of `paths`: from earlier scans while no package was installed, removed
    /// or upgraded (dpkg's md5sums are then as they were), else looked up again. A lookup with problems is not kept.
    func recordedDigests(for paths: [String], inventory: PackageInventory, root: ConfinedRoot) -> (digests: [String: RecordedDigest], problems: [String]) {
        let stamp = PackageDatabases.stamp(root: root)
        var known: [String: RecordedDigest] = [:]
        if let last = recorded.withLock({ $0[root.cacheKey] }), last.stamp == stamp { known = last.digests }
        let missing = paths.filter { known[$0] == nil }
        guard !missing.isEmpty else { return (known, []) }
        let (found, problems) = PackageIntegrity.recordedDigests(for: missing, inventory: inventory, root: root)
        known.merge(found) { _, new in new }
        if problems.isEmpty {
            let kept = known
            recorded.withLock { $0[root.cacheKey] = (stamp, kept) }
        }
        return (known, problems)
    }

    /// A directory's entries as last listed, if its device, inode, size and times (ctime cannot be set back by
    /// anyone) are unchanged: then no entry was added, removed, renamed or replaced.
    func listing(root: ConfinedRoot, directory: String, status: FileStatus) -> [LibraryEntry]? {
        listings.withLock { $0[root.cacheKey + "\u{0}" + directory] }.flatMap { $0.status == status ? $0.entries : nil }
    }

    func storeListing(_ entries: [LibraryEntry], root: ConfinedRoot, directory: String, status: FileStatus) {
        listings.withLock { $0[root.cacheKey + "\u{0}" + directory] = (status, entries) }
    }

    /// Drops entries not used by the latest scan, so the cache does not grow with files long gone.
    func retain(only identities: Set<FileIdentity>) {
        entries.withLock { $0 = $0.filter { identities.contains($0.key.identity) } }
    }

    /// Drops recorded digests of paths the latest scan did not read in `root`.
    func retainRecordedDigests(only paths: Set<String>, root: ConfinedRoot) {
        recorded.withLock { state in
            guard var kept = state[root.cacheKey] else { return }
            kept.digests = kept.digests.filter { paths.contains($0.key) }
            state[root.cacheKey] = kept
        }
    }

    /// Forgets roots the latest scan did not have (containers gone), so a host whose containers come and go does
    /// not keep every one's packages.
    func retainRoots(only roots: Set<ConfinedRoot>) {
        let keys = Set(roots.map(\.cacheKey))
        packages.withLock { $0 = $0.filter { keys.contains($0.key) } }
        recorded.withLock { $0 = $0.filter { keys.contains($0.key) } }
        listings.withLock { $0 = $0.filter { entry in keys.contains { entry.key.hasPrefix($0 + "\u{0}") } } }
    }

    public var count: Int { entries.withLock { $0.count } }
}
