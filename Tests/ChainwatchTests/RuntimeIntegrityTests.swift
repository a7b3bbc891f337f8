import Foundation
import Testing
@testable import Daemon

extension LiveSystemTests {
/// Is anything hooking sshd right now? Fixture sshds (Tests/Fixtures/make-got.sh) whose GOT slot for
/// RSA_public_decrypt a library constructor rewrote, as the xz backdoor did, run while chainwatch scans.
@Suite(.serialized) struct RuntimeIntegrityTests {
    static let gotRule = "xz-backdoor-got-sshd-rsa"

    /// A fixture sshd of `variant` (make-got.sh options), started with its libraries on LD_LIBRARY_PATH.
    final class FixtureSshd {
        let directory: String
        let process: Support.Background

        /// - Parameter asUser: run it as this uid (and gid) instead of root, through setpriv.
        init(_ options: [String], asUser: Int? = nil) throws {
            let parent = try Support.temporaryDirectory("got")
            directory = parent + "/root"
            let made = try Support.run(Support.packageRoot + "/Tests/Fixtures/make-got.sh", [directory] + options)
            try #require(made.status == 0, "make-got.sh \(options): \(made.stderr)")
            let environment = ["LD_LIBRARY_PATH": directory + "/lib"]
            if let asUser {
                process = try Support.Background("/usr/bin/setpriv", [
                    "--reuid=\(asUser)", "--regid=\(asUser)", "--clear-groups", "--", directory + "/sbin/sshd",
                ], environment: environment)
            } else {
                process = try Support.Background(directory + "/sbin/sshd", [], environment: environment)
            }
            try #require(process.waitForLine() == "ready")
        }

        deinit {
            process.stop()
            Support.remove(directory + "/..")
        }
    }

    /// The host's own sshd on 127.0.0.1:2222. It runs as a daemon with a pid file rather than as a child with -D:
    /// sshd closes every inherited descriptor at start, and Foundation's Process takes its closed status socket
    /// for the child's exit and blocks in waitpid on it, hanging every later Process of the test run.
    struct RealSshd {
        let pid: Int32

        init(pidFile: String) throws {
            try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
            let started = try Support.run("/usr/sbin/sshd", ["-p", "2222", "-o", "ListenAddress=127.0.0.1", "-o", "PidFile=" + pidFile])
            try #require(started.status == 0, "sshd: \(started.stderr)")
            let deadline = Date().addingTimeInterval(10)
            var pid: Int32?
            while pid == nil && Date() < deadline {
                pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                if pid == nil { usleep(20_000) }
            }
            self.pid = try #require(pid, "sshd wrote no pid file")
        }

        func stop() {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while FileManager.default.fileExists(atPath: "/proc/\(pid)") && Date() < deadline { usleep(20_000) }
        }
    }

    static func gotFindings(_ document: [String: Any]) -> [[String: Any]] {
        Support.findings(document).filter { $0["kind"] as? String == "got-integrity" }
    }

    @Test(arguments: [(["--hook", "liblzma"], "/lib/liblzma.so.5"), (["--hook", "other"], "/lib/libhelper.so.1")])
    func aRewrittenSlotIsACriticalFindingNamingPidSymbolAndTarget(_ options: [String], _ target: String) throws {
        let sshd = try FixtureSshd(options)
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--no-library-dirs"])
        #expect(result.status == 1)
        let findings = Self.gotFindings(document).filter {
            ($0["evidence"] as? [String: Any])?["path"] as? String == sshd.directory + "/sbin/sshd"
        }
        try #require(findings.count == 1, "\(Self.gotFindings(document))")
        let finding = findings[0]
        let evidence = try #require(finding["evidence"] as? [String: Any])
        #expect(finding["rule"] as? String == Self.gotRule)
        #expect(finding["severity"] as? String == "critical")
        #expect(evidence["symbol"] as? String == "RSA_public_decrypt")
        #expect(evidence["pid"] as? Int == Int(sshd.process.pid))
        #expect(evidence["points_to"] as? String == sshd.directory + target)
        #expect(evidence["expected"] as? String == sshd.directory + "/lib/libcrypto.so.3")
        #expect((evidence["slot_address"] as? String)?.hasPrefix("0x") == true)
        // The chain that reaches the hooking library is escalated by the hook.
        if target.hasSuffix("liblzma.so.5") {
            let chain = Support.findings(document).first {
                $0["rule"] as? String == "xz-backdoor-chain-sshd-libsystemd-liblzma"
                    && ($0["evidence"] as? [String: Any])?["path"] as? String == sshd.directory + target
            }
            #expect(chain?["severity"] as? String == "critical", "\(chain ?? [:])")
        }
        // The two slots the hook left alone are not reported.
        #expect(!Self.gotFindings(document).contains { ($0["evidence"] as? [String: Any])?["symbol"] as? String != "RSA_public_decrypt" })
    }

