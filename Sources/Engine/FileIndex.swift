import Dispatch
import ELFReader
import HostIO
import Probes
import Synchronization

/// The distinct files of one scan, keyed by the root they were seen in (the host, each container) and their device
/// and inode, and the reading of them: a file seen in several roots (one image's layer in fifty containers) is one
/// record per root, so each root's findings name it, and one read.
struct FileIndex {
    let plan: ScanPlan
    let inspector: FileInspector
    let cache: FactsCache?

    private(set) var records: [FileRecord] = []
    private var positions: [RecordKey: Int] = [:]
    /// Records by identity alone: the records of one file in several roots share its read.
    private var sharing: [FileIdentity: [Int]] = [:]
    private(set) var skipped: [Skip] = []
    private(set) var filesRead = 0
    private(set) var bytesRead: Int64 = 0
    private(set) var filesFromCache = 0
    /// Loader facts the dependency walk read of files not yet read whole.
    private var graphFacts: [FileIdentity: LoaderFacts] = [:]
    /// Files whose symbol tables are read whatever their names: those mapped by a process whose GOT is checked.
    private var symbolsWanted: Set<FileIdentity> = []
    /// Reads that failed because the file moved while read, to be read again alone.
    private var changedWhileRead: [Work] = []
    /// The scanned root's packages, once read, when files are checked against their packages' digests: each file
    /// of the root a package owns is then also hashed with the algorithm its package recorded, in the same read.
    var integrity: [ConfinedRoot: PackageInventory] = [:]
    /// Containers' overlay layers: a file a container sees is recorded, and read, as the layer file it is.
    var layers: [ConfinedRoot: OverlayLayers] = [:]
    /// How skips name the root a file was in (containers: their label); the host's files have none.
    var targetLabels: [ConfinedRoot: String] = [:]
    /// A container's mapped file as its process's maps name it (the overlay's device, on kernels that show it)
    /// to the layer file it is: one record, one read, whichever way it was seen.
    private(set) var aliases: [FileIdentity: FileIdentity] = [:]

    /// The identity records use for a file a mapping names.
    func canonical(_ identity: FileIdentity) -> FileIdentity { aliases[identity] ?? identity }

    /// The scanner's mount namespace, to tell which files lie on filesystems whose reads may block for good.
    let mounts: MountTable
    /// Other namespaces' tables, read when a mapped file's device is not in ours.
    private var processMounts: [Int32: MountTable] = [:]
    /// How long a read on such a filesystem may go without progress before it is abandoned.
    let stall: Duration
    let progress: ScanProgress
    /// Whether files on such filesystems are read (on guarded threads) or only reported as not read.
    var readBlockingFilesystems = false
    /// User names for YARA's `owner` variable, read once per scan when the plan has YARA rules.
    private(set) lazy var userNames = UserNames.read()

    init(plan: ScanPlan, inspector: FileInspector, cache: FactsCache?, stall: Duration = .seconds(10),
         progress: ScanProgress = ScanProgress(), mounts: MountTable = MountTable.read()) {
        self.plan = plan
        self.inspector = inspector
        self.cache = cache
        self.stall = stall
        self.progress = progress
        self.mounts = mounts
    }

    private struct RecordKey: Hashable {
        var root: ConfinedRoot
        var identity: FileIdentity
    }

    private mutating func record(for identity: FileIdentity, opener: FileRecord.Opener, root: ConfinedRoot, path: String) -> Int {
        if let position = positions[RecordKey(root: root, identity: identity)] {
            // Known by another way (a mapping): this path is one more way to read it when that one is gone.
            if case .root = opener { records[position].addAlternative(opener) }
            return position
        }
        positions[RecordKey(root: root, identity: identity)] = records.count
        sharing[identity, default: []].append(records.count)
        records.append(FileRecord(opener: opener, identity: identity, root: root, path: path))
        return records.count - 1
    }

