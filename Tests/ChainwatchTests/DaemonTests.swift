import Foundation
import Testing
@testable import Daemon
@testable import Engine
import Journal
@testable import Rules

extension LiveSystemTests {
/// The daemon with the real systemd-journald (private mount namespace) and a NOTIFY_SOCKET listener.
@Suite(.serialized) struct DaemonTests {
    struct Setup {
        let sandbox: JournalSandbox
        let work: String
        let notify: NotifyListener
        let library: String
        let mapsLib: String
        let extraRules: String
        let config: String

        init() throws {
            sandbox = try JournalSandbox()
            work = try Support.temporaryDirectory("daemon")
            notify = try NotifyListener(directory: work)
            let root = try Support.makeRoot(["--signature"])
            // Outside every loader directory: once no process maps it, nothing sees it and the finding clears.
            library = work + "/liblzma.so.5.6.1"
            try FileManager.default.copyItem(atPath: root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1", toPath: library)
            Support.remove(root + "/..")
            mapsLib = work + "/maps-lib"
            try #require(try Support.run(Support.packageRoot + "/Tests/Fixtures/make-root.sh", ["--maps-lib", mapsLib]).status == 0)
            extraRules = work + "/rules.d"
            try FileManager.default.createDirectory(atPath: extraRules, withIntermediateDirectories: true)
            config = work + "/chainwatch.conf"
            try "# test settings\ninterval = 2s\nreminder = 1h\n".write(toFile: config, atomically: true, encoding: .utf8)
        }

        /// The built daemon inside the sandbox; `wrapper` runs before it (setpriv), `options` are added to its own.
        func startDaemon(stderr: String = "daemon.err", wrapper: [String] = [], options: [String] = []) throws -> Support.Background {
            try Support.Background("/usr/bin/nsenter", sandbox.inside(wrapper + [
                Support.builtBinary, "--config", config, "--rules", Support.rulesDirectory, "--rules", extraRules,
                "--state-dir", work + "/state",
            ] + options), environment: ["NOTIFY_SOCKET": notify.socket, "WATCHDOG_USEC": "1000000", "PATH": "/usr/bin:/bin"],
               stderrPath: work + "/" + stderr)
        }

        func daemonStderr(_ name: String = "daemon.err") -> String { Support.text(work + "/" + name) }

        func startVictim() throws -> Support.Background {
            let victim = try Support.Background(mapsLib, [library])
            #expect(victim.waitForLine() == "ready")
            return victim
        }

        func summaries() throws -> Int {
            try sandbox.entries().filter { $0["MESSAGE_ID"] as? String == JournalEntries.summaryMessageID }.count
        }

        func waitForSummaries(atLeast count: Int, timeout: Double = 60) throws -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if try summaries() >= count { return true }
                usleep(200_000)
            }
            return false
        }
    }

