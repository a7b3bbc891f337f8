import Foundation
import Testing
@testable import Daemon
import Rules

/// The units and the journal catalog in systemd/, checked with systemd's own tools.
@Suite struct SystemdUnitTests {
    static let units = ["chainwatch.service", "chainwatch-scan.service", "chainwatch.timer"]

    @Test func unitsVerify() throws {
        let directory = try Support.temporaryDirectory("units")
        defer { Support.remove(directory) }
        // verify insists that ExecStart exists: point it at the binary just built.
        for unit in Self.units {
            let text = try String(contentsOfFile: Support.packageRoot + "/systemd/" + unit, encoding: .utf8)
            try text.replacingOccurrences(of: "/usr/bin/chainwatch", with: Support.binary)
                .write(toFile: directory + "/" + unit, atomically: true, encoding: .utf8)
        }
        let result = try Support.run("/usr/bin/systemd-analyze", ["verify"] + Self.units.map { directory + "/" + $0 })
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    @Test(arguments: ["chainwatch.service", "chainwatch-scan.service"])
    func exposureIsAtMostTwoPointFive(_ unit: String) throws {
        let result = try Support.run("/usr/bin/systemd-analyze", ["security", "--offline=yes", Support.packageRoot + "/systemd/" + unit])
        let line = try #require(result.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let words = line.split(separator: " ")
        let value = try #require(words.compactMap { Double($0) }.first, "\(line)")
        #expect(value <= 2.5, "\(line)")
        let service = try String(contentsOfFile: Support.packageRoot + "/systemd/" + unit, encoding: .utf8)
        #expect(!service.contains("ProtectProc=invisible"), "hiding processes would hide what the scan must read")
    }

    @Test func catalogExplainsEveryMessageID() throws {
        let root = try Support.temporaryDirectory("catalog")
        defer { Support.remove(root) }
        try FileManager.default.createDirectory(atPath: root + "/usr/lib/systemd/catalog", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Support.packageRoot + "/systemd/chainwatch.catalog",
                                         toPath: root + "/usr/lib/systemd/catalog/chainwatch.catalog")
        let update = try Support.run("/usr/bin/journalctl", ["--root=" + root, "--update-catalog"])
        #expect(update.status == 0, "\(update.stderr)")
        let list = try Support.run("/usr/bin/journalctl", ["--root=" + root, "--list-catalog"])
        let ids = try RuleLoader.load(from: [Support.rulesDirectory]).rules.map(\.messageID)
            + [JournalEntries.summaryMessageID, JournalEntries.clearedMessageID, JournalEntries.rulesErrorMessageID,
               JournalEntries.lifecycleMessageID, JournalEntries.droppedMessageID, JournalEntries.baselineErrorMessageID]
        for id in ids {
            #expect(list.stdout.contains(id), "catalog lacks \(id)")
        }
    }
}
