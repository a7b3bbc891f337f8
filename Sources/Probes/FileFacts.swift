import Crypto
import ELFReader
import HostIO

/// What the scan learned about one file, read once: its identity, hash and, where asked, ELF facts.
public struct FileFacts: Sendable {
    public var identity: FileIdentity
    public var status: FileStatus
    public var sha256: String
    public var elf: ELFInfo?
    /// Why `elf` is nil when ELF facts were wanted (not ELF, malformed, too large).
    public var elfProblem: String?
    /// Ids of the byte patterns found in the file, as reported by the scan's byte matcher.
    public var byteMatches: [String] = []
    /// Whether the byte matcher saw this file's bytes (files read for a hash only are not scanned).
    public var bytesScanned = false
    /// Whether ELF parsing was attempted.
    public var elfParsed: Bool { elf != nil || elfProblem != nil }

    /// Whether these facts answer `request` (a cached or earlier read may have been for less).
    public func satisfies(_ request: InspectionRequest) -> Bool {
        if request.scanBytes && !bytesScanned { return false }
        if request.parseELF && !elfParsed { return false }
        if request.parseELF && request.readSymbols, let elf, !elf.symbolsRead { return false }
        return true
    }
}

/// What to learn about a file beyond its hash.
public struct InspectionRequest: Sendable {
    public var parseELF: Bool
    /// With `parseELF`: also read symbol tables (an ELF rule names the file), not only the loader's facts.
    public var readSymbols: Bool
    /// Read the bytes for the byte matcher.
    public var scanBytes: Bool
    /// The file's names (path base names, sonames): which byte rules apply depends on them.
    public var names: [String]

    public init(parseELF: Bool, readSymbols: Bool = true, scanBytes: Bool, names: [String] = []) {
        self.parseELF = parseELF
        self.readSymbols = readSymbols
        self.scanBytes = scanBytes
        self.names = names
    }
}

/// Reads a file once: SHA-256 of the bytes, and ELF facts and byte matches from those same bytes.
public struct FileInspector: Sendable {
    /// Files over this size are not read (a 10 GiB sparse file named liblzma.so.5 costs nothing); they are skipped.
    public var maximumSize: Int64
    /// Finds byte patterns in a file's bytes; given the ELF facts (for executable-section offsets) when parsed.
    public var byteMatcher: @Sendable (_ names: [String], _ bytes: [UInt8], _ elf: ELFInfo?) -> [String]

    public init(maximumSize: Int64 = 512 << 20, byteMatcher: @escaping @Sendable ([String], [UInt8], ELFInfo?) -> [String] = { _, _, _ in [] }) {
        self.maximumSize = maximumSize
        self.byteMatcher = byteMatcher
    }

    public func inspect(_ file: OpenFile, _ request: InspectionRequest) throws -> FileFacts {
        if file.status.size > maximumSize {
            throw FileReadError.tooLarge(path: file.path, size: file.status.size, limit: maximumSize)
        }
        guard request.parseELF || request.scanBytes else {
            var hasher = SHA256()
            try file.forEachChunk { hasher.update(data: $0) }
            return FileFacts(identity: file.status.identity, status: file.status, sha256: hasher.finalize().hex)
        }
        let bytes = try file.readAll(limit: maximumSize)
        var facts = FileFacts(identity: file.status.identity, status: file.status, sha256: SHA256.hash(data: bytes).hex)
        do { facts.elf = try ELFParser.parse(bytes, readSymbols: request.readSymbols || request.scanBytes) } catch { facts.elfProblem = error.description }
        if request.scanBytes {
            facts.byteMatches = byteMatcher(request.names, bytes, facts.elf)
            facts.bytesScanned = true
        }
        return facts
    }
}

extension Sequence where Element == UInt8 {
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
