import Foundation
import Testing
@testable import Engine
@testable import Rules
import YARA

/// YARA files as rules (issue 23): the three public xz rule files compile and become chainwatch rules; on fixture
/// files built here they fire exactly where Debian's `yara` CLI says they do, file by file; broken files are
/// errors with file and line; a file is still read once.
@Suite(.serialized) struct YARATests {
    static var publicRules: String { Support.fixtures + "/yara" }

    // The rules' byte sequences, inert data in the fixtures' .text (never called).
    static let xc1 = "F3 0F 1E FA 55 48 89 F5 4C 89 CE 53 89 FB 81 E7 00 00 00 80 48 83 EC 28 48 89 54 24 18 48 89 4C 24 10"
    static let op1 = "48 8d 7c 24 08 f3 ab 48 8d 44 24 08 48 89 d1 4c 89 c7 48 89 c2 e8 00 00 00 00 89 c2"
    static let op2 = "31 c0 49 89 ff b9 16 00 00 00 4d 89 c5 48 8d 7c 24 48 4d 89 ce f3 ab 48 8d 44 24 48"
    static let op3 = "4d 8b 6c 24 08 45 8b 3c 24 4c 8b 63 10 89 85 78 f1 ff ff 31 c0 83 bd 78 f1 ff ff 00 f3 ab 79 07"

    static func cBytes(_ hex: String) -> String {
        hex.split(separator: " ").map { "0x" + $0 }.joined(separator: ", ")
    }

    /// A shared library whose .text carries `sequences` as data (one array each), built with gcc.
    static func library(_ path: String, _ sequences: [String], padding: Int = 0) throws {
        var source = "/* YARATests fixture: byte sequences kept inert in .text, never executed. */\n"
        for (index, hex) in sequences.enumerated() {
            source += "__attribute__((used, section(\".text\"))) static const unsigned char seq\(index)[] = { \(cBytes(hex)) };\n"
        }
        if padding > 0 { source += "__attribute__((used)) static const unsigned char pad[\(padding)] = { 1 };\n" }
        source += "int fixture_answer(void) { return 42; }\n"
        try source.write(toFile: path + ".c", atomically: true, encoding: .utf8)
        let built = try Support.run("/usr/bin/gcc", ["-shared", "-fPIC", "-w", "-o", path, path + ".c"])
        try #require(built.status == 0, "gcc: \(built.stderr)")
        try FileManager.default.removeItem(atPath: path + ".c")
    }

