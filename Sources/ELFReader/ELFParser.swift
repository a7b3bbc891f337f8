import CLibElf
import XZ

/// Why a file could not be read as ELF.
public enum ELFError: Error, CustomStringConvertible, Sendable, Equatable {
    case notELF
    /// libelf's elf_errmsg for the call that failed.
    case malformed(String)

    public var description: String {
        switch self {
        case .notELF: return "not an ELF file"
        case .malformed(let message): return "malformed ELF: \(message)"
        }
    }
}

/// Reads ELF facts with libelf, never by loading or running the file: from bytes in memory (elf_memory), or from
/// an open file, reading only the parts it looks at (elf_begin with ELF_C_READ: libelf preads the headers, the
/// dynamic segment and the sections asked for), so a 100 MiB library costs kilobytes, not its size.
public enum ELFParser {
    /// Symbols kept per table, so a hostile file cannot make one parse allocate without bound.
    public static let maximumSymbolsPerTable = 1 << 20

    private static let libraryReady: Bool = elf_version(cw_ev_current) != 0 // EV_NONE is 0

    /// Parses `bytes` as an ELF file.
    /// - Parameter readSymbols: read the section facts (.dynsym, .symtab, .gnu_debugdata, IRELATIVE relocations,
    ///   the build-id note); the loader's facts alone (program headers, dynamic segment) do not need them, and
    ///   skipping them keeps time and memory down.
    ///   - resolvers: walk the IFUNC resolvers with these limits (`ResolverWalk`).
    public static func parse(_ bytes: [UInt8], readSymbols: Bool = true,
                             resolvers: ResolverWalk.Limits? = nil) throws(ELFError) -> ELFInfo {
        try parse(bytes, outer: true, readSymbols: readSymbols, resolvers: resolvers)
    }

    static func parse(_ bytes: [UInt8], outer: Bool, readSymbols: Bool,
                      resolvers: ResolverWalk.Limits? = nil) throws(ELFError) -> ELFInfo {
        guard libraryReady else { throw .malformed("libelf refused EV_CURRENT") }
        guard bytes.count >= 16, bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46 else {
            throw .notELF
        }
        let parseImage = { (raw: UnsafeMutableRawBufferPointer) -> Result<ELFInfo, ELFError> in
            guard let elf = elf_memory(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count) else {
                return .failure(lastError())
            }
            defer { elf_end(elf) }
            guard elf_kind(elf) == ELF_K_ELF else { return .failure(.notELF) }
            let reader = ELFWalk(elf: elf, size: raw.count)
            return Result { () throws(ELFError) in try reader.read(outer: outer, readSymbols: readSymbols, resolverLimits: resolvers) }
        }
        // libelf converts foreign-byte-order data in place in an elf_memory image, so such a file gets a private
        // copy; a native little-endian file is only read, and parsing it in place saves a copy of the whole file.
        if bytes[5] == 1 /* ELFDATA2LSB */ {
            return try bytes.withUnsafeBytes { raw in
                parseImage(UnsafeMutableRawBufferPointer(mutating: raw))
            }.get()
        }
        var image = bytes
        return try image.withUnsafeMutableBytes(parseImage).get()
    }

    /// Parses the ELF file open at `descriptor`, `size` bytes long. The caller checks afterwards that the file did
    /// not change while it was read (its reads and libelf's are of the same open file).
    public static func parse(descriptor: Int32, size: Int, readSymbols: Bool,
                             resolvers: ResolverWalk.Limits? = nil) throws(ELFError) -> ELFInfo {
        guard libraryReady else { throw .malformed("libelf refused EV_CURRENT") }
        guard let elf = elf_begin(descriptor, ELF_C_READ, nil) else { throw lastError() }
        defer { elf_end(elf) }
        guard elf_kind(elf) == ELF_K_ELF else { throw .notELF }
        return try ELFWalk(elf: elf, size: size).read(outer: true, readSymbols: readSymbols, resolverLimits: resolvers)
    }

    static func lastError() -> ELFError {
        guard let message = elf_errmsg(-1) else { return .malformed("unknown libelf error") }
        return .malformed(String(cString: message))
    }
}
