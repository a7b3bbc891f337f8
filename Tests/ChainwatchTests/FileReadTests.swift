import Crypto
import Foundation
import Testing
import HostIO
import Probes

/// A file is hashed and parsed from one read; one changed while it is read is reported, never hashed as a mix.
@Suite struct FileReadTests {
    /// A 3 MiB file (three read chunks), its times set in the past so any write moves them.
    static func makeFile(_ directory: String, _ name: String, head: [UInt8] = []) throws -> String {
        let path = directory + "/" + name
        var bytes = head + [UInt8](repeating: 0x41, count: 3 << 20)
        bytes.removeLast(head.count)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        return path
    }

    /// Overwrites 4 KiB in the middle of the file, in place (same inode, same size).
    static func rewriteInPlace(_ path: String) {
        let fd = open(path, O_WRONLY)
        let patch = [UInt8](repeating: 0x42, count: 4096)
        _ = patch.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 2 << 20) }
        close(fd)
    }

    /// The file is rewritten after its first chunk has been read: reading every way reports the change.
    @Test(arguments: ["readAll", "elf", "stream"])
    func aFileRewrittenMidReadIsReportedAsChanged(_ way: String) throws {
        let directory = try Support.temporaryDirectory("midread")
        defer { Support.remove(directory) }
        let path = try Self.makeFile(directory, "liblzma.so.5", head: way == "elf" ? [0x7f, 0x45, 0x4c, 0x46] : [])
        let file = try OpenFile(path: path)
        var chunks = 0
        file.chunkObserver = { _ in
            chunks += 1
            if chunks == 1 { Self.rewriteInPlace(path) }
        }
        #expect(throws: FileReadError.changed(path: path)) {
            if way == "readAll" {
                _ = try file.readAll(limit: 64 << 20)
            } else {
                _ = try FileInspector().inspect(file, readSymbols: false)
            }
        }
        #expect(chunks >= 2, "the change happened between two reads")
    }

    /// Replaced by rename mid-read (as dpkg upgrades do): the descriptor still reads the old inode, but its link
    /// count, and with it its ctime, changed. ctime is what exposes a rewrite whose mtime was set back, so the
    /// read is reported as changed (read again next scan) rather than trusted.
    @Test func aFileReplacedByRenameMidReadIsReportedAsChanged() throws {
        let directory = try Support.temporaryDirectory("rename")
        defer { Support.remove(directory) }
        let path = try Self.makeFile(directory, "liblzma.so.5")
        let file = try OpenFile(path: path)
        var replaced = false
        file.chunkObserver = { _ in
            guard !replaced else { return }
            replaced = true
            try? Data(repeating: 0x43, count: 3 << 20).write(to: URL(fileURLWithPath: directory + "/new"))
            #expect(rename(directory + "/new", path) == 0)
        }
        #expect(throws: FileReadError.changed(path: path)) { try FileInspector().inspect(file, readSymbols: false) }
        #expect(replaced)
        // The next read sees the new file, whole.
        let facts = try FileInspector().inspect(try OpenFile(path: path), readSymbols: false)
        #expect(facts.sha256 == SHA256.hash(data: Data(repeating: 0x43, count: 3 << 20)).map { String(format: "%02x", $0) }.joined())
    }

    /// Swapped for another file between stat and open: OpenFile refuses it.
    @Test func aMissingFileIsNotOpened() {
        #expect(throws: FileReadError.self) { try OpenFile(path: "/nonexistent/liblzma.so.5") }
    }
}
