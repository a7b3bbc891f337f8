import Engine
import Synchronization

/// The scan in flight, shared by the scan loop, the watchdog and a stopping daemon: its progress counter, which
/// the watchdog watches, and the hand-over of its report, which a stop can give up waiting for.
final class ScanActivity: Sendable {
    private enum State {
        case idle
        case running(ScanProgress, ScanHandoff)
        /// The daemon is stopping and gave up on scans: any scan begun from now on is not waited for either.
        case abandoned
    }

    private let state = Mutex<State>(.idle)

    /// The running scan's progress, or nil between scans.
    var progress: ScanProgress? {
        state.withLock { state in
            if case .running(let progress, _) = state { return progress }
            return nil
        }
    }

    /// Marks a scan as running until `end()`.
    func begin(_ progress: ScanProgress, _ handoff: ScanHandoff) {
        let abandoned: Bool = state.withLock { state in
            if case .abandoned = state { return true }
            state = .running(progress, handoff)
            return false
        }
        if abandoned { handoff.finish(nil) }
    }

    func end() {
        state.withLock { state in
            if case .running = state { state = .idle }
        }
    }

    /// Stops waiting for the running scan (its report is taken as nil) and for any later one.
    func abandon() {
        let handoff: ScanHandoff? = state.withLock { state in
            defer { state = .abandoned }
            if case .running(_, let handoff) = state { return handoff }
            return nil
        }
        handoff?.finish(nil)
    }
}

/// One scan's report passed from the thread that ran it to the loop that awaits it. Whichever comes first, the
/// report or a stop giving up on it (nil), is taken; the other is ignored. Works in either order with the await.
final class ScanHandoff: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<ScanReport?, Never>)
        case done(ScanReport?)
    }

    private let state = Mutex<State>(.empty)

    /// Waits for `finish`, which `start` (called once, inside the wait) arranges to happen.
    func wait(start: () -> Void) async -> ScanReport? {
        await withCheckedContinuation { continuation in
            let finished: ScanReport?? = state.withLock { state in
                if case .done(let report) = state { return .some(report) }
                state = .waiting(continuation)
                return nil
            }
            if let finished { continuation.resume(returning: finished) } else { start() }
        }
    }

    func finish(_ report: ScanReport?) {
        let continuation: CheckedContinuation<ScanReport?, Never>? = state.withLock { state in
            switch state {
            case .done: return nil
            case .empty:
                state = .done(report)
                return nil
            case .waiting(let continuation):
                state = .done(report)
                return continuation
            }
        }
        continuation?.resume(returning: report)
    }
}
