/// A reader of Berkeley DB's hash access method, as rpm's legacy `Packages` database uses it (RHEL/CentOS 7-8,
/// Amazon Linux 2): every key/value pair, read from the file's pages (`DatabasePages`, read as needed) with every
/// offset bounds-checked. No libdb is linked and no environment, lock or log file is touched, so a live rpm never
/// sees the scan.
///
/// Layout (Berkeley DB db_page.h): page 0 is the hash meta page (magic 0x061561, page size, last page number);
/// every other page starts with a 26-byte header (lsn 8, pgno 4, prev 4, next 4, entries 2, hf_offset 2, level 1,
/// type 1) followed by `entries` 2-byte offsets of its items. Hash pages (types 2 and 13) hold key and value items
/// alternately; an item is H_KEYDATA (1: a type byte then the bytes, up to the previous item) or H_OFFPAGE (3: type,
/// 3 unused bytes, first overflow page, total length), whose bytes run through a chain of overflow pages (type 7,
/// `hf_offset` bytes after the header each). Both byte orders: the meta page's magic says which.
public enum BerkeleyDBHashFile {
    public struct FormatError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    static let magic: UInt32 = 0x061561
    static let headerSize = 26
    enum PageType {
        static let hashUnsorted: UInt8 = 2, overflow: UInt8 = 7, hashMeta: UInt8 = 8, hash: UInt8 = 13
    }
    enum ItemType {
        static let keyData: UInt8 = 1, duplicate: UInt8 = 2, offPage: UInt8 = 3, offPageDuplicate: UInt8 = 4
    }

    /// Calls `body` with every record (key as a 32-bit integer in the file's byte order, and its value) in page
    /// order, one at a time, so only the record being decoded is held; an error may come after some records were
    /// handed over, and then the whole file is unreadable.
    static func forEachRecord(_ pages: DatabasePages, _ body: (UInt32, [UInt8]) throws(FormatError) -> Void) throws(FormatError) {
        let file = try Reader(pages)
        var seen: Set<UInt32> = []
        guard file.lastPage >= 1 else { return }
        for page in 1...file.lastPage {
            let base = page * file.pageSize
            // Pages of other types (overflow, free, and the zeroed pages Berkeley DB allocates for buckets it
            // has not split into yet: holes in a sparse file) hold no record of their own.
            let type = try file.byte(base + 25)
            guard type == PageType.hash || type == PageType.hashUnsorted else { continue }
            let headerSize = file.headerSize
            let number = try file.u32(base + 8)
            guard Int(number) == page else {
                throw FormatError(description: "page \(page) says it is page \(number)")
            }
            let entries = Int(try file.u16(base + 20))
            guard entries % 2 == 0, headerSize + 2 * entries <= file.pageSize else {
                throw FormatError(description: "page \(page): \(entries) items do not form key/value pairs in a \(file.pageSize)-byte page")
            }
            var offsets: [Int] = []
            for index in 0..<entries {
                let offset = Int(try file.u16(base + headerSize + 2 * index))
                // Items are packed from the page's end downwards, each below the one before it.
                let upper = index == 0 ? file.pageSize : offsets[index - 1]
                guard offset >= headerSize + 2 * entries, offset < upper else {
                    throw FormatError(description: "page \(page): item \(index) at offset \(offset) is outside its page or overlaps another")
                }
                offsets.append(offset)
            }
            for pair in stride(from: 0, to: entries, by: 2) {
                let key = try file.item(page: page, offsets: offsets, index: pair)
                let value = try file.item(page: page, offsets: offsets, index: pair + 1)
                guard key.count == 4 else {
                    throw FormatError(description: "page \(page): a \(key.count)-byte key where rpm writes a 4-byte header number")
                }
                let number = file.u32(key, 0)
                guard seen.insert(number).inserted else {
                    throw FormatError(description: "page \(page): header number \(number) stored twice (damaged, or written mid-split)")
                }
                try body(number, value)
            }
        }
    }

    struct Reader {
        let pages: DatabasePages
        let bigEndian: Bool
        let pageSize: Int
        let lastPage: Int
        /// 26 bytes, or 32 in a file with page checksums (2 pad bytes and a 4-byte checksum follow the header).
        let headerSize: Int

