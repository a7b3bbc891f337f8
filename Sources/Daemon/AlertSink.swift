import FoundationEssentials
import HostIO
import Journal

/// Delivers journal entries without losing any: when journald is not listening (or a send fails) the entry is
/// written to stderr, kept in the state's pending queue, and delivered, in order, once the journal is back.
public struct AlertSink: Sendable {
    public var socketPath: String

    public init(socketPath: String = Journal.socketPath) {
        self.socketPath = socketPath
    }

    /// Queues `entries` behind anything pending and sends what it can. Returns how many entries remain pending.
    @discardableResult
    public func deliver(_ entries: [[JournalField]], state: inout AlertState) -> Int {
        let firstNew = state.pending.count
        state.pending += entries
        let dropped = Self.dropOldSummaries(&state.pending)
        var delivered = 0
        if Journal.isListening(socketPath: socketPath) {
            for entry in state.pending {
                do { try Journal.send(entry) } catch {
                    Self.stderr("chainwatch: journal send failed (\(error)); keeping \(state.pending.count - delivered) entries pending")
                    break
                }
                delivered += 1
            }
        }
        // New entries the journal did not take are shown on stderr now, so an admin watching sees them at once.
        for index in max(firstNew - dropped, delivered)..<state.pending.count {
            let message = state.pending[index].first { $0.name == "MESSAGE" }?.value ?? ""
            Self.stderr("chainwatch: journal unavailable, pending: \(message)")
        }
        state.pending.removeFirst(delivered)
        return state.pending.count
    }

    /// Per-scan summaries kept while the journal is away. Alerts are never dropped; routine "scan finished"
    /// entries beyond this are, oldest first, so a daemon whose journal stays down for months stays small.
    public static let maximumPendingSummaries = 100

    /// Drops the oldest pending summaries beyond the limit and returns how many went.
    static func dropOldSummaries(_ pending: inout [[JournalField]]) -> Int {
        func isSummary(_ entry: [JournalField]) -> Bool {
            entry.contains { $0.name == "MESSAGE_ID" && $0.value == JournalEntries.summaryMessageID }
        }
        var excess = pending.count(where: isSummary) - maximumPendingSummaries
        guard excess > 0 else { return 0 }
        let before = pending.count
        pending.removeAll { entry in
            guard excess > 0, isSummary(entry) else { return false }
            excess -= 1
            return true
        }
        return before - pending.count
    }

    static func stderr(_ line: String) {
        StandardError.writeLine(line)
    }
}