    /// A skip about a record's file, naming its root when that is a container.
    /// What of a file's IFUNC resolvers the walk could not see: a resolver left unwalked, or code no compiler lays
    /// out (a branch into an instruction, outside the code, bytes that decode as nothing). Unknown, so a skip.
    static func resolverGap(_ scan: ResolverScan) -> (String, Skip.Code)? {
        switch scan {
        case .failed(let message):
            return ("IFUNC resolvers not walked: \(message); ifunc-resolver rules not applied", .limit)
        case .unsupportedMachine(let machine, let count):
            return ("\(count) IFUNC resolvers of ELF machine \(machine) not walked (only x86-64 code is disassembled); ifunc-resolver rules not applied", .limit)
        case .walked(let resolvers):
            let unwalked = resolvers.filter { $0.bound == .fileBudget }
            if !unwalked.isEmpty {
                return ("\(unwalked.count) of \(resolvers.count) IFUNC resolvers not fully walked (the file's budget of \(ResolverWalk.Limits.standard.instructionsPerFile) instructions or \(ResolverWalk.Limits.standard.timePerFile) ran out; first at 0x\(String(unwalked[0].address, radix: 16))); ifunc-resolver rules may miss them", .limit)
            }
            if let odd = resolvers.first(where: { !$0.problems.isEmpty }) {
                return ("IFUNC resolver \(odd.label) has code the walk could not follow: \(odd.problems.prefix(3).map(\.description).joined(separator: "; "))", .damaged)
            }
            return nil
        }
    }

    func skip(_ record: FileRecord, reason: String, code: Skip.Code) -> Skip {
        var skip = Skip(subject: record.displayPath, reason: reason, code: code)
        skip.target = targetLabels[record.root]
        return skip
    }

    private func labelled(_ skip: Skip, _ record: FileRecord) -> Skip {
        var skip = skip
        skip.target = targetLabels[record.root]
        return skip
    }

    /// Where a container's file is read from: its layer file when the layers hold it (one read for every container
    /// sharing the layer), else through the container's root.
    private func located(root: ConfinedRoot, path: String, status: FileStatus) -> (opener: FileRecord.Opener, identity: FileIdentity) {
        if let layers = layers[root], let (hostPath, found) = layers.file(at: path, seen: status) {
            return (.root(.host, hostPath), found.identity)
        }
        return (.root(root, path), status.identity)
    }

    mutating func addMapped(_ mapped: MappedFile) {
        var identity = mapped.identity, opener = FileRecord.Opener.mapped(mapped.ways)
        // In a container, maps may name the overlay's device: the file is then located in its layer, like one
        // at rest, so one image's libraries are read once for all its containers.
        if !mapped.isDeleted, layers[mapped.root] != nil, let (_, status) = try? mapped.root.status(mapped.path),
           status.identity == mapped.identity, case let (.root(_, hostPath), real) = located(root: mapped.root, path: mapped.path, status: status),
           real != mapped.identity {
            aliases[mapped.identity] = real
            identity = real
            opener = .root(.host, hostPath)
        }
        let position = record(for: identity, opener: opener, root: mapped.root, path: mapped.path)
        // Where it lies, for when every mapping process has exited by the time it is read: taken only if the file
        // there is still this one (same identity).
        if !mapped.isDeleted { records[position].addAlternative(.root(mapped.root, mapped.path)) }
        records[position].addName(baseName(mapped.path))
        records[position].addSeen(mapped.isDeleted ? "mapped (deleted from disk)" : "mapped")
        for pid in mapped.pids where !records[position].pids.contains(pid) { records[position].pids.append(pid) }
    }

    mutating func addGraphNode(_ node: DependencyGraph.Node, root: ConfinedRoot) {
        let position = record(for: node.identity, opener: .root(root, node.path), root: root, path: node.path)
        records[position].addName(baseName(node.path))
        records[position].addName(baseName(node.name))
        if let soname = node.elf.soname { records[position].addName(soname) }
        records[position].addSeen(node.chain.count == 1 ? "program" : "dependency")
        records[position].chains.append(node.chain)
    }

    /// A file named on the command line (`--path`), read by the ordinary inspection.
    mutating func addPath(_ path: String, status: FileStatus) {
        let position = record(for: status.identity, opener: .root(.host, path), root: .host, path: path)
        records[position].addName(baseName(path))
        records[position].addSeen("path")
    }

    /// A file or archive member read by `PathScan` in the pass that read its archive.
    mutating func addRead(path: String, facts: FileFacts, hits: PatternHits, archive: [String]?, seenAs: String, yara: YARAOutcome? = nil) {
        let position = record(for: facts.identity, opener: archive == nil ? .root(.host, path) : .member, root: .host, path: path)
        records[position].addName(baseName(archive?.last ?? path))
        records[position].addSeen(seenAs)
        records[position].archive = archive
        records[position].take(facts, hits: hits, yara: yara)
        noteYARASkip(position, yara)
        filesRead += 1
        bytesRead += facts.status.size
    }

