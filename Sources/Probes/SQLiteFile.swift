/// Just enough of SQLite's file format (https://www.sqlite.org/fileformat2.html) to read the rows of one table of
/// a database file without linking SQLite: rpm keeps its package headers in one (rpmdb.sqlite). Read-only, from the
/// file's pages (`DatabasePages`), every offset checked: the file is the scanned system's and may be anything.
struct SQLiteFile {
    enum Value: Equatable {
        case null
        case integer(Int64)
        case real
        case text([UInt8])
        case blob([UInt8])
    }

    struct FormatError: Error, CustomStringConvertible {
        var description: String
    }

    private let pages: DatabasePages
    private let pageSize: Int
    private let usableSize: Int
    private let pageCount: Int
    /// Bound on one row's payload, so a crafted size cannot make the reader allocate without end.
    static let maximumPayload = 64 << 20

    init(_ bytes: [UInt8]) throws(FormatError) {
        try self.init(DatabasePages(bytes))
    }

    init(_ pages: DatabasePages) throws(FormatError) {
        self.pages = pages
        guard pages.count >= 100 else { throw FormatError(description: "not an SQLite 3 database") }
        let header: [UInt8]
        do { header = try pages.bytes(at: 0, count: 100) } catch { throw FormatError(description: "\(error)") }
        guard header.starts(with: Array("SQLite format 3\u{0}".utf8)) else {
            throw FormatError(description: "not an SQLite 3 database")
        }
        let declared = Int(header[16]) << 8 | Int(header[17])
        let pageSize = declared == 1 ? 65536 : declared
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            throw FormatError(description: "page size \(declared) is not valid")
        }
        self.pageSize = pageSize
        usableSize = pageSize - Int(header[20])
        guard usableSize >= 480 else { throw FormatError(description: "reserved space leaves \(usableSize) usable bytes") }
        pageCount = pages.count / pageSize
    }

    /// The root page of the table `name`, from the schema table on page 1.
    func rootPage(ofTable name: String) throws(FormatError) -> Int {
        var root: Int?
        try rows(rootPage: 1) { _, values in
            guard root == nil, values.count >= 4, values[0] == .text(Array("table".utf8)),
                  values[1] == .text(Array(name.utf8)), case .integer(let page) = values[3] else { return }
            root = Int(clamping: page)
        }
        guard let root else { throw FormatError(description: "no table \(name)") }
        return root
    }

    /// Calls `body` with the rowid and values of every row of the table b-tree rooted at `rootPage`.
    func rows(rootPage: Int, _ body: (Int64, [Value]) throws(FormatError) -> Void) throws(FormatError) {
        var pending = [rootPage]
        var visited: Set<Int> = []
        while let page = pending.popLast() {
            guard page >= 1, page <= pageCount else {
                throw FormatError(description: "b-tree page \(page) is past the end of the file (\(pageCount) pages): truncated or damaged")
            }
            guard visited.insert(page).inserted else {
                throw FormatError(description: "b-tree page \(page) is reached twice: the database is damaged")
            }
            let start = (page - 1) * pageSize
            let header = page == 1 ? start + 100 : start
            let type = try byte(header)
            let cells = try int(header + 3, 2)
            switch type {
            case 0x05:  // interior table page: a child pointer per cell, then the right-most child
                let pointers = header + 12
                var children: [Int] = []
                for index in 0..<cells {
                    children.append(try int(start + int(pointers + 2 * index, 2), 4))
                }
                children.append(try int(header + 8, 4))
                pending += children.reversed()  // popLast: visit in key order
            case 0x0D:  // leaf table page
                let pointers = header + 8
                for index in 0..<cells {
                    let cell = try start + int(pointers + 2 * index, 2)
                    let (rowid, values) = try leafCell(at: cell, page: start)
                    try body(rowid, values)
                }
            default:
                throw FormatError(description: "page \(page) is not a table b-tree page (type \(type))")
            }
        }
    }

    private func leafCell(at offset: Int, page: Int) throws(FormatError) -> (Int64, [Value]) {
        let (payloadSize, afterSize) = try varint(offset)
        let (rowid, afterRowid) = try varint(afterSize)
        guard payloadSize >= 0, payloadSize <= Self.maximumPayload else {
            throw FormatError(description: "row \(rowid): payload of \(payloadSize) bytes")
        }
        let total = Int(payloadSize)
        // How much of the payload is on this page (fileformat2 §1.6, table b-tree leaf cells).
        let maxLocal = usableSize - 35
        var local = total
        if total > maxLocal {
            let minLocal = (usableSize - 12) * 32 / 255 - 23
            let candidate = minLocal + (total - minLocal) % (usableSize - 4)
            local = candidate <= maxLocal ? candidate : minLocal
        }
        var payload = try slice(afterRowid, local)
        var next = 0
        if total > local { next = try int(afterRowid + local, 4) }
        var followed = 0
        while payload.count < total {
            followed += 1
            guard next >= 1, next <= pageCount, followed <= pageCount else {
                throw FormatError(description: "row \(rowid): overflow chain broken at page \(next)")
            }
            let start = (next - 1) * pageSize
            next = try int(start, 4)
            payload += try slice(start + 4, min(usableSize - 4, total - payload.count))
        }
        return (rowid, try Self.record(payload))
    }

    /// A record: a header of serial types, then the values (fileformat2 §2.1).
    static func record(_ payload: [UInt8]) throws(FormatError) -> [Value] {
        let reader = SQLiteFile.Cursor(bytes: payload)
        let (headerSize, first) = try reader.varint(0)
        guard headerSize >= 1, headerSize <= payload.count else { throw FormatError(description: "record header size \(headerSize)") }
        var types: [Int64] = []
        var position = first
        while position < Int(headerSize) {
            let (type, next) = try reader.varint(position)
            types.append(type)
            position = next
        }
        var values: [Value] = []
        var offset = Int(headerSize)
        for type in types {
            switch type {
            case 0: values.append(.null)
            case 1...6:
                let width = [1, 2, 3, 4, 6, 8][Int(type) - 1]
                let raw = try reader.slice(offset, width)
                var value = Int64(Int8(bitPattern: raw[0]))  // sign from the first byte
                for byte in raw.dropFirst() { value = value << 8 | Int64(byte) }
                values.append(.integer(value))
                offset += width
            case 7:
                values.append(.real)
                offset += 8
            case 8: values.append(.integer(0))
            case 9: values.append(.integer(1))
            case 12...:
                let length = Int((type - 12) / 2)
                let data = try reader.slice(offset, length)
                values.append(type % 2 == 0 ? .blob(data) : .text(data))
                offset += length
            default: throw FormatError(description: "serial type \(type) is reserved")
            }
        }
        return values
    }

    // MARK: bounds-checked access

    // The file's pages are read as the b-tree walk reaches them (`DatabasePages`): pages it never reaches (free
    // pages, holes, a sparse tail) are never held. `Cursor` is the same over a record's payload in memory.
    private func byte(_ offset: Int) throws(FormatError) -> UInt8 {
        do { return try pages.byte(at: offset) } catch { throw FormatError(description: "\(error)") }
    }

    /// Big-endian unsigned integer of `width` bytes.
    private func int(_ offset: Int, _ width: Int) throws(FormatError) -> Int {
        do { return Int(try pages.integer(at: offset, width: width, bigEndian: true)) } catch { throw FormatError(description: "\(error)") }
    }

    private func slice(_ offset: Int, _ count: Int) throws(FormatError) -> [UInt8] {
        do { return try pages.bytes(at: offset, count: count) } catch { throw FormatError(description: "\(error)") }
    }

    private func varint(_ offset: Int) throws(FormatError) -> (Int64, Int) {
        try Self.varint(offset, byte: byte)
    }

    /// SQLite's varint: 7 bits per byte, high bit set to continue; the ninth byte gives all 8 bits. Returns the
    /// value and the offset after it.
    static func varint(_ offset: Int, byte: (Int) throws(FormatError) -> UInt8) throws(FormatError) -> (Int64, Int) {
        var value: UInt64 = 0
        for index in 0..<9 {
            let byte = try byte(offset + index)
            if index == 8 { return (Int64(bitPattern: value << 8 | UInt64(byte)), offset + 9) }
            value = value << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 { return (Int64(bitPattern: value), offset + index + 1) }
        }
        return (Int64(bitPattern: value), offset + 9)
    }

    struct Cursor {
        let bytes: [UInt8]

        func slice(_ offset: Int, _ count: Int) throws(FormatError) -> [UInt8] {
            guard offset >= 0, count >= 0, offset <= bytes.count - count else {
                throw FormatError(description: "\(count) bytes at offset \(offset) run past the end (\(bytes.count) bytes)")
            }
            return Array(bytes[offset..<offset + count])
        }

        func varint(_ offset: Int) throws(FormatError) -> (Int64, Int) {
            try SQLiteFile.varint(offset) { (position) throws(FormatError) in
                guard position >= 0, position < bytes.count else {
                    throw FormatError(description: "the byte at offset \(position) is past the end (\(bytes.count) bytes)")
                }
                return bytes[position]
            }
        }
    }
}
