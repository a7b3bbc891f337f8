import CLibArchive

/// A libarchive failure: what it said, and for which archive.
public struct ArchiveError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}

/// One member of an archive, as its header describes it. Nothing here has been written anywhere.
public struct ArchiveMember: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case regular, directory, symlink, hardlink, characterDevice = "character device", blockDevice = "block device"
        case fifo, socket, unknown
    }

    /// The member's name as the archive stores it (may be absolute or contain `..`: it is never used as a path).
    public var name: String
    public var kind: Kind
    /// The size the header declares; nil when the format does not say (some zip and cpio members).
    public var size: Int64?
    public var permissions: UInt32
    /// For a symlink, its target; for a hard link, the member it links to.
    public var linkTarget: String?
    /// The number of names the file has, when the format records it (cpio and rpm payloads; 0 when not). cpio
    /// stores a multiply-linked file's bytes with its last name, the earlier names with none.
    public var links: UInt32 = 0

    /// Whether the header promises bytes to read: a regular file, or a hard link that carries its file's bytes (the
    /// last name of a cpio or rpm payload's multiply-linked file; a tar hard link has none).
    public var hasData: Bool { kind == .regular || (kind == .hardlink && (size ?? 0) > 0) }
}

/// Reads archives through libarchive: every format and filter it was built with (tar, ustar, pax, gnutar, cpio,
/// ar, zip, 7z, rpm; gzip, bzip2, xz, lzma, zstd, lz4), streamed. The one place chainwatch touches libarchive.
public final class ArchiveReader {
    private let archive: OpaquePointer
    private let label: String
    /// Where the archive's bytes come from, kept alive as long as libarchive may call it.
    private var source: BlockSource?
    private var isOpen = false
    /// The header of the member `next()` returned last (libarchive owns it until the next call).
    private var current: OpaquePointer?

    /// Reads the archive whose bytes `next` returns, a block at a time (an empty block at the end; a throw is a
    /// read error). The caller sees every byte it hands over, so it can hash and search the archive file itself in
    /// the same pass that decompresses it.
    public init(label: String, formats: Formats = .all, next: @escaping () throws -> [UInt8]) throws(ArchiveError) {
        guard let archive = archive_read_new() else { throw ArchiveError(message: "\(label): libarchive could not allocate a reader") }
        self.archive = archive
        self.label = label
        switch formats {
        case .all: Self.enableEverything(archive)
        case .gzipData:
            archive_read_support_filter_gzip(archive)
            archive_read_support_format_raw(archive)
        }
        let source = BlockSource(next: next)
        self.source = source
        let client = Unmanaged.passUnretained(source).toOpaque()
        let status = archive_read_open(archive, client, nil, { _, client, buffer in
            guard let client, let buffer else { return -1 }
            return Unmanaged<BlockSource>.fromOpaque(client).takeUnretainedValue().read(into: buffer)
        }, nil)
        isOpen = true
        if status != cw_archive_ok && status != cw_archive_warn { throw failure() }
    }

    /// Reads an archive that is the current member of `parent` (a .tar.xz inside a .tar.gz, data.tar inside a
    /// .deb), streamed from the parent's decompressed bytes: nothing is written out. `observe` sees those bytes as
    /// they pass (the member's own hash); `finish()` reads the rest when the nested walk stops early.
    public convenience init(member parent: ArchiveReader, label: String,
                            observe: @escaping (ArraySlice<UInt8>) -> Void = { _ in }) throws(ArchiveError) {
        try self.init(label: label) {
            let block = try parent.readBlock()
            observe(block[...])
            return block
        }
    }

    deinit {
        if isOpen { archive_read_close(archive) }
        archive_read_free(archive)
    }

    /// What the reader recognises.
    public enum Formats: Sendable {
        /// Every format and filter libarchive was built with.
        case all
        /// Only gzip-compressed data, one member named "data": no format bidding, so content that happens to look
        /// like an archive (a run of zeros is an empty tar) is still read as data.
        case gzipData
    }

