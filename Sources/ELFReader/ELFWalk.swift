import CLibElf
import XZ

/// The libelf walk over one open Elf (an image in memory or an open file). Lives only inside an `ELFParser.parse`
/// call: it reads file bytes through libelf alone (elf_getdata_rawchunk, elf_getdata), so it works the same on
/// both.
struct ELFWalk {
    let elf: OpaquePointer
    /// The file's size: every offset read is checked against it.
    let size: Int

    func read(outer: Bool, readSymbols: Bool, resolverLimits: ResolverWalk.Limits? = nil) throws(ELFError) -> ELFInfo {
        var header = GElf_Ehdr()
        guard gelf_getehdr(elf, &header) != nil else { throw ELFParser.lastError() }
        let fileClass: ELFInfo.FileClass
        switch gelf_getclass(elf) {
        case ELFCLASS32: fileClass = .elf32
        case ELFCLASS64: fileClass = .elf64
        default: throw .malformed("unknown ELF class")
        }
        // libelf takes a section header table that does not fit in the file (e_shoff or e_shnum past the end), or
        // an e_shnum of 0 whose section 0 counts no sections, for no sections at all: parsed as is, such a file
        // would pass for one without symbols or notes.
        var sectionCount = 0
        guard elf_getshdrnum(elf, &sectionCount) == 0 else { throw ELFParser.lastError() }
        if header.e_shoff != 0 && sectionCount == 0 {
            throw .malformed(
                "no section header readable at e_shoff \(header.e_shoff) (e_shnum \(header.e_shnum), file of \(size) bytes)")
        }
        var info = ELFInfo(
            fileClass: fileClass, machine: header.e_machine, osABI: header.e_ident.7,
            type: header.e_type, interpreter: nil)
        // A MiniDebugInfo ELF keeps the program headers of the stripped file but none of their bytes: only its
        // symbol table is read.
        if outer { try readProgramHeaders(into: &info, headerCount: header.e_phnum) }
        // The sections hold what ELF rules look at (symbols, IRELATIVE relocations, notes), not what the loader
        // needs: a file no rule names is not walked section by section (libLLVM's relocations alone are megabytes).
        if readSymbols {
            try readSections(into: &info, readDebugData: outer)
            info.indexExports()
        }
        info.symbolsRead = readSymbols
        if outer, let resolverLimits { info.resolvers = readResolvers(into: &info, limits: resolverLimits) }
        return info
    }

    // MARK: Program headers: the interpreter and the dynamic section as the loader sees them.

