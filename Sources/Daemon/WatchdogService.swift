import Engine
import Journal
import ServiceLifecycle

/// Feeds the service manager's watchdog (WATCHDOG=1) from the async pool, which scans never occupy, but only
/// while the daemon works: between scans, or while the running scan's progress advances. A scan stuck for good (a
/// read that never returns) stops the pings, and systemd restarts the service instead of trusting it.
public struct WatchdogService: Service {
    let activity: ScanActivity
    /// WATCHDOG_USEC when nil.
    let period: Duration?
    let notify: @Sendable (String) -> Void

    init(activity: ScanActivity, period: Duration? = nil,
         notify: @escaping @Sendable (String) -> Void = { ServiceNotifier.notify($0) }) {
        self.activity = activity
        self.period = period
        self.notify = notify
    }

    public func run() async throws {
        guard let period = period ?? ServiceNotifier.watchdogMicroseconds().map({ Duration.microseconds(Int64($0)) }) else {
            try? await gracefulShutdown()
            return
        }
        // Looked at four times a period; a scan whose progress has not moved for half a period gets no ping, so a
        // stall is a restart after one to one and a half periods, and a slow file shorter than half a period is not.
        var gate = WatchdogGate(stall: period / 2)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if gate.shouldPing(activity.progress, now: .now) { notify("WATCHDOG=1") }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: period / 4) }
        }
    }
}

/// Whether the watchdog may be fed: no scan running, or the running scan's progress moved less than `stall` ago.
struct WatchdogGate {
    let stall: Duration
    private var last: (scan: ObjectIdentifier, value: Int, since: ContinuousClock.Instant)?

    init(stall: Duration) {
        self.stall = stall
    }

    mutating func shouldPing(_ progress: ScanProgress?, now: ContinuousClock.Instant) -> Bool {
        guard let progress else {
            last = nil
            return true
        }
        let scan = ObjectIdentifier(progress), value = progress.value
        if let last, last.scan == scan, last.value == value { return now - last.since < stall }
        last = (scan, value, now)
        return true
    }
}
