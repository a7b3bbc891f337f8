import CLibArchive

/// Writes a tar (POSIX pax) archive of regular files into memory through libarchive: rule bundles.
public enum TarWriter {
    /// A tar holding `files` (name, bytes) in order, each a regular file of mode 0644 owned by root, with the
    /// given modification time.
    public static func archive(_ files: [(name: String, bytes: [UInt8])], modified: Int = 0) throws(ArchiveError) -> [UInt8] {
        guard let archive = archive_write_new() else { throw ArchiveError(message: "libarchive could not allocate a writer") }
        defer { archive_write_free(archive) }
        let sink = ByteSink()
        archive_write_set_format_pax_restricted(archive)
        // No padding to 10 KiB records: a bundle is exactly its members.
        archive_write_set_bytes_in_last_block(archive, 1)
        let client = Unmanaged.passUnretained(sink).toOpaque()
        func fail() -> ArchiveError {
            ArchiveError(message: "writing the tar: " + (archive_error_string(archive).map { String(cString: $0) } ?? "error"))
        }
        guard archive_write_open(archive, client, nil, { _, client, buffer, length in
            guard let client, let buffer else { return -1 }
            Unmanaged<ByteSink>.fromOpaque(client).takeUnretainedValue().bytes += UnsafeRawBufferPointer(start: buffer, count: length)
            return length
        }, nil) == cw_archive_ok else { throw fail() }
        for file in files {
            guard let entry = archive_entry_new() else { throw ArchiveError(message: "libarchive could not allocate an entry") }
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, file.name)
            archive_entry_set_size(entry, la_int64_t(file.bytes.count))
            archive_entry_set_filetype(entry, cw_ae_ifreg)
            archive_entry_set_perm(entry, 0o644)
            archive_entry_set_mtime(entry, time_t(modified), 0)
            guard archive_write_header(archive, entry) == cw_archive_ok else { throw fail() }
            let written = file.bytes.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
            guard written == file.bytes.count else { throw fail() }
        }
        guard archive_write_close(archive) == cw_archive_ok else { throw fail() }
        return sink.bytes
    }
}

private final class ByteSink {
    var bytes: [UInt8] = []
}
