/// Facts read from one ELF file: what the dynamic loader and the detection rules look at.
/// A plain value: nothing in it points into libelf or the file's bytes.
public struct ELFInfo: Sendable, Hashable {
    public enum FileClass: String, Sendable, Hashable { case elf32, elf64 }

    public var fileClass: FileClass
    /// e_machine (62 is x86-64).
    public var machine: UInt16
    /// e_ident[EI_OSABI]: 0 is SYSV, 3 is GNU (readelf names type-10 symbols IFUNC only under GNU).
    public var osABI: UInt8
    /// e_type: 2 executable, 3 shared object or PIE.
    public var type: UInt16
    public var interpreter: String?

    /// DT_NEEDED, in the order the loader processes them.
    public var needed: [String] = []
    public var soname: String?
    /// DT_RPATH and DT_RUNPATH as written (colon-separated, `$ORIGIN` unexpanded).
    public var rpath: String?
    public var runpath: String?
    public var flags: UInt64 = 0
    public var flags1: UInt64 = 0
    /// DT_AUDIT and DT_DEPAUDIT: rtld-audit libraries (the hook the xz backdoor used, installed from outside).
    public var audit: String?
    public var dependencyAudit: String?

    /// Symbols from .dynsym, .symtab and the MiniDebugInfo .symtab (when `symbolsRead`).
    public var symbols: [ELFSymbol] = []
    /// Whether the section facts were read: symbols, IRELATIVE relocations, build-id, executable sections,
    /// MiniDebugInfo. A parse for the loader's facts alone (the dependency walk, a file no ELF rule names) skips them.
    public var symbolsRead = false
    /// Count of IRELATIVE relocations (R_X86_64_IRELATIVE and the same relocation on other machines).
    public var irelativeRelocations = 0
    /// The GNU build-id note as lowercase hex.
    public var buildID: String?
    /// File offsets of the bytes of executable sections (SHF_EXECINSTR, not NOBITS).
    public var executableRanges: [Range<Int>] = []
    /// What became of `.gnu_debugdata`, if the file has one.
    public var debugData: DebugData = .absent
    /// PT_LOAD segments, in file order: where the loader maps the file, and so the load bias of a running copy.
    public var loadSegments: [Segment] = []
    /// The GOT slots the loader fills for imported symbols (JUMP_SLOT and GLOB_DAT relocations; section facts).
    public var importSlots: [ELFImportSlot] = []
    /// Virtual address ranges of the PLT stubs (.plt, .plt.sec): where a lazily bound slot points until the first
    /// call (section facts).
    public var pltRanges: [Range<UInt64>] = []
    /// The IFUNC resolvers, walked (nil when the parse was not asked to: no rule looks at them).
    public var resolvers: ResolverScan?
    /// A dynamic linker (ld.so): no DT_NEEDED, no PT_INTERP, and it defines `_rtld_global` and `_rtld_global_ro`
    /// (set with `resolvers`, for a file that has IFUNC resolvers).
    public var isDynamicLinker = false

    public struct Segment: Sendable, Hashable {
        public var virtualAddress: UInt64
        public var fileOffset: UInt64
        public var fileSize: UInt64
        public var memorySize: UInt64
        /// PF_X 1, PF_W 2, PF_R 4.
        public var flags: UInt32
    }

    public enum DebugData: Sendable, Hashable {
        case absent
        case read(symbols: Int)
        case unreadable(reason: String)
    }

    /// Symbols of type STT_GNU_IFUNC (10), tested by number so the file's OSABI does not matter.
    public var ifuncSymbols: [ELFSymbol] { symbols.filter { $0.type == ELFSymbol.ifuncType } }

    public func hasSymbol(named name: String) -> Bool { symbols.contains { $0.name == name } }

    /// The dynamic symbols this object defines and exports (global or weak, not undefined), by name: what the
    /// loader binds other objects' imports to. A name may have several (symbol versions). Built once when the
    /// symbols are read, so a daemon checking sshd every scan does not rebuild libcrypto's index each time.
    public var exportedDefinitions: [String: [ELFSymbol]] = [:]

    mutating func indexExports() {
        exportedDefinitions = Dictionary(grouping: symbols.filter { $0.table == .dynamic && $0.isDefined && $0.binding != 0 },
                                         by: \.name)
    }

    /// DF_1_NODEFLIB: the loader must not search the default directories for this object's dependencies.
    public var ignoresDefaultLibraryPaths: Bool { flags1 & 0x800 != 0 }
}

/// One symbol table entry.
public struct ELFSymbol: Sendable, Hashable {
    public enum Table: String, Sendable, Hashable { case dynamic, symtab, debugdata }

    public static let ifuncType: UInt8 = 10

    public var name: String
    /// ELF symbol type (st_info & 0xf): 2 function, 10 GNU IFUNC.
    public var type: UInt8
    /// ELF binding (st_info >> 4): 0 local, 1 global, 2 weak.
    public var binding: UInt8
    public var isDefined: Bool
    public var table: Table
    /// st_value: for a defined symbol of a shared object, its address relative to the load bias.
    public var value: UInt64 = 0
}

/// A GOT slot the loader fills with the address of an imported symbol.
public struct ELFImportSlot: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// JUMP_SLOT: a function called through the PLT.
        case jumpSlot = "JUMP_SLOT"
        /// GLOB_DAT: a function pointer or data address taken through the GOT.
        case globalData = "GLOB_DAT"
    }

    /// The slot's address relative to the load bias (r_offset).
    public var offset: UInt64
    public var symbol: String
    public var kind: Kind
    /// STB_WEAK: the loader leaves the slot 0 when no object defines the symbol.
    public var isWeak: Bool
}
