/// The start of a gzip file's content, decompressed in memory through libarchive (its gzip filter and raw format),
/// for small files read whole such as a Debian changelog.gz. Only gzip is accepted: plain text, another filter or an
/// archive is an error, so the caller never takes a file's raw bytes for its content.
public enum Gunzip {
    /// Up to `limit` bytes (at most one 16 KiB block more) of the content of `compressed`, a whole gzip file or its
    /// first bytes, or less once `enough` says the content so far is all the caller needs. Reading stops at
    /// `limit`, so a decompression bomb costs no more than a real file; a stream that ends early or is corrupt
    /// before reading stops is an error.
    public static func prefix(of compressed: [UInt8], limit: Int, label: String,
                              enough: ([UInt8]) -> Bool = { _ in false }) throws(ArchiveError) -> [UInt8] {
        guard compressed.count >= 2, compressed[0] == 0x1f, compressed[1] == 0x8b else {
            throw ArchiveError(message: "\(label): not gzip (no gzip magic)")
        }
        var handed = false
        let reader = try ArchiveReader(label: label, formats: .gzipData) {
            defer { handed = true }
            return handed ? [] : compressed
        }
        guard try reader.next() != nil else { throw ArchiveError(message: "\(label): empty gzip stream") }
        guard reader.isRawData, reader.filterNames == ["gzip"] else {
            throw ArchiveError(message: "\(label): not a gzip-compressed file (\(reader.formatName), filters \(reader.filterNames))")
        }
        var content: [UInt8] = []
        while content.count < limit {
            let block = try reader.readBlock(size: 16 << 10)
            if block.isEmpty { break }
            content += block
            if enough(content) { break }
        }
        return content
    }
}
