import FoundationEssentials
import HostIO
import Journal
import Reporting

/// Delivers journal entries without losing any while it can: when journald is not listening (or a send fails) the
/// entry is written to stderr, kept in the state's pending queue, and delivered, in order, once the journal is back.
/// The queue is bounded: past `maximumPending` entries (or `maximumPendingBytes`) the oldest go, counted, and the
/// journal is told how many before the rest is delivered.
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
        let dropped = Self.dropOldSummaries(&state.pending) + Self.dropOverflow(&state)
        var delivered = 0
        if Journal.isListening(socketPath: socketPath) && Self.announceDropped(&state) {
            for entry in state.pending {
                do { try Journal.send(entry) } catch {
                    Self.stderr("chainwatch: journal send failed (\(error)); keeping \(state.pending.count - delivered) entries pending")
                    break
                }
                delivered += 1
            }
        }
        // New entries the journal did not take are shown on stderr now, so an admin watching sees them at once.
        for index in max(firstNew - dropped, delivered, 0)..<state.pending.count {
            let message = state.pending[index].first { $0.name == "MESSAGE" }?.value ?? ""
            Self.stderr(escaped: "chainwatch: journal unavailable, pending: \(message)")
        }
        state.pending.removeFirst(delivered)
        return state.pending.count
    }

    /// Per-scan summaries kept while the journal is away. Alerts are dropped only when the whole queue is full;
    /// routine "scan finished" entries beyond this are, oldest first, so a daemon whose journal stays down for
    /// months keeps its alerts.
    public static let maximumPendingSummaries = 100
    /// Entries kept while the journal is away, and their bytes: far below what a state file may hold
    /// (`AlertState.maximumFileSize`), so a start can always read the state back.
    public static let maximumPending = 10_000
    public static let maximumPendingBytes = 24 << 20

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

    /// Drops the oldest entries beyond `maximumPending` or `maximumPendingBytes`, counted in the state; returns how
    /// many went.
    static func dropOverflow(_ state: inout AlertState) -> Int {
        var excess = max(0, state.pending.count - maximumPending)
        var bytes = state.pending.dropFirst(excess).reduce(0) { $0 + size($1) }
        while bytes > maximumPendingBytes && excess < state.pending.count {
            bytes -= size(state.pending[excess])
            excess += 1
        }
        state.dropOldestPending(excess)
        return excess
    }

    static func size(_ entry: [JournalField]) -> Int {
        entry.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 }
    }

    /// Tells the journal how many entries a full queue cost, before it gets the rest; false if that failed (the
    /// count is kept and delivery waits).
    static func announceDropped(_ state: inout AlertState) -> Bool {
        guard state.droppedUnannounced > 0 else { return true }
        do { try Journal.send(JournalEntries.dropped(state.droppedUnannounced, kept: maximumPending)) } catch {
            stderr("chainwatch: journal send failed (\(error)); keeping \(state.pending.count) entries pending")
            return false
        }
        state.droppedUnannounced = 0
        return true
    }

    /// One line on stderr, escaped whole (`TerminalText`): a newline or a terminal control in a file name it quotes
    /// cannot start a line that looks like chainwatch's own.
    static func stderr(_ line: String) {
        StandardError.writeLine(TerminalText.escape(line))
    }

    /// Text already made safe (a journal MESSAGE, escaped lines joined by chainwatch's own newlines), as it is.
    static func stderr(escaped text: String) {
        StandardError.writeLine(text)
    }
}
