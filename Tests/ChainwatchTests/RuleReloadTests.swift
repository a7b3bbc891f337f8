import Foundation
import Testing
@testable import Daemon

extension LiveSystemTests {
/// SIGHUP takes rule changes into account at once, even for files whose facts the daemon has cached: a rule added
/// to a running daemon finds a library a live process already maps, a rule whose pattern is edited away clears, an
/// edited-back rule fires again, a removed rule clears, and the rule that did not change is neither re-announced nor
/// cleared. The daemon runs with the real journald (DaemonTests.Setup) and only this test's rules directory.
@Suite(.serialized) struct RuleReloadTests {
    // Random bytes: blob1 and blob2 are compiled into libreload-x.so; `absent` is in no file. They are kept as hex
    // text so the raw bytes never appear in the test binary itself.
    static let blob1 = "df1c78def01f04f8bdac139ab278050b1563d242"
    static let blob2 = "cc9c1624d88e382f015184dadbb7368cc4b05437"
    static let absent = "a8c9a936951a032309c1c4d4692ad11a817efdf1"

    static let ruleA = "test-reload-blob-a"
    static let messageA = "ba8f44056c3347bece2f53e082e34c3a"
    static let ruleB = "test-reload-blob-b"
    static let messageB = "bdf591306839a53c4bc54cca9ce946bc"

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    static func cArray(_ hex: String) -> String {
        bytes(hex).map { "0x" + String($0, radix: 16) }.joined(separator: ", ")
    }

    /// A small shared library with two never-read blobs in .rodata; -DCW_NO_BLOBS leaves them out.
    static var librarySource: String {
        """
        /* libreload.c - fixture for chainwatch's RuleReloadTests, written at test time. */
        #ifndef CW_NO_BLOBS
        __attribute__((used)) static const unsigned char reload_blob1[] = { \(cArray(blob1)) };
        __attribute__((used)) static const unsigned char reload_blob2[] = { \(cArray(blob2)) };
        #endif
        __attribute__((visibility("default"))) int libreload_answer(void) { return 42; }

        """
    }

    static func compile(_ source: String, to output: String, defines: [String] = []) throws {
        let gcc = ProcessInfo.processInfo.environment["CHAINWATCH_GCC"] ?? "gcc"
        let result = try Support.run("/usr/bin/env", [gcc, "-O2", "-fPIC", "-shared"] + defines + ["-o", output, source])
        try #require(result.status == 0, "gcc \(output): \(result.stderr)")
    }

    /// Writes a one-rule byte-signature file, mode 0644 (as root, chainwatch refuses rule files others may write).
    static func writeRule(_ path: String, id: String, messageID: String, pattern: String) throws {
        let text = """
        chainwatch-rules: 1
        rules:
          - id: \(id)
            title: Reload test library holds a marker blob (\(id))
            kind: byte-signature
            severity: high
            message-id: \(messageID)
            description: Test rule of RuleReloadTests; matches a byte blob compiled into a fixture library.
            references: []
            tags: [test]
            match:
              files: ["libreload*.so*"]
              patterns:
                - "\(pattern)"

        """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    }

    /// Polls chainwatch's journal entries until at least `count` satisfy `predicate` (60 s at most); returns the
    /// matching entries, fewer than `count` on timeout.
    static func waitForEntries(_ sandbox: JournalSandbox, atLeast count: Int, timeout: Double = 60,
                               _ predicate: ([String: Any]) -> Bool) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(min(timeout, 60))
        var matching: [[String: Any]] = []
        while true {
            matching = try sandbox.entries().filter(predicate)
            if matching.count >= count || Date() >= deadline { return matching }
            usleep(200_000)
        }
    }

