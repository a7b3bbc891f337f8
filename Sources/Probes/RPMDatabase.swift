import HostIO

/// rpm's package database, in whichever of its three formats the root has: rpmdb.sqlite (rpm 4.16 and later:
/// Fedora 33+, RHEL 9, openSUSE Leap 15.5+ ...), Packages.db (ndb: SLES 15, openSUSE), or Packages (Berkeley DB hash:
/// RHEL/CentOS 7-8, Amazon Linux 2, Oracle Linux 8). All three hold the same header blobs, decoded by `RPMHeader`.
public enum RPMDatabase {
    /// Where rpm keeps its database: /var/lib/rpm, and /usr/lib/sysimage/rpm (SUSE, Fedora 36+), often one a
    /// symlink to the other (%_dbpath); a directory reached twice is read once.
    public static let directories = ["/var/lib/rpm", "/usr/lib/sysimage/rpm"]

    /// The formats, in the order rpm itself prefers them when a directory holds more than one (a converted
    /// database keeps its old files until they are removed).
    public enum Format: String, Sendable, CaseIterable {
        case sqlite = "rpmdb.sqlite"
        case ndb = "Packages.db"
        case berkeleyDB = "Packages"

        public var name: String {
            switch self {
            case .sqlite: "rpm sqlite"
            case .ndb: "rpm ndb"
            case .berkeleyDB: "rpm Berkeley DB"
            }
        }
    }

    /// The files whose stat changes when rpm changes the database.
    public static var stampPaths: [String] {
        directories.flatMap { directory in Format.allCases.map { directory + "/" + $0.rawValue } + [directory + "/rpmdb.sqlite-wal"] }
    }

    public static func read(root: ConfinedRoot, into inventory: inout PackageInventory) {
        var seenDirectories: Set<FileIdentity> = []
        for directory in directories {
            guard let (_, status) = try? root.status(directory), status.kind == .directory,
                  seenDirectories.insert(status.identity).inserted else { continue }
            let present = Format.allCases.filter { format in
                (try? root.status(directory + "/" + format.rawValue))?.status.isRegular == true
            }
            guard let format = present.first else { continue }
            let path = directory + "/" + format.rawValue
            for other in present.dropFirst() {
                inventory.problems.append("rpm database \(directory + "/" + other.rawValue) (\(other.name)) not read: rpm uses \(path) in the same directory")
            }
            do {
                let entries = try read(try root.open(path).file, format: format)
                for entry in entries {
                    inventory.add(entry.package, files: entry.files, digests: entry.digests, algorithm: entry.algorithm, dates: entry.dates)
                }
                inventory.databases.append(PackageDatabaseStatus(path: path, format: format.name, packages: entries.count))
            } catch {
                inventory.databases.append(PackageDatabaseStatus(path: path, format: format.name, packages: 0, problem: "\(error)"))
            }
            if format == .sqlite, let (_, wal) = try? root.status(path + "-wal"), wal.size > 0 {
                inventory.problems.append("rpm database \(path): its write-ahead log holds changes not yet in the database; packages changed by the latest rpm transaction may be missing")
            }
        }
    }

    /// Bound on a database file's apparent size. Its pages are read as its reader reaches them, so memory
    /// follows the data read (the headers, and `DatabasePages`' cache), not this size.
    public static let maximumFileSize: Int64 = 1 << 30

    /// The packages in an open database file, read a page at a time (a sparse file costs what its data costs); an
    /// error if the file changed while it was read, since its pages then may not be one state of it.
    static func read(_ file: OpenFile, format: Format) throws -> [Entry] {
        guard file.status.size <= maximumFileSize else {
            throw FileReadError.tooLarge(path: file.path, size: file.status.size, limit: maximumFileSize)
        }
        let entries = try parse(DatabasePages(file), format: format)
        try file.checkUnchanged()
        return entries
    }

    /// The packages in a database file's bytes; `chunkSize` as for `DatabasePages` (tests and the fuzzer make it
    /// small so reads cross chunk boundaries often).
    public static func parse(_ bytes: [UInt8], format: Format, chunkSize: Int? = nil) throws -> [Entry] {
        try parse(DatabasePages(bytes, chunkSize: chunkSize ?? DatabasePages.defaultChunkSize), format: format)
    }