    /// Lets a later phase add what it learned about the records (their provenance) without adding or removing any.
    mutating func updateRecords(_ body: (inout [FileRecord]) -> Void) {
        let count = records.count
        body(&records)
        precondition(records.count == count, "records are added through the index only")
    }

    /// The record of the file with this identity in `root` (nil: in any root).
    func record(withIdentity identity: FileIdentity, root: ConfinedRoot? = nil) -> FileRecord? {
        let identity = canonical(identity)
        if let root { return positions[RecordKey(root: root, identity: identity)].map { records[$0] } }
        return sharing[identity]?.first.map { records[$0] }
    }

    /// What was read of the file with this identity, if it was (in whichever root: the read is shared).
    func facts(of identity: FileIdentity) -> FileFacts? {
        sharing[canonical(identity)]?.lazy.compactMap { records[$0].facts }.first
    }

    /// Reads the symbol tables of these files too (the objects of a process whose GOT is checked).
    mutating func wantSymbols(of identities: [FileIdentity]) {
        symbolsWanted.formUnion(identities.map(canonical))
    }

    private func wantsSymbols(_ record: FileRecord) -> Bool {
        plan.wantsSymbols(record.names) || symbolsWanted.contains(record.identity)
    }

    /// The digests besides SHA-256 a read of the file at `path` in `root` must compute.
    private func digestsWanted(root: ConfinedRoot, path: String) -> Set<DigestAlgorithm> {
        guard let inventory = integrity[root], let algorithm = inventory.digestAlgorithm(for: path) else { return [] }
        return [algorithm]
    }

    /// A library lying in a loader directory (`entry` of the canonical `directory`).
    mutating func addAtRest(_ entry: LibraryEntry, root: ConfinedRoot, directory: String) {
        switch entry.outcome {
        case .ignored:
            return
        case .skipped(let reason, let code):
            var skip = Skip(subject: root.displayPath(directory + "/" + entry.entry), reason: reason, code: code)
            skip.target = targetLabels[root]
            skipped.append(skip)
        case .library(let resolved, let identity):
            var opener = FileRecord.Opener.root(root, resolved), identity = identity
            if layers[root] != nil, let status = try? FileSystem.linkStatus(root.hostPath(resolved)) {
                (opener, identity) = located(root: root, path: resolved, status: status)
            }
            let position = record(for: identity, opener: opener, root: root, path: resolved)
            records[position].addName(entry.entry)
            records[position].addName(baseName(resolved))
            records[position].addSeen("library directory")
        }
    }

    /// The loader's facts of a file for the dependency walk, once per identity. Only its ELF headers are read
    /// now (or the daemon's cache answers); the whole read (hashes, byte search) comes with every other file's,
    /// on the workers, instead of one file after another while the walk waits.
    mutating func inspectForGraph(root: ConfinedRoot, path: String) throws -> LoaderFacts {
        let (opener, identity) = located(root: root, path: path, status: try FileSystem.linkStatus(root.hostPath(path)))
        if let position = positions[RecordKey(root: root, identity: identity)] {
            if let facts = records[position].facts { return facts.loaderFacts }
        }
        if let known = graphFacts[identity] {
            let position = record(for: identity, opener: opener, root: root, path: path)
            records[position].addName(baseName(path))
            return known
        }
        if let facts = facts(of: identity) {
            let position = record(for: identity, opener: opener, root: root, path: path)
            records[position].addName(baseName(path))
            return facts.loaderFacts
        }
        let name = baseName(path)
        let status = try FileIndex.status(opener)
        let symbols = plan.wantsSymbols([name]) || symbolsWanted.contains(identity)
        if let cached = Self.cached(opener, needingSymbols: symbols, digests: digestsWanted(root: root, path: path),
                                    plan: plan, cache: cache, known: status) {
            count(cached)
            let position = record(for: cached.facts.identity, opener: opener, root: root, path: path)
            records[position].addName(name)
            records[position].take(cached.boxedFacts, hits: cached.hits, yara: cached.yara)
            records[position].pathStatus = cached.pathStatus
            noteYARASkip(position, cached.yara)
            return cached.facts.loaderFacts
        }
        let facts = try inspector.loaderFacts(of: try Self.open(opener))
        let position = record(for: facts.identity, opener: opener, root: root, path: path)
        records[position].addName(name)
        graphFacts[facts.identity] = facts
        return facts
    }

