import Foundation
import Testing

/// A real systemd-journald in a private mount namespace (Tests/Fixtures/journal-sandbox.sh), and ways to run
/// commands inside it and read the journal back with journalctl.
final class JournalSandbox {
    let directory: String
    let anchor: Int32

    init() throws {
        directory = try Support.temporaryDirectory("journal")
        let result = try Support.run(Support.packageRoot + "/Tests/Fixtures/journal-sandbox.sh", [directory])
        try #require(result.status == 0, "journal sandbox: \(result.stderr)")
        anchor = try #require(Int32(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// nsenter arguments that run `command` inside the sandbox's mount namespace.
    func inside(_ command: [String]) -> [String] {
        ["--mount=/proc/\(anchor)/ns/mnt", "--"] + command
    }

    var journaldPID: Int32? {
        (try? String(contentsOfFile: directory + "/journald.pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func stopJournald() {
        guard let pid = journaldPID else { return }
        kill(pid, SIGKILL)
        for _ in 0..<100 where kill(pid, 0) == 0 { usleep(20_000) }
    }

    func startJournald() throws {
        let result = try Support.run(Support.packageRoot + "/Tests/Fixtures/journal-sandbox.sh",
                                     ["start-journald", String(anchor), directory])
        try #require(result.status == 0, "\(result.stderr)")
    }

    /// chainwatch's journal entries, oldest first, as journalctl -o json prints them.
    func entries() throws -> [[String: Any]] {
        let result = try Support.run("/usr/bin/nsenter", inside(["journalctl", "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=chainwatch"]))
        return result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Polls the journal until `predicate` holds for some entry, for up to `timeout` seconds.
    func waitFor(_ timeout: Double = 30, _ predicate: ([String: Any]) -> Bool) throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let entry = try entries().first(where: predicate) { return entry }
            usleep(200_000)
        }
        return nil
    }

    deinit {
        stopJournald()
        kill(anchor, SIGKILL)
        Support.remove(directory)
    }
}

/// The service manager's end of sd_notify: a datagram socket whose messages land in a file.
final class NotifyListener {
    let socket: String
    let log: String
    private let process: Support.Background

    init(directory: String) throws {
        socket = directory + "/notify.sock"
        log = directory + "/notify.log"
        process = try Support.Background("/usr/bin/python3", [Support.packageRoot + "/Tests/Fixtures/notify-listener.py", socket, log])
        for _ in 0..<200 where !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("listening") ?? false) { usleep(20_000) }
    }

    var messages: [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func waitFor(_ message: String, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if messages.contains(where: { $0.hasPrefix(message) }) { return true }
            usleep(100_000)
        }
        return false
    }

    deinit { process.stop() }
}