        init(_ pages: DatabasePages) throws(FormatError) {
            self.pages = pages
            guard pages.count >= 512 else { throw FormatError(description: "\(pages.count) bytes, shorter than a Berkeley DB meta page") }
            let bytes: [UInt8]
            do { bytes = try pages.bytes(at: 0, count: 512) } catch { throw FormatError(description: "\(error)") }
            let little = bytes[12..<16].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let big = bytes[12..<16].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if little == BerkeleyDBHashFile.magic { bigEndian = false } else if big == BerkeleyDBHashFile.magic { bigEndian = true } else {
                if little == 0x053162 || big == 0x053162 { throw FormatError(description: "a Berkeley DB btree database, not the hash database rpm writes") }
                throw FormatError(description: "not a Berkeley DB hash database (magic 0x\(String(little, radix: 16)))")
            }
            let size = Self.integer(bytes, 20, bigEndian: bigEndian)
            guard size >= 512, size <= 65536, size & (size - 1) == 0 else {
                throw FormatError(description: "page size \(size) is not a power of two from 512 to 65536")
            }
            guard bytes[25] == PageType.hashMeta else { throw FormatError(description: "page 0 is of type \(bytes[25]), not a hash meta page") }
            let version = Self.integer(bytes, 16, bigEndian: bigEndian)
            guard (8...10).contains(version) else { throw FormatError(description: "hash version \(version); this reader knows versions 8 to 10") }
            guard bytes[24] == 0 else { throw FormatError(description: "an encrypted Berkeley DB database (rpm never writes one)") }
            guard Self.integer(bytes, 48, bigEndian: bigEndian) & 0x07 == 0, bytes[26] & 0x06 == 0 else {
                throw FormatError(description: "a database with duplicates, subdatabases or partitions, which rpm's Packages never has")
            }
            headerSize = bytes[26] & 0x01 != 0 ? 32 : BerkeleyDBHashFile.headerSize
            pageSize = Int(size)
            let last = Int(Self.integer(bytes, 32, bigEndian: bigEndian))
            // The file holds pages 0...last; a shorter file was truncated (or is being rewritten), a longer one
            // has pages the meta page does not know of.
            guard last < Int.max / pageSize - 1, (last + 1) * pageSize <= pages.count else {
                throw FormatError(description: "the meta page counts \(last + 1) pages of \(pageSize) bytes, but the file has \(pages.count) bytes (truncated?)")
            }
            guard pages.count == (last + 1) * pageSize else {
                throw FormatError(description: "the file has \(pages.count) bytes, not the \((last + 1) * pageSize) of the \(last + 1) pages its meta page counts")
            }
            lastPage = last
        }

        static func integer(_ bytes: [UInt8], _ offset: Int, bigEndian: Bool) -> UInt32 {
            let slice = bytes[offset..<offset + 4]
            return bigEndian ? slice.reduce(0) { $0 << 8 | UInt32($1) } : slice.reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }

        func u32(_ data: [UInt8], _ offset: Int) -> UInt32 { Self.integer(data, offset, bigEndian: bigEndian) }

        // MARK: the file's bytes, bounds-checked by `DatabasePages`

        func byte(_ offset: Int) throws(FormatError) -> UInt8 {
            do { return try pages.byte(at: offset) } catch { throw FormatError(description: "\(error)") }
        }

        func u16(_ offset: Int) throws(FormatError) -> UInt16 {
            do { return UInt16(try pages.integer(at: offset, width: 2, bigEndian: bigEndian)) } catch { throw FormatError(description: "\(error)") }
        }

        func u32(_ offset: Int) throws(FormatError) -> UInt32 {
            do { return UInt32(try pages.integer(at: offset, width: 4, bigEndian: bigEndian)) } catch { throw FormatError(description: "\(error)") }
        }

        func bytes(_ offset: Int, _ count: Int) throws(FormatError) -> [UInt8] {
            do { return try pages.bytes(at: offset, count: count) } catch { throw FormatError(description: "\(error)") }
        }

        /// The bytes of item `index` of a hash page, following an overflow chain for an off-page item.
        func item(page: Int, offsets: [Int], index: Int) throws(FormatError) -> [UInt8] {
            let base = page * pageSize
            let start = offsets[index]
            let end = index == 0 ? pageSize : offsets[index - 1]
            switch try byte(base + start) {
            case ItemType.keyData:
                return try bytes(base + start + 1, end - start - 1)
            case ItemType.offPage:
                guard end - start >= 12 else { throw FormatError(description: "page \(page): item \(index) is too short for an off-page reference") }
                return try overflow(first: Int(try u32(base + start + 4)), length: Int(try u32(base + start + 8)), from: page)
            case ItemType.duplicate, ItemType.offPageDuplicate:
                throw FormatError(description: "page \(page): item \(index) is a duplicate set, which rpm's database never has")
            case let other:
                throw FormatError(description: "page \(page): item \(index) has unknown type \(other)")
            }
        }

        /// `length` bytes from the chain of overflow pages starting at `first`. A page met twice is a cycle: an
        /// error, never a hang or bytes read twice. Memory follows the pages read, not the length claimed: every
        /// page of the chain must be an overflow page (a hole is not), and at most 1 MiB is reserved up front.
        func overflow(first: Int, length: Int, from page: Int) throws(FormatError) -> [UInt8] {
            guard length <= pages.count else {
                throw FormatError(description: "page \(page): an item of \(length) bytes in a file of \(pages.count)")
            }
            var data: [UInt8] = []
            data.reserveCapacity(min(length, 1 << 20))
            var current = first
            var visited: Set<Int> = []
            while data.count < length {
                guard current >= 1, current <= lastPage else {
                    throw FormatError(description: "page \(page): overflow chain reaches page \(current), outside the file's \(lastPage + 1) pages")
                }
                guard visited.insert(current).inserted else {
                    throw FormatError(description: "page \(page): overflow chain comes back to page \(current) (a cycle)")
                }
                let base = current * pageSize
                let type = try byte(base + 25)
                guard type == PageType.overflow else {
                    throw FormatError(description: "page \(page): overflow chain reaches page \(current) of type \(type)")
                }
                let used = Int(try u16(base + 22))
                guard used <= pageSize - headerSize, used > 0 else {
                    throw FormatError(description: "overflow page \(current) says it holds \(used) bytes")
                }
                data += try bytes(base + headerSize, min(used, length - data.count))
                let next = Int(try u32(base + 16))
                if data.count < length && next == 0 {
                    throw FormatError(description: "page \(page): overflow chain ends after \(data.count) of \(length) bytes")
                }
                current = next
            }
            return data
        }
    }
}