    /// - Parameter headerCount: e_phnum as the ELF header has it.
    private func readProgramHeaders(into info: inout ELFInfo, headerCount: UInt16) throws(ELFError) {
        var count = 0
        guard elf_getphdrnum(elf, &count) == 0 else { throw ELFParser.lastError() }
        // e_phnum 0xffff (PN_XNUM) says the count is in section 0's sh_info, for a count that does not fit in 16
        // bits. libelf reads that count; ld.so takes e_phnum as it is. A count under 0xffff there is a contradiction
        // that lets the two see different program headers (a DT_NEEDED only the loader sees), so it is refused.
        if headerCount == 0xffff && count < 0xffff {
            throw .malformed("e_phnum is PN_XNUM (0xffff) but section 0 gives \(count) program headers")
        }
        var loads: [GElf_Phdr] = []
        var dynamic: GElf_Phdr?
        for index in 0..<count {
            var phdr = GElf_Phdr()
            guard gelf_getphdr(elf, Int32(index), &phdr) != nil else { throw ELFParser.lastError() }
            switch Int32(bitPattern: phdr.p_type) {
            case PT_LOAD:
                loads.append(phdr)
                info.loadSegments.append(ELFInfo.Segment(
                    virtualAddress: phdr.p_vaddr, fileOffset: phdr.p_offset, fileSize: phdr.p_filesz,
                    memorySize: phdr.p_memsz, flags: phdr.p_flags))
            case PT_DYNAMIC: dynamic = phdr
            case PT_INTERP: info.interpreter = string(atOffset: Int(clamping: phdr.p_offset), limit: Int(clamping: phdr.p_filesz))
            default: break
            }
        }
        guard let dynamic else { return }
        // Dynamic entries are read from PT_DYNAMIC (not the section table, which a hostile file can omit or forge).
        guard let data = elf_getdata_rawchunk(elf, Int64(clamping: dynamic.p_offset), Int(clamping: dynamic.p_filesz), ELF_T_DYN) else {
            throw ELFParser.lastError()
        }
        var entries: [GElf_Dyn] = []
        var index: Int32 = 0
        var entry = GElf_Dyn()
        while gelf_getdyn(data, index, &entry) != nil {
            if entry.d_tag == Int64(DT_NULL) { break }
            entries.append(entry)
            index += 1
        }
        // DT_STRTAB holds a virtual address: map it to a file offset through the PT_LOAD segments.
        guard let strtab = entries.first(where: { $0.d_tag == Int64(DT_STRTAB) }),
              let stringsOffset = fileOffset(ofAddress: strtab.d_un.d_ptr, loads: loads) else {
            return
        }
        let stringsSize = entries.first(where: { $0.d_tag == Int64(DT_STRSZ) }).map { Int(clamping: $0.d_un.d_val) } ?? size
        func dynamicString(_ offset: UInt64) -> String? {
            guard offset < UInt64(stringsSize) else { return nil }
            return string(atOffset: stringsOffset + Int(offset), limit: stringsSize - Int(offset))
        }
        for entry in entries {
            switch entry.d_tag {
            case Int64(DT_NEEDED): if let name = dynamicString(entry.d_un.d_val) { info.needed.append(name) }
            case Int64(DT_SONAME): info.soname = dynamicString(entry.d_un.d_val)
            case Int64(DT_RPATH): info.rpath = dynamicString(entry.d_un.d_val)
            case Int64(DT_RUNPATH): info.runpath = dynamicString(entry.d_un.d_val)
            case Int64(DT_FLAGS): info.flags = entry.d_un.d_val
            case Int64(DT_FLAGS_1): info.flags1 = entry.d_un.d_val
            // DT_AUDIT and DT_DEPAUDIT (GNU): rtld-audit libraries the loader runs for this object's whole process.
            case 0x6fff_fefc: info.audit = dynamicString(entry.d_un.d_val)
            case 0x6fff_fefb: info.dependencyAudit = dynamicString(entry.d_un.d_val)
            default: break
            }
        }
    }

    private func fileOffset(ofAddress address: UInt64, loads: [GElf_Phdr]) -> Int? {
        for load in loads where address >= load.p_vaddr && address - load.p_vaddr < load.p_filesz {
            let offset = load.p_offset &+ (address - load.p_vaddr)
            return offset < UInt64(size) ? Int(offset) : nil
        }
        return nil
    }

