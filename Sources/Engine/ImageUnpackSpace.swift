import HostIO

/// The room left for an unpack, checked before anything is written: statvfs of the unpack directory at the
/// start, then a running estimate that each file written draws down, refreshed with statvfs only when the estimate
/// says a file may not fit (so a scan with room to spare makes one statvfs call, not one per member). A file that
/// does not fit is not started: it is reported as not unpacked instead of leaving a truncated copy.
///
/// A class because the layer writer's `keep` callback (which sees a file's first bytes before it is written)
/// reserves the space; only the unpacker that made it uses it.
final class ImageUnpackSpace {
    /// The unpack directory.
    let directory: String
    /// Where the person running the scan can make room: the directory the unpack directory was made in ($TMPDIR).
    let shown: String
    private var bytes: Int64 = .max
    private var files: Int64 = .max
    /// Whether some file found no room: the unpack is incomplete.
    private(set) var ranOut = false

    init(directory: String) {
        self.directory = directory
        var parent = directory.split(separator: "/").dropLast().joined(separator: "/")
        parent = "/" + parent
        shown = parent
        refresh()
    }

    /// What a file of `size` bytes costs the filesystem: whole blocks, and one more for its inode's share.
    private static func cost(_ size: Int64) -> Int64 { (max(size, 0) + 4095) / 4096 * 4096 + 4096 }

    /// Whether a file of `size` bytes fits now; if so its space is counted as used.
    func reserve(_ size: Int64) -> Bool {
        let cost = Self.cost(size)
        if cost > bytes || files < 1 {
            refresh()
            // The block for its inode is an estimate: a file that fits exactly is still tried.
            guard cost - 4096 <= bytes && files >= 1 else {
                ranOut = true
                return false
            }
        }
        bytes -= cost
        files -= 1
        return true
    }

    /// After a write failed: whether the failure was for want of space (ENOSPC or EDQUOT surface as libarchive's
    /// "Write failed" without the errno, so the filesystem is asked).
    func isExhausted(needing size: Int64) -> Bool {
        refresh()
        let exhausted = bytes < max(size, 64 << 10) || files < 1
        if exhausted { ranOut = true }
        return exhausted
    }

    /// Throws unless `size` bytes fit (an image archive's layout, extracted whole before any layer).
    func require(_ size: Int64, for what: String) throws(ImageUnpacker.Failure) {
        refresh()
        guard size <= bytes else {
            throw ImageUnpacker.Failure(.space, "\(what) needs \(size) bytes in \(shown), which has \(bytes) free: not unpacked. Set TMPDIR to a directory with more room")
        }
    }

    /// The reason given for each file not unpacked for want of space: the same text for all, so the report counts
    /// them under one line.
    var reason: String {
        "not unpacked: \(shown) (the unpack directory's filesystem) has no room left for it; set TMPDIR to a directory with more room"
    }

    private func refresh() {
        guard let free = try? ImageSyscall.freeSpace(directory) else { return }
        bytes = free.bytes
        files = free.files
    }
}
