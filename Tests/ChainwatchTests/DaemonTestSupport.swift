import Foundation
import Testing

extension Support {
    // `builtBinary` (the chainwatch beside this test bundle, whatever --scratch-path built it) and `scanBuiltJSON`
    // are in PathInputTests.swift.

    static func builtChainwatch(_ arguments: [String]) throws -> Result {
        try run(builtBinary, arguments)
    }

    static func text(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Polls `condition` every 100 ms for up to `timeout` seconds.
    static func waitUntil(_ timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }
}

extension JournalSandbox {
    /// The journal entries matching `matches` (journalctl FIELD=VALUE arguments), oldest first.
    func entries(matching matches: [String]) throws -> [[String: Any]] {
        let result = try Support.run("/usr/bin/nsenter", inside(["journalctl", "-o", "json", "--no-pager"] + matches))
        return result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// A field of a `journalctl -o json` entry as text: journalctl prints a value holding control characters as an
    /// array of its bytes instead of a string.
    static func text(_ entry: [String: Any], _ field: String) -> String? {
        if let text = entry[field] as? String { return text }
        guard let bytes = entry[field] as? [Int] else { return nil }
        return String(decoding: bytes.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
    }

    /// Runs a shell command inside the sandbox's mount namespace.
    @discardableResult
    func shell(_ script: String) throws -> Support.Result {
        try Support.run("/usr/bin/nsenter", inside(["/bin/sh", "-c", script]))
    }
}

/// Tests/Fixtures/blocking-fuse.py mounted inside a journal sandbox's mount namespace (where the daemon under test
/// runs): one file, a copy of `source`, whose reads are answered until `block()` and then never again.
/// `unmount()` (also on deinit, so after a failed expectation too) detaches the mount and kills the server, which
/// aborts the connection and fails every read still waiting.
final class BlockingFUSE {
    let mountPoint: String
    let file: String
    let log: String
    private let trigger: String
    private let sandbox: JournalSandbox
    private var server: Support.Background?

    init(sandbox: JournalSandbox, directory: String, source: String, name: String? = nil) throws {
        self.sandbox = sandbox
        mountPoint = directory + "/fuse"
        trigger = directory + "/fuse.block"
        log = directory + "/fuse.log"
        let name = name ?? URL(fileURLWithPath: source).lastPathComponent
        file = mountPoint + "/" + name
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let script = "exec /usr/bin/python3 '\(Support.fixtures)/blocking-fuse.py' '\(mountPoint)' '\(source)' --name '\(name)' "
            + "--block-after '\(trigger)' >>'\(log)' 2>&1"
        server = try Support.Background("/usr/bin/nsenter", sandbox.inside(["/bin/sh", "-c", script]))
        try #require(Support.waitUntil(15) { Support.text(log).contains("mounted") }, "blocking-fuse.py did not mount: \(Support.text(log))")
    }

    /// From now on every read of the file blocks.
    func block() {
        FileManager.default.createFile(atPath: trigger, contents: nil)
    }

    /// Whether a read is blocked (the server logs each one it holds).
    var holdsARead: Bool { Support.text(log).contains("blocked read") }

    func unmount() {
        guard let server else { return }
        _ = try? sandbox.shell("fusermount -u -z '\(mountPoint)' 2>/dev/null || umount -l '\(mountPoint)' 2>/dev/null")
        server.stop()
        self.server = nil
    }

    deinit { unmount() }
}
