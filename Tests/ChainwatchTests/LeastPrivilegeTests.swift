import Foundation
import Testing

extension LiveSystemTests {
/// What the scanner needs and does: the capabilities it runs with, no program executed, nothing written outside
/// its state directory, and a daemon that survives faults and signals at any moment.
@Suite(.serialized) struct LeastPrivilegeTests {
    static let capabilities = "-all,+sys_ptrace,+dac_read_search,+checkpoint_restore"

    /// A victim process mapping a signature fixture that was deleted from disk after it was mapped.
    static func deletedVictim(_ work: String) throws -> Support.Background {
        let root = try Support.makeRoot(["--signature"])
        defer { Support.remove(root + "/..") }
        let copy = work + "/liblzma.so.5.6.1"
        try FileManager.default.copyItem(atPath: root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1", toPath: copy)
        try #require(try Support.run(Support.packageRoot + "/Tests/Fixtures/make-root.sh", ["--maps-lib", work + "/maps-lib"]).status == 0)
        let victim = try Support.Background(work + "/maps-lib", [copy])
        #expect(victim.waitForLine() == "ready")
        try FileManager.default.removeItem(atPath: copy)
        return victim
    }

    static func scanWith(bounding: String) throws -> [String: Any] {
        let result = try Support.run("/usr/bin/setpriv", ["--bounding-set=" + bounding, "--inh-caps=-all", "--",
                                                         Support.binary, "--scan-now", "--format", "json",
                                                         "--rules", Support.rulesDirectory, "--no-library-dirs"])
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
    }

    @Test func theThreeCapabilitiesAreEnoughAndEachIsNeeded() throws {
        let work = try Support.temporaryDirectory("caps")
        defer { Support.remove(work) }
        let victim = try Self.deletedVictim(work)
        defer { victim.stop() }
        func found(_ document: [String: Any]) -> Bool {
            Support.findings(document).contains {
                (($0["evidence"] as? [String: Any])?["pids"] as? [Int])?.contains(Int(victim.pid)) == true
                    && $0["kind"] as? String == "byte-signature"
            }
        }
        #expect(found(try Self.scanWith(bounding: Self.capabilities)), "not found with sys_ptrace, dac_read_search, checkpoint_restore")
        // Without checkpoint_restore the deleted library cannot be opened through map_files: a recorded skip.
        let without = try Self.scanWith(bounding: "-all,+sys_ptrace,+dac_read_search")
        #expect(!found(without))
        let skipped = (without["skipped"] as? [[String: Any]] ?? []).compactMap { $0["subject"] as? String }
        #expect(skipped.contains { $0.hasSuffix("/liblzma.so.5.6.1") }, "\(skipped)")
    }

    /// strace shows the scan runs no program and opens nothing for writing.
    @Test func scanExecutesNothingAndWritesNothing() throws {
        let work = try Support.temporaryDirectory("strace")
        defer { Support.remove(work) }
        let victim = try Self.deletedVictim(work)
        defer { victim.stop() }
        let log = work + "/strace.log"
        let result = try Support.run("/usr/bin/strace", ["-f", "-qq", "-o", log, "-e", "trace=execve,execveat,open,openat,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat",
                                                       Support.binary, "--scan-now", "--rules", Support.rulesDirectory])
        #expect(result.status == 1, "\(result.stderr)")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let execs = lines.filter { $0.contains("execve(") }
        #expect(execs.count == 1, "\(execs)")   // chainwatch itself, started by strace
        // By the syscall and, for an open, its flags (after the quoted path): a path may hold any word
        // (/usr/bin/pg_renamecluster is opened to see whether it is ELF).
        let writes = lines.filter { line in
            guard !line.contains("= -1"), let open = line.firstIndex(of: "(") else { return false }
            let call = line[..<open].split(separator: " ").last.map(String.init) ?? ""
            if ["creat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat"].contains(call) { return true }
            guard call == "open" || call == "openat" else { return false }
            let flags = line.range(of: "\", ", options: .backwards).map { line[$0.upperBound...] } ?? line[open...]
            return ["O_WRONLY", "O_RDWR", "O_CREAT"].contains { flags.contains($0) }
        }
        #expect(writes.isEmpty, "\(writes.prefix(5))")
    }

    /// The daemon writes only in its state directory, and keeps scanning when that directory is full.
    @Test func daemonWritesOnlyItsStateAndSurvivesAFullDisk() throws {
        let work = try Support.temporaryDirectory("fulldisk")
        defer { Support.remove(work) }
        let state = work + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try "interval = 1s\n".write(toFile: work + "/c.conf", atomically: true, encoding: .utf8)
        let log = work + "/strace.log"
        // A 64 KiB tmpfs, filled, in a private mount namespace; no journald listens, so entries go to stderr.
        let script = "mount -t tmpfs -o size=64k,mode=0700 tmpfs '\(state)' && dd if=/dev/zero of='\(state)/fill' bs=4k 2>/dev/null; "
            + "exec strace -f -qq -o '\(log)' -e trace=execve,open,openat,creat,rename,unlink,mkdir '\(Support.binary)' --config '\(work)/c.conf' --state-dir '\(state)' --rules '\(Support.rulesDirectory)'"
        let daemon = try Support.Background("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script],
                                            stderrPath: work + "/daemon.err")
        defer { daemon.stop() }
        var stderr = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            stderr = (try? String(contentsOfFile: work + "/daemon.err", encoding: .utf8)) ?? ""
            if stderr.components(separatedBy: "Scan finished").count >= 3 { break }
            usleep(200_000)
        }
        #expect(stderr.contains("cannot save state"), "\(stderr.suffix(600))")
        #expect(stderr.components(separatedBy: "Scan finished").count >= 3, "scanning stopped on a full disk")
        // The Background process is strace; the daemon is its child.
        let children = (try? String(contentsOfFile: "/proc/\(daemon.pid)/task/\(daemon.pid)/children", encoding: .utf8)) ?? ""
        let chainwatch = try #require(children.split(separator: " ").first.flatMap { Int32($0) })
        kill(chainwatch, SIGTERM)
        #expect(daemon.waitForExit(timeout: 10) == 0)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.filter { $0.contains("execve(") }.count == 1)
        let writes = lines.filter { line in
            ["O_WRONLY", "O_RDWR", "O_CREAT", "creat(", "rename(", "unlink(", "mkdir("].contains { line.contains($0) } && !line.contains("= -1")
        }
        let outside = writes.filter { !$0.contains("\"" + state) }
        #expect(!writes.isEmpty && outside.isEmpty, "\(outside.prefix(5))")
    }

