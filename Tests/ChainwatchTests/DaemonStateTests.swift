import Foundation
import Testing
@testable import Daemon
@testable import Engine
import HostIO
import Journal
import Rules

extension LiveSystemTests {
/// What the daemon remembers and announces, with the real daemon and journald: a finding whose file a scan could
/// not read is not cleared, and a pending queue that overflowed while journald was away is bounded and said so.
@Suite(.serialized) struct DaemonStateLiveTests {
    /// The daemon runs as root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so a library made mode 000 cannot
    /// be read by its scans while a process still maps it (as happens with a file the daemon's sandbox hides, or a
    /// read that fails): the finding stays, unannounced and uncleared, until a scan reads the file again.
    @Test func aFindingWhoseFileTheScanCouldNotReadIsNotCleared() throws {
        let setup = try DaemonTests.Setup()
        defer { Support.remove(setup.work) }
        var victim: Support.Background? = try setup.startVictim()
        defer { victim?.stop() }
        let daemon = try setup.startDaemon(wrapper: [
            "/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search", "--",
        ])
        defer { daemon.stop() }
        let isOurs: ([String: Any]) -> Bool = {
            $0["CHAINWATCH_PATH"] as? String == setup.library && $0["CHAINWATCH_KIND"] as? String == "byte-signature"
        }
        let alert = try #require(try setup.sandbox.waitFor(60) { isOurs($0) && $0["CHAINWATCH_EVENT"] as? String == "new" },
                                 "no alert; stderr: \(setup.daemonStderr())")
        // One rule's finding (several signature rules match the library).
        let rule = try #require(alert["CHAINWATCH_RULE"] as? String)
        func events() throws -> [String] {
            try setup.sandbox.entries().filter { isOurs($0) && $0["CHAINWATCH_RULE"] as? String == rule }.compactMap { $0["CHAINWATCH_EVENT"] as? String }
        }

        // Unreadable: the next scans skip the file (their summaries say INCOMPLETE) and must not clear the finding.
        #expect(chmod(setup.library, 0) == 0)
        let before = try setup.summaries()
        #expect(try setup.waitForSummaries(atLeast: before + 3), "stderr: \(setup.daemonStderr())")
        let incomplete = try setup.sandbox.entries().filter {
            $0["MESSAGE_ID"] as? String == JournalEntries.summaryMessageID && $0["CHAINWATCH_INCOMPLETE"] as? String == "1"
        }
        let reasons = incomplete.flatMap { entry -> [String] in
            if let many = entry["CHAINWATCH_INCOMPLETE_REASON"] as? [String] { return many }
            return (entry["CHAINWATCH_INCOMPLETE_REASON"] as? String).map { [$0] } ?? []
        }
        try #require(reasons.contains { $0.contains(setup.library) }, "the scans did not skip \(setup.library): \(reasons.prefix(5))")
        let unreadable = try events()
        #expect(unreadable == ["new"], "the finding changed while its file could not be read")

        // Readable again: still the same finding, not news.
        #expect(chmod(setup.library, 0o644) == 0)
        let readable = try setup.summaries()
        #expect(try setup.waitForSummaries(atLeast: readable + 2))
        let again = try events()
        #expect(again == ["new"], "the finding was announced again once its file could be read")