    /// Reads every file not yet read, or read without what its names now ask for, on `jobs` threads. A read can
    /// reveal a SONAME, a new name that may ask for more (symbol tables): then the file is read once more.
    /// - Parameter readAhead: files ahead of the workers whose reading is started early (0: none, the daemon's
    ///   default, which reads little after its first scan and must stay gentle on a busy server's disk).
    mutating func inspectPending(jobs: Int, readAhead: Int = 0, shouldStop: @escaping @Sendable () -> Bool = { false }) {
        for _ in 0..<2 {
            let work = pendingWork()
            if work.isEmpty { break }
            var guarded: [(Work, String)] = [], direct: [Work] = []
            for item in work {
                if let type = blockingFilesystem(of: records[item.position]) { guarded.append((item, type)) } else { direct.append(item) }
            }
            let (sorted, sizes) = Self.largestFirst(direct, jobs: jobs)
            // With YARA rules, files too large to hold in a lane are read first, one per worker: the largest start
            // early, and the lanes' many small files even out the end.
            let large = plan.yara.isActive ? sorted.indices.filter { sizes[$0] > Self.laneHoldLimit } : []
            readHeldAlone(large.map { sorted[$0] }, jobs: jobs, shouldStop: shouldStop)
            let lanes = large.isEmpty ? sorted : sorted.indices.filter { sizes[$0] <= Self.laneHoldLimit }.map { sorted[$0] }
            let deferred = read(lanes, jobs: jobs, readAhead: readAhead, shouldStop: shouldStop)
            readHeldAlone(deferred, jobs: jobs, shouldStop: shouldStop)
            readGuarded(guarded, shouldStop: shouldStop)
            rereadChanged(shouldStop: shouldStop)
        }
        // A file an ELF rule names (liblzma.so*) that does not parse is reported, never passed over in silence.
        for record in records where plan.elfRuleNames(record.names) {
            guard let facts = record.facts else { continue }
            if let problem = facts.elfProblem ?? (facts.isELF ? nil : "not an ELF file") {
                skipped.append(skip(record, reason: "ELF not readable (\(problem)); ELF rules not applied", code: .damaged))
            }
        }
        if plan.walksResolvers {
            for record in records {
                // Resolver rules apply to every ELF file: one libelf cannot parse (a forged section table ld.so never
                // reads) had its resolvers walked by nothing, so it is unknown, not clean.
                if let facts = record.facts, facts.isELF, let problem = facts.elfProblem, !plan.elfRuleNames(record.names) {
                    skipped.append(skip(record, reason: "ELF not readable (\(problem)); IFUNC resolvers not walked", code: .damaged))
                }
                if let scan = record.facts?.elf?.resolvers, let (reason, code) = Self.resolverGap(scan) {
                    skipped.append(skip(record, reason: reason, code: code))
                }
            }
        }
    }

    /// One file to read: which record, how to open it, and what the read must compute.
    struct Work: Sendable {
        var position: Int
        var openers: [FileRecord.Opener]
        var identity: FileIdentity
        var opener: FileRecord.Opener { openers[0] }
        var symbols: Bool
        var digests: Set<DigestAlgorithm>
        /// Records of the same file in other roots: they take what this read learns.
        var others: [Int] = []
        /// The record's path in its root, for YARA's `filename` and `filepath`.
        var path = ""
    }

    /// Ways to one file kept for a read shared by several roots (each container's own view of a layer file).
    static let maximumSharedOpeners = 16

