import HostIO

/// /etc/ld.so.cache in glibc's binary format: the loader's name-to-path table, read (never written) here.
///
/// Layout (glibc elf/cache.c): optionally the old "ld.so-1.7.0" table, then the "glibc-ld.so.cache1.1" header
/// (48 bytes) and 24-byte entries {flags, key, value, osversion, hwcap}; key and value are offsets of
/// NUL-terminated strings from the start of the new header.
public struct LoaderCache: Sendable {
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var path: String
        public var flags: Int32
    }

    public var entries: [Entry] = []

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case unknownFormat
        case truncated

        public var description: String {
            switch self {
            case .unknownFormat: return "not a glibc ld.so.cache (unknown magic)"
            case .truncated: return "truncated"
            }
        }
    }

    static let oldMagic = Array("ld.so-1.7.0".utf8)
    static let newMagic = Array("glibc-ld.so.cache1.1".utf8)

    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> LoaderCache {
        var base = 0
        if bytes.starts(with: oldMagic) {
            // struct cache_file { char magic[11]; uint32 nlibs; } then nlibs * 12-byte entries, new format aligned to 8.
            guard let count = bytes.uint32(at: 12) else { throw .truncated }
            let end = 16 + Int(count) * 12
            base = (end + 7) & ~7
            guard base <= bytes.count else { throw .truncated }
            if !bytes[base...].starts(with: newMagic) { throw .unknownFormat }
        } else if !bytes.starts(with: newMagic) {
            throw .unknownFormat
        }
        guard let count = bytes.uint32(at: base + 20) else { throw .truncated }
        let entriesStart = base + 48
        // Each entry takes 24 bytes; a count the file cannot hold is a lie, not an allocation request.
        guard Int(count) <= (bytes.count - entriesStart) / 24 else { throw .truncated }
        var cache = LoaderCache()
        cache.entries.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            let at = entriesStart + index * 24
            guard let flags = bytes.uint32(at: at), let key = bytes.uint32(at: at + 4),
                  let value = bytes.uint32(at: at + 8),
                  let name = bytes.cString(at: base + Int(key)), let path = bytes.cString(at: base + Int(value)) else {
                throw .truncated
            }
            cache.entries.append(Entry(name: name, path: path, flags: Int32(bitPattern: flags)))
        }
        return cache
    }

    /// The cache's path for `name` for an object of this class and machine, as the loader would pick it.
    /// ldconfig lists glibc-hwcaps entries first; the loader skips those of a level the CPU lacks, so an entry in
    /// a glibc-hwcaps subdirectory counts only if that subdirectory is in `hwcaps` (nil: the cache's first entry).
    public func lookup(_ name: String, fileClass: ELFClassAndMachine, hwcaps: [String]? = nil) -> String? {
        entries.first { entry in
            guard entry.name == name, fileClass.acceptsCacheFlags(entry.flags) else { return false }
            guard let hwcaps, let range = entry.path.firstRange(of: "/glibc-hwcaps/") else { return true }
            let subdirectory = entry.path[range.upperBound...].split(separator: "/").first.map(String.init) ?? ""
            return hwcaps.contains("glibc-hwcaps/" + subdirectory)
        }?.path
    }
}

/// Which ld.so.cache entries suit an object: the loader only takes libraries of its own class and machine.
public struct ELFClassAndMachine: Sendable, Hashable {
    public var is64Bit: Bool
    public var machine: UInt16

    public init(is64Bit: Bool, machine: UInt16) {
        self.is64Bit = is64Bit
        self.machine = machine
    }

    /// glibc's FLAG_ELF_LIBC6 (3) with the per-architecture bits (FLAG_X8664_LIB64 0x300, FLAG_AARCH64_LIB64 0xa00...).
    func acceptsCacheFlags(_ flags: Int32) -> Bool {
        guard flags & 0xff == 3 else { return false }
        let required: Int32
        switch (machine, is64Bit) {
        case (62, true): required = 0x0300      // x86-64
        case (62, false): required = 0x0800     // x32
        case (183, _): required = 0x0a00        // aarch64
        case (50, _): required = 0x0100         // ia64
        case (43, true): required = 0x0200      // sparc64
        case (21, _): required = 0x0500         // ppc64
        case (22, true): required = 0x0400      // s390x
        case (243, true): required = 0x0f00     // riscv64 (double float)
        default: required = 0
        }
        return flags & 0xff00 == required
    }
}

extension Array where Element == UInt8 {
    func uint32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= count else { return nil }
        return UInt32(self[offset]) | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 3]) << 24
    }

    func cString(at offset: Int, limit: Int = 4096) -> String? {
        guard offset >= 0, offset < count else { return nil }
        let end = Swift.min(count, offset + limit)
        guard let terminator = self[offset..<end].firstIndex(of: 0) else { return nil }
        return String(decoding: self[offset..<terminator], as: UTF8.self)
    }
}
