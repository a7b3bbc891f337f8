/// A reader of rpm's ndb package database (`Packages.db`: SLES 15, openSUSE), from the file's pages
/// (`DatabasePages`, read as needed) with every offset bounds-checked. Index.db (name and file indexes) is not
/// needed: every header is reached from the slots.
///
/// Layout (rpm lib/backend/ndb/rpmpkg.c), little-endian: the first `slot pages` 4096-byte pages hold a 32-byte file
/// header (magic "RpmP", version, generation, slot page count, next package index) then 16-byte slots (magic "Slot",
/// package index, block offset, block count); a slot with block offset 0 is free. A package's blob starts at
/// block offset × 16: a 16-byte header (magic "BlbS", package index, generation, blob length), the header blob,
/// zero padding, then a 12-byte trailer (adler32 of everything before it in the blocks, blob length, magic "BlbE")
/// ending its blocks, which are exactly as many as header, blob and trailer need.
public enum RPMNDBFile {
    public struct FormatError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    static let pageSize = 4096, blockSize = 16, slotSize = 16, headerSize = 32
    static let fileMagic = tag("RpmP"), slotMagic = tag("Slot"), blobMagic = tag("BlbS"), trailerMagic = tag("BlbE")
    static let blobHeaderSize = 16, trailerSize = 12

    static func tag(_ text: String) -> UInt32 {
        text.utf8.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Calls `body` with every package's header blob, by package index, in slot order, one at a time. A blob's
    /// checksum is computed a chunk at a time before its bytes are copied, so memory follows the blobs, not the
    /// file's apparent size (free blocks between blobs and after the last may be holes).
    static func forEachHeaderBlob(_ pages: DatabasePages, _ body: (UInt32, [UInt8]) throws(FormatError) -> Void) throws(FormatError) {
        func u32(_ offset: Int) throws(FormatError) -> UInt32 {
            do { return UInt32(try pages.integer(at: offset, width: 4, bigEndian: false)) } catch { throw FormatError(description: "\(error)") }
        }
        let size = pages.count
        guard size >= headerSize else { throw FormatError(description: "\(size) bytes, shorter than an ndb header") }
        guard size % blockSize == 0 else {
            throw FormatError(description: "\(size) bytes is not a whole number of 16-byte blocks (truncated or appended to)")
        }
        guard try u32(0) == fileMagic else { throw FormatError(description: "not an rpm ndb database (no RpmP magic)") }
        let version = try u32(4)
        guard version == 0 else { throw FormatError(description: "ndb version \(version), not the version 0 this reader knows") }
        let slotPages = Int(try u32(12))
        guard slotPages >= 1, slotPages <= size / pageSize else {
            throw FormatError(description: "\(slotPages) slot pages do not fit in the file's \(size) bytes (truncated?)")
        }
        var seen: Set<UInt32> = []
        let slotsEnd = slotPages * pageSize
        for slot in stride(from: headerSize, to: slotsEnd, by: slotSize) {
            guard try u32(slot) == slotMagic else {
                throw FormatError(description: "slot at offset \(slot) has no Slot magic")
            }
            let index = try u32(slot + 4), blockOffset = Int(try u32(slot + 8)), blockCount = Int(try u32(slot + 12))
            if blockOffset == 0 { continue }
            let start = blockOffset * blockSize, length = blockCount * blockSize
            guard index != 0 else { throw FormatError(description: "slot at offset \(slot) holds blocks but no package index") }
            guard seen.insert(index).inserted else { throw FormatError(description: "package \(index) has two slots") }
            guard start >= slotsEnd else {
                throw FormatError(description: "package \(index): its blocks start at \(start), inside the \(slotsEnd)-byte slot area")
            }
            guard length >= blobHeaderSize + trailerSize, start <= size - length else {
                throw FormatError(description: "package \(index): blocks \(blockOffset)+\(blockCount) are outside the file's \(size) bytes (truncated?)")
            }
            guard try u32(start) == blobMagic, try u32(start + 4) == index else {
                throw FormatError(description: "package \(index): no blob header (BlbS) where its slot points")
            }
            let blobLength = Int(try u32(start + 12))
            // Free blocks may be holes; a blob longer than any rpm header (zeros read from holes) is not copied.
            guard blobLength <= RPMHeader.maximumSize else {
                throw FormatError(description: "package \(index): a blob of \(blobLength) bytes, longer than an rpm header can be")
            }
            guard blobLength <= length - blobHeaderSize - trailerSize,
                  (blobHeaderSize + blobLength + trailerSize + blockSize - 1) / blockSize == blockCount else {
                throw FormatError(description: "package \(index): a blob of \(blobLength) bytes does not fill its \(blockCount) blocks")
            }
            let trailer = start + length - trailerSize
            guard try u32(trailer + 8) == trailerMagic, Int(try u32(trailer + 4)) == blobLength else {
                throw FormatError(description: "package \(index): its blob's trailer (BlbE) is missing or disagrees on the length")
            }
            var checksum: UInt32 = 1
            do { try pages.forEachChunk(start..<trailer) { checksum = adler32($0, continuing: checksum) } } catch {
                throw FormatError(description: "\(error)")
            }
            guard try u32(trailer) == checksum else {
                throw FormatError(description: "package \(index): checksum mismatch (the blob changed or is damaged)")
            }
            let blob: [UInt8]
            do { blob = try pages.bytes(at: start + blobHeaderSize, count: blobLength) } catch { throw FormatError(description: "\(error)") }
            try body(index, blob)
        }
    }

    /// Adler-32 (RFC 1950), as rpm computes it over a blob's header and data; `continuing` is the checksum of the
    /// bytes before `data` (1 for none), so it can be computed a chunk at a time.
    static func adler32(_ data: ArraySlice<UInt8>, continuing previous: UInt32 = 1) -> UInt32 {
        var a: UInt32 = previous & 0xFFFF, b: UInt32 = previous >> 16
        var index = data.startIndex
        while index < data.endIndex {
            // 5552 bytes is the most that cannot overflow before the modulo (zlib's NMAX).
            let end = min(index + 5552, data.endIndex)
            for byte in data[index..<end] {
                a &+= UInt32(byte)
                b &+= a
            }
            a %= 65521
            b %= 65521
            index = end
        }
        return b << 16 | a
    }
}
