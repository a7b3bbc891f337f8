import Testing
import ELFReader
import HostIO
@testable import Probes

@Suite(.serialized) struct ELFParserTests {
    static func parse(_ path: String) throws -> ELFInfo {
        try ELFParser.parse(try OpenFile(path: path).readAll(limit: 64 << 20))
    }

    @Test func fixtureLibraryShowsIFUNCResolversAndIRELATIVE() throws {
        let root = try Support.makeRoot()
        defer { Support.remove(root + "/..") }
        let lzma = try Self.parse(root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1")
        #expect(lzma.soname == "liblzma.so.5")
        #expect(lzma.fileClass == .elf64 && lzma.machine == 62)
        #expect(Set(lzma.ifuncSymbols.map(\.name)).isSuperset(of: ["lzma_crc32", "lzma_crc64"]))
        #expect(lzma.irelativeRelocations > 0)
        #expect(lzma.symbols.contains { $0.name == "crc64_resolve" && $0.table == .symtab })
        #expect(lzma.buildID?.count == 40)
        #expect(!lzma.executableRanges.isEmpty)

        let systemd = try Self.parse(root + "/usr/lib/x86_64-linux-gnu/libsystemd.so.0.35.0")
        #expect(systemd.needed.contains("liblzma.so.5"))
        let sshd = try Self.parse(root + "/usr/sbin/sshd")
        #expect(sshd.needed.contains("libsystemd.so.0"))
        #expect(sshd.interpreter == "/lib64/ld-linux-x86-64.so.2")
        #expect(sshd.type == 3)
    }

    @Test func strippedLibraryRevealsResolversThroughMiniDebugInfo() throws {
        let root = try Support.makeRoot(["--strip"])
        defer { Support.remove(root + "/..") }
        let lzma = try Self.parse(root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1")
        #expect(!lzma.symbols.contains { $0.name == "crc64_resolve" && $0.table != .debugdata })
        #expect(lzma.symbols.contains { $0.name == "crc64_resolve" && $0.table == .debugdata })
        guard case .read(let count) = lzma.debugData else {
            Issue.record("debugdata not read: \(lzma.debugData)")
            return
        }
        #expect(count > 0)
    }

    @Test func libraryWithoutIFUNC() throws {
        let root = try Support.makeRoot(["--no-ifunc"])
        defer { Support.remove(root + "/..") }
        let lzma = try Self.parse(root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1")
        #expect(lzma.ifuncSymbols.isEmpty)
        #expect(lzma.irelativeRelocations == 0)
        #expect(!lzma.hasSymbol(named: "crc64_resolve"))
    }

    @Test func runpathAndRpathAreRead() throws {
        for option in ["--runpath", "--rpath"] {
            let root = try Support.makeRoot([option])
            defer { Support.remove(root + "/..") }
            let sshd = try Self.parse(root + "/usr/sbin/sshd")
            let value = option == "--runpath" ? sshd.runpath : sshd.rpath
            #expect(value == "$ORIGIN/../lib/chainwatch-private")
        }
    }

    @Test func truncatedAndGarbageInputsFailCleanly() throws {
        let root = try Support.makeRoot()
        defer { Support.remove(root + "/..") }
        let bytes = try OpenFile(path: root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1").readAll(limit: 64 << 20)
        for length in [0, 3, 16, 52, 64, 200, 1000, bytes.count / 2, bytes.count - 1] {
            // Must not crash; an error or partial facts are both acceptable for a cut file.
            _ = try? ELFParser.parse(Array(bytes.prefix(length)))
        }
        #expect(throws: ELFError.notELF) { try ELFParser.parse(Array("not an elf file at all".utf8)) }
        var corrupt = bytes
        for index in stride(from: 64, to: corrupt.count, by: 97) { corrupt[index] ^= 0xff }
        _ = try? ELFParser.parse(corrupt)
    }

    @Test func hostLibrariesParse() throws {
        let liblzma = try FileSystem.readLink("/usr/lib/x86_64-linux-gnu/liblzma.so.5")
        let info = try Self.parse("/usr/lib/x86_64-linux-gnu/" + liblzma)
        #expect(info.soname == "liblzma.so.5")
        #expect(info.buildID != nil)
    }
}
