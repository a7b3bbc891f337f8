import Dispatch
import Engine
import FoundationEssentials
import HostIO
import Journal
import Reporting
import Rules
import ServiceLifecycle
import UnixSignals

/// The daemon's main service: scan, announce what changed, remember, sleep, repeat; reload rules on SIGHUP.
public struct ScanService: Service {
    let configuration: DaemonConfiguration
    let rulePaths: [String]
    let initialRules: RuleSet
    let sink: AlertSink
    let signals = DaemonSignals()
    let activity: ScanActivity
    let cache = FactsCache()
    let initialBaseline: Baseline?
    /// Runs one scan on the thread it is called on (the real `Scanner`, or a test's stand-in).
    let runScan: @Sendable (ScanPlan, ScanOptions) -> ScanReport

    /// How long a stop waits for a running scan to end before the daemon exits without it.
    public static let stopGrace: Duration = .seconds(3)

    public init(configuration: DaemonConfiguration, rulePaths: [String], rules: RuleSet, baseline: Baseline? = nil, sink: AlertSink = AlertSink()) {
        self.init(configuration: configuration, rulePaths: rulePaths, rules: rules, baseline: baseline, sink: sink, activity: ScanActivity())
    }

    init(configuration: DaemonConfiguration, rulePaths: [String], rules: RuleSet, baseline: Baseline? = nil, sink: AlertSink = AlertSink(),
         activity: ScanActivity,
         runScan: @escaping @Sendable (ScanPlan, ScanOptions) -> ScanReport = { Scanner(plan: $0, options: $1).run() }) {
        self.configuration = configuration
        self.rulePaths = rulePaths
        self.initialRules = rules
        self.initialBaseline = baseline
        self.sink = sink
        self.activity = activity
        self.runScan = runScan
    }

