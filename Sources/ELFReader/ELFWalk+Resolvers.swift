import CLibElf
import Disassembly
#if canImport(Glibc)
import Glibc
#endif

/// IFUNC resolvers: found from the symbol tables (STT_GNU_IFUNC) and the IRELATIVE relocations' addends, then
/// walked by `ResolverWalk` over the executable sections' bytes, read through libelf a page at a time. Files
/// without resolvers cost one pass over their symbol and relocation tables, with no string made.
extension ELFWalk {
    func readResolvers(into info: inout ELFInfo, limits: ResolverWalk.Limits) -> ResolverScan {
        var namesIndex = 0
        let haveNames = elf_getshdrstrndx(elf, &namesIndex) == 0
        // The code is what the loader maps executable (PT_LOAD with PF_X), as far as the file holds its bytes: the
        // section table may say otherwise, and is not what runs. A separate debug file keeps the program headers
        // but none of the bytes, so has no code.
        var code: [(range: Range<UInt64>, fileOffset: UInt64)] = []
        for segment in info.loadSegments where segment.flags & 1 != 0 && segment.fileOffset < UInt64(size) {
            let length = min(segment.fileSize, UInt64(size) - segment.fileOffset)
            guard length > 0, segment.virtualAddress <= UInt64.max - length else { continue }
            code.append((segment.virtualAddress..<(segment.virtualAddress + length), segment.fileOffset))
        }
        var plt: [Range<UInt64>] = []
        var symbolTables: [(section: OpaquePointer, link: Int)] = []
        var relocationTables: [(section: OpaquePointer, link: Int, isRela: Bool)] = []
        var section: OpaquePointer? = elf_nextscn(elf, nil)
        while let current = section {
            defer { section = elf_nextscn(elf, current) }
            var shdr = GElf_Shdr()
            guard gelf_getshdr(current, &shdr) != nil else { continue }
            let type = Int32(bitPattern: shdr.sh_type)
            switch type {
            case SHT_DYNSYM, SHT_SYMTAB: symbolTables.append((current, Int(shdr.sh_link)))
            case SHT_RELA, SHT_REL: relocationTables.append((current, Int(shdr.sh_link), type == SHT_RELA))
            default: break
            }
            let name = haveNames ? elf_strptr(elf, namesIndex, Int(shdr.sh_name)).map { String(cString: $0) } : nil
            if name == ".plt" || name == ".plt.sec", shdr.sh_size > 0, shdr.sh_addr <= UInt64.max - shdr.sh_size {
                plt.append(shdr.sh_addr..<(shdr.sh_addr + shdr.sh_size))
            }
        }

        // The resolvers, by address: IFUNC symbols' values and IRELATIVE addends.
        var resolvers: [UInt64: IFUNCResolver] = [:]
        for table in symbolTables {
            eachSymbol(in: table.section) { sym in
                guard sym.st_info & 0xf == ELFSymbol.ifuncType, sym.st_shndx != UInt16(SHN_UNDEF), sym.st_value != 0 else {
                    return
                }
                var resolver = resolvers[sym.st_value] ?? IFUNCResolver(address: sym.st_value)
                if let name = elf_strptr(elf, table.link, Int(sym.st_name)), name.pointee != 0, resolver.symbols.count < 16 {
                    let text = String(cString: name)
                    if !resolver.symbols.contains(text) { resolver.symbols.append(text) }
                }
                resolvers[sym.st_value] = resolver
            }
        }
        if let irelative = Self.irelativeType(machine: info.machine) {
            for table in relocationTables where table.isRela {
                for addend in irelativeAddends(in: table.section, type: irelative) where addend != 0 {
                    let address = UInt64(bitPattern: addend)
                    var resolver = resolvers[address] ?? IFUNCResolver(address: address)
                    resolver.irelativeRelocations += 1
                    resolvers[address] = resolver
                }
            }
        }
        // No executable bytes: nothing of this file can run (a separate debug file), so no resolver either.
        guard !resolvers.isEmpty, !code.isEmpty else { return .walked([]) }
        // The dynamic linker's own resolver sets up the CPU features for every process; it is told apart by what
        // only a loader is: it needs no library, has no interpreter, and defines the data libc reads from it.
        if info.needed.isEmpty && info.interpreter == nil {
            info.isDynamicLinker = symbolTables.contains { table in
                var found: Set<String> = []
                eachSymbol(in: table.section) { sym in
                    guard sym.st_shndx != UInt16(SHN_UNDEF), sym.st_info & 0xf == 1 /* STT_OBJECT */,
                          let name = elf_strptr(elf, table.link, Int(sym.st_name)) else { return }
                    if strcmp(name, "_rtld_global") == 0 { found.insert("_rtld_global") }
                    if strcmp(name, "_rtld_global_ro") == 0 { found.insert("_rtld_global_ro") }
                }
                return found.count == 2
            }
        }
        guard info.machine == 62 /* EM_X86_64 */, info.fileClass == .elf64 else {
            return .unsupportedMachine(info.machine, resolvers: resolvers.count)
        }

        // What calls and data references go through: the GOT slots the relocations fill.
        var slots: [UInt64: ELFImportSlot] = [:]
        let slotSource: [ELFImportSlot]
        if info.symbolsRead {
            slotSource = info.importSlots
        } else {
            slotSource = relocationTables.flatMap {
                relocations(in: $0.section, isRela: $0.isRela, symbolTable: $0.link, irelative: nil,
                            slots: Self.slotTypes(machine: info.machine)).slots
            }
        }
        for slot in slotSource where slots[slot.offset] == nil { slots[slot.offset] = slot }

        let decoder: X86Decoder
        do { decoder = try X86Decoder() } catch { return .failed(error.description) }
        let pages = CodePages(walk: self)
        var walk = ResolverWalk(code: ResolverWalk.Code(sections: code, slots: slots, plt: plt, read: pages.bytes),
                                decoder: decoder, limits: limits)
        let names = functionNames(tables: symbolTables)
        var walked: [IFUNCResolver] = []
        for address in resolvers.keys.sorted() {
            var resolver = resolvers[address]!
            if walk.budgetSpent {
                resolver.bound = .fileBudget
            } else {
                walk.walk(&resolver) { Set($0.flatMap { names[$0] ?? [] }).sorted() }
            }
            resolver.name = names[address]?.min()
            walked.append(resolver)
        }
        return .walked(walked)
    }