    private static func enableEverything(_ archive: OpaquePointer) {
        archive_read_support_filter_all(archive)
        archive_read_support_format_all(archive)
        // A file that is only compressed (a lone .xz, .gz) is one member named "data".
        archive_read_support_format_raw(archive)
    }

    /// The next member's header, or nil at the end of the archive.
    public func next() throws(ArchiveError) -> ArchiveMember? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(archive, &entry)
        if status == cw_archive_eof { return nil }
        if status != cw_archive_ok && status != cw_archive_warn { throw failure() }
        guard let entry else { throw ArchiveError(message: "\(label): libarchive returned no header") }
        current = entry
        let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let type = UInt32(archive_entry_filetype(entry)) & cw_ae_ifmt
        let hardlink = archive_entry_hardlink(entry).map { String(cString: $0) }
        let kind: ArchiveMember.Kind
        switch type {
        case _ where hardlink != nil: kind = .hardlink
        case cw_ae_ifreg: kind = .regular
        case cw_ae_ifdir: kind = .directory
        case cw_ae_iflnk: kind = .symlink
        case cw_ae_ifchr: kind = .characterDevice
        case cw_ae_ifblk: kind = .blockDevice
        case cw_ae_ififo: kind = .fifo
        case cw_ae_ifsock: kind = .socket
        default: kind = .unknown
        }
        let size = archive_entry_size_is_set(entry) != 0 ? Int64(archive_entry_size(entry)) : nil
        let target = kind == .symlink ? archive_entry_symlink(entry).map { String(cString: $0) } : hardlink
        return ArchiveMember(name: name, kind: kind, size: size, permissions: UInt32(archive_entry_perm(entry)) | (UInt32(archive_entry_mode(entry)) & 0o7000),
                             linkTarget: target, links: UInt32(archive_entry_nlink(entry)))
    }


    /// Writes the current member (a regular file, directory, symlink or hard link) at `path` through `disk`, a hard
    /// link pointing at `linkPath`. Its owner and setuid/setgid/sticky bits are not restored; see `DiskWriter`.
    /// - Parameter keep: for a regular file, decides from its first bytes (at most one block; empty for an empty
    ///   file) whether it is written at all; a file not kept is skipped, nothing of it written.
    /// - Returns: whether the member was written.
    @discardableResult
    public func extractCurrent(to disk: DiskWriter, path: String, linkPath: String? = nil,
                               keep: (([UInt8]) -> Bool)? = nil) throws(ArchiveError) -> Bool {
        guard let current, let entry = archive_entry_clone(current) else {
            throw ArchiveError(message: "\(label): no member to extract")
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, path)
        if let linkPath { archive_entry_set_hardlink(entry, linkPath) }
        let hasData = archive_entry_size(entry) > 0 && linkPath == nil
        var block: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        var pending = false
        if let keep, linkPath == nil, UInt32(archive_entry_filetype(entry)) & cw_ae_ifmt == cw_ae_ifreg {
            var head: [UInt8] = []
            if hasData {
                let read = archive_read_data_block(archive, &block, &size, &offset)
                if read != cw_archive_ok && read != cw_archive_warn && read != cw_archive_eof { throw failure() }
                if read != cw_archive_eof, let block { head = Array(UnsafeRawBufferPointer(start: block, count: size)) }
                pending = read != cw_archive_eof
            }
            guard keep(head) else { return false }
        }
        let status = archive_write_header(disk.archive, entry)
        if status != cw_archive_ok && status != cw_archive_warn { throw disk.failure(path) }
        if pending, archive_write_data_block(disk.archive, block, size, offset) < 0 { throw disk.failure(path) }
        if hasData {
            while true {
                let read = archive_read_data_block(archive, &block, &size, &offset)
                if read == cw_archive_eof { break }
                if read != cw_archive_ok && read != cw_archive_warn { throw failure() }
                if archive_write_data_block(disk.archive, block, size, offset) < 0 { throw disk.failure(path) }
            }
        }
        if archive_write_finish_entry(disk.archive) != cw_archive_ok { throw disk.failure(path) }
        return true
    }

    /// The rest of the source's bytes, so whatever observes them saw all of them however far the walk got (the
    /// hash of an archive whose last members were not read).
    public func finish() throws {
        guard let source else { return }
        while try !source.pull().isEmpty {}
    }

    /// The current member's next block of bytes, at most `size`; empty at its end.
    public func readBlock(size: Int = 256 * 1024) throws(ArchiveError) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: size)
        let count = block.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
        if count < 0 { throw failure() }
        block.removeLast(block.count - count)
        return block
    }

    /// The format of the archive (after the first header): "GNU tar format", "ar (GNU/SVR4)", "RAW"...
    public var formatName: String { archive_format_name(archive).map { String(cString: $0) } ?? "unknown" }

    /// Whether libarchive found no archive format in the bytes, only data (its "raw" format: one member named
    /// "data", after the filters: a lone .xz or .gz). With no filter either, that member is the input byte for
    /// byte: not an archive at all.
    public var isRawData: Bool { formatName.lowercased() == "raw" }

    /// The filters (decompressors) applied, outermost first: ["gzip"], ["xz"], [] for none.
    public var filterNames: [String] {
        (0..<archive_filter_count(archive)).compactMap { index in
            archive_filter_name(archive, index).map { String(cString: $0) }
        }.filter { $0 != "none" }
    }

    /// Bytes of compressed input consumed so far, against `uncompressedBytes` produced: a decompression bomb shows
    /// as a ratio no real archive has.
    public var compressedBytes: Int64 { archive_filter_bytes(archive, -1) }
    public var uncompressedBytes: Int64 { archive_filter_bytes(archive, 0) }

    private func check(_ status: Int32) throws(ArchiveError) {
        if status != cw_archive_ok && status != cw_archive_warn { throw failure() }
    }

    private func failure() -> ArchiveError {
        if let error = source?.error { return ArchiveError(message: "\(label): \(error)") }
        let reason = archive_error_string(archive).map { String(cString: $0) } ?? "error \(archive_errno(archive))"
        return ArchiveError(message: "\(label): \(reason)")
    }
}

