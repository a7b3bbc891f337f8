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