        // Gone for real (no process maps it, and it lies in no library directory): cleared.
        victim?.stop()
        victim = nil
        #expect(try setup.sandbox.waitFor(30) { isOurs($0) && $0["CHAINWATCH_RULE"] as? String == rule && $0["CHAINWATCH_EVENT"] as? String == "cleared" } != nil,
                "the finding did not clear once its file was really gone")
    }

    /// A state whose pending queue is over the bound (journald was away a long time): the oldest entries go,
    /// counted in the state and the metrics, and the journal gets one entry saying how many before the rest.
    @Test func anOverflowingPendingQueueIsCutOldestFirstAndAnnounced() throws {
        let setup = try DaemonTests.Setup()
        defer { Support.remove(setup.work) }
        let seeded = AlertSink.maximumPending + 50
        var state = AlertState()
        for index in 0..<seeded {
            state.pending.append(JournalEntries.event(.new(DaemonUnitTests.finding(Self.seedPath(index))), scanID: "seed"))
        }
        let stateDirectory = setup.work + "/state"
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try state.save(to: stateDirectory)
        let metrics = setup.work + "/metrics/chainwatch.prom"
        try FileManager.default.createDirectory(atPath: setup.work + "/metrics", withIntermediateDirectories: true)

        let daemon = try setup.startDaemon(options: ["--metrics-file", metrics])
        defer { daemon.stop() }
        let announced = try #require(try Support.waitUntil(60) {
            try !setup.sandbox.entries(matching: ["MESSAGE_ID=" + JournalEntries.droppedMessageID]).isEmpty
        } ? setup.sandbox.entries(matching: ["MESSAGE_ID=" + JournalEntries.droppedMessageID]).first : nil,
                                     "no entry about dropped entries; stderr: \(setup.daemonStderr().suffix(500))")
        // The daemon's "started" entry joined the queue first: 51 over the bound, the 51 oldest seeds dropped.
        let dropped = seeded + 1 - AlertSink.maximumPending
        #expect(announced["CHAINWATCH_DROPPED"] as? String == String(dropped))
        #expect(announced["PRIORITY"] as? String == "4")
        #expect((announced["MESSAGE"] as? String)?.hasPrefix("\(dropped) journal entries were dropped") == true)
        #expect(try Support.waitUntil(60) {
            try !setup.sandbox.entries(matching: ["CHAINWATCH_PATH=" + Self.seedPath(seeded - 1)]).isEmpty
        }, "the newest seeded entry was not delivered")
        #expect(try setup.sandbox.entries(matching: ["CHAINWATCH_PATH=" + Self.seedPath(dropped - 1)]).isEmpty, "a dropped entry was delivered")
        #expect(try setup.sandbox.entries(matching: ["CHAINWATCH_PATH=" + Self.seedPath(dropped)]).count == 1, "the oldest kept entry is missing")
        // The count is announced once, and kept as a counter in the metrics.
        #expect(try Support.waitUntil(30) { Support.text(metrics).contains("chainwatch_journal_entries_dropped_total \(dropped)\n") },
                "\(Support.text(metrics).split(separator: "\n").filter { $0.contains("journal") })")
        #expect(try setup.sandbox.entries(matching: ["MESSAGE_ID=" + JournalEntries.droppedMessageID]).count == 1)
    }

    static func seedPath(_ index: Int) -> String { "/seed/" + String(format: "%05d", index) }
}
}

/// The pending queue's bound, the state file's limit and the directories the daemon writes in.
@Suite struct DaemonStateTests {
    /// 40,000 undelivered alerts used to make a state file over the 64 MiB a start reads: every finding was then
    /// announced again as new. The queue keeps the newest 10,000 and counts the rest; the file always reads back.
    @Test func fortyThousandPendingAlertsLeaveAStateTheNextStartReads() throws {
        let directory = try Support.temporaryDirectory("pending")
        defer { Support.remove(directory) }
        let sink = AlertSink(socketPath: directory + "/no-journal")
        var state = AlertState()
        _ = AlertPlanner.plan(&state, findings: [DaemonUnitTests.finding("/usr/lib/liblzma.so.5")], now: 1, reminder: 10)
        let padding = String(repeating: "p", count: 600)
        for batch in 0..<40 {
            var entries: [[JournalField]] = []
            for index in 0..<1000 {
                var finding = DaemonUnitTests.finding("/tmp/\(padding)/\(batch * 1000 + index)")
                finding.evidence.detail = String(repeating: "d", count: 400)
                entries.append(JournalEntries.event(.new(finding), scanID: "s"))
            }
            sink.deliver(entries, state: &state)
        }
        #expect(state.pending.count == AlertSink.maximumPending)
        #expect(state.droppedUnannounced == 40_000 - AlertSink.maximumPending)
        #expect(state.droppedTotal == state.droppedUnannounced)
        let newest = state.pending.last?.first { $0.name == "CHAINWATCH_PATH" }?.value
        #expect(newest == "/tmp/\(padding)/39999", "the newest entries are kept")
        try state.save(to: directory)
        let size = try FileManager.default.attributesOfItem(atPath: directory + "/" + AlertState.fileName)[.size] as? Int ?? 0
        #expect(size <= AlertState.maximumFileSize)
        let loaded = try AlertState.load(from: directory)
        #expect(loaded == state)
        #expect(loaded.findings.count == 1, "the remembered findings survive the overflow")
    }

    /// JSON escapes a control character in six bytes: a queue of such paths within the byte bound can still
    /// encode larger than a start reads. `save` then drops more of the oldest, counted, until it fits.
    @Test func aStateThatWouldEncodeTooLargeLosesOldestPendingEntriesNotTheFile() throws {
        let directory = try Support.temporaryDirectory("huge-state")
        defer { Support.remove(directory) }
        var state = AlertState()
        let hostile = String(repeating: "\u{1}", count: 8000)
        for index in 0..<2000 {
            state.pending.append([JournalField("CHAINWATCH_PATH", hostile + String(index))])
        }
        try state.save(to: directory)
        #expect(state.pending.count < 2000 && state.pending.count > 0)
        #expect(state.droppedUnannounced == 2000 - state.pending.count)
        #expect(state.pending.last?.first?.value == hostile + "1999")
        #expect(try AlertState.load(from: directory) == state)
    }