    static func parse(_ pages: DatabasePages, format: Format) throws -> [Entry] {
        var result: [Entry] = []
        switch format {
        case .sqlite:
            return try parse(pages)
        case .ndb:
            try RPMNDBFile.forEachHeaderBlob(pages) { (key, blob) throws(RPMNDBFile.FormatError) in
                do { try decode(key, blob, into: &result) } catch { throw RPMNDBFile.FormatError(description: "ndb record \(key): \(error)") }
            }
        case .berkeleyDB:
            try BerkeleyDBHashFile.forEachRecord(pages) { (key, blob) throws(BerkeleyDBHashFile.FormatError) in
                do { try decode(key, blob, into: &result) } catch {
                    throw BerkeleyDBHashFile.FormatError(description: "Berkeley DB record \(key): \(error)")
                }
            }
        }
        return result
    }

    /// Decodes a header blob of an ndb or Berkeley DB record; a blob that is not a header makes the whole
    /// database unreadable (a partial list must never pass for a complete one).
    private static func decode(_ key: UInt32, _ blob: [UInt8], into result: inout [Entry]) throws(RPMHeader.FormatError) {
        // rpm's Berkeley DB keeps a record 0 for its own bookkeeping (the next header number), not a header.
        if key == 0 && blob.count <= 8 { return }
        if let entry = package(from: try RPMHeader(blob)) { result.append(entry) }
    }

    /// One package's header as chainwatch uses it: the package, its files, and the digest recorded for each file
    /// (nil for directories, symlinks and ghosts) with the header's algorithm (nil when it names one not computed).
    public struct Entry: Sendable {
        public var package: InstalledPackage
        public var files: [String]
        public var digests: [[UInt8]?]
        public var algorithm: DigestAlgorithm?
        /// BUILDTIME and INSTALLTIME.
        public var dates: PackageDates
    }

    /// The packages, with their files, in an rpmdb.sqlite file's bytes.
    public static func parse(_ bytes: [UInt8]) throws -> [Entry] {
        try parse(DatabasePages(bytes))
    }

    static func parse(_ pages: DatabasePages) throws -> [Entry] {
        let file = try SQLiteFile(pages)
        var result: [Entry] = []
        try file.rows(rootPage: try file.rootPage(ofTable: "Packages")) { (rowid, values) throws(SQLiteFile.FormatError) in
            guard values.count >= 2, case .blob(let blob) = values[1] else { return }
            do {
                let header = try RPMHeader(blob)
                if let entry = package(from: header) { result.append(entry) }
            } catch {
                throw SQLiteFile.FormatError(description: "package header \(rowid): \(error)")
            }
        }
        return result
    }

    static func package(from header: RPMHeader) -> Entry? {
        guard let name = header.string(RPMHeader.Tag.name), let version = header.string(RPMHeader.Tag.version) else { return nil }
        var evr = version
        if let release = header.string(RPMHeader.Tag.release) { evr += "-" + release }
        // Epoch 0 and no epoch order the same; rules write versions without it.
        if let epoch = header.integers(RPMHeader.Tag.epoch).first, epoch > 0 { evr = "\(epoch):" + evr }
        let source = header.string(RPMHeader.Tag.sourceRPM).flatMap(sourceName) ?? name
        let directories = header.strings(RPMHeader.Tag.dirNames)
        let indexes = header.integers(RPMHeader.Tag.dirIndexes)
        let files = header.strings(RPMHeader.Tag.baseNames).enumerated().compactMap { index, base -> String? in
            guard index < indexes.count, Int(indexes[index]) < directories.count else { return nil }
            return directories[Int(indexes[index])] + base
        }
        let package = InstalledPackage(ecosystem: .rpm, name: name, version: evr, source: source,
                                       architecture: header.string(RPMHeader.Tag.arch) ?? "", state: "installed")
        // No FILEDIGESTALGO: rpm before 4.6 wrote MD5 digests only.
        let algorithmTag = header.integers(RPMHeader.Tag.fileDigestAlgorithm).first ?? 1
        let hexDigests = header.strings(RPMHeader.Tag.fileDigests)
        let digests = hexDigests.count == files.count ? hexDigests.map(bytes(ofHex:)) : []
        let built = header.integers(RPMHeader.Tag.buildTime).first.map { PackageDates.Built.known(Int64($0)) } ?? .unknown("no BUILDTIME in its header")
        let dates = PackageDates(origin: .rpmBuildTime, built: built, installed: header.integers(RPMHeader.Tag.installTime).first.map(Int64.init))
        return Entry(package: package, files: files, digests: digests, algorithm: DigestAlgorithm(rpm: algorithmTag), dates: dates)
    }