    @Test func addedEditedAndRemovedRulesTakeEffectOnSIGHUP() throws {
        let setup = try DaemonTests.Setup()
        defer { Support.remove(setup.work) }
        let sandbox = setup.sandbox

        // X carries both blobs, Y neither; both match the rules' file glob.
        let libraries = setup.work + "/libreload"
        try FileManager.default.createDirectory(atPath: libraries, withIntermediateDirectories: true)
        let source = libraries + "/libreload.c"
        try Self.librarySource.write(toFile: source, atomically: true, encoding: .utf8)
        let x = libraries + "/libreload-x.so"
        let y = libraries + "/libreload-y.so"
        try Self.compile(source, to: x)
        try Self.compile(source, to: y, defines: ["-DCW_NO_BLOBS"])
        let xBytes = try Data(contentsOf: URL(fileURLWithPath: x))
        let yBytes = try Data(contentsOf: URL(fileURLWithPath: y))
        for blob in [Self.blob1, Self.blob2] {
            try #require(xBytes.range(of: Data(Self.bytes(blob))) != nil, "gcc dropped blob \(blob) from \(x)")
            try #require(yBytes.range(of: Data(Self.bytes(blob))) == nil, "blob \(blob) in \(y)")
        }
        try #require(xBytes.range(of: Data(Self.bytes(Self.absent))) == nil)
        try #require(yBytes.range(of: Data(Self.bytes(Self.absent))) == nil)

        // The rules directory: root's, 0755, files 0644. Rule A (blob1) from the start.
        let rules = setup.work + "/reload-rules"
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: rules)
        let fileA = rules + "/a.yaml"
        let fileB = rules + "/b.yaml"
        try Self.writeRule(fileA, id: Self.ruleA, messageID: Self.messageA, pattern: Self.blob1)

        let victim = try Support.Background(setup.mapsLib, [x])
        defer { victim.stop() }
        try #require(victim.waitForLine() == "ready", "maps-lib could not load \(x)")
        let bystander = try Support.Background(setup.mapsLib, [y])
        defer { bystander.stop() }
        try #require(bystander.waitForLine() == "ready", "maps-lib could not load \(y)")
        let pid = String(victim.pid)

        let stderrPath = setup.work + "/reload-daemon.err"
        let daemon = try Support.Background("/usr/bin/nsenter", sandbox.inside([
            Support.builtBinary, "--config", setup.config, "--rules", rules, "--state-dir", setup.work + "/reload-state",
        ]), environment: ["NOTIFY_SOCKET": setup.notify.socket, "WATCHDOG_USEC": "1000000", "PATH": "/usr/bin:/bin"],
           stderrPath: stderrPath)
        defer { daemon.stop() }
        func daemonStderr() -> String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

        let isA: ([String: Any]) -> Bool = {
            $0["CHAINWATCH_RULE"] as? String == Self.ruleA && $0["CHAINWATCH_PATH"] as? String == x
        }
        let isB: ([String: Any]) -> Bool = {
            $0["CHAINWATCH_RULE"] as? String == Self.ruleB && $0["CHAINWATCH_PATH"] as? String == x
        }
        func event(_ entry: [String: Any]) -> String { entry["CHAINWATCH_EVENT"] as? String ?? "" }

