import CLibElf

/// Relocation sections: IRELATIVE relocations (IFUNC resolvers the loader runs) and the GOT slots of imports.
extension ELFWalk {
    /// The relocation numbers of a GOT slot filled with a symbol's address, per machine.
    struct SlotTypes {
        var jumpSlot: UInt64
        var globalData: UInt64
    }

    static func slotTypes(machine: UInt16) -> SlotTypes? {
        switch machine {
        case 62: return SlotTypes(jumpSlot: 7, globalData: 6)          // R_X86_64_JUMP_SLOT, R_X86_64_GLOB_DAT
        case 183: return SlotTypes(jumpSlot: 1026, globalData: 1025)   // R_AARCH64_JUMP_SLOT, R_AARCH64_GLOB_DAT
        case 3: return SlotTypes(jumpSlot: 7, globalData: 6)           // R_386_JMP_SLOT, R_386_GLOB_DAT
        case 40: return SlotTypes(jumpSlot: 22, globalData: 21)        // R_ARM_JUMP_SLOT, R_ARM_GLOB_DAT
        default: return nil
        }
    }

    /// One relocation section: how many IRELATIVE relocations it has, and the import slots it fills. gelf gives
    /// every entry in the 64-bit form (symbol index in the high 32 bits of r_info), whatever the file's class.
    func relocations(in section: OpaquePointer, isRela: Bool, symbolTable: Int, irelative: UInt64?,
                     slots: SlotTypes?) -> (irelative: Int, slots: [ELFImportSlot]) {
        guard let data = elf_getdata(section, nil) else { return (0, []) }
        let symbols = SymbolTable(walk: self, section: symbolTable)
        var count = 0
        var found: [ELFImportSlot] = []
        var index: Int32 = 0
        while found.count < ELFParser.maximumSymbolsPerTable {
            let offset: UInt64, info: UInt64
            if isRela {
                var rela = GElf_Rela()
                guard gelf_getrela(data, index, &rela) != nil else { break }
                (offset, info) = (rela.r_offset, rela.r_info)
            } else {
                var rel = GElf_Rel()
                guard gelf_getrel(data, index, &rel) != nil else { break }
                (offset, info) = (rel.r_offset, rel.r_info)
            }
            index += 1
            let type = info & 0xffff_ffff
            if type == irelative { count += 1 }
            guard let slots, type == slots.jumpSlot || type == slots.globalData,
                  let symbol = symbols?.symbol(at: Int32(truncatingIfNeeded: info >> 32)) else { continue }
            found.append(ELFImportSlot(offset: offset, symbol: symbol.name,
                                       kind: type == slots.jumpSlot ? .jumpSlot : .globalData, isWeak: symbol.weak))
        }
        return (count, found)
    }

    /// The symbol table a relocation section's sh_link names.
    struct SymbolTable {
        let walk: ELFWalk
        let data: UnsafeMutablePointer<Elf_Data>
        let strings: Int

        init?(walk: ELFWalk, section index: Int) {
            var shdr = GElf_Shdr()
            guard index > 0, let section = elf_getscn(walk.elf, index), gelf_getshdr(section, &shdr) != nil,
                  let data = elf_getdata(section, nil) else { return nil }
            self.walk = walk
            self.data = data
            strings = Int(shdr.sh_link)
        }

        func symbol(at index: Int32) -> (name: String, weak: Bool)? {
            var sym = GElf_Sym()
            guard index > 0, gelf_getsym(data, index, &sym) != nil, sym.st_name != 0,
                  let name = elf_strptr(walk.elf, strings, Int(sym.st_name)) else { return nil }
            return (String(cString: name), sym.st_info >> 4 == 2)
        }
    }
}