    /// Calls `body` with each entry of a symbol table, up to the per-table bound.
    private func eachSymbol(in section: OpaquePointer, _ body: (GElf_Sym) -> Void) {
        guard let data = elf_getdata(section, nil) else { return }
        var index: Int32 = 0
        var sym = GElf_Sym()
        while index < Int32(ELFParser.maximumSymbolsPerTable), gelf_getsym(data, index, &sym) != nil {
            body(sym)
            index += 1
        }
    }

    /// The addends of a RELA section's IRELATIVE relocations: the resolvers' addresses.
    private func irelativeAddends(in section: OpaquePointer, type: UInt64) -> [Int64] {
        guard let data = elf_getdata(section, nil) else { return [] }
        var addends: [Int64] = []
        var index: Int32 = 0
        var rela = GElf_Rela()
        while index < Int32(ELFParser.maximumSymbolsPerTable), gelf_getrela(data, index, &rela) != nil {
            index += 1
            if rela.r_info & 0xffff_ffff == type { addends.append(rela.r_addend) }
        }
        return addends
    }

    /// Function symbols (any table) by address, read once for a file that has resolvers: the names of the
    /// resolvers and of the local functions their walks reach.
    private func functionNames(tables: [(section: OpaquePointer, link: Int)]) -> [UInt64: [String]] {
        var names: [UInt64: [String]] = [:]
        for table in tables {
            eachSymbol(in: table.section) { sym in
                guard sym.st_info & 0xf == 2 /* STT_FUNC */, sym.st_shndx != UInt16(SHN_UNDEF),
                      let name = elf_strptr(elf, table.link, Int(sym.st_name)), name.pointee != 0 else { return }
                let text = String(cString: name)
                if names[sym.st_value]?.contains(text) != true { names[sym.st_value, default: []].append(text) }
            }
        }
        return names
    }
}

/// The file's code read a 4 KiB page at a time, each page once per parse.
final class CodePages {
    private let walk: ELFWalk
    private var pages: [UInt64: [UInt8]] = [:]
    static let pageSize: UInt64 = 4096

    init(walk: ELFWalk) { self.walk = walk }

    func bytes(at offset: UInt64, count: Int) -> [UInt8]? {
        var result: [UInt8] = []
        var position = offset
        while result.count < count {
            let pageStart = position & ~(Self.pageSize - 1)
            guard let page = page(at: pageStart) else { break }
            let from = Int(position - pageStart)
            guard from < page.count else { break }
            let take = min(count - result.count, page.count - from)
            result += page[from..<(from + take)]
            position += UInt64(take)
        }
        return result.isEmpty ? nil : result
    }

    private func page(at start: UInt64) -> [UInt8]? {
        if let page = pages[start] { return page }
        guard start < UInt64(walk.size) else { return nil }
        let length = Int(min(Self.pageSize, UInt64(walk.size) - start))
        guard let data = elf_getdata_rawchunk(walk.elf, Int64(start), length, ELF_T_BYTE), let buffer = data.pointee.d_buf else {
            return nil
        }
        let page = [UInt8](UnsafeRawBufferPointer(start: buffer, count: data.pointee.d_size))
        pages[start] = page
        return page
    }
}
