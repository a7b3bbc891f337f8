import Foundation
import HostIO
import Probes
import Testing

/// rpm's Berkeley DB (RHEL/CentOS 7-8, Amazon Linux 2) and ndb (SLES 15, openSUSE) databases: written from headers
/// Debian's rpm wrote (Berkeley DB files by db5.3_load itself, ndb files by the test's writer of rpmpkg.c's
/// layout), read back equal to the sqlite database they came from, in both byte orders and at every page size;
/// damaged files are errors naming what is wrong; roots of each generation give the same verdicts.
@Suite struct RPMLegacyDatabaseTests {
    static let fixtures = Support.fixtures

    /// An rpmdb.sqlite written by rpm with a backdoored xz-libs (its header large enough for overflow pages), a
    /// package with an epoch and a small one.
    static func sqlite(_ work: String, xz: String = "5.6.1:1.fc40") throws -> String {
        let root = work + "/sqlite-root"
        let result = try Support.run(fixtures + "/make-rpmdb.sh",
                                     [root, "xz-libs:\(xz):400:0:xz", "epoched:1.0:1:1:2", "bash:5.1.8:6"])
        try #require(result.status == 0, "\(result.stderr)")
        return root + "/var/lib/rpm/rpmdb.sqlite"
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// What chainwatch uses of each package, comparable across formats.
    static func summary(_ entries: [RPMDatabase.Entry]) -> [String] {
        entries.map { entry in
            let digests = entry.digests.map { $0.map { $0.map { String(format: "%02x", $0) }.joined() } ?? "-" }
            return "\(entry.package.name) \(entry.package.version) \(entry.package.source) \(entry.package.architecture) "
                + "\(entry.algorithm?.rawValue ?? "?") \(zip(entry.files, digests).map { "\($0)=\($1)" }.joined(separator: ","))"
        }.sorted()
    }

    @Test(arguments: [(false, 4096), (true, 4096), (false, 512), (true, 1024), (false, 65536), (true, 65536)])
    func berkeleyDBReadsBackEqual(_ bigEndian: Bool, _ pageSize: Int) throws {
        let work = try Support.temporaryDirectory("bdb")
        defer { Support.remove(work) }
        let sqlite = try Self.sqlite(work)
        let out = work + "/Packages"
        let result = try Support.run(Self.fixtures + "/make-rpm-bdb.sh",
                                     [out, "--pagesize", String(pageSize), "--from-sqlite", sqlite] + (bigEndian ? ["--big-endian"] : []))
        try #require(result.status == 0, "\(result.stderr)")
        let expected = Self.summary(try RPMDatabase.parse(try Self.bytes(sqlite)))
        let read = Self.summary(try RPMDatabase.parse(try Self.bytes(out), format: .berkeleyDB))
        #expect(expected.count == 3)
        #expect(read == expected)
    }

    /// Records deleted by Berkeley DB itself leave free pages and a key-0 counter larger than any header number.
    @Test func berkeleyDBWithDeletedRecords() throws {
        let work = try Support.temporaryDirectory("bdb-del")
        defer { Support.remove(work) }
        let sqlite = try Self.sqlite(work)
        let out = work + "/Packages"
        let result = try Support.run(Self.fixtures + "/make-rpm-bdb.sh", [out, "--pagesize", "512", "--delete", "2", "--from-sqlite", sqlite])
        try #require(result.status == 0, "\(result.stderr)")
        let names = try RPMDatabase.parse(try Self.bytes(out), format: .berkeleyDB).map(\.package.name).sorted()
        #expect(names == ["bash", "xz-libs"])
    }

    @Test(arguments: [[], ["--gaps"], ["--slot-pages", "3"]])
    func ndbReadsBackEqual(_ options: [String]) throws {
        let work = try Support.temporaryDirectory("ndb")
        defer { Support.remove(work) }
        let sqlite = try Self.sqlite(work)
        let out = work + "/Packages.db"
        let result = try Support.run(Self.fixtures + "/make-rpm-ndb.py", [out, "--from-sqlite", sqlite, "--verify"] + options)
        try #require(result.status == 0, "\(result.stderr)")
        let expected = Self.summary(try RPMDatabase.parse(try Self.bytes(sqlite)))
        #expect(Self.summary(try RPMDatabase.parse(try Self.bytes(out), format: .ndb)) == expected)
    }

    /// Every damage the writer can make is an error, never a crash or a partial list.
    @Test func damagedNDBFilesAreErrors() throws {
        let work = try Support.temporaryDirectory("ndb-bad")
        defer { Support.remove(work) }
        let sqlite = try Self.sqlite(work)
        let kinds = try Support.run(Self.fixtures + "/make-rpm-ndb.py", ["--list-corruptions"]).stdout
            .split(separator: "\n").filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(kinds.count >= 10, "\(kinds)")
        for kind in kinds {
            let out = work + "/\(kind).db"
            let result = try Support.run(Self.fixtures + "/make-rpm-ndb.py", [out, "--from-sqlite", sqlite, "--corrupt", kind])
            try #require(result.status == 0, "\(kind): \(result.stderr)")
            #expect(throws: (any Error).self, "\(kind) was accepted") { try RPMDatabase.parse(try Self.bytes(out), format: .ndb) }
        }
    }

    /// Truncated pages, an overflow chain that loops, a page count the file does not have, a wrong magic.
    @Test func damagedBerkeleyDBFilesAreErrors() throws {
        let work = try Support.temporaryDirectory("bdb-bad")
        defer { Support.remove(work) }
        let sqlite = try Self.sqlite(work)
        let out = work + "/Packages"
        try #require(try Support.run(Self.fixtures + "/make-rpm-bdb.sh", [out, "--pagesize", "512", "--from-sqlite", sqlite]).status == 0)
        let good = try Self.bytes(out)
        func error(_ bytes: [UInt8]) -> String? {
            do { _ = try RPMDatabase.parse(bytes, format: .berkeleyDB); return nil } catch { return "\(error)" }
        }
        #expect(error(good) == nil)
        #expect(error(Array(good.prefix(good.count - 512)))?.contains("truncated") == true)
        #expect(error(Array(good.prefix(good.count - 100)))?.contains("truncated") == true)
        #expect(error(good + [UInt8](repeating: 0, count: 512))?.contains("pages its meta page counts") == true)
        var magic = good
        magic[12] ^= 0xff
        #expect(error(magic)?.contains("not a Berkeley DB hash database") == true)

        // The first overflow page made to point at itself: the chain never ends.
        let pageSize = 512
        let overflow = try #require(stride(from: pageSize, to: good.count, by: pageSize).first { good[$0 + 25] == 7 && good[$0 + 16..<$0 + 20] != [0, 0, 0, 0] })
        var cycle = good
        let page = UInt32(overflow / pageSize)
        cycle.replaceSubrange(overflow + 16..<overflow + 20, with: withUnsafeBytes(of: page.littleEndian, Array.init))
        #expect(error(cycle)?.contains("cycle") == true, "\(error(cycle) ?? "accepted")")

        // An overflow page's length field past the page: bounded, an error.
        var length = good
        length[overflow + 22] = 0xff
        length[overflow + 23] = 0xff
        #expect(error(length) != nil)
    }

    /// A root of each generation, with xz-libs at a backdoored and at a fixed version: the same verdicts.
    @Test(arguments: ["fedora", "rhel8", "sle15"], [("5.6.1:1.fc40", true), ("5.4.6:1.fc40", false)])
    func rootsOfEveryGeneration(_ style: String, _ xz: (String, Bool)) throws {
        let work = try Support.temporaryDirectory("rpmroot")
        defer { Support.remove(work) }
        let sqlite = try Self.sqlite(work, xz: xz.0)
        let root = work + "/root"
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/usr/lib/sysimage/rpm", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root + "/var/lib", withIntermediateDirectories: true)
        switch style {
        case "fedora":
            // Fedora 36+: the database in /usr/lib/sysimage/rpm, /var/lib/rpm a symlink to it.
            try manager.copyItem(atPath: sqlite, toPath: root + "/usr/lib/sysimage/rpm/rpmdb.sqlite")
            try manager.createSymbolicLink(atPath: root + "/var/lib/rpm", withDestinationPath: "../../usr/lib/sysimage/rpm")
        case "rhel8":
            try manager.createDirectory(atPath: root + "/var/lib/rpm", withIntermediateDirectories: true)
            let result = try Support.run(Self.fixtures + "/make-rpm-bdb.sh", [root + "/var/lib/rpm/Packages", "--from-sqlite", sqlite])
            try #require(result.status == 0, "\(result.stderr)")
        default:
            let result = try Support.run(Self.fixtures + "/make-rpm-ndb.py", [root + "/usr/lib/sysimage/rpm/Packages.db", "--from-sqlite", sqlite])
            try #require(result.status == 0, "\(result.stderr)")
            try manager.createSymbolicLink(atPath: root + "/var/lib/rpm", withDestinationPath: "../../usr/lib/sysimage/rpm")
        }
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        let databases = ((document["scan"] as? [String: Any])?["package_databases"] as? [[String: Any]]) ?? []
        #expect(databases.count == 1, "one database, however many paths lead to it: \(databases)")
        #expect(databases.first?["read"] as? Bool == true)
        #expect(databases.first?["packages"] as? Int == 3)
        let flagged = Support.findings(document).contains { $0["rule"] as? String == "xz-backdoor-pkg-rpm" }
        #expect(flagged == xz.1)
        #expect(result.status == (xz.1 ? 1 : 0), "\(result.stderr)")
    }

    /// A root whose only package database cannot be read is not a silent pass: the header says so, JSON says
    /// `read: false` with the reason, and the exit status is 3.
    @Test func unreadableDatabaseIsLoud() throws {
        let work = try Support.temporaryDirectory("rpmbad")
        defer { Support.remove(work) }
        let root = work + "/root"
        try FileManager.default.createDirectory(atPath: root + "/var/lib/rpm", withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: root + "/var/lib/rpm/Packages"))
        let text = try Support.chainwatch(["--scan-now", "--rules", Support.rulesDirectory, "--root", root])
        #expect(text.status == 3, "\(text.stdout)\(text.stderr)")
        #expect(text.stdout.contains("PACKAGE DATABASE NOT READ: /var/lib/rpm/Packages (rpm Berkeley DB)"), "\(text.stdout)")
        #expect(text.stdout.contains("Result: INCOMPLETE"))
        let (json, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(json.status == 3)
        let database = try #require(((document["scan"] as? [String: Any])?["package_databases"] as? [[String: Any]])?.first)
        #expect(database["read"] as? Bool == false)
        #expect((database["problem"] as? String)?.contains("not a Berkeley DB hash database") == true)
    }
}
