import Dispatch
import HostIO
import Probes
import Synchronization

/// Reads of files on filesystems that may never answer (FUSE, NFS...): each on a thread of its own, abandoned when
/// it makes no progress for `stall`, so a stuck filesystem costs the scan a skip, never the scan.
///
/// An abandoned thread stays blocked in the kernel until its filesystem answers (nothing can interrupt it short of
/// the process exiting); the file it waits on is not read again while it does, and at most `maximumAbandoned`
/// threads are ever left waiting, so a daemon that meets a dead mount every scan does not pile them up.
final class GuardedReads: Sendable {
    static let shared = GuardedReads()
    static let maximumAbandoned = 16

    private let waiting = Mutex<Set<FileIdentity>>([])

    enum Outcome<Value: Sendable> {
        case done(Result<Value, Error>)
        /// No progress for the stall time (or an earlier read of the file is still blocked).
        case stalled(String)
        case stopped
    }

    /// Runs `body` on its own thread; `body` calls its argument after each step (a chunk read) to show progress.
    func run<Value: Sendable>(_ identity: FileIdentity, stall: Duration, shouldStop: @escaping @Sendable () -> Bool,
                              _ body: @escaping @Sendable (@escaping @Sendable () -> Void) throws -> Value) -> Outcome<Value> {
        let refused: String? = waiting.withLock { set in
            if set.contains(identity) { return "an earlier read of it is still waiting on its filesystem" }
            if set.count >= Self.maximumAbandoned { return "\(set.count) reads are already waiting on unanswering filesystems" }
            return nil
        }
        if let refused { return .stalled(refused) }
        let state = Mutex<(result: Result<Value, Error>?, abandoned: Bool)>((nil, false))
        let steps = Atomic<Int>(0)
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue(label: "chainwatch.guarded-read").async {
            let result = Result { try body { steps.add(1, ordering: .relaxed) } }
            let abandoned = state.withLock { state in
                state.result = result
                return state.abandoned
            }
            if abandoned { _ = self.waiting.withLock { $0.remove(identity) } }
            finished.signal()
        }
        var lastSteps = 0
        var lastProgress = ContinuousClock.now
        while true {
            if finished.wait(timeout: .now() + .milliseconds(250)) == .success { break }
            let now = ContinuousClock.now, current = steps.load(ordering: .relaxed)
            if current != lastSteps { lastSteps = current; lastProgress = now }
            let stopping = shouldStop()
            guard stopping || now - lastProgress >= stall else { continue }
            // Abandon it, unless it finished meanwhile.
            let result: Result<Value, Error>? = state.withLock { state in
                if state.result == nil {
                    state.abandoned = true
                    _ = self.waiting.withLock { $0.insert(identity) }
                }
                return state.result
            }
            if let result { return .done(result) }
            return stopping ? .stopped : .stalled("its filesystem did not answer for \(Self.seconds(stall)) s; not read")
        }
        return .done(state.withLock { $0.result! })
    }

    private static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return attoseconds == 0 ? "\(seconds)" : "\(Double(seconds) + Double(attoseconds) / 1e18)"
    }
}
