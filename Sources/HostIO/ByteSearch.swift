#if canImport(Glibc)
import Glibc
#endif

/// Fast substring search over bytes (memchr for the first byte, memcmp for the rest), for byte-signature anchors.
/// memmem would be faster still but is a GNU extension the Glibc module does not export.
public enum ByteSearch {
    /// Offsets of every occurrence of `needle` in `haystack`, at most `limit` of them.
    public static func occurrences(of needle: [UInt8], in haystack: [UInt8], limit: Int = 1024) -> [Int] {
        guard !needle.isEmpty, needle.count <= haystack.count else { return [] }
        var result: [Int] = []
        haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                var offset = 0
                while offset + pin.count <= hay.count, result.count < limit {
                    let last = hay.count - pin.count
                    guard let found = memchr(hay.baseAddress! + offset, Int32(pin[0]), last - offset + 1) else { break }
                    let position = hay.baseAddress!.distance(to: UnsafeRawPointer(found))
                    if memcmp(hay.baseAddress! + position, pin.baseAddress!, pin.count) == 0 { result.append(position) }
                    offset = position + 1
                }
            }
        }
        return result
    }
}

extension ByteSearch {
    /// Calls `body` with the range of each line of `bytes` (without its newline; a last line needs none), using
    /// memchr: package file lists run to megabytes and are read every scan.
    public static func forEachLine(in bytes: [UInt8], _ body: (Range<Int>) -> Void) {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var start = 0
            while start < buffer.count {
                let end: Int
                if let newline = memchr(base + start, 0x0A, buffer.count - start) {
                    end = base.distance(to: UnsafeRawPointer(newline))
                } else {
                    end = buffer.count
                }
                body(start..<end)
                start = end + 1
            }
        }
    }
}

/// A 64-bit digest of a byte string with Swift's per-process random SipHash seed: files cannot be crafted to
/// collide, and two equal strings always agree within one process (nothing is stored across runs).
public enum ByteHash {
    public static func of(_ bytes: ArraySlice<UInt8>) -> Int {
        var hasher = Hasher()
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        return hasher.finalize()
    }

    public static func of(_ string: String) -> Int {
        of(ArraySlice(string.utf8))
    }
}