    /// Reading another user's process needs CAP_SYS_PTRACE, which the unit grants: with the unit's three
    /// capabilities the hook in a sshd running as nobody is found; without CAP_SYS_PTRACE the process is a
    /// recorded skip with its reason, never a crash and never a clean bill.
    @Test func withoutPtraceTheProcessIsARecordedSkip() throws {
        let sshd = try FixtureSshd(["--hook", "liblzma"], asUser: 65534)
        func scan(_ bounding: String) throws -> [String: Any] {
            let result = try Support.run("/usr/bin/setpriv", ["--bounding-set=" + bounding, "--inh-caps=-all", "--",
                                                             Support.binary, "--scan-now", "--format", "json",
                                                             "--rules", Support.rulesDirectory, "--no-library-dirs"])
            return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
        }
        let hooked = { (document: [String: Any]) in
            Self.gotFindings(document).contains { ($0["evidence"] as? [String: Any])?["pid"] as? Int == Int(sshd.process.pid) }
        }
        #expect(hooked(try scan("-all,+sys_ptrace,+dac_read_search,+checkpoint_restore")))
        let without = try scan("-all,+dac_read_search,+checkpoint_restore")
        #expect(!hooked(without))
        let skips = (without["skipped"] as? [[String: Any]] ?? []).filter { ($0["subject"] as? String)?.hasPrefix("pid \(sshd.process.pid)") == true }
        #expect(skips.contains { ($0["reason"] as? String)?.contains("not readable") == true }, "\(without["skipped"] ?? [])")
    }