    /// Raw bytes of a lowercase or uppercase hex string; nil for an empty or malformed one.
    static func bytes(ofHex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x61...0x66: digit - 0x61 + 10
        case 0x41...0x46: digit - 0x41 + 10
        default: nil
        }
    }

    /// "xz-5.6.1-2.fc40.src.rpm" -> "xz": the file name without ".src.rpm" and its version and release.
    static func sourceName(_ sourceRPM: String) -> String? {
        var stem = Substring(sourceRPM)
        for suffix in [".src.rpm", ".nosrc.rpm"] where stem.hasSuffix(suffix) { stem = stem.dropLast(suffix.count) }
        let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        return parts.dropLast(2).joined(separator: "-")
    }
}

/// An rpm header as stored in the database: entry count and data size (big-endian), index entries of tag, type,
/// offset and count, then the data they point into.
struct RPMHeader {
    enum Tag {
        static let name: UInt32 = 1000, version: UInt32 = 1001, release: UInt32 = 1002, epoch: UInt32 = 1003
        static let arch: UInt32 = 1022, fileDigests: UInt32 = 1035, sourceRPM: UInt32 = 1044
        static let fileDigestAlgorithm: UInt32 = 5011
        static let buildTime: UInt32 = 1006, installTime: UInt32 = 1008
        static let dirIndexes: UInt32 = 1116, baseNames: UInt32 = 1117, dirNames: UInt32 = 1118
    }

    struct FormatError: Error, CustomStringConvertible {
        var description: String
    }

    private struct Entry {
        var type: UInt32
        var offset: Int
        var count: Int
    }

    private let data: [UInt8]
    private var entries: [UInt32: Entry] = [:]

    /// rpm's own bounds on a header (HEADER_I_MAX, HEADER_D_MAX), so a blob longer than `maximumSize` is no header.
    static let maximumEntries = 1 << 16, maximumData = 256 << 20
    static let maximumSize = 8 + 16 * maximumEntries + maximumData

    init(_ blob: [UInt8]) throws(FormatError) {
        func be32(_ offset: Int) -> UInt32 {
            blob[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        guard blob.count >= 8 else { throw FormatError(description: "\(blob.count) bytes, shorter than a header") }
        let indexCount = Int(be32(0)), dataSize = Int(be32(4))
        guard indexCount <= Self.maximumEntries, dataSize <= Self.maximumData, 8 + 16 * indexCount + dataSize <= blob.count else {
            throw FormatError(description: "\(indexCount) entries and \(dataSize) data bytes do not fit in \(blob.count) bytes")
        }
        let dataStart = 8 + 16 * indexCount
        data = Array(blob[dataStart..<dataStart + dataSize])
        for index in 0..<indexCount {
            let base = 8 + 16 * index
            let tag = be32(base), offset = Int(be32(base + 8)), count = Int(be32(base + 12))
            if entries[tag] == nil { entries[tag] = Entry(type: be32(base + 4), offset: offset, count: count) }
        }
    }

    /// A STRING (6) or the first of a STRING_ARRAY (8) / I18NSTRING (9).
    func string(_ tag: UInt32) -> String? {
        strings(tag).first
    }

    /// A STRING_ARRAY's strings (NUL-terminated, one after another); [] when absent or malformed.
    func strings(_ tag: UInt32) -> [String] {
        guard let entry = entries[tag], [6, 8, 9].contains(entry.type), entry.offset < data.count else { return [] }
        var result: [String] = []
        var position = entry.offset
        let wanted = entry.type == 6 ? 1 : min(entry.count, data.count)
        while result.count < wanted, position < data.count {
            guard let end = data[position...].firstIndex(of: 0) else { return [] }
            result.append(String(decoding: data[position..<end], as: UTF8.self))
            position = end + 1
        }
        return result.count == wanted ? result : []
    }

    /// An INT32 (4) array; [] when absent or malformed.
    func integers(_ tag: UInt32) -> [UInt32] {
        guard let entry = entries[tag], entry.type == 4, entry.count <= data.count / 4,
              entry.offset >= 0, entry.offset <= data.count - 4 * entry.count else { return [] }
        return (0..<entry.count).map { index in
            data[entry.offset + 4 * index..<entry.offset + 4 * index + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
    }
}