    @Test func alertsOnceClearsReloadsAndStopsCleanly() throws {
        let setup = try Setup()
        defer { Support.remove(setup.work) }
        var victim: Support.Background? = try setup.startVictim()
        let pid = String(victim!.pid)
        let daemon = try setup.startDaemon()
        defer { daemon.stop() }

        // The alert, with its MESSAGE_ID, PRIORITY and CHAINWATCH_* fields.
        let alert = try #require(try setup.sandbox.waitFor {
            $0["CHAINWATCH_KIND"] as? String == "byte-signature" && $0["CHAINWATCH_PID"] as? String == pid
        }, "no alert; daemon stderr: \((try? String(contentsOfFile: setup.work + "/daemon.err", encoding: .utf8)) ?? "")")
        let rules = try RuleLoader.load(from: [Support.rulesDirectory])
        let rule = try #require(rules.rules.first { $0.id == alert["CHAINWATCH_RULE"] as? String })
        #expect(alert["MESSAGE_ID"] as? String == rule.messageID)
        #expect(alert["PRIORITY"] as? String == String(rule.severity.journalPriority))
        #expect(alert["SYSLOG_IDENTIFIER"] as? String == "chainwatch")
        #expect(alert["CHAINWATCH_SEVERITY"] as? String == rule.severity.rawValue)
        #expect(alert["CHAINWATCH_PATH"] as? String == setup.library)
        #expect((alert["CHAINWATCH_SHA256"] as? String)?.count == 64)
        #expect(alert["CHAINWATCH_EVENT"] as? String == "new")
        #expect(alert["CHAINWATCH_SCAN_ID"] != nil)
        let message = try #require(alert["MESSAGE"] as? String)
        #expect(message.contains(" -- event=\"new\" rule=\"\(rule.id)\" severity=\"\(rule.severity.rawValue)\" path=\"\(setup.library)\" pid=\"\(pid)\""))

        // READY, WATCHDOG and STATUS reach the service manager.
        #expect(setup.notify.waitFor("READY=1"))
        #expect(setup.notify.waitFor("WATCHDOG=1"))
        #expect(setup.notify.waitFor("STATUS=Last scan:"))

        // Alert once: later scans do not repeat it.
        let before = try setup.summaries()
        #expect(try setup.waitForSummaries(atLeast: before + 2))
        let news = try setup.sandbox.entries().filter {
            $0["CHAINWATCH_RULE"] as? String == rule.id && $0["CHAINWATCH_PATH"] as? String == setup.library
                && $0["CHAINWATCH_EVENT"] as? String == "new"
        }
        #expect(news.count == 1)

        // The process ends; the "cleared" entry follows.
        victim?.stop()
        victim = nil
        let cleared = try setup.sandbox.waitFor {
            $0["MESSAGE_ID"] as? String == JournalEntries.clearedMessageID && $0["CHAINWATCH_RULE"] as? String == rule.id
                && $0["CHAINWATCH_PATH"] as? String == setup.library
        }
        #expect(cleared?["CHAINWATCH_EVENT"] as? String == "cleared")

        // SIGHUP with a broken rule file: an error entry naming file and line, and scanning goes on.
        try RuleLoaderTests.valid.replacingOccurrences(of: "    severity: high", with: "    severity: severe")
            .write(toFile: setup.extraRules + "/broken.yaml", atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        let error = try setup.sandbox.waitFor { $0["MESSAGE_ID"] as? String == JournalEntries.rulesErrorMessageID }
        #expect((error?["CHAINWATCH_RULES_ERROR"] as? String)?.contains("broken.yaml:6: 'severity'") == true, "\(String(describing: error))")
        let afterError = try setup.summaries()
        #expect(try setup.waitForSummaries(atLeast: afterError + 1), "scanning stopped after a broken reload")

        // SIGTERM: STOPPING=1, a "stopped" entry, exit 0 within a few seconds.
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == 0)
        #expect(setup.notify.waitFor("STOPPING=1", timeout: 2))
        #expect(try setup.sandbox.waitFor(5) { $0["CHAINWATCH_DAEMON"] as? String == "stopped" } != nil)

        // A restart remembers: the findings still present are not announced again.
        try FileManager.default.removeItem(atPath: setup.extraRules + "/broken.yaml")
        let chainNewsBefore = try setup.sandbox.entries().filter {
            $0["CHAINWATCH_KIND"] as? String == "dependency-chain" && $0["CHAINWATCH_EVENT"] as? String == "new"
        }.count
        let restarted = try setup.startDaemon(stderr: "daemon2.err")
        defer { restarted.stop() }
        let summariesBeforeRestart = try setup.summaries()
        #expect(try setup.waitForSummaries(atLeast: summariesBeforeRestart + 1))
        let chainNewsAfter = try setup.sandbox.entries().filter {
            $0["CHAINWATCH_KIND"] as? String == "dependency-chain" && $0["CHAINWATCH_EVENT"] as? String == "new"
        }.count
        #expect(chainNewsAfter == chainNewsBefore)
    }

    /// SIEM forwarding with a standard tool: systemd-journal-upload sends the journal to systemd-journal-remote on
    /// loopback, and the alert arrives there with its fields.
    @Test func alertIsForwardedToACollectorOnLoopback() throws {
        let setup = try Setup()
        defer { Support.remove(setup.work) }
        let victim = try setup.startVictim()
        defer { victim.stop() }
        let daemon = try setup.startDaemon()
        defer { daemon.stop() }
        let alert = try #require(try setup.sandbox.waitFor {
            $0["CHAINWATCH_PID"] as? String == String(victim.pid) && $0["CHAINWATCH_KIND"] as? String == "byte-signature"
        })
        let port = String(20_000 + Int.random(in: 0..<20_000))
        let output = setup.work + "/remote.journal"
        let collector = try Support.Background("/lib/systemd/systemd-journal-remote", [
            "--listen-http=127.0.0.1:" + port, "--output=" + output, "--split-mode=none",
        ], stderrPath: setup.work + "/remote.err")
        defer { collector.stop() }
        // Under a loaded test run the collector may not listen yet, and an uploader that cannot connect exits.
        let listening = Date().addingTimeInterval(15)
        while Date() < listening,
              try Support.run("/bin/bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/" + port]).status != 0 {
            usleep(100_000)
        }
        // systemd 252's journal-upload spins with --follow=no; let it follow and stop it once the copy has arrived.
        let uploader = try Support.Background("/lib/systemd/systemd-journal-upload", [
            "--url=http://127.0.0.1:" + port, "--save-state=" + setup.work + "/upload.state",
            // journald writes to the runtime journal until something asks it to flush to /var/log/journal.
            "--directory=" + setup.sandbox.directory + "/run-log/journal",
        ], stderrPath: setup.work + "/upload.err")
        defer { uploader.stop() }
        let deadline = Date().addingTimeInterval(30)
        var forwarded: [[String: Any]] = []
        while Date() < deadline && forwarded.isEmpty {
            usleep(300_000)
            let read = try Support.run("/usr/bin/journalctl", ["--file=" + output, "-o", "json", "--no-pager",
                                                             "MESSAGE_ID=" + (alert["MESSAGE_ID"] as? String ?? "")])
            forwarded = read.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter {
                $0["CHAINWATCH_PID"] as? String == String(victim.pid) && $0["CHAINWATCH_RULE"] as? String == alert["CHAINWATCH_RULE"] as? String
            }
        }
        #expect(!forwarded.isEmpty, "no forwarded copy; upload: \((try? String(contentsOfFile: setup.work + "/upload.err", encoding: .utf8)) ?? "")")
        #expect(forwarded.first?["CHAINWATCH_SHA256"] as? String == alert["CHAINWATCH_SHA256"] as? String)
    }

    /// With journald stopped, an alert goes to stderr, stays pending, and reaches the journal once it is back.
    @Test func nothingIsLostWhileJournaldIsDown() throws {
        let setup = try Setup()
        defer { Support.remove(setup.work) }
        let daemon = try setup.startDaemon()
        defer { daemon.stop() }
        #expect(try setup.waitForSummaries(atLeast: 1))
        setup.sandbox.stopJournald()
        let victim = try setup.startVictim()
        defer { victim.stop() }
        let stderrPath = setup.work + "/daemon.err"
        let deadline = Date().addingTimeInterval(30)
        var stderr = ""
        while Date() < deadline {
            stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            if stderr.contains("journal unavailable, pending") && stderr.contains("pid=\"\(victim.pid)\"") { break }
            usleep(200_000)
        }
        #expect(stderr.contains("pid=\"\(victim.pid)\""), "alert not on stderr: \(stderr)")
        try setup.sandbox.startJournald()
        let delivered = try setup.sandbox.waitFor {
            $0["CHAINWATCH_PID"] as? String == String(victim.pid) && $0["CHAINWATCH_EVENT"] as? String == "new"
        }
        #expect(delivered != nil, "the pending alert never reached the journal")
        let copies = try setup.sandbox.entries().filter {
            $0["CHAINWATCH_PID"] as? String == String(victim.pid) && $0["CHAINWATCH_EVENT"] as? String == "new"
                && $0["CHAINWATCH_KIND"] as? String == "byte-signature"
        }
        let perRule = Dictionary(grouping: copies) { $0["CHAINWATCH_RULE"] as? String ?? "" }
        #expect(!perRule.isEmpty && perRule.values.allSatisfy { $0.count == 1 }, "\(perRule.mapValues(\.count))")
    }
}
}