        // Rule A fires for the process mapping X.
        #expect(try setup.waitForSummaries(atLeast: 1), "no scan summary; daemon stderr: \(daemonStderr())")
        let alertA = try #require(try sandbox.waitFor(60) { isA($0) && event($0) == "new" },
                                  "no alert for \(Self.ruleA); daemon stderr: \(daemonStderr())")
        #expect(alertA["CHAINWATCH_PID"] as? String == pid)
        #expect(alertA["CHAINWATCH_KIND"] as? String == "byte-signature")
        #expect(alertA["CHAINWATCH_SEVERITY"] as? String == "high")
        #expect(alertA["MESSAGE_ID"] as? String == Self.messageA)

        // SIGHUP, the "reloaded" entry, then a whole scan with the new rules; returns the "reloaded" entry.
        var reloads = 0
        func reload(_ what: String) throws -> [String: Any] {
            reloads += 1
            daemon.signal(SIGHUP)
            let reloaded = try Self.waitForEntries(sandbox, atLeast: reloads) { $0["CHAINWATCH_DAEMON"] as? String == "reloaded" }
            let errors: [String] = ((try? sandbox.entries()) ?? []).compactMap {
                $0["MESSAGE_ID"] as? String == JournalEntries.rulesErrorMessageID ? $0["CHAINWATCH_RULES_ERROR"] as? String : nil
            }
            try #require(reloaded.count >= reloads,
                         "no 'reloaded' entry after \(what); reload errors: \(errors); daemon stderr: \(daemonStderr())")
            let summaries = try setup.summaries()
            try #require(try setup.waitForSummaries(atLeast: summaries + 1), "no scan after \(what)")
            return reloaded[reloads - 1]
        }

        // Added: rule B (blob2) finds X, which the daemon read before B existed.
        try Self.writeRule(fileB, id: Self.ruleB, messageID: Self.messageB, pattern: Self.blob2)
        let added = try reload("adding \(Self.ruleB)")
        #expect((added["MESSAGE"] as? String)?.contains("detail=\"2 rules\"") == true, "\(added["MESSAGE"] as? String ?? "")")
        let newB = try Self.waitForEntries(sandbox, atLeast: 1, timeout: 10) { isB($0) && event($0) == "new" }
        let alertB = try #require(newB.first, "the added rule did not fire; daemon stderr: \(daemonStderr())")
        #expect(alertB["CHAINWATCH_PID"] as? String == pid)
        #expect(alertB["CHAINWATCH_KIND"] as? String == "byte-signature")
        #expect(alertB["MESSAGE_ID"] as? String == Self.messageB)

        // Edited: B's pattern no longer occurs in X, so B's finding clears.
        try Self.writeRule(fileB, id: Self.ruleB, messageID: Self.messageB, pattern: Self.absent)
        _ = try reload("editing \(Self.ruleB) to a pattern in no file")
        let clearedB = try Self.waitForEntries(sandbox, atLeast: 1, timeout: 10) { isB($0) && event($0) == "cleared" }
        #expect(clearedB.count == 1, "the edited rule's finding did not clear; daemon stderr: \(daemonStderr())")
        #expect(clearedB.first?["MESSAGE_ID"] as? String == JournalEntries.clearedMessageID)

        // Edited back to blob2: B fires again.
        try Self.writeRule(fileB, id: Self.ruleB, messageID: Self.messageB, pattern: Self.blob2)
        _ = try reload("editing \(Self.ruleB) back to blob2")
        let newAgain = try Self.waitForEntries(sandbox, atLeast: 2, timeout: 10) { isB($0) && event($0) == "new" }
        #expect(newAgain.count == 2, "the rule edited back did not fire again")
        #expect(newAgain.last?["CHAINWATCH_PID"] as? String == pid)

        // Removed: B's file is gone, its finding clears.
        try FileManager.default.removeItem(atPath: fileB)
        let removed = try reload("removing \(fileB)")
        #expect((removed["MESSAGE"] as? String)?.contains("detail=\"1 rules\"") == true, "\(removed["MESSAGE"] as? String ?? "")")
        let clearedAgain = try Self.waitForEntries(sandbox, atLeast: 2, timeout: 10) { isB($0) && event($0) == "cleared" }
        #expect(clearedAgain.count == 2, "the removed rule's finding did not clear")

        // Through four reloads the unchanged rule A was announced once and never cleared or changed; Y never matched.
        let entriesA = try sandbox.entries().filter(isA)
        #expect(entriesA.map(event) == ["new"], "\(entriesA.map(event))")
        let aboutY = try sandbox.entries().filter { $0["CHAINWATCH_PATH"] as? String == y }
        #expect(aboutY.isEmpty, "\(aboutY)")

        // And A is still tracked: once X is no longer mapped, it clears.
        victim.stop()
        let clearedA = try Self.waitForEntries(sandbox, atLeast: 1) { isA($0) && event($0) == "cleared" }
        #expect(clearedA.count == 1, "rule A did not clear after the process ended; daemon stderr: \(daemonStderr())")
    }
}
}