    /// Clean, and lazily bound (slots still at the program's own PLT): no GOT finding, checked all the same.
    @Test(arguments: [["--hook", "none"], ["--lazy"]])
    func cleanAndLazySlotsAreNotFindings(_ options: [String]) throws {
        let sshd = try FixtureSshd(options)
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--no-library-dirs"])
        #expect(Self.gotFindings(document).isEmpty, "\(Self.gotFindings(document))")
        let statistics = (document["scan"] as? [String: Any])?["statistics"] as? [String: Any]
        #expect((statistics?["processes_checked"] as? Int ?? 0) >= 1, "the fixture sshd was checked")
        #expect(!((document["skipped"] as? [[String: Any]]) ?? []).contains {
            ($0["subject"] as? String)?.contains("pid \(sshd.process.pid) ") == true
        })
    }

    /// Every import of every process on this host, the real sshd among them: no false alarm.
    @Test func everyImportOfEveryProcessOnThisHostIsClean() throws {
        let rules = try Support.temporaryDirectory("got-all")
        defer { Support.remove(rules) }
        let sshd = try RealSshd(pidFile: rules + "/sshd.pid")
        defer { sshd.stop() }
        try """
        chainwatch-rules: 1
        rules:
          - id: got-every-import
            title: every import of every process
            kind: got-integrity
            severity: high
            message-id: 5b0e7a3c1d2f4e6a8b9c0d1e2f3a4b5c
            description: The all-imports form, for the no-false-alarm test.
            match:
              programs: ["*"]
        """.write(toFile: rules + "/all.yaml", atomically: true, encoding: .utf8)
        // Read to the end: /proc files say size 0, and a read sized by stat stops early.
        let maps = String(decoding: FileHandle(forReadingAtPath: "/proc/\(sshd.pid)/maps")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        #expect(maps.contains("libcrypto"), "the real sshd is running")
        let (result, document) = try Support.scanJSON(["--rules", rules, "--no-library-dirs"])
        #expect(result.status == 0, "\(Self.gotFindings(document))")
        #expect(Self.gotFindings(document).isEmpty)
        let statistics = (document["scan"] as? [String: Any])?["statistics"] as? [String: Any]
        #expect((statistics?["processes_checked"] as? Int ?? 0) >= 2, "\(statistics ?? [:])")
    }

    /// A fixture sshd started with LD_LIBRARY_PATH on a signature liblzma: the chain is taken from what it mapped,
    /// so it names that file and that pid and is escalated by the file's own findings; the on-disk walk of the same
    /// program is reported beside it, as what the next start would load.
    @Test func chainsOfARunningSshdComeFromWhatItMapped() throws {
        let root = try Support.makeRoot(["--signature", "--version", "5.4.1-1"])
        defer { Support.remove(root + "/..") }
        let library = root + "/usr/lib/x86_64-linux-gnu"
        let sshd = try Support.Background(root + "/usr/sbin/sshd", [], environment: ["LD_LIBRARY_PATH": library])
        defer { sshd.stop() }
        try #require(sshd.waitForMapping("liblzma.so.5.6.1"))
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--no-library-dirs"])
        let chains = Support.findings(document).filter { $0["rule"] as? String == "xz-backdoor-chain-sshd-libsystemd-liblzma" }
        let live = try #require(chains.first { ($0["evidence"] as? [String: Any])?["path"] as? String == library + "/liblzma.so.5.6.1" },
                                "\(chains.map { $0["evidence"] ?? [:] })")
        let evidence = try #require(live["evidence"] as? [String: Any])
        #expect(live["severity"] as? String == "critical")
        #expect(evidence["pids"] as? [Int] == [Int(sshd.pid)])
        #expect(evidence["chain"] as? [String] == [root + "/usr/sbin/sshd", "libsystemd.so.0", "liblzma.so.5"])
        #expect((evidence["detail"] as? String)?.contains("flagged by") == true)
        let programs = document["programs"] as? [[String: Any]] ?? []
        #expect(programs.contains { $0["found_by"] as? String == "running pid \(sshd.pid), as mapped" })
        // The same program walked on disk does not see LD_LIBRARY_PATH: the host's clean liblzma, info, no pid.
        #expect(chains.contains {
            let e = $0["evidence"] as? [String: Any]
            return e?["pids"] == nil && ($0["severity"] as? String) == "info"
                && (e?["chain"] as? [String])?.first == root + "/usr/sbin/sshd"
        })
    }

    /// The daemon, with the real journald, sends the hook as a critical journal entry with the GOT fields.
    @Test func theDaemonJournalsTheHook() throws {
        let setup = try DaemonTests.Setup()
        defer { Support.remove(setup.work) }
        let sshd = try FixtureSshd(["--hook", "liblzma"])
        let daemon = try setup.startDaemon()
        defer { daemon.stop() }
        #expect(try setup.waitForSummaries(atLeast: 1))
        let entry = try #require(try setup.sandbox.entries().first {
            $0["CHAINWATCH_RULE"] as? String == Self.gotRule && $0["CHAINWATCH_PID"] as? String == String(sshd.process.pid)
        }, "no journal entry for the hooked sshd")
        #expect(entry["PRIORITY"] as? String == "2")
        #expect(entry["CHAINWATCH_SYMBOL"] as? String == "RSA_public_decrypt")
        #expect(entry["CHAINWATCH_POINTS_TO"] as? String == sshd.directory + "/lib/liblzma.so.5")
        #expect(entry["CHAINWATCH_EXPECTED"] as? String == sshd.directory + "/lib/libcrypto.so.3")
        #expect((entry["MESSAGE"] as? String)?.contains("RSA_public_decrypt") == true)
    }
}
}
