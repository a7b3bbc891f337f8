import Journal
import Reporting
import Engine
import HostIO

/// The daemon's baseline (`baseline =`): read at start, and read again before a scan when its file or signature
/// changed (a new baseline approved) or on SIGHUP. A baseline that is refused leaves the previous one in force and
/// is reported once per version of the file, never silently dropped: drift judged against nothing would clear
/// every drift alert.
struct BaselineWatch {
    let path: String?
    let keysDirectory: String
    let requireSignature: Bool
    private(set) var current: Baseline?
    /// The file's stamp when `current` was read, and the stamp of the last refused version.
    private var loadedStamp: String?
    private var refusedStamp: String?

    init(configuration: DaemonConfiguration, initial: Baseline?) {
        path = configuration.baseline
        keysDirectory = configuration.keysDirectory
        requireSignature = configuration.requireSignedBaseline
        current = initial
        // Not stamped here: the file may have changed since it was read at start; the first refresh reads it again
        // (announcing nothing when it is the same baseline).
        loadedStamp = nil
    }

    /// Journal entries for what changed: a new baseline in force, or one refused (once per version of the file).
    mutating func refresh(force: Bool = false) -> [[JournalField]] {
        guard let path else { return [] }
        let stamp = BaselineFile.stamp(path)
        guard force || (stamp != loadedStamp && stamp != refusedStamp) else { return [] }
        do throws(BaselineError) {
            let baseline = try BaselineFile.load(path, keysDirectory: keysDirectory, requireSignature: requireSignature)
            // A signed baseline older than the one in force is a replay of an earlier approval (one that approved
            // what was since found bad): refused, as an older rule bundle is.
            if let current, current.signer != nil, let then = current.timestamp, let now = baseline.timestamp, now < then {
                throw BaselineError(file: path, problem: "written at \(now), before the baseline in force (\(then)): an earlier approval is not taken back in",
                                    hint: "write a new baseline (chainwatch scan --write-baseline) to approve the state again")
            }
            let replaced = current?.sha256 != baseline.sha256
            current = baseline
            loadedStamp = stamp
            refusedStamp = nil
            return replaced ? [JournalEntries.lifecycle("baseline-loaded", detail: baseline.summary)] : []
        } catch {
            guard stamp != refusedStamp || force else { return [] }
            refusedStamp = stamp
            AlertSink.stderr(escaped: "chainwatch: " + TerminalText.escape(error.description)
                             + (current == nil ? "" : "; keeping the previous baseline (sha256 \(current!.sha256))"))
            return [JournalEntries.baselineError(error.description, kept: current)]
        }
    }
}
