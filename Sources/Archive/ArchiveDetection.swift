/// Which bytes are an archive or a compressed stream: by their first bytes, never by a name (a .tar.gz renamed
/// notes.txt is still one). libarchive then decides the format itself; a false match costs one failed open.
public enum ArchiveDetection {
    /// What the first bytes say; libarchive reads each of these.
    public enum Format: String, Sendable, CaseIterable {
        case gzip, xz, bzip2, zstd, lz4, lzip, lzma, compress, sevenZip = "7z", ar, rpm, zip, cpio, tar
    }

    /// How many first bytes `format(of:)` looks at (a tar header is 512 bytes).
    public static let headSize = 512

    private static let magics: [(format: Format, offset: Int, bytes: [UInt8])] = [
        (.gzip, 0, [0x1f, 0x8b]),
        (.xz, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
        (.bzip2, 0, [0x42, 0x5a, 0x68]),                     // "BZh"
        (.zstd, 0, [0x28, 0xb5, 0x2f, 0xfd]),
        (.lz4, 0, [0x04, 0x22, 0x4d, 0x18]),
        (.lzip, 0, Array("LZIP".utf8)),
        (.lzma, 0, [0x5d, 0x00, 0x00]),                      // lzma_alone: lc/lp/pb 3/0/2, then the dictionary size
        (.compress, 0, [0x1f, 0x9d]),
        (.sevenZip, 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]),
        (.ar, 0, Array("!<arch>\n".utf8)),                   // .deb, static libraries
        (.rpm, 0, [0xed, 0xab, 0xee, 0xdb]),                 // the rpm lead
        (.zip, 0, [0x50, 0x4b, 0x03, 0x04]),                 // .zip, .jar, .whl, .apk (Android)
        (.cpio, 0, Array("07070".utf8)),                     // odc 070707, newc 070701, crc 070702
        (.cpio, 0, [0xc7, 0x71]),                            // binary cpio, little-endian 070707
        (.cpio, 0, [0x71, 0xc7]),                            // binary cpio, big-endian
        (.tar, 257, Array("ustar".utf8)),                    // POSIX ustar and GNU tar
    ]

    /// The format `head` (a file's or member's first bytes, at least `headSize` of them when it has that many)
    /// starts like, or nil.
    public static func format(of head: [UInt8]) -> Format? {
        for magic in magics where head.count >= magic.offset + magic.bytes.count {
            if head[magic.offset..<magic.offset + magic.bytes.count].elementsEqual(magic.bytes) { return magic.format }
        }
        return isV7TarHeader(head) ? .tar : nil
    }

    public static func isArchive(head: [UInt8]) -> Bool { format(of: head) != nil }

    /// A pre-POSIX tar header has no magic: its checksum field (octal, at 148) must equal the sum of the header's
    /// bytes with that field counted as spaces, and the name must not be empty.
    static func isV7TarHeader(_ head: [UInt8]) -> Bool {
        guard head.count >= 512, head[0] != 0 else { return false }
        var stored = 0
        var digits = 0
        for byte in head[148..<156] {
            if byte == 0x20 && digits == 0 { continue }
            guard byte >= 0x30 && byte <= 0x37 else {
                guard byte == 0 || byte == 0x20 else { return false }
                break
            }
            stored = stored * 8 + Int(byte - 0x30)
            digits += 1
        }
        guard digits > 0 else { return false }
        var sum = 0
        for (offset, byte) in head[0..<512].enumerated() {
            sum += (148..<156).contains(offset) ? 0x20 : Int(byte)
        }
        return sum == stored
    }
}
