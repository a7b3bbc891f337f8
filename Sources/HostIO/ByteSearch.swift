#if canImport(Glibc)
import Glibc
#endif

/// Byte-level helpers for parsers that read large files every scan.
public enum ByteSearch {
    /// Calls `body` with the range of each line of `bytes` (without its newline; a last line needs none), using
    /// memchr: package file lists run to megabytes and are read every scan.
    /// The first index of `byte` in `bytes[range]` (memchr), or nil.
    public static func index(of byte: UInt8, in bytes: [UInt8], _ range: Range<Int>) -> Int? {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        return bytes.withUnsafeBytes { buffer -> Int? in
            guard let base = buffer.baseAddress, !range.isEmpty,
                  let found = memchr(base + range.lowerBound, Int32(byte), range.count) else { return nil }
            return base.distance(to: UnsafeRawPointer(found))
        }
    }

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

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal, two digits a byte: how digests are shown and compared everywhere.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
