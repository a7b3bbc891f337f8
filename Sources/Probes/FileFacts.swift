import Crypto
import ELFReader
import HostIO

/// What the scan learned about one file, read once: its identity, hash and, for an ELF file, the ELF facts.
/// Facts only: nothing here depends on which rules are loaded, so facts cached by one rule set serve the next.
public struct FileFacts: Sendable {
    public var identity: FileIdentity
    public var status: FileStatus
    public var sha256: String
    /// The file starts with the ELF magic.
    public var isELF: Bool
    public var elf: ELFInfo?
    /// Why `elf` is nil for a file that starts like ELF (malformed, truncated).
    public var elfProblem: String?
    /// Digests other than SHA-256 computed in the same read (lowercase hex): those the owning package recorded.
    public var digests: [DigestAlgorithm: String] = [:]

    /// The file's digest with `algorithm`, if this read computed it.
    public func digest(_ algorithm: DigestAlgorithm) -> String? {
        algorithm == .sha256 ? sha256 : digests[algorithm]
    }

    /// Whether these facts hold what a scan wants: symbol tables (an earlier read may have parsed the dynamic
    /// section alone; a file that is not ELF, or not readable as ELF, has nothing more to give) and digests.
    /// - Parameter needingResolvers: the IFUNC resolvers must have been walked (an ifunc-resolver rule is loaded).
    public func answers(needingSymbols: Bool, digests wanted: Set<DigestAlgorithm> = [], needingResolvers: Bool = false) -> Bool {
        guard wanted.allSatisfy({ digest($0) != nil }) else { return false }
        guard let elf else { return true }
        if needingResolvers && elf.resolvers == nil { return false }
        return !needingSymbols || elf.symbolsRead
    }
}

/// What the dependency walk needs of a file: which file it is and how the loader sees it. Cheap to get (libelf
/// reads the headers and the dynamic segment), so a walk does not wait on hashing the libraries it visits.
public struct LoaderFacts: Sendable {
    public var identity: FileIdentity
    public var elf: ELFInfo?
    /// Why `elf` is nil (not ELF, malformed).
    public var elfProblem: String?

    public init(identity: FileIdentity, elf: ELFInfo? = nil, elfProblem: String? = nil) {
        self.identity = identity
        self.elf = elf
        self.elfProblem = elfProblem
    }
}

extension FileFacts {
    public var loaderFacts: LoaderFacts { LoaderFacts(identity: identity, elf: elf, elfProblem: elfProblem) }
}

/// Reads a file once: SHA-256 of the bytes, every byte handed on to `content` (where the engine matches byte
/// rules) in the same pass, and for an ELF file the ELF facts, so one read serves every kind of rule.
public struct FileInspector: Sendable {
    /// The most bytes held in memory for one file (an archive's ELF member, for libelf). Files on disk are
    /// streamed whatever their size: a skip for size alone would be a place to hide.
    public var maximumSize: Int64
    /// Walk every ELF file's IFUNC resolvers with these limits (nil: an ifunc-resolver rule is not loaded).
    public var resolvers: ResolverWalk.Limits?

    public init(maximumSize: Int64 = 512 << 20, resolvers: ResolverWalk.Limits? = nil) {
        self.maximumSize = maximumSize
        self.resolvers = resolvers
    }

    /// - Parameters:
    ///   - readSymbols: also read .dynsym, .symtab and .gnu_debugdata (an ELF rule names the file), not only the
    ///     loader's facts; skipping them keeps memory down.
    ///   - digests: digests to compute besides SHA-256 (what the owning package recorded), from the same chunks.
    ///   - content: called with the file's bytes in order, in chunks of `OpenFile.chunkSize`, once each.
    ///
    /// The bytes are streamed, never held whole: a 100 MiB library costs a chunk of memory. libelf then reads the
    /// few parts of an ELF file it parses (headers, the dynamic segment, the sections asked for) from the same open
    /// file, and a last fstat checks nothing changed between those reads and the hashed one.
    public func inspect(_ file: OpenFile, readSymbols: Bool, digests: Set<DigestAlgorithm> = [],
                        content: @escaping (ArraySlice<UInt8>) -> Void = { _ in }) throws -> FileFacts {
        let inspection = try begin(file, readSymbols: readSymbols, digests: digests, content: content)
        while !inspection.atEnd {
            try inspection.readChunk()
            inspection.advanceMD5Alone()
        }
        return try inspection.finish()
    }

    /// The loader's facts of `file` alone (ELF headers, dynamic segment; no hashing, no symbol tables).
    public func loaderFacts(of file: OpenFile) throws(FileReadError) -> LoaderFacts {
        var facts = LoaderFacts(identity: file.status.identity)
        let head = try file.read(at: 0, count: 4)
        guard head == [0x7f, 0x45, 0x4c, 0x46] else {
            facts.elfProblem = "not an ELF file"
            return facts
        }
        (facts.elf, facts.elfProblem) = file.elfFacts(readSymbols: false)
        try file.checkUnchanged()
        return facts
    }

    /// A read of `file` to be driven chunk by chunk (by `InspectionLanes`, several files at once).
    public func begin(_ file: OpenFile, tag: Int = 0, readSymbols: Bool, digests: Set<DigestAlgorithm> = [],
                      chunkSize: Int = OpenFile.chunkSize,
                      content: @escaping (ArraySlice<UInt8>) -> Void = { _ in }) throws(FileReadError) -> InspectionInProgress {
        try InspectionInProgress(file, tag: tag, readSymbols: readSymbols, resolvers: resolvers, digests: digests,
                                 chunkSize: chunkSize, maximumSize: maximumSize, content: content)
    }
}

extension FileInspector {
    /// Facts about bytes that are not a file on this host (an archive member), which `chunks` hands to the sink it
    /// is given once each, in order (and to anything else that looks at them in the same pass): SHA-256 and, for an
    /// ELF member, its ELF facts with symbol tables. An ELF member is held in memory for libelf (at most
    /// `maximumSize` bytes, like any file); any other member never is.
    public func inspect(member status: FileStatus, chunks: ((ArraySlice<UInt8>) -> Void) throws -> Void) throws -> FileFacts {
        var hasher = SHA256()
        var head: [UInt8] = []
        var elfBytes: [UInt8]?
        var total: Int64 = 0
        var overLimit = false
        try chunks { chunk in
            if head.count < 4 {
                head += chunk.prefix(4 - head.count)
                if head.count == 4 && head == [0x7f, 0x45, 0x4c, 0x46] { elfBytes = [] }
            }
            total += Int64(chunk.count)
            if total > maximumSize { overLimit = true }
            hasher.update(data: chunk)
            if !overLimit { elfBytes?.append(contentsOf: chunk) } else { elfBytes = nil }
        }
        let read = FileStatus(identity: status.identity, kind: .regular, size: total, permissions: status.permissions,
                              owner: status.owner, group: status.group, modified: status.modified, changed: status.changed)
        var facts = FileFacts(identity: status.identity, status: read, sha256: hasher.finalize().hex,
                              isELF: head == [0x7f, 0x45, 0x4c, 0x46])
        guard facts.isELF else { return facts }
        guard let elfBytes else {
            facts.elfProblem = "\(total) bytes is over the \(maximumSize)-byte limit for an ELF member"
            return facts
        }
        do { facts.elf = try ELFParser.parse(elfBytes, readSymbols: true, resolvers: resolvers) } catch { facts.elfProblem = error.description }
        return facts
    }
}