@Suite struct DaemonUnitTests {
    static func finding(_ path: String, pids: [Int32]? = nil, severity: Severity = .critical) -> Finding {
        var f = Finding(rule: Rule(id: "r", title: "t", kind: .fileHash, severity: severity, messageID: String(repeating: "a", count: 32),
                                   description: "", references: [], tags: [], match: .fileHash(FileHashMatch(hashes: [])),
                                   location: SourceLocation(file: "f", line: 1)),
                        evidence: Evidence(path: path, sha256: "00", pid: pids?.first, pids: pids))
        f.evidence.detail = "d"
        return f
    }

    @Test func plannerAlertsOnceRemindsAndClears() {
        var state = AlertState()
        let a = Self.finding("/a", pids: [1])
        #expect(AlertPlanner.plan(&state, findings: [a], now: 0, reminder: 100).map(\.name) == ["new"])
        #expect(AlertPlanner.plan(&state, findings: [a], now: 50, reminder: 100).isEmpty)
        // Another pid mapping the same file is not news; a different hash is.
        #expect(AlertPlanner.plan(&state, findings: [Self.finding("/a", pids: [1, 2])], now: 60, reminder: 100).isEmpty)
        var changed = a
        changed.evidence.sha256 = "11"
        #expect(AlertPlanner.plan(&state, findings: [changed], now: 70, reminder: 100).map(\.name) == ["changed"])
        #expect(AlertPlanner.plan(&state, findings: [changed], now: 171, reminder: 100).map(\.name) == ["reminder"])
        #expect(AlertPlanner.plan(&state, findings: [], now: 180, reminder: 100).map(\.name) == ["cleared"])
        #expect(state.findings.isEmpty)
    }

