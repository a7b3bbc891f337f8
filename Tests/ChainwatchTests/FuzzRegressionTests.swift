import Foundation
import Testing
import ELFReader
import HostIO
@testable import Probes
@testable import Rules
import XZ

/// Inputs shaped to blow up a parser (the cases scripts/fuzz.sh looks for, kept as regression tests):
/// each must end quickly with a result or an error.
@Suite struct FuzzRegressionTests {
    @Test func xzBombIsCutAtTheLimit() throws {
        let directory = try Support.temporaryDirectory("xzbomb")
        defer { Support.remove(directory) }
        // 64 MiB of zeros compress to a few KiB.
        let result = try Support.run("/bin/sh", ["-c", "head -c 67108864 /dev/zero | xz -c > '\(directory)/bomb.xz'"])
        try #require(result.status == 0)
        let bomb = try Array(Data(contentsOf: URL(fileURLWithPath: directory + "/bomb.xz")))
        #expect(bomb.count < 64 * 1024)
        #expect(throws: XZError.self) { try XZ.decompress(bomb, limit: 1 << 20) }
        #expect(throws: XZError.self) { try XZ.decompress(Array(bomb.prefix(bomb.count / 2)), limit: 128 << 20) }
        #expect(throws: XZError.self) { try XZ.decompress(Array("not xz".utf8)) }
    }

    @Test func elfHeadersWithImpossibleCountsFail() throws {
        let bytes = try OpenFile(path: "/bin/true").readAll(limit: 16 << 20)
        var patched = bytes
        // e_phnum (offset 56) and e_shnum (offset 60) of an ELF64 header set to 0xffff.
        for offset in [56, 57, 60, 61] { patched[offset] = 0xff }
        _ = try? ELFParser.parse(patched)
        var shoff = bytes
        for offset in 40..<48 { shoff[offset] = 0xff }   // e_shoff far past the end
        _ = try? ELFParser.parse(shoff)
        var phoff = bytes
        for offset in 32..<40 { phoff[offset] = 0xfe }   // e_phoff far past the end
        _ = try? ELFParser.parse(phoff)
    }

    @Test func yamlAliasBombInRulesIsBounded() {
        var text = "chainwatch-rules: 1\na: &a [x, x, x, x, x, x, x, x, x]\n"
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h"] {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
            previous = name
        }
        text += "rules:\n  - id: x\n    title: t\n    tags: *h\n    references: *h\n"
        let started = Date()
        let (rules, problems) = RuleLoader.decode(text, file: "bomb.yaml")
        #expect(rules.isEmpty && !problems.isEmpty)
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func pathologicalMapsAndConfigTextIsLinear() {
        let long = String(repeating: "7f00-7f10 r-xp 00000000 08:02 7 /" + String(repeating: "a", count: 4000) + "\n", count: 200)
        #expect(MemoryMapParser.parse(long).count == 200)
        #expect(MemoryMapParser.parse(String(repeating: "\\", count: 100_000)).isEmpty)
        #expect(MemoryMapParser.parse("1-2 r-xp 0 zz:zz 5 /x\n-1 rwxp 0 0:0 1 /y\n").isEmpty)
        let conf = String(repeating: "include ", count: 50_000)
        _ = LoaderConfiguration.parse(conf)
        _ = DpkgDatabase.parseStatus(String(repeating: "Package: a\nVersion: \u{0}\n\n", count: 10_000))
    }
}