    /// The reads still to make: one per file, whatever number of roots it was seen in, asking for everything any
    /// of them needs (symbols for one, its package's MD5 for another). A record whose file another root's read
    /// already answers takes that read's facts.
    private mutating func pendingWork() -> [Work] {
        var work: [Work] = []
        var byIdentity: [FileIdentity: Int] = [:]
        for position in records.indices {
            let record = records[position]
            let symbols = wantsSymbols(record), digests = digestsWanted(root: record.root, path: record.path)
            if let facts = record.facts {
                if facts.answers(needingSymbols: symbols, digests: digests, needingResolvers: plan.walksResolvers) { continue }
            } else if record.patternHits != nil {
                // Hits without facts: the read failed this scan (and was reported); not tried again.
                continue
            } else if let shared = sharing[record.identity]?.first(where: { records[$0].facts?.answers(needingSymbols: symbols, digests: digests, needingResolvers: plan.walksResolvers) == true }) {
                records[position].take(records[shared].sharedFacts!, hits: records[shared].patternHits ?? [], yara: records[shared].yara)
                records[position].pathStatus = records[shared].pathStatus
                continue
            }
            if let existing = byIdentity[record.identity] {
                work[existing].symbols = work[existing].symbols || symbols
                work[existing].digests.formUnion(digests)
                work[existing].others.append(position)
                if work[existing].openers.count < Self.maximumSharedOpeners { work[existing].openers += record.openers }
                continue
            }
            byIdentity[record.identity] = work.count
            work.append(Work(position: position, openers: record.openers, identity: record.identity, symbols: symbols, digests: digests,
                             path: record.path))
        }
        return work
    }

    /// The work with the largest files first, when several workers share it: one file's hashing cannot be split,
    /// so the biggest (a 117 MB libLLVM) must start early or the scan waits on it alone at the end. One lstat each.
    /// Also returns each file's size, in the new order (all 0 with one worker: not stat'ed).
    private static func largestFirst(_ work: [Work], jobs: Int) -> (work: [Work], sizes: [Int64]) {
        guard jobs > 1 else { return (work, [Int64](repeating: 0, count: work.count)) }
        let sizes = work.map { (try? status($0.openers, identity: $0.identity))?.0.size ?? 0 }
        let order = work.indices.sorted { sizes[$0] > sizes[$1] || (sizes[$0] == sizes[$1] && $0 < $1) }
        return (order.map { work[$0] }, order.map { sizes[$0] })
    }

    /// Bytes per read while files are read in lanes: each worker holds one buffer per lane (at most 16 x 256 KiB).
    static let laneChunkSize = 256 << 10