    /// A journal that stays away must not grow the state without bound, and must never cost an alert.
    @Test func pendingSummariesAreCappedAndAlertsKept() throws {
        let sink = AlertSink(socketPath: "/nonexistent/chainwatch-test/socket")
        var state = AlertState()
        let report = ScanReport(scanID: "s", root: "/", startedAt: 0, findings: [], skipped: [], notes: [],
                                statistics: ScanStatistics(), programs: [])
        sink.deliver([JournalEntries.event(.new(Self.finding("/first")), scanID: "s")], state: &state)
        for _ in 0..<(AlertSink.maximumPendingSummaries + 50) {
            sink.deliver([JournalEntries.summary(report, findingsAboveInfo: 0)], state: &state)
        }
        sink.deliver([JournalEntries.event(.new(Self.finding("/last")), scanID: "s")], state: &state)
        let summaries = state.pending.filter { $0.contains(JournalField("MESSAGE_ID", JournalEntries.summaryMessageID)) }
        #expect(summaries.count == AlertSink.maximumPendingSummaries)
        let alerts = state.pending.filter { $0.contains { $0.name == "CHAINWATCH_EVENT" } }
        #expect(alerts.count == 2)
        #expect(state.pending.first == alerts.first && state.pending.last == alerts.last, "order is kept")
    }

    @Test func hostileValuesCannotForgeFieldsOrKeys() throws {
        let path = "/tmp/evil\nPRIORITY=0\" rule=\"fake"
        let fields = JournalEntries.event(.new(Self.finding(path)), scanID: "s")
        #expect(fields.filter { $0.name == "PRIORITY" }.count == 1)
        let message = try #require(fields.first { $0.name == "MESSAGE" }?.value)
        #expect(!message.contains("\n"))
        #expect(message.contains("path=\"/tmp/evil\\x0aPRIORITY=0\\\" rule=\\\"fake\""))
        #expect(message.components(separatedBy: " rule=\"").count == 2)
        #expect(fields.first { $0.name == "CHAINWATCH_PATH" }?.value == path)
        #expect(fields.allSatisfy { JournalField.isValidName($0.name) })
    }

    @Test func configurationFileIsStrict() throws {
        var configuration = DaemonConfiguration()
        try configuration.apply(fileText: "interval = 15m # comment\nrules = /a\nrules = /b\njobs = 2\n", file: "c.conf")
        #expect(configuration.interval == .seconds(900))
        #expect(configuration.rules == ["/a", "/b"])
        #expect(throws: DaemonConfiguration.ParseError(file: "c.conf", line: 2, message: "unknown key 'intervall'; expected one of interval, reminder, rules, state-dir, jobs, metrics-file, yara-timeout, yara-max-file-size, yara-memory, baseline, keys, baseline-signature")) {
            try configuration.apply(fileText: "\nintervall = 1h\n", file: "c.conf")
        }
        try configuration.apply(fileText: "yara-timeout = 5\nyara-max-file-size = 64\nyara-memory = all\n", file: "c.conf")
        #expect(configuration.yara.timeoutSeconds == 5 && configuration.yara.maximumFileSize == 64 << 20 && configuration.yara.memoryOfEveryProcess)
        #expect(throws: DaemonConfiguration.ParseError(file: "c.conf", line: 1, message: "yara-memory: 'some' must be runtime (the processes runtime rules name) or all")) {
            try configuration.apply(fileText: "yara-memory = some\n", file: "c.conf")
        }
        #expect(DaemonConfiguration.parseDuration("30s") == .seconds(30))
        #expect(DaemonConfiguration.parseDuration("1d") == .seconds(86_400))
        #expect(DaemonConfiguration.parseDuration("soon") == nil)
        #expect(DaemonConfiguration.parseDuration("0s") == nil)
    }

    @Test func stateSurvivesARoundTrip() throws {
        let directory = try Support.temporaryDirectory("state")
        defer { Support.remove(directory) }
        var state = AlertState()
        _ = AlertPlanner.plan(&state, findings: [Self.finding("/a")], now: 1, reminder: 10)
        state.pending = [[JournalField("MESSAGE", "x")]]
        try state.save(to: directory)
        #expect(try AlertState.load(from: directory) == state)
    }
}