    /// A rules directory (root's, 0755; files 0644) holding copies of `files` and any extra texts.
    static func rulesDirectory(_ parent: String, copying files: [String] = [], texts: [String: String] = [:]) throws -> String {
        let rules = parent + "/rules"
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for file in files { try FileManager.default.copyItem(atPath: file, toPath: rules + "/" + (file as NSString).lastPathComponent) }
        for (name, text) in texts { try text.write(toFile: rules + "/" + name, atomically: true, encoding: .utf8) }
        for name in try FileManager.default.contentsOfDirectory(atPath: rules) {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: rules + "/" + name)
        }
        return rules
    }

    static var publicFiles: [String] {
        ["bkdr_xz_util_cve_2024_3094.yar", "Linux_Trojan_XZBackdoor.yar", "unk_liblzma_backdoor.yara"].map { publicRules + "/" + $0 }
    }

    @Test func thePublicXZFilesLoadAsRules() throws {
        let set = try RuleLoader.load(from: [Self.publicRules])
        #expect(set.files.count == 3)
        let byName = Dictionary(uniqueKeysWithValues: set.rules.compactMap { rule -> (String, Rule)? in
            guard case .yara(let match) = rule.match else { return nil }
            return (match.name, rule)
        })
        #expect(Set(byName.keys) == ["BKDR_XZUtil_Script_CVE_2024_3094_Mar24_1", "BKDR_XZUtil_Binary_CVE_2024_3094_Mar24_1",
                                     "Linux_Trojan_XZBackdoor_74e87a9d", "unk_liblzma_backdoor"])
        let roth = try #require(byName["BKDR_XZUtil_Binary_CVE_2024_3094_Mar24_1"])
        #expect(roth.id == "yara.bkdr_xz_util_cve_2024_3094.bkdr_xzutil_binary_cve_2024_3094_mar24_1")
        #expect(roth.title == "Detects injected code used by the backdoored XZ library (xzutil) CVE-2024-3094.")
        #expect(roth.severity == .high)   // score 75
        #expect(roth.references == ["https://www.openwall.com/lists/oss-security/2024/03/29/4"])
        #expect(roth.tags.contains("cve-2024-3094"))
        #expect(roth.location.line == 18)
        #expect(byName["Linux_Trojan_XZBackdoor_74e87a9d"]?.severity == .critical)   // Elastic severity 100
        #expect(byName["unk_liblzma_backdoor"]?.severity == .high)                   // no score: the default
        #expect(set.rules.allSatisfy { $0.messageID == YARAConventions.messageID && $0.kind == .yara })
        guard case .yara(let elastic)? = byName["Linux_Trojan_XZBackdoor_74e87a9d"]?.match else { Issue.record("no match"); return }
        #expect(elastic.appliesToFiles && elastic.appliesToMemory)   // scan_context = "file, memory"
    }

    @Test func severityFollowsTheAuthorsConventions() throws {
        func severity(_ meta: String) throws -> Severity {
            let rules = try YARACompiler.compile([YARASource(file: "t.yar", namespace: "t", text: "rule r { meta: \(meta) condition: true }")],
                                                 variables: [])
            return YARAConventions.severity(rules.rules[0])
        }
        #expect(try severity("score = 95") == .critical)
        #expect(try severity("score = 75") == .high)
        #expect(try severity("score = \"60\"") == .medium)
        #expect(try severity("score = 30") == .low)
        #expect(try severity("score = 10") == .info)
        #expect(try severity("severity = 100") == .critical)
        #expect(try severity("severity = \"medium\"") == .medium)
        #expect(try severity("author = \"x\"") == .high)
    }

    /// A YARA file that does not compile, next to valid YAML rules: --check-rules names the file, line and
    /// libyara's message and exits 2; so do an unknown module and an include.
    @Test func brokenYARAFilesAreErrorsWithFileAndLine() throws {
        let parent = try Support.temporaryDirectory("yara-broken")
        defer { Support.remove(parent) }
        let valid = try String(contentsOfFile: Support.rulesDirectory + "/cve-2024-3094/packages.yaml", encoding: .utf8)
        let rules = try Self.rulesDirectory(parent, copying: Self.publicFiles, texts: [
            "packages.yaml": valid,
            "typo.yaml": valid.replacingOccurrences(of: "    title:", with: "    titel:"),
            "broken.yar": "rule broken {\n  strings:\n    $a = \"x\"\n  condition:\n    $a and not_defined\n}\n",
            "module.yar": "import \"no_such_module\"\nrule m { condition: true }\n",
            "include.yar": "include \"/etc/passwd\"\nrule i { condition: true }\n",
        ])
        let result = try Support.chainwatch(["--check-rules", rules])
        #expect(result.status == 2)
        #expect(result.stderr.contains(rules + "/broken.yar:5: YARA: undefined identifier \"not_defined\""), "\(result.stderr)")
        #expect(result.stderr.contains(rules + "/module.yar:1: YARA:"), "\(result.stderr)")
        #expect(result.stderr.contains("no_such_module"), "\(result.stderr)")
        #expect(result.stderr.contains(rules + "/include.yar:1: YARA:"), "\(result.stderr)")
        // The YAML files beside them are still checked: the typo is reported in the same run.
        #expect(result.stderr.contains(rules + "/typo.yaml:"), "\(result.stderr)")
        #expect(result.stderr.contains("'titel': unknown key"), "\(result.stderr)")
        try FileManager.default.removeItem(atPath: rules + "/typo.yaml")
        // Without them the directory is valid: YAML and YARA side by side.
        for name in ["broken.yar", "module.yar", "include.yar"] { try FileManager.default.removeItem(atPath: rules + "/" + name) }
        let fixed = try Support.chainwatch(["--check-rules", rules])
        #expect(fixed.status == 0, "\(fixed.stderr)")
    }

    /// The three files over fixture files built here and the host's own liblzma: chainwatch reports exactly the
    /// (rule, file) pairs Debian's yara reports, file by file (uint16(0), uint32be(0), filesize, all of ($op*)).
    @Test func verdictsAgreeWithTheYaraCLIFileByFile() throws {
        let parent = try Support.temporaryDirectory("yara-oracle")
        defer { Support.remove(parent) }
        let files = parent + "/files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        try Self.library(files + "/libxc1.so", [Self.xc1])                          // Roth ($xc1), Raiu ($a1)
        try Self.library(files + "/libops.so", [Self.op1, Self.op2, Self.op3])        // Roth (all of $op*), Elastic (all of $b*)
        try Self.library(files + "/libtwo-ops.so", [Self.op1, Self.op2])              // all of ($op*) is false
        try Self.library(files + "/libbig.so", [Self.xc1], padding: 11 << 20)         // filesize < 10MB is false for Raiu's
        // Not ELF: uint16(0) == 0x457f is false, so only the string rules could fire.
        var notELF = Data("#!/bin/sh\n".utf8)
        notELF.append(contentsOf: Self.xc1.split(separator: " ").map { UInt8($0, radix: 16)! })
        try notELF.write(to: URL(fileURLWithPath: files + "/script.sh"))
        try Data("x=1\neval $zrKcKQ\n".utf8).write(to: URL(fileURLWithPath: files + "/build-to-host.m4"))
        try Data("plain text\n".utf8).write(to: URL(fileURLWithPath: files + "/clean.txt"))
        let hostLZMA = "/usr/lib/x86_64-linux-gnu/liblzma.so.5"
        var targets = try FileManager.default.contentsOfDirectory(atPath: files).sorted().map { files + "/" + $0 }
        if FileManager.default.fileExists(atPath: hostLZMA) { targets.append(hostLZMA) }

        var expected: Set<String> = []
        for rules in Self.publicFiles {
            for target in targets {
                let oracle = try Support.run("/usr/bin/yara", ["-w", rules, target])
                try #require(oracle.status == 0, "yara: \(oracle.stderr)")
                for line in oracle.stdout.split(separator: "\n") {
                    let parts = line.split(separator: " ", maxSplits: 1)
                    if parts.count == 2 { expected.insert("\(parts[0]) \(parts[1])") }
                }
            }
        }
        let rules = try Self.rulesDirectory(parent, copying: Self.publicFiles)
        let (result, document) = try Support.scanJSON(["--rules", rules, "--path", files, "--path", hostLZMA])
        let found = Set(Support.findings(document).compactMap { finding -> String? in
            guard let evidence = finding["evidence"] as? [String: Any], let rule = evidence["yara_rule"] as? String,
                  let path = evidence["path"] as? String else { return nil }
            return "\(rule) \(path)"
        })
        #expect(found == expected)
        #expect(result.status == 1)
        // The clean host liblzma matches none, in either tool; the fixtures do.
        #expect(!found.contains { $0.hasSuffix(hostLZMA) })
        #expect(found.contains("BKDR_XZUtil_Binary_CVE_2024_3094_Mar24_1 \(files)/libops.so"))
        #expect(!found.contains("BKDR_XZUtil_Binary_CVE_2024_3094_Mar24_1 \(files)/libtwo-ops.so"))
        #expect(!found.contains("unk_liblzma_backdoor \(files)/libbig.so"))
        // Evidence: namespace, strings with offsets, the severity of the rule's score.
        let roth = try #require(Support.findings(document).first {
            ($0["evidence"] as? [String: Any])?["path"] as? String == files + "/libxc1.so"
                && ($0["evidence"] as? [String: Any])?["yara_rule"] as? String == "BKDR_XZUtil_Binary_CVE_2024_3094_Mar24_1"
        })
        let evidence = try #require(roth["evidence"] as? [String: Any])
        #expect(evidence["yara_namespace"] as? String == "bkdr_xz_util_cve_2024_3094.yar")
        #expect((evidence["yara_strings"] as? [String])?.first?.hasPrefix("$xc1 at 0x") == true)
        #expect(roth["severity"] as? String == "high")
        #expect(roth["message_id"] as? String == YARAConventions.messageID)
    }

    /// Archive members are scanned too, from the one streaming read of the archive: a library inside a .tar.gz
    /// inside a .tar is found under its member name.
    @Test func archiveMembersAreScanned() throws {
        let parent = try Support.temporaryDirectory("yara-archive")
        defer { Support.remove(parent) }
        let inner = parent + "/inner"
        try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: true)
        try Self.library(inner + "/libxc1.so", [Self.xc1])
        try #require(try Support.run("/bin/tar", ["-czf", parent + "/inner.tar.gz", "-C", inner, "libxc1.so"]).status == 0)
        try #require(try Support.run("/bin/tar", ["-cf", parent + "/outer.tar", "-C", parent, "inner.tar.gz"]).status == 0)
        let rules = try Self.rulesDirectory(parent + "/r", copying: Self.publicFiles)
        let (_, document) = try Support.scanJSON(["--rules", rules, "--path", parent + "/outer.tar"])
        let paths = Set(Support.findings(document).compactMap { finding -> String? in
            guard finding["rule"] as? String == "yara.bkdr_xz_util_cve_2024_3094.bkdr_xzutil_binary_cve_2024_3094_mar24_1" else { return nil }
            return (finding["evidence"] as? [String: Any])?["path"] as? String
        })
        #expect(paths == [parent + "/outer.tar!inner.tar.gz!libxc1.so"])
    }

    /// LOKI's and THOR's variables are set per file: filename, filepath (the directory), extension, filetype, owner.
    @Test func scannerVariablesAreSetPerFile() throws {
        let parent = try Support.temporaryDirectory("yara-vars")
        defer { Support.remove(parent) }
        let files = parent + "/files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        try Self.library(files + "/libvar.so.1", [])
        try Data("MZ not really\n".utf8).write(to: URL(fileURLWithPath: files + "/Tool.EXE"))
        let rules = try Self.rulesDirectory(parent, texts: ["vars.yar": """
            rule elf_by_variables { condition: filename == "libvar.so.1" and filepath == "\(files)" and extension == ".1" and filetype == "ELF" and owner == "root" }
            rule exe_by_variables { condition: filename == "Tool.EXE" and extension == ".exe" and filetype == "EXE" }
            rule never { condition: filename == "" }
            """])
        let (_, document) = try Support.scanJSON(["--rules", rules, "--path", files])
        let found = Set(Support.findings(document).compactMap { ($0["evidence"] as? [String: Any])?["yara_rule"] as? String })
        #expect(found == ["elf_by_variables", "exe_by_variables"])
    }

    /// A file over the YARA size limit is a recorded skip naming the file and the rule files, never a pass; the
    /// scan is then incomplete.
    @Test func aFileOverTheSizeLimitIsARecordedSkip() throws {
        let parent = try Support.temporaryDirectory("yara-big")
        defer { Support.remove(parent) }
        let big = parent + "/big.bin"
        #expect(FileManager.default.createFile(atPath: big, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: big))
        try handle.truncate(atOffset: UInt64(YARALimits().maximumFileSize + 1))   // sparse
        try handle.close()
        let rules = try Self.rulesDirectory(parent, copying: Self.publicFiles)
        let (result, document) = try Support.scanJSON(["--rules", rules, "--path", big])
        #expect(result.status == 3)
        let skipped = document["skipped"] as? [[String: Any]] ?? []
        let skip = try #require(skipped.first { $0["subject"] as? String == big }, "\(skipped)")
        #expect((skip["reason"] as? String)?.contains("over the 128 MiB YARA limit") == true)
        #expect((skip["reason"] as? String)?.contains("unk_liblzma_backdoor.yara") == true)
    }

    /// Rules that would take too long on a file (a quadratic loop) are stopped at the timeout: a recorded skip
    /// naming the file and the rule file, the scan incomplete, and the YAML rule loaded beside them still fires on it.
    @Test func aRuleSetThatTimesOutIsARecordedSkip() throws {
        let parent = try Support.temporaryDirectory("yara-slow")
        defer { Support.remove(parent) }
        let file = parent + "/zeros.bin"
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        bytes.replaceSubrange(4096..<4100, with: [0xde, 0xad, 0xbe, 0xef])
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let yaml = """
            chainwatch-rules: 1
            rules:
              - id: test-yara-neighbour
                title: Marker bytes
                kind: byte-signature
                severity: medium
                message-id: 5e0c2b7d9a1f4e3c8b6d0a2f4c6e8b1d
                description: A YAML rule loaded next to a slow YARA file.
                references: []
                tags: [test]
                match:
                  patterns: ["deadbeef"]

            """
        let rules = try Self.rulesDirectory(parent, texts: [
            "slow.yar": "rule slow { condition: for any i in (0..filesize) : (for any j in (0..filesize) : (i + j == filesize * 3)) }\n",
            "neighbour.yaml": yaml,
        ])
        let (result, document) = try Support.scanJSON(["--rules", rules, "--path", file, "--yara-timeout", "1"])
        #expect(result.status == 1)   // the YAML finding (medium); the skip is listed too
        #expect(Support.findings(document).map { $0["rule"] as? String } == ["test-yara-neighbour"])
        let skipped = document["skipped"] as? [[String: Any]] ?? []
        let skip = try #require(skipped.first { $0["subject"] as? String == file }, "\(skipped)")
        #expect((skip["reason"] as? String)?.contains("the YARA rules of \(rules)/slow.yar took more than 1 s") == true, "\(skip)")
        let verdict = document["verdict"] as? [String: Any] ?? [:]
        #expect((verdict["incomplete_reasons"] as? [String])?.isEmpty == false, "\(verdict)")
    }

    /// A rule with more strings than libyara allows is a compile error with file and line, not a slow load.
    @Test func aRuleWithTooManyStringsIsAnError() throws {
        let parent = try Support.temporaryDirectory("yara-many")
        defer { Support.remove(parent) }
        var text = "rule many {\n  strings:\n"
        for index in 0..<12_000 { text += "    $s\(index) = \"marker\(index)xyz\"\n" }
        text += "  condition:\n    any of them\n}\n"
        let rules = try Self.rulesDirectory(parent, texts: ["many.yar": text])
        let result = try Support.chainwatch(["--check-rules", rules])
        #expect(result.status == 2)
        #expect(result.stderr.contains(rules + "/many.yar:"), "\(result.stderr)")
        #expect(result.stderr.contains("too many strings"), "\(result.stderr)")
    }

    /// One read per file: the same files, scanned with and without YARA rules, read the same bytes, by chainwatch's
    /// count and by the kernel's (rchar of the process, from /proc/PID/io of the shell that reaped it).
    @Test func yaraRulesAddNoRead() throws {
        let parent = try Support.temporaryDirectory("yara-reads")
        defer { Support.remove(parent) }
        let files = parent + "/files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        try Self.library(files + "/liblarge.so", [Self.xc1], padding: 12 << 20)   // over the lane limit: read alone
        for index in 0..<20 { try Self.library(files + "/libsmall\(index).so", [Self.op1], padding: index << 16) }
        let withYARA = try Self.rulesDirectory(parent + "/with", copying: Self.publicFiles)
        let without = try Self.rulesDirectory(parent + "/without", texts: ["empty.yaml": "chainwatch-rules: 1\nrules: []\n"])

        func measure(_ rules: String) throws -> (bytes: Int, files: Int, rchar: Int) {
            let script = "\"$0\" --scan-now --format json --rules \"$1\" --path \"$2\" > \"$3\"; grep '^rchar:' /proc/$$/io"
            let out = parent + "/report.json"
            let result = try Support.run("/bin/sh", ["-c", script, Support.binary, rules, files, out])
            let rchar = Int(result.stdout.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
            let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any]
            let statistics = ((document?["scan"] as? [String: Any])?["statistics"] as? [String: Any]) ?? [:]
            return (statistics["bytes_read"] as? Int ?? -1, statistics["files_read"] as? Int ?? -1, rchar)
        }
        let plain = try measure(without), yara = try measure(withYARA)
        #expect(plain.bytes == yara.bytes && plain.files == yara.files && plain.files == 21)
        // The kernel's count differs only by the rule files themselves (a few KB), not by a second read of the
        // 13+ MB of files.
        let ruleBytes = try Self.publicFiles.map { try FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int ?? 0 }.reduce(0, +)
        #expect(yara.rchar - plain.rchar < ruleBytes + (256 << 10), "rchar \(plain.rchar) without, \(yara.rchar) with YARA rules")
        #expect(plain.rchar > plain.bytes)
    }
}
