import Foundation
import Testing
@testable import Daemon
@testable import Rules

extension LiveSystemTests {
/// YARA rules on code in no file, and under a running daemon's SIGHUP with the real journald.
@Suite(.serialized) struct YARALiveTests {
    /// Elastic's $a1 and its $b1..$b3 (the ?? of $b1 as zeros): passed to the fixture as hex, so the bytes are never
    /// in any file, the fixture's own binary included.
    static let elasticA1 = Array("yolAbejyiejuvnup=Evjtgvsh5okmkAvj".utf8).map { String(format: "%02x", $0) }.joined()
    static let elasticB = [YARATests.op1, YARATests.op2, YARATests.op3].joined(separator: " ").replacingOccurrences(of: " ", with: "")

    /// A program that maps its first argument's bytes executable from a memfd and its second's as anonymous
    /// executable memory, prints "ready" and waits. The bytes are never run.
    static let mapperSource = #"""
        /* YARALiveTests fixture: maps bytes as executable memory, never calls into them. */
        #define _GNU_SOURCE
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        #include <sys/mman.h>
        static size_t decode(const char *hex, unsigned char *out) {
            size_t n = strlen(hex) / 2;
            for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &out[i]);
            return n;
        }
        int main(int argc, char **argv) {
            if (argc != 3 && argc != 4) return 2;
            unsigned char buffer[4096] = {0};
            size_t n = decode(argv[1], buffer);
            int fd = memfd_create("cw-yara-code", MFD_CLOEXEC);
            if (fd < 0 || write(fd, buffer, 4096) != 4096) return 1;
            if (mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED) return 1;
            unsigned char *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (anon == MAP_FAILED) return 1;
            memset(buffer, 0, sizeof buffer);
            n = decode(argv[2], buffer);
            memcpy(anon + 64, buffer, n);
            if (mprotect(anon, 4096, PROT_READ | PROT_EXEC) != 0) return 1;
            /* optional: a large anonymous executable mapping (MiB), left zero */
            if (argc == 4 && mmap(NULL, (size_t)atoi(argv[3]) << 20, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) return 1;
            printf("ready\n");
            fflush(stdout);
            pause();
            return 0;
        }
        """#

    static func buildMapper(_ directory: String) throws -> String {
        let source = directory + "/mapper.c", binary = directory + "/cw-yara-mapper"
        try mapperSource.write(toFile: source, atomically: true, encoding: .utf8)
        let built = try Support.run("/usr/bin/gcc", ["-O1", "-o", binary, source])
        try #require(built.status == 0, "gcc: \(built.stderr)")
        return binary
    }

    static func evidence(_ finding: [String: Any]) -> [String: Any] { finding["evidence"] as? [String: Any] ?? [:] }

    /// Executable memfd and anonymous code holding the xz rules' bytes, in a process a loader-injection rule
    /// names: found by pid and mapping, each mapping scanned alone; a rule whose scan_context is only "file" is
    /// not applied to memory; with --yara-memory all the process is found without any rule naming it.
    @Test func codeInNoFileIsFoundByPid() throws {
        let parent = try Support.temporaryDirectory("yara-memory")
        defer { Support.remove(parent) }
        let mapper = try Self.buildMapper(parent)
        let naming = """
            chainwatch-rules: 1
            rules:
              - id: test-yara-mapper-code
                title: Test program maps code outside files
                kind: loader-injection
                severity: low
                message-id: 2f9d1c3b7a6e4d5f8b0a1c2e3d4f5a6b
                description: Names the YARALiveTests fixture, so its memory is looked at.
                references: []
                tags: [test]
                match:
                  programs: [cw-yara-mapper]
                  code-outside-files: true

            """
        let fileOnly = "rule file_only_a1 { meta: scan_context = \"file\" strings: $a = \"yolAbejyiejuvnup=Evjtgvsh5okmkAvj\" condition: $a }\n"
        let rules = try YARATests.rulesDirectory(parent + "/named", copying: YARATests.publicFiles,
                                                 texts: ["naming.yaml": naming, "file-only.yar": fileOnly])
        // A third mapping of 80 MiB: over the 64 MiB scanned per process, a recorded skip.
        let process = try Support.Background(mapper, [Self.elasticB, Self.elasticA1, "80"])
        defer { process.stop() }
        try #require(process.waitForLine() == "ready")
        let pid = Int(process.pid)

        let (_, document) = try Support.scanJSON(["--rules", rules, "--no-library-dirs"])
        let mine = Support.findings(document).filter {
            $0["kind"] as? String == "yara" && ((Self.evidence($0)["pids"] as? [Int])?.contains(pid) == true)
        }
        let elastic = "yara.linux_trojan_xzbackdoor.linux_trojan_xzbackdoor_74e87a9d"
        // The anonymous mapping: found in memory, by pid and mapping.
        let anonymous = try #require(mine.first { $0["rule"] as? String == elastic && Self.evidence($0)["seen_as"] as? [String] == ["process memory"] },
                                     "\(mine)")
        #expect(Self.evidence(anonymous)["pid"] as? Int == pid)
        #expect((Self.evidence(anonymous)["mapping"] as? String)?.hasSuffix("r-x (anonymous)") == true)
        #expect(Self.evidence(anonymous)["path"] as? String == "[anonymous executable memory of \(mapper)]")
        #expect((Self.evidence(anonymous)["yara_strings"] as? [String]) == ["$a1 at 0x40"])   // offset in the mapping
        #expect(anonymous["severity"] as? String == "critical")
        // The memfd: its bytes (all of $b*) are found, with the pid, as a file read through map_files.
        #expect(mine.contains { $0["rule"] as? String == elastic && (Self.evidence($0)["path"] as? String)?.hasPrefix("/memfd:cw-yara-code") == true },
                "\(mine)")
        // The 80 MiB mapping is over the per-process bound: a limit skip naming the pid and the mapping.
        let skipped = document["skipped"] as? [[String: Any]] ?? []
        #expect(skipped.contains {
            ($0["subject"] as? String)?.hasPrefix("pid \(pid) (\(mapper)) mapping ") == true
                && ($0["reason"] as? String)?.contains("over the 64 MiB of memory scanned per process") == true
        }, "\(skipped)")
        // scan_context = "file": not applied to memory.
        #expect(!mine.contains { $0["rule"] as? String == "yara.file-only.file_only_a1" }, "\(mine)")

        // No rule names the program: its memory is not scanned by default, and is with --yara-memory all.
        let unnamed = try YARATests.rulesDirectory(parent + "/unnamed", copying: YARATests.publicFiles)
        func anonymousFinding(_ arguments: [String]) throws -> Bool {
            let (_, document) = try Support.scanJSON(["--rules", unnamed, "--no-library-dirs"] + arguments)
            return Support.findings(document).contains {
                $0["rule"] as? String == elastic && Self.evidence($0)["pid"] as? Int == pid
                    && Self.evidence($0)["seen_as"] as? [String] == ["process memory"]
            }
        }
        #expect(try anonymousFinding([]) == false)
        #expect(try anonymousFinding(["--yara-memory", "all"]) == true)
    }

    /// A YARA file added under a running daemon fires at the next scan (SIGHUP) on a library a process already
    /// mapped, with the YARA MESSAGE_ID and fields in the real journal; a broken YARA file then keeps the previous
    /// rules (an error entry naming file and line; nothing cleared).
    @Test func yaraFilesUnderSIGHUP() throws {
        let setup = try DaemonTests.Setup()
        defer { Support.remove(setup.work) }
        let sandbox = setup.sandbox
        let libraries = setup.work + "/libreload"
        try FileManager.default.createDirectory(atPath: libraries, withIntermediateDirectories: true)
        let source = libraries + "/libreload.c"
        try RuleReloadTests.librarySource.write(toFile: source, atomically: true, encoding: .utf8)
        let x = libraries + "/libreload-x.so"
        try RuleReloadTests.compile(source, to: x)

        let rules = setup.work + "/yara-rules"
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: rules)
        try RuleReloadTests.writeRule(rules + "/a.yaml", id: RuleReloadTests.ruleA, messageID: RuleReloadTests.messageA,
                                      pattern: RuleReloadTests.blob1)
        let victim = try Support.Background(setup.mapsLib, [x])
        defer { victim.stop() }
        try #require(victim.waitForLine() == "ready")

        let stderrPath = setup.work + "/yara-daemon.err"
        let daemon = try Support.Background("/usr/bin/nsenter", sandbox.inside([
            Support.builtBinary, "--config", setup.config, "--rules", rules, "--state-dir", setup.work + "/yara-state",
        ]), environment: ["NOTIFY_SOCKET": setup.notify.socket, "WATCHDOG_USEC": "1000000", "PATH": "/usr/bin:/bin"],
           stderrPath: stderrPath)
        defer { daemon.stop() }
        func daemonStderr() -> String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
        let yaraRule = "yara.reload.reload_blob2"
        let isA: ([String: Any]) -> Bool = { $0["CHAINWATCH_RULE"] as? String == RuleReloadTests.ruleA && $0["CHAINWATCH_PATH"] as? String == x }
        let isYARA: ([String: Any]) -> Bool = { $0["CHAINWATCH_RULE"] as? String == yaraRule && $0["CHAINWATCH_PATH"] as? String == x }
        func event(_ entry: [String: Any]) -> String { entry["CHAINWATCH_EVENT"] as? String ?? "" }
        _ = try #require(try sandbox.waitFor(60) { isA($0) && event($0) == "new" }, "no alert for rule A: \(daemonStderr())")

        // Added: a YARA file whose hex string is blob2, already in X, which the daemon has cached.
        let blob2 = RuleReloadTests.bytes(RuleReloadTests.blob2).map { String(format: "%02X", $0) }.joined(separator: " ")
        let yara = "rule reload_blob2 {\n  meta:\n    description = \"Reload test blob\"\n    score = 80\n  strings:\n    $b = { \(blob2) }\n  condition:\n    $b\n}\n"
        try yara.write(toFile: rules + "/reload.yar", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: rules + "/reload.yar")
        daemon.signal(SIGHUP)
        let alert = try #require(try sandbox.waitFor(60) { isYARA($0) && event($0) == "new" }, "the YARA rule did not fire: \(daemonStderr())")
        #expect(alert["MESSAGE_ID"] as? String == YARAConventions.messageID)
        #expect(alert["CHAINWATCH_KIND"] as? String == "yara")
        #expect(alert["CHAINWATCH_SEVERITY"] as? String == "high")
        #expect(alert["CHAINWATCH_YARA_RULE"] as? String == "reload_blob2")
        #expect(alert["CHAINWATCH_YARA_NAMESPACE"] as? String == "reload.yar")
        #expect((alert["CHAINWATCH_YARA_STRINGS"] as? String)?.hasPrefix("$b at 0x") == true)
        #expect(alert["CHAINWATCH_PID"] as? String == String(victim.pid))

        // Broken: a reload with a YARA file that does not compile keeps the previous rules.
        try "rule broken {\n  condition:\n    nope\n}\n".write(toFile: rules + "/broken.yar", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: rules + "/broken.yar")
        let summaries = try setup.summaries()
        daemon.signal(SIGHUP)
        let error = try #require(try sandbox.waitFor(60) { $0["MESSAGE_ID"] as? String == JournalEntries.rulesErrorMessageID },
                                 "no rules error entry: \(daemonStderr())")
        #expect((error["CHAINWATCH_RULES_ERROR"] as? String)?.contains(rules + "/broken.yar:3: YARA:") == true, "\(error)")
        #expect(try setup.waitForSummaries(atLeast: summaries + 2), "no scans after the failed reload")
        let cleared = try sandbox.entries().filter { (isA($0) || isYARA($0)) && event($0) == "cleared" }
        #expect(cleared.isEmpty, "\(cleared)")
    }
}
}