    @Test func aStateFileFromBeforeTheBoundStillReads() throws {
        let directory = try Support.temporaryDirectory("old-state")
        defer { Support.remove(directory) }
        try #"{"findings":{},"pending":[[{"name":"MESSAGE","value":"x"}]],"version":1}"#
            .write(toFile: directory + "/" + AlertState.fileName, atomically: true, encoding: .utf8)
        let state = try AlertState.load(from: directory)
        #expect(state.pending.count == 1 && state.droppedTotal == 0)
    }

    /// Whoever can write the state directory can plant a state that marks a backdoor as already announced.
    @Test(arguments: [(0o777, uid_t(0)), (0o1777, uid_t(0)), (0o755, uid_t(65534))])
    func aStateDirectoryAnotherUserCanWriteIsRefused(_ mode: Int, _ owner: uid_t) throws {
        try #require(getuid() == 0, "the owner check needs root to chown")
        let directory = try Support.temporaryDirectory("shared-state")
        defer { Support.remove(directory) }
        var state = AlertState()
        _ = AlertPlanner.plan(&state, findings: [DaemonUnitTests.finding("/a")], now: 1, reminder: 10)
        try state.save(to: directory)
        #expect(chmod(directory, mode_t(mode)) == 0 && chown(directory, owner, 0) == 0)
        #expect(throws: OwnFileError.self) { try state.save(to: directory) }
        do {
            _ = try AlertState.load(from: directory)
            Issue.record("a state in a directory uid \(owner) or others can write (mode \(String(mode, radix: 8))) was read")
        } catch let error as OwnFileError {
            #expect(error.description.contains(directory), "\(error)")
        }
    }
}

extension LiveSystemTests {
/// The metrics textfile, written by the built binary: never through a name someone could plant in advance,
/// never in a directory another user can write.
@Suite(.serialized) struct MetricsFileTests {
    /// The old temporary name was FILE.tmp.PID, opened without O_EXCL: a FIFO planted there blocked the write (and
    /// the daemon) for good. FIFOs are planted at that name for the next few thousand pids.
    @Test func aFIFOPlantedAtThePredictableTemporaryNameBlocksNothing() throws {
        let work = try Support.temporaryDirectory("fifo")
        defer { Support.remove(work) }
        let root = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(root + "/..") }
        let textfiles = work + "/textfile"
        try FileManager.default.createDirectory(atPath: textfiles, withIntermediateDirectories: true)
        let metrics = textfiles + "/chainwatch.prom"
        let last = Int(Support.text("/proc/sys/kernel/ns_last_pid").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let planted = (last + 1)...(last + 4000)
        for pid in planted { #expect(mkfifo(metrics + ".tmp.\(pid)", 0o644) == 0) }

        let scan = try Support.Background(Support.builtBinary, ["--scan-now", "--rules", Support.rulesDirectory, "--root", root,
                                                                "--no-processes", "--metrics-file", metrics],
                                          stderrPath: work + "/scan.err")
        defer { scan.stop() }
        try #require(planted.contains(Int(scan.pid)), "pid \(scan.pid) is outside the planted range \(planted): inconclusive")
        let status = scan.waitForExit(timeout: 120)
        #expect(status != nil, "the scan hung writing its metrics file past a planted FIFO")
        #expect(Support.text(metrics).contains("chainwatch_scans_total 1\n"), "stderr: \(Support.text(work + "/scan.err"))")
        let fifos = Set(planted.map { "chainwatch.prom.tmp.\($0)" })
        let left = try FileManager.default.contentsOfDirectory(atPath: textfiles).filter { $0 != "chainwatch.prom" && !fifos.contains($0) }
        #expect(left.isEmpty, "temporary files left: \(left)")
    }

    @Test(arguments: [0o777, 0o1777, 0o775])
    func aMetricsDirectoryOthersCanWriteIsRefused(_ mode: Int) throws {
        let work = try Support.temporaryDirectory("shared-metrics")
        defer { Support.remove(work) }
        let root = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(root + "/..") }
        let shared = work + "/textfile"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        #expect(chmod(shared, mode_t(mode)) == 0)
        let result = try Support.builtChainwatch(["--scan-now", "--rules", Support.rulesDirectory, "--root", root, "--no-processes",
                                                  "--metrics-file", shared + "/chainwatch.prom"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("the directory \(shared) is writable by group or others"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: shared + "/chainwatch.prom"))
    }
}
}
