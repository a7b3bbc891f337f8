/// One line of /proc/PID/maps that maps a file.
public struct MemoryMapping: Sendable, Hashable {
    public var start: UInt64
    public var end: UInt64
    public var isExecutable: Bool
    /// st_dev as the kernel reports it ("fd:01" becomes makedev(0xfd, 0x01)).
    public var device: UInt64
    public var inode: UInt64
    /// The path as the kernel printed it, with " (deleted)" removed and its octal escapes (\012) decoded.
    public var path: String
    public var isDeleted: Bool

    /// The /proc/PID/map_files entry name for this mapping.
    public var mapFilesName: String { String(start, radix: 16) + "-" + String(end, radix: 16) }
}

/// Parser for /proc/PID/maps text. Pure, so it can be fuzzed and tested without /proc.
public enum MemoryMapParser {
    /// The file-backed mappings in `text`. Anonymous, `[heap]`-style and malformed lines are skipped.
    public static func parse(_ text: String) -> [MemoryMapping] {
        var result: [MemoryMapping] = []
        for line in text.split(separator: "\n") {
            if let mapping = parseLine(line) { result.append(mapping) }
        }
        return result
    }

    static func parseLine(_ line: Substring) -> MemoryMapping? {
        // address perms offset dev inode [spaces] pathname
        var fields: [Substring] = []
        var rest = line[...]
        for _ in 0..<5 {
            rest = rest.drop(while: { $0 == " " })
            guard let end = rest.firstIndex(of: " ") else { return nil }
            fields.append(rest[..<end])
            rest = rest[end...]
        }
        let pathField = rest.drop(while: { $0 == " " })
        guard pathField.first == "/" else { return nil }
        let range = fields[0].split(separator: "-")
        let device = fields[3].split(separator: ":")
        guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
              fields[1].count == 4, device.count == 2,
              let major = UInt64(device[0], radix: 16), let minor = UInt64(device[1], radix: 16),
              let inode = UInt64(fields[4]), inode != 0 else { return nil }
        var path = String(pathField)
        let deletedSuffix = " (deleted)"
        let isDeleted = path.hasSuffix(deletedSuffix)
        if isDeleted { path.removeLast(deletedSuffix.count) }
        return MemoryMapping(
            start: start, end: end, isExecutable: fields[1].dropFirst(2).first == "x",
            device: makeDevice(major: major, minor: minor), inode: inode,
            path: unescape(path), isDeleted: isDeleted)
    }

    /// glibc's makedev: the st_dev value for a major:minor pair.
    public static func makeDevice(major: UInt64, minor: UInt64) -> UInt64 {
        ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
    }

    /// The kernel prints a newline in a mapped path as `\012` (seq_path escapes "\n"); decode octal escapes.
    static func unescape(_ path: String) -> String {
        guard path.contains("\\") else { return path }
        var bytes: [UInt8] = []
        let utf8 = Array(path.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
               let value = octal(utf8[(index + 1)...(index + 3)]) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value: UInt16 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + UInt16(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }
}