    public func run() async throws {
        let signals = self.signals, activity = self.activity
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) {
                        signals.reload.store(true, ordering: .relaxed)
                        signals.wake()
                    }
                }
                try await loop()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            signals.requestStop(activity: activity, grace: Self.stopGrace)
            ServiceNotifier.notify("STOPPING=1")
        }
    }

    private func loop() async throws {
        var state = loadState()
        // Compiled once per load: a reload builds a new plan, and with it new byte patterns (and their digest, so no
        // cached pattern hit of the old rules is taken for the new).
        var plan = ScanPlan(initialRules)
        var saved: AlertState?
        sink.deliver([JournalEntries.lifecycle("started", detail: "\(plan.rules.rules.count) rules, interval \(configuration.interval)")], state: &state)
        save(&state, last: &saved)
        var readySent = false
        var counters = MetricsFile.Counters(journalDropped: state.droppedTotal)
        writePIDFile()
        writeMetrics(nil, rules: plan.rules, counters: counters)
        var abandoned = false
        var baseline = BaselineWatch(configuration: configuration, initial: initialBaseline)
        while !signals.stop.load(ordering: .relaxed) {
            let reloading = signals.reload.exchange(false, ordering: .relaxed)
            if reloading {
                plan = reload(keeping: plan, state: &state, failures: &counters.reloadFailures)
            }
            let baselineEvents = baseline.refresh(force: reloading)
            if !baselineEvents.isEmpty {
                sink.deliver(baselineEvents, state: &state)
                save(&state, last: &saved)
            }
            guard let report = await scan(plan, baseline: baseline.current, started: {
                if !readySent { ServiceNotifier.notify("READY=1") }
                readySent = true
            }) else {
                abandoned = true
                break
            }
            guard report.completed else { break }   // stopped mid-scan: a partial scan must not clear findings
            // A finding whose file or process this scan could not look at is not cleared (AlertPlanner).
            // A container restarting between two scans keeps its findings: missing from one scan (or for 30 s) is
            // a restart, not "cleared" then "new".
            let events = AlertPlanner.plan(&state, findings: report.findings, unexamined: report.incompleteSubjects,
                                           now: Date().timeIntervalSince1970, reminder: configuration.reminder.secondsValue,
                                           scannedTargets: Set(report.targets.filter(\.scanned).map(\.target.stableKey)),
                                           containerGrace: max(30, 1.5 * configuration.interval.secondsValue))
            let aboveInfo = report.findings.filter { $0.severity > .info }.count
            sink.deliver(events.map { JournalEntries.event($0, scanID: report.scanID) }
                         + [JournalEntries.summary(report, findingsAboveInfo: aboveInfo)], state: &state)
            save(&state, last: &saved)
            counters.scans += 1
            counters.journalPending = state.pending.count
            counters.journalDropped = state.droppedTotal
            writeMetrics(report, rules: plan.rules, counters: counters)
            ServiceNotifier.notify("STATUS=Last scan: \(report.findings.count) findings (\(aboveInfo) above info, highest "
                + "\(report.highestSeverity?.rawValue ?? "none")), \(report.skipped.count) skipped"
                + (report.isIncomplete ? ", INCOMPLETE" : "") + ", \(JournalEntries.format3(report.statistics.durationSeconds)) s")
            await sleepUntilNextScan(state: &state, saved: &saved)
        }
        let detail = abandoned
            ? "graceful stop; the scan in progress did not end within \(Self.stopGrace) (a read that does not return) and was abandoned"
            : "graceful stop"
        sink.deliver([JournalEntries.lifecycle("stopped", detail: detail)], state: &state)
        save(&state, last: &saved)
    }

    /// The remembered state, or an empty one when there is none or it cannot be trusted or read.
    private func loadState() -> AlertState {
        let directory = configuration.stateDirectory
        do {
            try FileSystem.makeDirectories(directory, permissions: 0o700)
            return try AlertState.load(from: directory)
        } catch {
            AlertSink.stderr("chainwatch: state in \(directory) not used (\(error)); starting with no remembered findings")
            return AlertState()
        }
    }

    /// Where `chainwatch --install-rules` finds the daemon to tell it to reload.
    private func writePIDFile() {
        let path = configuration.stateDirectory + "/chainwatch.pid"
        do { try OwnFiles.write(Array("\(ProcessIdentity.current)\n".utf8), to: path, permissions: 0o644) } catch {
            AlertSink.stderr("chainwatch: cannot write the pid file: \(error); --install-rules will not signal this daemon")
        }
    }

    /// Runs the blocking scan on its own thread, so neither the watchdog nor signal handling waits on it. Nil when
    /// the daemon is stopping and the scan did not end within `stopGrace`: its thread is left blocked, and the
    /// process exits without it.
    private func scan(_ plan: ScanPlan, baseline: Baseline?, started: () -> Void) async -> ScanReport? {
        var options = ScanOptions()
        options.baseline = baseline
        options.findCodeInUse = false
        options.jobs = configuration.jobs
        options.readBlockingFilesystems = configuration.readBlockingFilesystems
        options.yara = configuration.yara
        options.cache = cache
        let signals = self.signals
        options.shouldStop = { signals.stop.load(ordering: .relaxed) }
        let progress = options.progress
        let handoff = ScanHandoff()
        activity.begin(progress, handoff)
        defer { activity.end() }
        let runScan = self.runScan, scanOptions = options
        return await handoff.wait {
            // A dispatch queue's thread, not one of the async pool's: the scan blocks on reads for its whole run.
            DispatchQueue(label: "chainwatch.scan").async { handoff.finish(runScan(plan, scanOptions)) }
            started()
        }
    }

    /// Sleeps until the interval passes, waking early to stop, to reload rules (then scanning at once), or to retry
    /// pending journal deliveries every 2 s while there are any.
    private func sleepUntilNextScan(state: inout AlertState, saved: inout AlertState?) async {
        let deadline = ContinuousClock.now + configuration.interval
        while ContinuousClock.now < deadline && !signals.raised {
            let retry = ContinuousClock.now + .seconds(2)
            await signals.sleep(until: state.pending.isEmpty ? deadline : min(deadline, retry))
            if !state.pending.isEmpty && !signals.raised {
                let before = state.pending.count
                sink.deliver([], state: &state)
                if state.pending.count != before { save(&state, last: &saved) }
            }
        }
    }

    /// The metrics file, when one is configured; a failure to write it is reported and scanning goes on.
    private func writeMetrics(_ report: ScanReport?, rules: RuleSet, counters: MetricsFile.Counters) {
        guard let path = configuration.metricsFile else { return }
        do { try MetricsFile(path: path).write(report, rules: rules, counters: counters) } catch {
            AlertSink.stderr("chainwatch: cannot write metrics file: \(error)")
        }
    }

    private func reload(keeping current: ScanPlan, state: inout AlertState, failures: inout Int) -> ScanPlan {
        do {
            // Without configured rules, the defaults are looked up again: a bundle installed since start is used.
            let paths = configuration.rules.isEmpty ? RuleLoader.defaultDirectories(stateDirectory: configuration.stateDirectory) : rulePaths
            let rules = try RuleLoader.load(from: paths)
            sink.deliver([JournalEntries.lifecycle("reloaded", detail: "\(rules.rules.count) rules")], state: &state)
            return ScanPlan(rules)
        } catch {
            failures += 1
            let kept = current.rules.rules.count
            AlertSink.stderr(escaped: "chainwatch: rules reload failed, keeping \(kept) rules:\n"
                + error.problems.map { TerminalText.escape($0.description) }.joined(separator: "\n"))
            sink.deliver([JournalEntries.rulesError(error.description, keptRules: kept)], state: &state)
            return current
        }
    }

    /// Writes the state when it differs from what was last written: a scan that changed nothing writes nothing.
    /// A full disk must not stop scanning: the state stays in memory and the next save tries again.
    private func save(_ state: inout AlertState, last: inout AlertState?) {
        guard state != last else { return }
        do {
            try state.save(to: configuration.stateDirectory)
            last = state
        } catch {
            AlertSink.stderr("chainwatch: cannot save state: \(error); keeping it in memory")
        }
    }
}

extension Duration {
    var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
