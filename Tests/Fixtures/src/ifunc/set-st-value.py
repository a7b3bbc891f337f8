#!/usr/bin/env python3
"""set-st-value.py FILE NAME VALUE [NAME VALUE]... - set st_value of the symbols NAME in
FILE's .dynsym and .symtab (ELF64 little-endian only), in place.  VALUE is an address
(0x... accepted) or @SYMBOL for the value of another symbol of the same table.

Used by make-ifunc.sh to point IFUNC symbols of libifunc-hostile.so at addresses no
linker would produce (into .data, or into nothing).  Standard library only.
"""
import struct
import sys


def fail(msg):
    sys.exit("set-st-value.py: " + msg)


def sections(data):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        fail("not an ELF64 little-endian file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    out = []
    for i in range(shnum):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize
        out.append(struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize))
    return out


def cstring(data, off):
    return data[off:data.index(b"\0", off)].decode()


def main():
    args = sys.argv[1:]
    if len(args) < 3 or len(args) % 2 != 1:
        fail("usage: set-st-value.py FILE NAME VALUE [NAME VALUE]...")
    path, pairs = args[0], list(zip(args[1::2], args[2::2]))
    data = bytearray(open(path, "rb").read())
    secs = sections(data)
    done = set()
    for sh in secs:
        sh_type, sh_offset, sh_size, sh_link, sh_entsize = sh[1], sh[4], sh[5], sh[6], sh[9]
        if sh_type not in (2, 11):  # SHT_SYMTAB, SHT_DYNSYM
            continue
        stroff = secs[sh_link][4]
        syms = {}
        for off in range(sh_offset, sh_offset + sh_size, sh_entsize):
            st_name, = struct.unpack_from("<I", data, off)
            syms.setdefault(cstring(data, stroff + st_name), []).append(off)
        for name, value in pairs:
            if name not in syms:
                continue
            if value.startswith("@"):
                if value[1:] not in syms:
                    fail("no symbol %s in %s" % (value[1:], path))
                v, = struct.unpack_from("<Q", data, syms[value[1:]][0] + 8)
            else:
                v = int(value, 0)
            for off in syms[name]:
                struct.pack_into("<Q", data, off + 8, v)  # Elf64_Sym.st_value
            done.add(name)
    missing = [n for n, _ in pairs if n not in done]
    if missing:
        fail("symbols not found in %s: %s" % (path, ", ".join(missing)))
    open(path, "wb").write(data)


if __name__ == "__main__":
    main()
