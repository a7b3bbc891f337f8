import Dispatch
import HostIO
import Probes
import Synchronization

/// One distinct file the scan saw, however many ways it was seen.
public struct FileRecord: Sendable {
    /// How to open exactly this file again.
    enum Opener: Sendable {
        case root(ConfinedRoot, String)
        /// /proc/PID/map_files/START-END, then /proc/PID/root/PATH when map_files is not permitted.
        case mapped(mapFiles: String, rootPath: String?)
    }

    var opener: Opener
    public var path: String
    /// File names it is known by: base names of its paths, DT_NEEDED names, its soname. File rules match on these.
    public var names: [String] = []
    public var seenAs: [String] = []
    public var pids: [Int32] = []
    public var chains: [[String]] = []
    public var facts: FileFacts?

    mutating func addName(_ name: String) {
        if !name.isEmpty && !names.contains(name) { names.append(name) }
    }

    mutating func addSeen(_ how: String) {
        if !seenAs.contains(how) { seenAs.append(how) }
    }
}

/// The distinct files of one scan, keyed by device and inode, and the reading of them.
struct FileIndex {
    let inspector: FileInspector
    let wantsELF: @Sendable ([String]) -> Bool
    let wantsBytes: @Sendable ([String]) -> Bool
    let cache: FactsCache?

    private(set) var records: [FileRecord] = []
    private var positions: [FileIdentity: Int] = [:]
    private(set) var skipped: [Skip] = []
    private(set) var filesRead = 0
    private(set) var bytesRead: Int64 = 0
    private(set) var filesFromCache = 0

    init(inspector: FileInspector, wantsELF: @escaping @Sendable ([String]) -> Bool,
         wantsBytes: @escaping @Sendable ([String]) -> Bool, cache: FactsCache?) {
        self.inspector = inspector
        self.wantsELF = wantsELF
        self.wantsBytes = wantsBytes
        self.cache = cache
    }

    private mutating func record(for identity: FileIdentity, opener: FileRecord.Opener, path: String) -> Int {
        if let position = positions[identity] { return position }
        positions[identity] = records.count
        records.append(FileRecord(opener: opener, path: path))
        return records.count - 1
    }

    mutating func addMapped(_ mapped: MappedFile) {
        let position = record(for: mapped.identity, opener: .mapped(mapFiles: mapped.mapFilesPath, rootPath: mapped.rootPath),
                              path: mapped.path)
        records[position].addName(baseName(mapped.path))
        records[position].addSeen(mapped.isDeleted ? "mapped (deleted from disk)" : "mapped")
        for pid in mapped.pids where !records[position].pids.contains(pid) { records[position].pids.append(pid) }
    }

    mutating func addGraphNode(_ node: DependencyGraph.Node, root: ConfinedRoot) {
        let shown = root.isHost || root.prefix.hasPrefix("/proc/") ? root.prefix + node.path : node.path
        let position = record(for: node.identity, opener: .root(root, node.path), path: shown)
        records[position].addName(baseName(node.path))
        records[position].addName(baseName(node.name))
        if let soname = node.elf.soname { records[position].addName(soname) }
        records[position].addSeen(node.chain.count == 1 ? "program" : "dependency")
        records[position].chains.append(node.chain)
    }

    /// A library lying in a loader directory (`entry` of the canonical `directory`).
    mutating func addAtRest(_ entry: LibraryEntry, root: ConfinedRoot, directory: String) {
        switch entry.outcome {
        case .ignored:
            return
        case .skipped(let reason):
            skipped.append(Skip(subject: directory + "/" + entry.entry, reason: reason))
        case .library(let resolved, let identity):
            let position = record(for: identity, opener: .root(root, resolved), path: resolved)
            records[position].addName(entry.entry)
            records[position].addName(baseName(resolved))
            records[position].addSeen("library directory")
        }
    }

    /// Reads a file for the dependency walk (ELF facts needed), once per identity.
    mutating func inspectForGraph(root: ConfinedRoot, path: String) throws -> FileFacts {
        let status = try FileSystem.linkStatus(root.hostPath(path))
        if let position = positions[status.identity], let facts = records[position].facts, facts.elfParsed {
            return facts
        }
        let names = [baseName(path)]
        // The walk needs the dynamic section; symbols only where an ELF rule names the file.
        let request = InspectionRequest(parseELF: true, readSymbols: wantsELF(names), scanBytes: wantsBytes(names), names: names)
        let (facts, fromCache) = try Self.inspect(.root(root, path), request: request, inspector: inspector, cache: cache)
        count(facts, fromCache: fromCache)
        let position = record(for: facts.identity, opener: .root(root, path), path: path)
        records[position].addName(names[0])
        records[position].facts = facts
        return facts
    }

