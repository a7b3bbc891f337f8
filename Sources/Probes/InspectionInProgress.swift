import Crypto
import Digests
import ELFReader
import HostIO

/// One file's read in progress: each chunk read is hashed (SHA-256 and the package digests other than MD5) and
/// handed to `content` at once; MD5, when the owning package recorded one, is left to the caller, who advances it
/// over `pendingMD5` (alone, or with other files' in SIMD lanes: `InspectionLanes`) before the next read.
public final class InspectionInProgress {
    public let file: OpenFile
    /// The caller's handle on this read (a record's position).
    public let tag: Int
    let readSymbols: Bool
    let resolvers: ResolverWalk.Limits?
    private let content: (ArraySlice<UInt8>) -> Void
    private var sha256 = SHA256()
    private var others: ContentDigests
    /// The package's MD5, advanced by the caller over each chunk.
    var md5: MD5?
    private var head: [UInt8] = []
    private var buffer: [UInt8]
    /// The bytes of the last chunk read: `buffer[0..<filled]`, of which MD5 has consumed `buffer[0..<md5Consumed]`.
    private var filled = 0
    var md5Consumed = 0
    private(set) var atEnd = false

    /// - Parameters:
    ///   - chunkSize: bytes per read; a lane reader keeps one buffer per file it has open.
    public init(_ file: OpenFile, tag: Int = 0, readSymbols: Bool, resolvers: ResolverWalk.Limits? = nil, digests: Set<DigestAlgorithm>, chunkSize: Int = OpenFile.chunkSize,
                maximumSize: Int64, content: @escaping (ArraySlice<UInt8>) -> Void) throws(FileReadError) {
        // No size limit: the bytes are streamed, never held, so a file padded past any bound (a sparse tail) is
        // still hashed and searched in full; `maximumSize` bounds only what is held in memory (an archive's ELF).
        self.file = file
        self.tag = tag
        self.readSymbols = readSymbols
        self.resolvers = resolvers
        self.content = content
        self.others = ContentDigests(digests)
        self.md5 = digests.contains(.md5) ? MD5() : nil
        // A small file gets a buffer its size (a library of 40 KB does not cost a zeroed 256 KiB); the read after the
        // last byte returns 0 whatever the buffer's size.
        self.buffer = [UInt8](repeating: 0, count: Int(min(Int64(chunkSize), max(file.status.size, 4096))))
    }

    /// The last chunk's bytes MD5 has not yet been advanced over.
    var pendingMD5: ArraySlice<UInt8> { md5 == nil ? [] : buffer[md5Consumed..<filled] }

    /// Whether the last chunk is used up (MD5 has consumed it, or none is computed) and the next may be read.
    var needsRead: Bool { !atEnd && (md5 == nil || md5Consumed == filled) }

    /// Reads the next chunk, hashing it and handing it on; at end of file sets `atEnd`.
    func readChunk() throws(FileReadError) {
        let n = try file.readNext(into: &buffer)
        filled = n
        md5Consumed = 0
        if n == 0 {
            atEnd = true
            return
        }
        let chunk = buffer[0..<n]
        if head.count < 4 { head += chunk.prefix(4 - head.count) }
        sha256.update(data: chunk)
        others.update(chunk)
        content(chunk)
    }

    /// Advances MD5 over the rest of the last chunk on its own (no lanes).
    func advanceMD5Alone() {
        guard md5 != nil else { return }
        md5!.update(buffer[md5Consumed..<filled])
        md5Consumed = filled
    }

    /// The facts, once the whole file is read and hashed: for an ELF file libelf then reads the parts it parses
    /// from the same descriptor, and a last fstat checks nothing changed between those reads and the hashed one.
    func finish() throws -> FileFacts {
        let (facts, changed) = try finish(acceptingChange: false)
        precondition(!changed)
        return facts
    }

    /// `finish()`, saying instead of failing when the file's size or times moved while it was read: a caller that
    /// reads it again and gets the same bytes has a consistent snapshot (a file touched in a loop).
    public func finish(acceptingChange: Bool) throws -> (FileFacts, changed: Bool) {
        precondition(atEnd && md5Consumed == filled, "finish() before the file was read and hashed to its end")
        var facts = FileFacts(identity: file.status.identity, status: file.status, sha256: sha256.finalize().hex,
                              isELF: head == [0x7f, 0x45, 0x4c, 0x46])
        facts.digests = others.finalize()
        if let md5 { facts.digests[.md5] = md5.finalize().hex }
        var changed = try unchanged(acceptingChange: acceptingChange) == false
        guard facts.isELF else { return (facts, changed) }
        (facts.elf, facts.elfProblem) = file.elfFacts(readSymbols: readSymbols, resolvers: resolvers)
        if try unchanged(acceptingChange: acceptingChange) == false { changed = true }
        return (facts, changed)
    }

    /// Whether the file is still what was opened; a change throws unless it is accepted (then: false).
    private func unchanged(acceptingChange: Bool) throws(FileReadError) -> Bool {
        do {
            try file.checkUnchanged()
            return true
        } catch {
            guard acceptingChange, case .changed = error else { throw error }
            return false
        }
    }

    /// Reads to the end on its own (MD5 alone, no lanes), calling `progress` after each chunk.
    public func readToEnd(progress: () -> Void = {}) throws(FileReadError) {
        while !atEnd {
            try readChunk()
            advanceMD5Alone()
            progress()
        }
    }
}

extension OpenFile {
    /// libelf's reading of the file's ELF facts from its own descriptor: the facts, or why there are none.
    func elfFacts(readSymbols: Bool, resolvers: ResolverWalk.Limits? = nil) -> (ELFInfo?, String?) {
        let size = Int(status.size)
        do {
            let elf = try withDescriptor { (fd) throws(ELFError) in
                try ELFParser.parse(descriptor: fd, size: size, readSymbols: readSymbols, resolvers: resolvers)
            }
            return (elf, nil)
        } catch {
            return (nil, error.description)
        }
    }
}