    /// Reads `work` in lanes; returns the files left for `readHeldAlone` (too large to hold in a lane for YARA).
    private mutating func read(_ work: [Work], jobs: Int, readAhead: Int,
                               shouldStop: @escaping @Sendable () -> Bool) -> [Work] {
        let results = Mutex<[(Int, Result<Inspection, Error>)]>([])
        let large = Mutex<[Work]>([])
        let next = Atomic<Int>(0)
        let inspector = self.inspector, cache = self.cache, plan = self.plan, names = plan.yara.isActive ? userNames : UserNames()
        for item in work.prefix(readAhead) { Self.prefetch(item.opener) }
        let paths = Dictionary(work.map { ($0.position, $0.path) }, uniquingKeysWith: { first, _ in first })
        DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, work.count))) { _ in
            // Each worker reads up to a lane width of files at once (their MD5s advance together); the byte search
            // of each file in progress is kept here by its record's position.
            var searches: [Int: (search: SearchInProgress, opener: FileRecord.Opener)] = [:]
            // Bytes this worker's lanes hold for the YARA rules.
            var held: Int64 = 0
            InspectionLanes().run(next: {
                while true {
                    let slot = next.add(1, ordering: .relaxed).oldValue
                    guard slot < work.count, !shouldStop() else { return nil }
                    if readAhead > 0, slot + readAhead < work.count { Self.prefetch(work[slot + readAhead].opener) }
                    let item = work[slot]
                    do {
                        if let cached = Self.cached(item.openers, identity: item.identity, needingSymbols: item.symbols,
                                                    digests: item.digests, plan: plan, cache: cache) {
                            results.withLock { $0.append((item.position, .success(cached))) }
                            continue
                        }
                        let (file, opener) = try Self.open(item.openers, identity: item.identity)
                        if plan.yara.isActive {
                            let size = file.status.size
                            guard size <= Self.laneHoldLimit && held + size <= Self.laneHoldBudget else {
                                large.withLock { $0.append(item) }
                                continue
                            }
                        }
                        let search = SearchInProgress(plan, size: file.status.size)
                        let inspection = try inspector.begin(file, tag: item.position, readSymbols: item.symbols,
                                                             digests: item.digests, chunkSize: Self.laneChunkSize) { search.feed($0) }
                        searches[item.position] = (search, opener)
                        if plan.yara.isActive { held += file.status.size }
                        return inspection
                    } catch {
                        results.withLock { $0.append((item.position, .failure(error))) }
                    }
                }
            }, done: { inspection, result in
                let (search, opener) = searches.removeValue(forKey: inspection.tag)!
                if plan.yara.isActive { held -= inspection.file.status.size }
                let hits = search.stream.found
                let read = result.map { facts in
                    let yara = search.yaraOutcome(plan, path: paths[inspection.tag] ?? "", owner: facts.status.owner, names: names)
                    cache?.store(facts, hits: hits, patterns: plan.bytePatternDigest, yara: yara)
                    return Inspection(facts: facts, hits: hits, fromCache: false, opener: opener, yara: yara)
                }
                results.withLock { $0.append((inspection.tag, read)) }
            })
        }
        let items = Dictionary(work.map { ($0.position, $0) }, uniquingKeysWith: { first, _ in first })
        for (position, result) in results.withLock({ $0 }).sorted(by: { $0.0 < $1.0 }) {
            let item = items[position]!
            switch result {
            case .success(let read):
                succeed(item, read)
            case .failure(let error):
                if case .changed? = error as? FileReadError {
                    changedWhileRead.append(item)
                    continue
                }
                fail(item) { record in
                    var skip = Self.skip(record.displayPath, error)
                    // "Gone" hides nothing only for a mapping whose every process exited; a file listed at a path
                    // that vanished before its read may have been renamed away from the scan (and back): not
                    // looked at.
                    if skip.code == .gone, case .root = record.opener {
                        skip.code = .unreadable
                        skip.reason = "removed or renamed between being listed and being read; not read"
                    }
                    return skip
                }
            }
        }
        return large.withLock { $0 }
    }

    /// A read that failed: marked as matched (nothing found) so the second pass does not try again; each root
    /// the file was seen in has its skip.
    private mutating func fail(_ item: Work, _ skip: (FileRecord) -> Skip) {
        for position in [item.position] + item.others {
            records[position].patternHits = records[position].patternHits ?? []
            skipped.append(labelled(skip(records[position]), records[position]))
        }
    }

    private mutating func succeed(_ item: Work, _ read: Inspection) {
        count(read)
        for position in [item.position] + item.others {
            records[position].take(read.boxedFacts, hits: read.hits, yara: read.yara)
            records[position].pathStatus = read.pathStatus
            noteYARASkip(position, read.yara)
        }
        progress.advance()
    }

    /// Unknown is not clean: a file the YARA rules could not run on (too large, too slow) is a skip of its own.
    private mutating func noteYARASkip(_ position: Int, _ outcome: YARAOutcome?) {
        if case .notScanned(let reason, let code)? = outcome {
            skipped.append(skip(records[position], reason: reason, code: code))
        }
    }

    /// The filesystem type of a record's file when reads on it may block for good, from the kernel's mount table
    /// (never a stat of the file, which could block too).
    private mutating func blockingFilesystem(of record: FileRecord) -> String? {
        var type = mounts.type(ofDevice: record.identity.device)
        if type == nil, case .mapped(let ways) = record.opener, let pid = ways.first?.pid {
            // Mapped in another mount namespace, on a mount ours does not have.
            if processMounts[pid] == nil { processMounts[pid] = MountTable.read("/proc/\(pid)/mountinfo") }
            type = processMounts[pid]?.type(ofDevice: record.identity.device)
        }
        if type == nil, case .root(let root, let path) = record.opener, !root.hostPath(path).hasPrefix("/proc/") {
            type = mounts.type(containing: root.hostPath(path))
        }
        guard let type, MountTable.readsMayBlock(type) else { return nil }
        return type
    }

    /// Files on FUSE or network filesystems, each read on a thread of its own that is abandoned when it makes no
    /// progress for `stall`: a filesystem that never answers costs a skip (the scan is then incomplete), not a hang.
    private mutating func readGuarded(_ work: [(Work, String)], shouldStop: @escaping @Sendable () -> Bool) {
        let inspector = self.inspector, cache = self.cache, plan = self.plan
        for (item, type) in work {
            guard !shouldStop() else { return }
            guard readBlockingFilesystems else {
                fail(item) { Skip(subject: $0.displayPath, reason: "on \(type), whose reads can block for good; not opened (scan it where it is local, or use --read-blocking-filesystems)", code: .blocked) }
                continue
            }
            let names = userNames
            let outcome = GuardedReads.shared.run(item.identity, stall: stall, shouldStop: shouldStop) { tick in
                try Self.readAlone(item, inspector: inspector, plan: plan, cache: cache, names: names, progress: tick)
            }
            switch outcome {
            case .done(.success(let read)): succeed(item, read)
            case .done(.failure(let error)): fail(item) { Self.skip($0.displayPath, error) }
            case .stalled(let why): fail(item) { Skip(subject: $0.displayPath, reason: "on \(type): \(why)", code: .blocked) }
            case .stopped: fail(item) { Skip(subject: $0.displayPath, reason: "on \(type): scan stopped while it was read", code: .blocked) }
            }
        }
    }

    /// Files whose size or times moved while the lanes read them (a file `touch`ed in a loop): read again alone,
    /// a few times; the first read that sees no change, or two in a row with the same bytes, is a consistent
    /// snapshot. A file whose bytes differ in every read is reported as unread, never passed over.
    private mutating func rereadChanged(shouldStop: @escaping @Sendable () -> Bool) {
        let work = changedWhileRead
        changedWhileRead = []
        for item in work where !shouldStop() {
            do {
                succeed(item, try Self.readAlone(item, inspector: inspector, plan: plan, cache: cache, names: userNames, progress: {}))
            } catch let error as FileReadError {
                if case .changed = error {
                    fail(item) { Skip(subject: $0.displayPath, reason: "its content changed in each of \(Self.snapshotAttempts) reads; what it holds is unknown", code: .unreadable) }
                } else {
                    fail(item) { Self.skip($0.displayPath, error) }
                }
            } catch {
                fail(item) { Self.skip($0.displayPath, error) }
            }
        }
    }

    static let snapshotAttempts = 4

    /// When the plan has YARA rules a file's bytes are held until its YARA scan, and a lane reader has up to 16
    /// files open: a file over `laneHoldLimit`, or one that would take the worker's held bytes over
    /// `laneHoldBudget`, is left for `readHeldAlone` (one per worker) instead of being held beside 15 others.
    static let laneHoldLimit: Int64 = 8 << 20
    static let laneHoldBudget: Int64 = 64 << 20

    /// Large files read one per worker, each held whole only while it is read and scanned; the same single read
    /// (hashes, byte search, YARA) as in the lanes, with MD5 alone.
    private mutating func readHeldAlone(_ work: [Work], jobs: Int, shouldStop: @escaping @Sendable () -> Bool) {
        guard !work.isEmpty else { return }
        let results = Mutex<[(Int, Result<Inspection, Error>)]>([])
        let next = Atomic<Int>(0)
        let inspector = self.inspector, cache = self.cache, plan = self.plan, names = userNames
        DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, work.count))) { _ in
            while true {
                let slot = next.add(1, ordering: .relaxed).oldValue
                guard slot < work.count, !shouldStop() else { return }
                let result = Result { try Self.readAlone(work[slot], inspector: inspector, plan: plan, cache: cache, names: names, progress: {}) }
                results.withLock { $0.append((slot, result)) }
            }
        }
        for (slot, result) in results.withLock({ $0 }).sorted(by: { $0.0 < $1.0 }) {
            let item = work[slot]
            switch result {
            case .success(let read): succeed(item, read)
            case .failure(let error): fail(item) { Self.skip($0.displayPath, error) }
            }
        }
    }

    /// One file read on its own (no lanes): the cache's answer if it has one, else a snapshot read as
    /// `rereadChanged` describes. `progress` is called after each chunk.
    static func readAlone(_ item: Work, inspector: FileInspector, plan: ScanPlan, cache: FactsCache?,
                          names: UserNames = UserNames(), progress: () -> Void) throws -> Inspection {
        if let cached = cached(item.openers, identity: item.identity, needingSymbols: item.symbols, digests: item.digests,
                               plan: plan, cache: cache) {
            return cached
        }
        var previous: String?
        for _ in 0..<snapshotAttempts {
            let (file, opener) = try open(item.openers, identity: item.identity)
            let search = SearchInProgress(plan, size: file.status.size)
            let inspection = try inspector.begin(file, tag: item.position, readSymbols: item.symbols, digests: item.digests) {
                search.feed($0)
            }
            try inspection.readToEnd(progress: progress)
            let (facts, changed) = try inspection.finish(acceptingChange: true)
            if !changed || facts.sha256 == previous {
                let hits = search.stream.found
                let yara = search.yaraOutcome(plan, path: item.path, owner: facts.status.owner, names: names)
                if !changed { cache?.store(facts, hits: hits, patterns: plan.bytePatternDigest, yara: yara) }
                return Inspection(facts: facts, hits: hits, fromCache: false, opener: opener, yara: yara)
            }
            previous = facts.sha256
        }
        throw FileReadError.changed(path: "")
    }

    /// The byte search of a file being read in lanes, and its bytes held for the YARA rules when the plan has
    /// any: a box, since the read's chunk handler outlives one call.
    private final class SearchInProgress {
        var stream: MultiPatternSearch.Stream
        let held: YARAHeldBytes?

        init(_ plan: ScanPlan, size: Int64) {
            stream = MultiPatternSearch.Stream(plan.bytePatterns)
            held = plan.yara.isActive ? YARAHeldBytes(size: size, limit: plan.yara.limits.maximumFileSize) : nil
        }

        func feed(_ chunk: ArraySlice<UInt8>) {
            stream.feed(chunk)
            held?.append(chunk)
        }

        /// The YARA rules run over the bytes held; nil without YARA rules.
        func yaraOutcome(_ plan: ScanPlan, path: String, owner: UInt32, names: UserNames) -> YARAOutcome? {
            held.map { plan.yara.scanFile($0, path: path, owner: owner, names: names) }
        }
    }

    private mutating func count(_ read: Inspection) {
        if read.fromCache {
            filesFromCache += 1
        } else {
            filesRead += 1
            bytesRead += read.facts.status.size
        }
    }

    /// A class, so the results of a 20,000-file read are 20,000 pointers, not 20,000 copies of the facts.
    final class Inspection: Sendable {
        let boxedFacts: Boxed<FileFacts>
        let hits: PatternHits
        let yara: YARAOutcome?
        let fromCache: Bool
        /// The stat of the record's path in its root made for this read (a path opener's), for later phases.
        let pathStatus: FileStatus?

        var facts: FileFacts { boxedFacts.value }

        init(facts: FileFacts, hits: PatternHits, fromCache: Bool, opener: FileRecord.Opener, status: FileStatus? = nil,
             yara: YARAOutcome? = nil) {
            self.boxedFacts = Boxed(facts)
            self.hits = hits
            self.yara = yara
            self.fromCache = fromCache
            if case .root = opener { pathStatus = status ?? facts.status } else { pathStatus = nil }
        }
    }

    /// What the cache knows of the file, when its stat is unchanged and the hits were found with this plan's
    /// patterns: a daemon scan where nothing changed answers here after one stat (no open, fstat or close).
    /// - Parameter known: the opener's stat, when the caller has just made it.
    private static func cached(_ openers: [FileRecord.Opener], identity: FileIdentity, needingSymbols: Bool,
                               digests: Set<DigestAlgorithm>, plan: ScanPlan, cache: FactsCache?) -> Inspection? {
        guard cache != nil, let (status, opener) = try? status(openers, identity: identity) else { return nil }
        return cached(opener, needingSymbols: needingSymbols, digests: digests, plan: plan, cache: cache, known: status)
    }

    private static func cached(_ opener: FileRecord.Opener, needingSymbols: Bool, digests: Set<DigestAlgorithm>, plan: ScanPlan,
                               cache: FactsCache?, known: FileStatus? = nil) -> Inspection? {
        let patterns = plan.searchesContent ? plan.bytePatternDigest : nil
        guard let cache, let status = known ?? (try? status(opener)),
              let (facts, hits, yara) = cache.lookup(status, needingSymbols: needingSymbols, digests: digests,
                                                     needingResolvers: plan.walksResolvers, patterns: patterns) else {
            return nil
        }
        return Inspection(facts: facts, hits: hits, fromCache: true, opener: opener, status: status, yara: yara)
    }
}
