import HostIO

/// One line of /proc/PID/maps that maps a file.
public struct MemoryMapping: Sendable, Hashable {
    public var start: UInt64
    public var end: UInt64
    public var isExecutable: Bool
    /// The file offset mapped at `start`.
    public var offset: UInt64 = 0
    /// st_dev as the kernel reports it ("fd:01" becomes makedev(0xfd, 0x01)).
    public var device: UInt64
    public var inode: UInt64
    /// The path as the kernel printed it, with " (deleted)" removed and its octal escapes (\012) decoded.
    public var path: String
    public var isDeleted: Bool

    public var identity: FileIdentity { FileIdentity(device: device, inode: inode) }

    /// The /proc/PID/map_files entry name for this mapping.
    public var mapFilesName: String { String(start, radix: 16) + "-" + String(end, radix: 16) }
}

/// Parser for /proc/PID/maps text. Pure, so it can be fuzzed and tested without /proc. It works on bytes: a
/// daemon scan where nothing changed is mostly this parse, over every line of every process.
public enum MemoryMapParser {
    /// The file-backed mappings in `text`. Anonymous, `[heap]`-style and malformed lines are skipped.
    public static func parse(_ text: String, executableOnly: Bool = false) -> [MemoryMapping] {
        parse(bytes: Array(text.utf8), executableOnly: executableOnly)
    }

    public static func parse(bytes: [UInt8], executableOnly: Bool = false) -> [MemoryMapping] {
        var work = ParseWork()
        return parse(bytes: bytes, executableOnly: executableOnly, work: &work)
    }

    /// `parse(bytes:)`, adding to `work` each line it splits `bytes` into and the bytes its passes over each line
    /// look at (the tests bound these: a parse is linear in its input).
    static func parse(bytes: [UInt8], executableOnly: Bool, work: inout ParseWork) -> [MemoryMapping] {
        var result: [MemoryMapping] = []
        ByteSearch.forEachLine(in: bytes) { line in
            work.lines += 1
            if let mapping = parseLine(bytes[line], executableOnly: executableOnly, examined: &work.examined) {
                result.append(mapping)
            }
        }
        return result
    }

    private static let space = UInt8(ascii: " ")