    /// Reads every file not yet read, or read without what its names now ask for, on `jobs` threads.
    /// - Parameter readAhead: files ahead of the workers whose reading is started early (0: none, the daemon's
    ///   default, which reads little after its first scan and must stay gentle on a busy server's disk).
    mutating func inspectPending(jobs: Int, readAhead: Int = 0, shouldStop: @escaping @Sendable () -> Bool = { false }) {
        var work: [(Int, FileRecord.Opener, InspectionRequest)] = []
        for (position, record) in records.enumerated() {
            let request = InspectionRequest(parseELF: wantsELF(record.names), scanBytes: wantsBytes(record.names), names: record.names)
            if let facts = record.facts, facts.satisfies(request) { continue }
            work.append((position, record.opener, request))
        }
        let results = Mutex<[(Int, Result<(FileFacts, Bool), Error>)]>([])
        let next = Atomic<Int>(0)
        let inspector = self.inspector, cache = self.cache
        let items = work
        for item in items.prefix(readAhead) { Self.prefetch(item.1) }
        DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, items.count))) { _ in
            while true {
                let slot = next.add(1, ordering: .relaxed).oldValue
                guard slot < items.count, !shouldStop() else { return }
                if readAhead > 0, slot + readAhead < items.count { Self.prefetch(items[slot + readAhead].1) }
                let (position, opener, request) = items[slot]
                let result = Result { try Self.inspect(opener, request: request, inspector: inspector, cache: cache) }
                results.withLock { $0.append((position, result)) }
            }
        }
        for (position, result) in results.withLock({ $0 }).sorted(by: { $0.0 < $1.0 }) {
            switch result {
            case .success(let (facts, fromCache)):
                count(facts, fromCache: fromCache)
                records[position].facts = facts
            case .failure(let error):
                skipped.append(Skip(subject: records[position].path, reason: Self.describe(error)))
            }
        }
        // A file a rule names (liblzma.so*) that does not parse is reported, never passed over in silence.
        for record in records where wantsELF(record.names) {
            if let problem = record.facts?.elfProblem {
                skipped.append(Skip(subject: record.path, reason: "ELF not readable (\(problem)); ELF rules not applied"))
            }
        }
    }

    private mutating func count(_ facts: FileFacts, fromCache: Bool) {
        if fromCache {
            filesFromCache += 1
        } else {
            filesRead += 1
            bytesRead += facts.status.size
        }
    }

    private static func inspect(
        _ opener: FileRecord.Opener, request: InspectionRequest, inspector: FileInspector, cache: FactsCache?
    ) throws -> (FileFacts, Bool) {
        // A daemon scan where nothing changed answers from the cache after one stat: no open, fstat or close.
        if let cache, let status = try? status(opener), let cached = cache.lookup(status, request: request) {
            return (cached, true)
        }
        let file = try open(opener)
        let facts = try inspector.inspect(file, request)
        cache?.store(facts)
        return (facts, false)
    }

    /// Starts reading a file the scan will read soon; a file that cannot be opened now is left to the read.
    private static func prefetch(_ opener: FileRecord.Opener) {
        (try? open(opener))?.prefetch()
    }

    /// What `open(opener)` would fstat, from a stat of the same path (following only /proc magic links).
    private static func status(_ opener: FileRecord.Opener) throws -> FileStatus {
        switch opener {
        case .root(let root, let path):
            return try FileSystem.linkStatus(root.hostPath(path))
        case .mapped(let mapFiles, let rootPath):
            do { return try FileSystem.status(mapFiles) } catch where error.isPermissionDenied {
                guard let rootPath else { throw error }
                return try FileSystem.linkStatus(rootPath)
            }
        }
    }

    private static func open(_ opener: FileRecord.Opener) throws -> OpenFile {
        switch opener {
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

    private static func describe(_ error: Error) -> String {
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

func baseName(_ path: String) -> String {
    var trimmed = path[...]
    while trimmed.utf8.count > 1, trimmed.utf8.last == UInt8(ascii: "/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.utf8.lastIndex(of: UInt8(ascii: "/")) else { return String(trimmed) }
    let name = trimmed[trimmed.utf8.index(after: slash)...]
    return name.isEmpty ? path : String(name)
}
