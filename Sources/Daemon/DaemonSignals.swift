import ServiceLifecycle
import Synchronization

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

    /// Asks the loop to stop: at once between scans, at the scan's next file during one; and `grace` later, gives up
    /// on a scan that has not ended (a read blocked for good on a FUSE or network file) so the daemon exits anyway.
    func requestStop(activity: ScanActivity, grace: Duration) {
        stop.store(true, ordering: .relaxed)
        wake()
        Task {
            try? await Task.sleep(for: grace)
            activity.abandon()
        }
    }
}
