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

    /// What `ELFParser.parse` gives for `bytes`: the facts or the typed error, so each case can be asserted.
    static func outcome(_ bytes: [UInt8]) -> Result<ELFInfo, ELFError> {
        Result { () throws(ELFError) in try ELFParser.parse(bytes) }
    }

    /// The libelf or ELFParser message of a parse that must fail as `.malformed`, nil if it did not.
    static func malformedMessage(_ bytes: [UInt8]) -> String? {
        guard case .failure(.malformed(let message)) = outcome(bytes) else { return nil }
        return message
    }

    /// /bin/true (a little-endian ELF64 PIE) with header fields patched to counts and offsets no file can have.
    /// libelf (elfutils 0.188) reads a section header table that does not fit as no sections and clamps a program
    /// header count to what fits: ELFParser must say so, never return facts of a file without sections or headers.
    @Test func elfHeadersWithImpossibleCountsFail() throws {
        let bytes = try OpenFile(path: "/bin/true").readAll(limit: 16 << 20)
        try #require(bytes.count > 64 && bytes[4] == 2 && bytes[5] == 1, "/bin/true is not a little-endian ELF64")
        // Unpatched, it parses: each failure below comes from the patch.
        guard case .success(let intact) = Self.outcome(bytes) else {
            Issue.record("/bin/true does not parse: \(Self.outcome(bytes))")
            return
        }
        #expect(intact.interpreter != nil && intact.buildID != nil && !intact.symbols.isEmpty)
        let size = bytes.count
        let shoff = bytes[40..<48].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let shnum = UInt16(bytes[60]) | UInt16(bytes[61]) << 8

        func patched(_ fields: [(offset: Int, bytes: [UInt8])]) -> [UInt8] {
            var copy = bytes
            for field in fields { copy.replaceSubrange(field.offset..<field.offset + field.bytes.count, with: field.bytes) }
            return copy
        }
        let ones: [UInt8] = [0xff, 0xff]

        // e_phnum (offset 56) and e_shnum (offset 60) both 0xffff: 65535 section headers do not fit, so libelf
        // sees none (and cannot look up PN_XNUM's real count in section 0).
        let both = Self.malformedMessage(patched([(56, ones), (60, ones)]))
        #expect(both == "no section header readable at e_shoff \(shoff) (e_shnum 65535, file of \(size) bytes)")
        // e_shnum alone: the same.
        let sections = Self.malformedMessage(patched([(60, ones)]))
        #expect(sections == "no section header readable at e_shoff \(shoff) (e_shnum 65535, file of \(size) bytes)")
        // e_shnum 0 with a table at e_shoff: extended numbering, and section 0's sh_size (0) counts no sections.
        let zero = Self.malformedMessage(patched([(60, [UInt8](repeating: 0, count: 2))]))
        #expect(zero == "no section header readable at e_shoff \(shoff) (e_shnum 0, file of \(size) bytes)")
        // e_shoff far past the end.
        let farSections = Self.malformedMessage(patched([(40, [UInt8](repeating: 0xff, count: 8))]))
        #expect(farSections == "no section header readable at e_shoff \(UInt64.max) (e_shnum \(shnum), file of \(size) bytes)")
        // e_phnum alone 0xffff is PN_XNUM: libelf reads the count from section 0's sh_info, 0 here, where ld.so
        // would read 65535 headers.
        let extended = Self.malformedMessage(patched([(56, ones)]))
        #expect(extended == "e_phnum is PN_XNUM (0xffff) but section 0 gives 0 program headers")
        // e_phnum 0xfffe: libelf clamps elf_getphdrnum to the headers that fit, then refuses gelf_getphdr.
        let headers = Self.malformedMessage(patched([(56, [UInt8]([0xfe, 0xff]))]))
        #expect(headers?.contains("invalid data") == true, "\(String(describing: headers))")
        // e_phoff far past the end: elf_getphdrnum refuses it.
        let farHeaders = Self.malformedMessage(patched([(32, [UInt8](repeating: 0xfe, count: 8))]))
        #expect(farHeaders?.contains("invalid data") == true, "\(String(describing: farHeaders))")
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

    /// `work(n)` and `work(2 * n)`, the work of a parse of an input of n and 2n repetitions: doubling the input
    /// may at most double the work, plus a constant, and the counters must count (at least one per repetition).
    static func expectLinear(_ label: String, n: Int, _ work: (Int) -> ParseWork) {
        let single = work(n), double = work(2 * n)
        #expect(single.lines >= 1 && single.examined >= n, "\(label): \(single) counts nothing")
        #expect(double.lines <= 2 * single.lines + 1, "\(label): \(single.lines) lines for n, \(double.lines) for 2n")
        #expect(double.examined <= 2 * single.examined + 64,
                "\(label): \(single.examined) examined for n, \(double.examined) for 2n")
    }

    /// The parsers' own counts of the lines they split and what their passes over each line looked at (no clock):
    /// bounded by a small constant times the input's size, and doubling with it.
    @Test func pathologicalMapsAndConfigTextIsLinear() {
        // /proc/PID/maps: bytes examined by the field scan, the " (deleted)" check, the backslash search and the
        // decoding; at most 6 per byte of a line (a backslash decoded) plus a constant per line.
        func maps(_ text: String) -> (mappings: [MemoryMapping], work: ParseWork) {
            var work = ParseWork()
            let mappings = MemoryMapParser.parse(bytes: Array(text.utf8), executableOnly: false, work: &work)
            #expect(work.examined <= 6 * text.utf8.count + 16 * work.lines, "\(work) for \(text.utf8.count) bytes")
            return (mappings, work)
        }
        let prefix = "7f00-7f10 r-xp 00000000 08:02 7 /"
        let longLine = prefix + String(repeating: "a", count: 4000) + "\n"
        let long = maps(String(repeating: longLine, count: 200))
        #expect(long.mappings.count == 200 && long.mappings.allSatisfy { $0.path.utf8.count == 4001 })
        // 33 bytes of fields, 10 of suffix check, the 4001-byte path searched once and decoded once.
        #expect(long.work == ParseWork(lines: 200, examined: 200 * (33 + 10 + 2 * 4001)))
        Self.expectLinear("maps, long paths", n: 200) { maps(String(repeating: longLine, count: $0)).work }

        let backslashes = maps(String(repeating: "\\", count: 100_000))
        #expect(backslashes.mappings.isEmpty)
        #expect(backslashes.work == ParseWork(lines: 1, examined: 100_001), "one pass over the one field")
        Self.expectLinear("maps, one line of backslashes", n: 100_000) { maps(String(repeating: "\\", count: $0)).work }

        let escaped = maps(prefix + String(repeating: "\\012", count: 10_000) + "\n")
        #expect(escaped.mappings.map(\.path) == ["/" + String(repeating: "\n", count: 10_000)])
        Self.expectLinear("maps, escaped newlines", n: 10_000) {
            maps(prefix + String(repeating: "\\012", count: $0) + "\n").work
        }

        let malformed = maps("1-2 r-xp 0 zz:zz 5 /x\n-1 rwxp 0 0:0 1 /y\n")
        #expect(malformed.mappings.isEmpty && malformed.work.lines == 2)

        // ld.so.conf: examined counts each word of a line and each character a directory's trailing-slash trim
        // looks at; at most 2 per byte.
        func conf(_ text: String) -> (directives: [(LoaderConfiguration.Directive, String)], work: ParseWork) {
            var work = ParseWork()
            let directives = LoaderConfiguration.parse(text, work: &work)
            #expect(work.examined <= 2 * text.utf8.count, "\(work) for \(text.utf8.count) bytes")
            return (directives, work)
        }
        let includes = conf(String(repeating: "include ", count: 50_000))
        #expect(includes.directives.count == 49_999)
        #expect(includes.directives.allSatisfy { $0.0 == .include && $0.1 == "include" })
        #expect(includes.work == ParseWork(lines: 1, examined: 50_000))
        Self.expectLinear("ld.so.conf, one line of includes", n: 50_000) { conf(String(repeating: "include ", count: $0)).work }

        // A word of slashes is "/", trimmed in one pass (a removeLast loop on String.count was quadratic).
        let slashes = conf(String(repeating: "/", count: 200_000) + "\n")
        #expect(slashes.directives.count == 1 && slashes.directives.first?.1 == "/")
        #expect(slashes.work == ParseWork(lines: 1, examined: 1 + 200_000))
        Self.expectLinear("ld.so.conf, a word of slashes", n: 200_000) { conf(String(repeating: "/", count: $0)).work }

        let directoryLine = "/usr/lib/x86_64-linux-gnu/ # multiarch\n"
        let directories = conf(String(repeating: directoryLine, count: 10_000))
        #expect(directories.directives.count == 10_000)
        #expect(directories.directives.allSatisfy { $0.0 == .directory && $0.1 == "/usr/lib/x86_64-linux-gnu" })
        // One word, and the trim looks at the trailing "/" and the "u" before it.
        #expect(directories.work == ParseWork(lines: 10_000, examined: 10_000 * 3))
        Self.expectLinear("ld.so.conf, directory lines", n: 10_000) { conf(String(repeating: directoryLine, count: $0)).work }

        // dpkg status: examined counts the characters the blank-line test and the colon search look at and the
        // bytes of each value kept; at most 3 per byte.
        func dpkg(_ text: String) -> (packages: [InstalledPackage], work: ParseWork) {
            var work = ParseWork()
            let packages = DpkgDatabase.parseStatus(text, work: &work)
            #expect(work.examined <= 3 * text.utf8.count, "\(work) for \(text.utf8.count) bytes")
            return (packages, work)
        }
        let statusless = "Package: a\nVersion: \u{0}\n\n"
        let noStatus = dpkg(String(repeating: statusless, count: 10_000))
        #expect(noStatus.packages.isEmpty, "no Status field: not installed")
        // Per stanza: "Package: a" and "Version: \0" each 1 + 8 + 2, the blank line nothing; one empty line at the end.
        #expect(noStatus.work == ParseWork(lines: 3 * 10_000 + 1, examined: 10_000 * 22))
        Self.expectLinear("dpkg, stanzas without Status", n: 10_000) { dpkg(String(repeating: statusless, count: $0)).work }

        let stanza = "Package: p\nStatus: install ok installed\nVersion: 1.0\n\n"
        let installed = dpkg(String(repeating: stanza, count: 5_000))
        #expect(installed.packages.count == 5_000)
        #expect(installed.packages.allSatisfy { $0.name == "p" && $0.version == "1.0" })
        #expect(installed.work.lines == 4 * 5_000 + 1)
        Self.expectLinear("dpkg, installed stanzas", n: 5_000) { dpkg(String(repeating: stanza, count: $0)).work }

        // A line of spaces that is not blank, and a line without a colon: each looked at once.
        func spacesAndNoColon(_ n: Int) -> String { String(repeating: " ", count: n) + "x\n" + String(repeating: "k", count: n) + "\n" }
        let odd = dpkg(spacesAndNoColon(100_000))
        #expect(odd.packages.isEmpty)
        #expect(odd.work == ParseWork(lines: 3, examined: (100_000 + 1) + (1 + 100_000)))
        Self.expectLinear("dpkg, long odd lines", n: 100_000) { dpkg(spacesAndNoColon($0)).work }
    }
}