    /// Executable mappings backed by no file (anonymous memory, `[heap]`, `[stack]`): code that is in no file.
    /// The kernel's own `[vdso]` and `[vsyscall]` are not counted.
    public static func anonymousExecutable(in bytes: [UInt8]) -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        ByteSearch.forEachLine(in: bytes) { line in
            if let range = anonymousExecutable(line: bytes[line]) { ranges.append(range) }
        }
        return ranges
    }

    /// One line's part of `anonymousExecutable(in:)`.
    public static func anonymousExecutable(line: ArraySlice<UInt8>) -> Range<UInt64>? {
        let fields = line.split(separator: space, maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5, fields[1].count == 4, fields[1][fields[1].startIndex + 2] == UInt8(ascii: "x"),
              fields[4].elementsEqual([UInt8(ascii: "0")]), let (start, end) = pair(fields[0], separator: "-"), start < end
        else { return nil }
        let name = fields.count > 5 ? String(decoding: fields[5], as: UTF8.self)[...].trimmingCharacters(in: " ") : ""
        if name == "[vdso]" || name == "[vsyscall]" || name.hasPrefix("/") { return nil }
        return start..<end
    }

    /// The address range of a kernel-provided mapping such as `[vdso]`, which has no file: an IFUNC in libc may
    /// resolve to the vDSO's code (time, gettimeofday, clock_gettime on x86-64).
    public static func range(named name: String, in bytes: [UInt8]) -> Range<UInt64>? {
        var found: Range<UInt64>?
        ByteSearch.forEachLine(in: bytes) { line in
            if found == nil { found = range(named: name, line: bytes[line]) }
        }
        return found
    }

    /// One line's part of `range(named:in:)`.
    public static func range(named name: String, line text: ArraySlice<UInt8>) -> Range<UInt64>? {
        let suffix = name.utf8
        guard text.count > suffix.count, text.suffix(suffix.count).elementsEqual(suffix),
              let space = text.firstIndex(of: space),
              let (start, end) = pair(text[text.startIndex..<space], separator: "-"), start < end else { return nil }
        return start..<end
    }

    static func parseLine(_ line: ArraySlice<UInt8>, executableOnly: Bool, examined: inout Int) -> MemoryMapping? {
        // address perms offset dev inode [spaces] pathname
        var fields: [Range<Int>] = []
        var position = line.startIndex
        // The field scan only moves forward: it looks at the bytes before `position` and the one at it.
        defer { examined += position - line.startIndex + 1 }
        for _ in 0..<5 {
            while position < line.endIndex, line[position] == space { position += 1 }
            let start = position
            while position < line.endIndex, line[position] != space { position += 1 }
            guard position < line.endIndex, position > start else { return nil }
            fields.append(start..<position)
        }
        let permissions = line[fields[1]]
        guard permissions.count == 4 else { return nil }
        let isExecutable = permissions[permissions.startIndex + 2] == UInt8(ascii: "x")
        if executableOnly && !isExecutable { return nil }
        while position < line.endIndex, line[position] == space { position += 1 }
        guard position < line.endIndex, line[position] == UInt8(ascii: "/") else { return nil }
        guard let (start, end) = pair(line[fields[0]], separator: "-"),
              let offset = number(line[fields[2]], radix: 16),
              let (major, minor) = pair(line[fields[3]], separator: ":"),
              let inode = number(line[fields[4]], radix: 10), inode != 0 else { return nil }
        var path = line[position...]
        let deletedSuffix = Array(" (deleted)".utf8)
        let isDeleted = path.count > deletedSuffix.count && path.suffix(deletedSuffix.count).elementsEqual(deletedSuffix)
        examined += deletedSuffix.count
        if isDeleted { path = path.dropLast(deletedSuffix.count) }
        let decoded = unescape(path, examined: &examined)
        return MemoryMapping(
            start: start, end: end, isExecutable: isExecutable, offset: offset,
            device: makeDevice(major: major, minor: minor), inode: inode,
            path: decoded, isDeleted: isDeleted)
    }

    /// The device and inode of a line, and whether it is executable, without decoding its path: a process that maps
    /// one file 20,000 times has its path decoded once.
    static func identity(ofLine line: ArraySlice<UInt8>) -> (FileIdentity, isExecutable: Bool)? {
        let fields = line.split(separator: space, maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5, fields[1].count == 4, let (major, minor) = pair(fields[3], separator: ":"),
              let inode = number(fields[4], radix: 10) else { return nil }
        return (FileIdentity(device: makeDevice(major: major, minor: minor), inode: inode),
                fields[1][fields[1].startIndex + 2] == UInt8(ascii: "x"))
    }

    /// "7f00-7f10" or "fd:01": two hexadecimal numbers around one separator.
    private static func pair(_ field: ArraySlice<UInt8>, separator: Character) -> (UInt64, UInt64)? {
        guard let split = field.firstIndex(of: UInt8(ascii: separator.unicodeScalars.first!)),
              let first = number(field[..<split], radix: 16),
              let second = number(field[(split + 1)...], radix: 16) else { return nil }
        return (first, second)
    }

    /// Digits only (no sign, no prefix), at most what fits in 64 bits.
    private static func number(_ digits: ArraySlice<UInt8>, radix: UInt64) -> UInt64? {
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            let d: UInt64
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt64(digit - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt64(digit - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt64(digit - UInt8(ascii: "A") + 10)
            default: return nil
            }
            guard d < radix else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: radix)
            let (sum, overflow2) = times.addingReportingOverflow(d)
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// glibc's makedev: the st_dev value for a major:minor pair.
    public static func makeDevice(major: UInt64, minor: UInt64) -> UInt64 {
        ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
    }

    /// The kernel prints a newline in a mapped path as `\012` (seq_path escapes "\n"); decode octal escapes.
    /// - Parameter examined: adds the bytes looked at: the search for a backslash, each step of the decoding
    ///   (with the three it looks ahead at a backslash) and the bytes made into the String.
    static func unescape(_ path: ArraySlice<UInt8>, examined: inout Int) -> String {
        examined += path.count
        guard path.contains(UInt8(ascii: "\\")) else {
            examined += path.count
            return String(decoding: path, as: UTF8.self)
        }
        var bytes: [UInt8] = []
        var index = path.startIndex
        while index < path.endIndex {
            examined += 1
            if path[index] == UInt8(ascii: "\\"), index + 3 < path.endIndex {
                examined += 3
                if let value = octal(path[(index + 1)...(index + 3)]) {
                    bytes.append(value)
                    index += 4
                    continue
                }
            }
            bytes.append(path[index])
            index += 1
        }
        examined += bytes.count
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

/// What one parse of a text examined, for tests that bound a parser's work without a clock: the lines it split the
/// text into, and the units (bytes, characters or words, as each parser documents) its passes over those lines
/// looked at, counted once per pass.
struct ParseWork: Equatable, Sendable {
    var lines = 0
    var examined = 0
}