/// Hands libarchive the blocks a closure returns. The block stays put until the next call, which is what
/// libarchive requires of a read callback's buffer; a closure that throws ends the archive with a read error.
private final class BlockSource {
    let next: () throws -> [UInt8]
    private var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
    private var ended = false
    var error: Error?

    init(next: @escaping () throws -> [UInt8]) {
        self.next = next
    }

    deinit { storage.deallocate() }

    func pull() throws -> [UInt8] {
        guard !ended else { return [] }
        let bytes = try next()
        if bytes.isEmpty { ended = true }
        return bytes
    }

    func read(into pointer: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        let block: [UInt8]
        do {
            block = try pull()
        } catch {
            self.error = error
            return -1
        }
        if block.count > storage.count {
            storage.deallocate()
            storage = UnsafeMutableRawBufferPointer.allocate(byteCount: block.count, alignment: 16)
        }
        block.withUnsafeBytes { storage.copyMemory(from: $0) }
        pointer.pointee = UnsafeRawPointer(storage.baseAddress)
        return block.count
    }
}

/// libarchive's disk writer, set up so nothing an archive says can reach outside the paths chainwatch gives it:
/// no write through a symlink (intermediate symlinks are removed, not followed), no `..`, existing files unlinked
/// rather than written through (a hard link), no owner, no setuid, setgid or sticky bit, no device node (those
/// members are never passed to it).
public final class DiskWriter {
    fileprivate let archive: OpaquePointer

    public init() throws(ArchiveError) {
        guard let archive = archive_write_disk_new() else { throw ArchiveError(message: "libarchive could not allocate a disk writer") }
        self.archive = archive
        archive_write_disk_set_options(archive, Int32(cw_extract_secure_options))
    }

    deinit {
        archive_write_close(archive)
        archive_write_free(archive)
    }

    fileprivate func failure(_ path: String) -> ArchiveError {
        let reason = archive_error_string(archive).map { String(cString: $0) } ?? "error \(archive_errno(archive))"
        return ArchiveError(message: "\(path): \(reason)")
    }
}
