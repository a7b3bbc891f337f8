import HostIO

/// A package database file's bytes, read a chunk at a time as its reader asks for them and kept in a small
/// direct-mapped cache, so a database costs memory in proportion to what its reader touches, never to the file's
/// apparent size: an rpmdb extended sparsely to 1 GiB (`truncate -s 1G`), or with holes for pages it does not use,
/// costs a few MiB, not a GiB. Holes read as zeros (pread) and are only ever held a cache slot at a time.
///
/// Reads are `chunkSize` bytes (64 KiB: one pread per 16 pages of 4 KiB, so a full pass over a file stays a few
/// syscalls a MiB); a slot keeps the last chunk read for its index. Bytes already in memory (tests, the fuzz
/// targets) go through the same chunking and bounds checks, so the readers are fuzzed as they run on files.
/// Not Sendable: one reader at a time.
final class DatabasePages {
    /// A read past the end, a failed pread, or a file that shrank while it was read.
    struct ReadError: Error, CustomStringConvertible, Equatable {
        var description: String
    }

    private enum Source {
        case memory([UInt8])
        case file(OpenFile)
    }

    static let defaultChunkSize = 64 << 10
    /// 128 slots of 64 KiB: at most 8 MiB cached, whatever the size of the file.
    static let defaultCachedChunks = 128

    /// The file's size when it was opened (or the bytes' count).
    let count: Int
    let chunkSize: Int
    private let source: Source
    private var slots: [(index: Int, bytes: [UInt8])]

    /// Pages of bytes already in memory; a small `chunkSize` makes reads cross chunk boundaries often (tests,
    /// the fuzzer).
    init(_ bytes: [UInt8], chunkSize: Int = defaultChunkSize, cachedChunks: Int = defaultCachedChunks) {
        self.count = bytes.count
        self.source = .memory(bytes)
        self.chunkSize = max(1, chunkSize)
        slots = Array(repeating: (-1, []), count: max(1, cachedChunks))
    }

    /// Pages of an open file, `file.status.size` bytes; `file.checkUnchanged()` after the reader is done tells
    /// whether they are one consistent state of it.
    init(_ file: OpenFile, chunkSize: Int = defaultChunkSize, cachedChunks: Int = defaultCachedChunks) {
        self.count = Int(clamping: file.status.size)
        self.source = .file(file)
        self.chunkSize = max(1, chunkSize)
        slots = Array(repeating: (-1, []), count: max(1, cachedChunks))
    }

    /// The byte at `offset`.
    func byte(at offset: Int) throws(ReadError) -> UInt8 {
        guard offset >= 0, offset < count else { throw outOfRange(offset, 1) }
        return try chunk(offset / chunkSize)[offset % chunkSize]
    }

    /// An unsigned integer of `width` (at most 8) bytes at `offset`, big-endian or little-endian.
    func integer(at offset: Int, width: Int, bigEndian: Bool) throws(ReadError) -> UInt64 {
        guard offset >= 0, width >= 0, width <= 8, offset <= count - width else { throw outOfRange(offset, width) }
        var value: UInt64 = 0
        for index in 0..<width {
            let byte = UInt64(try byte(at: bigEndian ? offset + index : offset + width - 1 - index))
            value = value << 8 | byte
        }
        return value
    }

    /// `length` bytes from `offset`, copied.
    func bytes(at offset: Int, count length: Int) throws(ReadError) -> [UInt8] {
        guard offset >= 0, length >= 0, offset <= count - length else { throw outOfRange(offset, length) }
        var result: [UInt8] = []
        result.reserveCapacity(length)
        try forEachChunk(offset..<offset + length) { result += $0 }
        return result
    }

    /// Calls `body` with the bytes of `range` a chunk at a time, for a pass (a checksum) over bytes not kept.
    func forEachChunk(_ range: Range<Int>, _ body: (ArraySlice<UInt8>) -> Void) throws(ReadError) {
        guard range.lowerBound >= 0, range.upperBound <= count else { throw outOfRange(range.lowerBound, range.count) }
        var position = range.lowerBound
        while position < range.upperBound {
            let index = position / chunkSize, start = index * chunkSize
            let bytes = try chunk(index)
            let end = min(range.upperBound, start + bytes.count)
            body(bytes[(position - start)..<(end - start)])
            position = end
        }
    }

    /// Chunk `index` (the last one may be short), from its cache slot or read now.
    private func chunk(_ index: Int) throws(ReadError) -> [UInt8] {
        let slot = index % slots.count
        if slots[slot].index == index { return slots[slot].bytes }
        let start = index * chunkSize
        let want = min(chunkSize, count - start)
        let bytes: [UInt8]
        switch source {
        case .memory(let all):
            bytes = Array(all[start..<start + want])
        case .file(let file):
            do { bytes = try file.read(at: Int64(start), count: want) } catch { throw ReadError(description: "\(error)") }
            // Shorter than the size stat gave when it was opened: truncated while it was read.
            guard bytes.count == want else { throw ReadError(description: "\(FileReadError.changed(path: file.path))") }
        }
        slots[slot] = (index, bytes)
        return bytes
    }

    private func outOfRange(_ offset: Int, _ length: Int) -> ReadError {
        ReadError(description: "\(length) bytes at offset \(offset) run past the end (\(count) bytes)")
    }
}
