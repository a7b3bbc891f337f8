import Digests
import HostIO

/// Several files read on one thread, so that their MD5s (dpkg's recorded digest: latency-bound, several times
/// slower per byte than SHA-NI SHA-256) advance together in SIMD lanes (`MD5.update(lanes:with:)`) instead of
/// one after another. Each file keeps one chunk buffer; a file that ends gives its lane to the next.
public struct InspectionLanes {
    /// Files open at once: the MD5 lane width, so every lane has a file while there is work.
    public let width: Int

    public init(width: Int = MD5.laneWidth) {
        self.width = max(1, width)
    }

    /// Reads files until `next` has none left.
    /// - Parameters:
    ///   - next: the next file to read, opened, or nil when there is no more work.
    ///   - done: each file's facts, or why they could not be had, once it is read (in no particular order).
    public func run(next: () -> InspectionInProgress?, done: (InspectionInProgress, Result<FileFacts, Error>) -> Void) {
        var open: [InspectionInProgress] = []
        var exhausted = false
        while true {
            while !exhausted && open.count < width {
                guard let file = next() else { exhausted = true; break }
                open.append(file)
            }
            if open.isEmpty { return }
            // Read where the last chunk is used up; a file at its end (or failing) is finished and leaves.
            var reading: [InspectionInProgress] = []
            for file in open {
                do {
                    if file.needsRead { try file.readChunk() }
                    if file.atEnd { done(file, .success(try file.finish())) } else { reading.append(file) }
                } catch {
                    done(file, .failure(error))
                }
            }
            open = reading
            advanceMD5(open)
        }
    }

    /// One MD5 step: the whole blocks every lane has in common run together, the rest alone. A file with a
    /// partial block buffered (a short read) is first brought to a block boundary on its own.
    private func advanceMD5(_ files: [InspectionInProgress]) {
        var lanes = files.filter { $0.md5 != nil && !$0.pendingMD5.isEmpty }
        for file in lanes where file.md5!.pendingByteCount > 0 {
            let fill = min(64 - file.md5!.pendingByteCount, file.pendingMD5.count)
            file.md5!.update(file.pendingMD5.prefix(fill))
            file.md5Consumed += fill
        }
        lanes.removeAll { $0.pendingMD5.count < 64 }
        if lanes.count >= 2 {
            let common = lanes.map { $0.pendingMD5.count / 64 }.min()! * 64
            var states = lanes.map { $0.md5! }
            MD5.update(lanes: &states, with: lanes.map { $0.pendingMD5.prefix(common) })
            for (file, state) in zip(lanes, states) {
                file.md5 = state
                file.md5Consumed += common
            }
        }
        // What is left: a lone lane, or fewer bytes than a block (the file's last). The next step's reads come
        // only when a file's chunk is used up, so a long lane is not held back by short ones.
        for file in files where file.md5 != nil && (lanes.count < 2 || file.pendingMD5.count < 64) {
            file.advanceMD5Alone()
        }
    }
}
