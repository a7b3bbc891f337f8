import Dispatch
import Engine
import FoundationEssentials
import HostIO
import Journal
import Rules
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Flags the signal handler and graceful shutdown set and the scan loop reads (atomics: set from other tasks), and
/// the loop's sleep, which setting a flag cuts short.
final class DaemonSignals: Sendable {
    let stop = Atomic<Bool>(false)
    let reload = Atomic<Bool>(false)
    private let sleeper = Mutex<Task<Void, Never>?>(nil)

    var raised: Bool { stop.load(ordering: .relaxed) || reload.load(ordering: .relaxed) }

    /// Sleeps until `deadline` or until `wake()`: one timer, not a polling loop, so an idle daemon costs nothing
    /// between scans.
    func sleep(until deadline: ContinuousClock.Instant) async {
        let task = Task<Void, Never> { _ = try? await Task.sleep(until: deadline, clock: .continuous) }
        sleeper.withLock { $0 = task }
        // A flag raised before the task was stored found nothing to wake: look once more.
        if raised { task.cancel() }
        await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        sleeper.withLock { $0 = nil }
    }

    func wake() {
        sleeper.withLock { $0?.cancel() }
    }
}

/// The daemon's main service: scan, announce what changed, remember, sleep, repeat; reload rules on SIGHUP.
public struct ScanService: Service {
    let configuration: DaemonConfiguration
    let rulePaths: [String]
    let initialRules: RuleSet
    let sink: AlertSink
    let signals = DaemonSignals()
    let cache = FactsCache()

    public init(configuration: DaemonConfiguration, rulePaths: [String], rules: RuleSet, sink: AlertSink = AlertSink()) {
        self.configuration = configuration
        self.rulePaths = rulePaths
        self.initialRules = rules
        self.sink = sink
    }

    public func run() async throws {
        let signals = self.signals
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
            signals.stop.store(true, ordering: .relaxed)
            signals.wake()
            ServiceNotifier.notify("STOPPING=1")
        }
    }

    private func loop() async throws {
        let directory = configuration.stateDirectory
        var state: AlertState
        do {
            try FileSystem.makeDirectories(directory, permissions: 0o700)
            state = try AlertState.load(from: directory)
        } catch {
            AlertSink.stderr("chainwatch: state in \(directory) unreadable (\(error)); starting with no remembered findings")
            state = AlertState()
        }
        // Compiled once per load: a reload builds a new plan, and with it new byte patterns (and their digest, so no
        // cached pattern hit of the old rules is taken for the new).
        var plan = ScanPlan(initialRules)
        var saved: AlertState?
        sink.deliver([JournalEntries.lifecycle("started", detail: "\(plan.rules.rules.count) rules, interval \(configuration.interval)")], state: &state)
        save(state, last: &saved)
        var readySent = false
        var counters = MetricsFile.Counters()
        // Where `chainwatch --install-rules` finds the daemon to tell it to reload.
        do { try FileSystem.writeAtomically(Array("\(ProcessIdentity.current)\n".utf8), to: directory + "/chainwatch.pid", permissions: 0o644) } catch {
            AlertSink.stderr("chainwatch: cannot write \(directory)/chainwatch.pid: \(error); --install-rules will not signal this daemon")
        }
        writeMetrics(nil, rules: plan.rules, counters: counters)
        while !signals.stop.load(ordering: .relaxed) {
            if signals.reload.exchange(false, ordering: .relaxed) {
                plan = reload(keeping: plan, state: &state, failures: &counters.reloadFailures)
            }
            let report = await scan(plan) {
                if !readySent { ServiceNotifier.notify("READY=1") }
                readySent = true
            }
            guard report.completed else { break }   // stopped mid-scan: a partial scan must not clear findings
            let events = AlertPlanner.plan(&state, findings: report.findings, now: Date().timeIntervalSince1970,
                                           reminder: configuration.reminder.secondsValue)
            let aboveInfo = report.findings.filter { $0.severity > .info }.count
            sink.deliver(events.map { JournalEntries.event($0, scanID: report.scanID) }
                         + [JournalEntries.summary(report, findingsAboveInfo: aboveInfo)], state: &state)
            save(state, last: &saved)
            counters.scans += 1
            counters.journalPending = state.pending.count
            writeMetrics(report, rules: plan.rules, counters: counters)
            ServiceNotifier.notify("STATUS=Last scan: \(report.findings.count) findings (\(aboveInfo) above info, highest "
                + "\(report.highestSeverity?.rawValue ?? "none")), \(report.skipped.count) skipped, "
                + "\(JournalEntries.format3(report.statistics.durationSeconds)) s")
            await sleepUntilNextScan(state: &state, saved: &saved)
        }
        sink.deliver([JournalEntries.lifecycle("stopped", detail: "graceful stop")], state: &state)
        save(state, last: &saved)
    }

    /// Runs the blocking scan on its own thread, so neither the watchdog nor signal handling waits on it.
    private func scan(_ plan: ScanPlan, started: () -> Void) async -> ScanReport {
        var options = ScanOptions()
        options.jobs = configuration.jobs
        options.cache = cache
        let signals = self.signals
        options.shouldStop = { signals.stop.load(ordering: .relaxed) }
        let scanner = Scanner(plan: plan, options: options)
        return await withCheckedContinuation { continuation in
            // A dispatch queue's thread, not one of the async pool's: the scan blocks on reads for its whole run.
            DispatchQueue(label: "chainwatch.scan").async { continuation.resume(returning: scanner.run()) }
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
                if state.pending.count != before { save(state, last: &saved) }
            }
        }
    }

    /// The metrics file, when one is configured; a failure to write it is reported and scanning goes on.
    private func writeMetrics(_ report: ScanReport?, rules: RuleSet, counters: MetricsFile.Counters) {
        guard let path = configuration.metricsFile else { return }
        do { try MetricsFile(path: path).write(report, rules: rules, counters: counters) } catch {
            AlertSink.stderr("chainwatch: cannot write metrics file \(path): \(error)")
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
            AlertSink.stderr("chainwatch: rules reload failed, keeping \(kept) rules:\n\(error)")
            sink.deliver([JournalEntries.rulesError(error.description, keptRules: kept)], state: &state)
            return current
        }
    }

    /// Writes the state when it differs from what was last written: a scan that changed nothing writes nothing.
    /// A full disk must not stop scanning: the state stays in memory and the next save tries again.
    private func save(_ state: AlertState, last: inout AlertState?) {
        guard state != last else { return }
        do {
            try state.save(to: configuration.stateDirectory)
            last = state
        } catch {
            AlertSink.stderr("chainwatch: cannot save state in \(configuration.stateDirectory): \(error); keeping it in memory")
        }
    }
}

/// Pings the service manager's watchdog every WATCHDOG_USEC/2 from the async pool, which scans never occupy.
public struct WatchdogService: Service {
    public init() {}

    public func run() async throws {
        guard let microseconds = ServiceNotifier.watchdogMicroseconds() else {
            try? await gracefulShutdown()
            return
        }
        let half = Duration.microseconds(Int64(microseconds / 2))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            ServiceNotifier.notify("WATCHDOG=1")
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: half) }
        }
    }
}

extension Duration {
    var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