    /// SIGHUP and SIGTERM at any moment, even mid-scan: a clean exit within a few seconds.
    @Test func signalsAtAnyMomentStopCleanly() throws {
        let work = try Support.temporaryDirectory("signals")
        defer { Support.remove(work) }
        try "interval = 1s\n".write(toFile: work + "/c.conf", atomically: true, encoding: .utf8)
        for (run, delay) in [0.0, 0.15, 0.4, 0.9, 1.7].enumerated() {
            let state = work + "/state\(run)"
            let daemon = try Support.Background(Support.binary, ["--config", work + "/c.conf", "--state-dir", state,
                                                                 "--rules", Support.rulesDirectory],
                                                stderrPath: work + "/daemon.err")
            // From the moment the daemon is running (its state directory exists): no program handles a signal
            // that arrives before its main function.
            for _ in 0..<500 where !FileManager.default.fileExists(atPath: state) { usleep(10_000) }
            usleep(UInt32(delay * 1_000_000))
            daemon.signal(SIGHUP)
            usleep(UInt32(delay * 500_000))
            daemon.signal(SIGTERM)
            let started = Date()
            let status = daemon.waitForExit(timeout: 10)
            // Before its handlers are installed the daemon may die of the SIGTERM itself, which systemd counts as clean.
            let clean = status == 0 || (daemon.process.terminationReason == .uncaughtSignal && status == SIGTERM)
            #expect(clean, "status \(String(describing: status)), delay \(delay): \((try? String(contentsOfFile: work + "/daemon.err", encoding: .utf8)) ?? "")")
            #expect(Date().timeIntervalSince(started) < 5)
            daemon.stop()
        }
    }
}
}