    /// A NUL-terminated string in the file, bounded by `limit`, 4 KiB and the file's end.
    private func string(atOffset offset: Int, limit: Int) -> String? {
        guard offset >= 0, offset < size, limit > 0 else { return nil }
        let length = min(size - offset, limit, 4096)
        guard let data = elf_getdata_rawchunk(elf, Int64(offset), length, ELF_T_BYTE), let buffer = data.pointee.d_buf else {
            return nil
        }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: data.pointee.d_size)
        guard let terminator = bytes.firstIndex(of: 0) else { return nil }
        return String(decoding: bytes[..<terminator], as: UTF8.self)
    }

    // MARK: Sections: symbols, relocations, notes, executable bytes, MiniDebugInfo.

    private func readSections(into info: inout ELFInfo, readDebugData: Bool) throws(ELFError) {
        var namesIndex = 0
        let haveNames = elf_getshdrstrndx(elf, &namesIndex) == 0
        var section: OpaquePointer? = elf_nextscn(elf, nil)
        let irelative = Self.irelativeType(machine: info.machine)
        while let current = section {
            defer { section = elf_nextscn(elf, current) }
            var shdr = GElf_Shdr()
            guard gelf_getshdr(current, &shdr) != nil else { throw ELFParser.lastError() }
            let type = Int32(bitPattern: shdr.sh_type)
            if shdr.sh_flags & UInt64(SHF_EXECINSTR) != 0 && type != SHT_NOBITS {
                let start = Int(clamping: shdr.sh_offset), end = Int(clamping: shdr.sh_offset &+ shdr.sh_size)
                if start < end && end <= size { info.executableRanges.append(start..<end) }
            }
            switch type {
            case SHT_DYNSYM, SHT_SYMTAB:
                info.symbols += try symbols(in: current, link: Int(shdr.sh_link), table: type == SHT_DYNSYM ? .dynamic : .symtab)
            case SHT_RELA, SHT_REL:
                let found = relocations(in: current, isRela: type == SHT_RELA, symbolTable: Int(shdr.sh_link),
                                        irelative: irelative, slots: Self.slotTypes(machine: info.machine))
                info.irelativeRelocations += found.irelative
                info.importSlots += found.slots.prefix(ELFParser.maximumSymbolsPerTable - info.importSlots.count)
            case SHT_NOTE:
                if info.buildID == nil { info.buildID = try buildID(in: current) }
            default:
                break
            }
            let name = haveNames ? elf_strptr(elf, namesIndex, Int(shdr.sh_name)).map { String(cString: $0) } : nil
            if readDebugData, type == SHT_PROGBITS, name == ".gnu_debugdata" {
                info.debugData = readMiniDebugInfo(current, into: &info)
            }
            if name == ".plt" || name == ".plt.sec", shdr.sh_size > 0, shdr.sh_addr <= UInt64.max - shdr.sh_size {
                info.pltRanges.append(shdr.sh_addr..<(shdr.sh_addr + shdr.sh_size))
            }
        }
    }

    private func symbols(in section: OpaquePointer, link: Int, table: ELFSymbol.Table) throws(ELFError) -> [ELFSymbol] {
        guard let data = elf_getdata(section, nil) else { return [] }
        var result: [ELFSymbol] = []
        var index: Int32 = 0
        var sym = GElf_Sym()
        while result.count < ELFParser.maximumSymbolsPerTable, gelf_getsym(data, index, &sym) != nil {
            index += 1
            guard sym.st_name != 0, let name = elf_strptr(elf, link, Int(sym.st_name)) else { continue }
            result.append(ELFSymbol(
                name: String(cString: name), type: sym.st_info & 0xf, binding: sym.st_info >> 4,
                isDefined: sym.st_shndx != UInt16(SHN_UNDEF), table: table, value: sym.st_value))
        }
        return result
    }

    private func buildID(in section: OpaquePointer) throws(ELFError) -> String? {
        guard let data = elf_getdata(section, nil) else { return nil }
        var offset = 0
        var note = GElf_Nhdr()
        var nameOffset = 0, descOffset = 0
        while true {
            let next = gelf_getnote(data, offset, &note, &nameOffset, &descOffset)
            if next == 0 { return nil }
            if note.n_type == 3 /* NT_GNU_BUILD_ID */, note.n_namesz == 4, let buffer = data.pointee.d_buf {
                let size = data.pointee.d_size
                guard descOffset + Int(note.n_descsz) <= size else { return nil }
                let bytes = UnsafeRawBufferPointer(start: buffer + descOffset, count: Int(note.n_descsz))
                return bytes.map { byte in
                    let hex = String(byte, radix: 16)
                    return byte < 16 ? "0" + hex : hex
                }.joined()
            }
            offset = next
        }
    }

    /// `.gnu_debugdata` is an xz-compressed ELF whose .symtab holds the local symbols a stripped build dropped.
    private func readMiniDebugInfo(_ section: OpaquePointer, into info: inout ELFInfo) -> ELFInfo.DebugData {
        guard let data = elf_rawdata(section, nil), let buffer = data.pointee.d_buf else {
            return .unreadable(reason: ELFParser.lastError().description)
        }
        let compressed = [UInt8](UnsafeRawBufferPointer(start: buffer, count: data.pointee.d_size))
        do {
            let inner = try ELFParser.parse(try XZ.decompress(compressed), outer: false, readSymbols: true)
            let symbols = inner.symbols.filter { $0.table == .symtab }.map {
                ELFSymbol(name: $0.name, type: $0.type, binding: $0.binding, isDefined: $0.isDefined, table: .debugdata)
            }
            info.symbols += symbols
            return .read(symbols: symbols.count)
        } catch let error as XZError {
            return .unreadable(reason: error.description)
        } catch {
            return .unreadable(reason: "\(error)")
        }
    }

    /// The IRELATIVE relocation number per machine (the relocation an IFUNC resolver's result is written by).
    static func irelativeType(machine: UInt16) -> UInt64? {
        switch machine {
        case 62: return 37      // EM_X86_64: R_X86_64_IRELATIVE
        case 3: return 42       // EM_386: R_386_IRELATIVE
        case 183: return 1032   // EM_AARCH64: R_AARCH64_IRELATIVE
        case 40: return 160     // EM_ARM: R_ARM_IRELATIVE
        case 21: return 248     // EM_PPC64: R_PPC64_IRELATIVE
        case 22: return 61      // EM_S390: R_390_IRELATIVE
        case 243: return 58     // EM_RISCV: R_RISCV_IRELATIVE
        default: return nil
        }
    }
}
