import Foundation
import HostIO
import Testing
@testable import Probes

/// rpm databases cost memory in proportion to their data, not their apparent size: each format, written by rpm (or
/// Berkeley DB) and copied sparsely to 1 GiB with holes where the format has unused space
/// (Tests/Fixtures/make-rpm-sparse.py), reads back the same packages, and a whole scan of a root holding it peaks
/// far below 1 GiB. Damage in a sparse file is still an error naming what is wrong, and a file that changes while
/// its pages are read is refused.
@Suite struct SparseRPMDatabaseTests {
    static let fixtures = Support.fixtures
    static let apparentSize = 1 << 30
    /// Peak resident memory a scan of a root with one sparse database may reach (the scan itself, rules and
    /// all, is some tens of MB; reading a 1 GiB file whole was over 1 GB).
    static let peakBound = 200 << 20

    /// An rpmdb.sqlite written by rpm: a backdoored xz-libs (its header on overflow pages), a package with an
    /// epoch, a small one, and two more erased again with `rpm -e --justdb`, which leaves their pages on
    /// SQLite's free list.
    static func sqlite(_ work: String) throws -> String {
        let root = work + "/sqlite-root"
        let made = try Support.run(fixtures + "/make-rpmdb.sh", [root, "xz-libs:5.6.1:1.fc40:400:0:xz", "epoched:1.0:1:1:2",
                                                                 "bash:5.1.8:6", "gone1:1.0:1:300", "gone2:1.0:1:300"])
        try #require(made.status == 0, "\(made.stderr)")
        let erased = try Support.run("/usr/bin/rpm", ["--root", root, "--dbpath", "/var/lib/rpm", "-e", "--justdb", "--nodeps",
                                                      "--noscripts", "gone1", "gone2"])
        try #require(erased.status == 0, "\(erased.stderr)")
        return root + "/var/lib/rpm/rpmdb.sqlite"
    }

    /// Writes the database of `format` with the packages of `sqlite` at `path`.
    static func database(_ format: RPMDatabase.Format, from sqlite: String, at path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let result: Support.Result
        switch format {
        case .sqlite:
            try FileManager.default.copyItem(atPath: sqlite, toPath: path)
            return
        case .berkeleyDB:
            // A hash table sized for 64 records holds 4: zeroed bucket pages, never written, between its hash
            // pages, as in a database sized for more packages than it still holds.
            result = try Support.run(fixtures + "/make-rpm-bdb.sh", [path, "--ffactor", "1", "--nelem", "64", "--from-sqlite", sqlite])
        case .ndb:
            result = try Support.run(fixtures + "/make-rpm-ndb.py", [path, "--from-sqlite", sqlite, "--verify"])
        }
        try #require(result.status == 0, "\(result.stderr)")
    }

    static let sparseKind: [RPMDatabase.Format: String] = [.sqlite: "sqlite", .berkeleyDB: "bdb", .ndb: "ndb"]

    /// Copies `dense` sparsely to `sparse` (1 GiB, holes inside too); returns the fixture's "data N allocated N
    /// apparent N holes N" figures.
    static func makeSparse(_ format: RPMDatabase.Format, _ dense: String, _ sparse: String) throws -> [String: Int] {
        let result = try Support.run(fixtures + "/make-rpm-sparse.py", [sparseKind[format]!, dense, sparse])
        try #require(result.status == 0, "\(result.stderr)")
        let words = result.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        return Dictionary(uniqueKeysWithValues: stride(from: 0, to: words.count - 1, by: 2).map { (words[$0], Int(words[$0 + 1]) ?? -1) })
    }

    /// `chainwatch --scan-now --format json --root ROOT --no-processes`, its peak resident memory in bytes
    /// (GNU time's %M: the child's ru_maxrss from wait4) and the decoded report.
    static func scan(_ root: String, work: String) throws -> (status: Int32, peak: Int, document: [String: Any], stderr: String) {
        let timing = work + "/time.txt"
        let result = try Support.run("/usr/bin/time", ["-f", "%M", "-o", timing, Support.builtBinary, "--scan-now", "--format", "json",
                                                       "--rules", Support.rulesDirectory, "--root", root, "--no-processes"])
        let kilobytes = try String(contentsOfFile: timing, encoding: .utf8).split(separator: "\n").last.flatMap { Int($0) }
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (result.status, try #require(kilobytes) * 1024, try #require(object, "not JSON: \(result.stdout.prefix(400)) / \(result.stderr)"),
                result.stderr)
    }

    static func databases(_ document: [String: Any]) -> [[String: Any]] {
        ((document["scan"] as? [String: Any])?["package_databases"] as? [[String: Any]]) ?? []
    }

    /// What chainwatch keeps of the rpm packages of a root, comparable between a dense and a sparse database.
    static func packages(_ root: String) -> [String] {
        let inventory = PackageDatabases.read(root: ConfinedRoot(root))
        return inventory.packages.filter { $0.ecosystem == .rpm }.map { "\($0.name) \($0.version) \($0.source) \($0.architecture)" }.sorted()
            + inventory.databases.map { "\($0.path) \($0.packages) \($0.problem ?? "read")" }
    }

    static let location: [RPMDatabase.Format: String] = [
        .sqlite: "/var/lib/rpm/rpmdb.sqlite", .berkeleyDB: "/var/lib/rpm/Packages", .ndb: "/usr/lib/sysimage/rpm/Packages.db",
    ]

    @Test(arguments: [RPMDatabase.Format.sqlite, .berkeleyDB, .ndb])
    func sparseDatabaseCostsItsData(_ format: RPMDatabase.Format) throws {
        let work = try Support.temporaryDirectory("sparse-rpm")
        defer { Support.remove(work) }
        let sqlite = try Self.sqlite(work)
        let denseRoot = work + "/dense", sparseRoot = work + "/sparse"
        let path = Self.location[format]!
        try Self.database(format, from: sqlite, at: denseRoot + path)
        try FileManager.default.createDirectory(atPath: sparseRoot + (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        let figures = try Self.makeSparse(format, denseRoot + path, sparseRoot + path)
        #expect(figures["apparent"] == Self.apparentSize)
        #expect((figures["holes"] ?? 0) >= 2, "holes inside the file and its tail: \(figures)")
        #expect((figures["allocated"] ?? Int.max) < 4 << 20, "the fixture is sparse: \(figures)")

        // The same packages, in process, from the dense and the sparse file.
        let dense = Self.packages(denseRoot), sparse = Self.packages(sparseRoot)
        #expect(dense.filter { !$0.hasPrefix("/") }.count == 3, "\(dense)")
        #expect(sparse == dense)

        // A whole scan of the sparse root: the database read, the backdoored xz-libs found, memory far below 1 GiB.
        let scan = try Self.scan(sparseRoot, work: work)
        let database = try #require(Self.databases(scan.document).first, "\(scan.document)")
        #expect(database["read"] as? Bool == true, "\(database)")
        #expect(database["packages"] as? Int == 3)
        #expect(Support.findings(scan.document).contains { $0["rule"] as? String == "xz-backdoor-pkg-rpm" })
        #expect(scan.status == 1, "\(scan.stderr)")
        #expect(scan.peak > 1 << 20 && scan.peak < Self.peakBound, "peak RSS \(scan.peak >> 20) MiB for a \(format.name) database of \(figures)")
    }

    /// A sparse database whose needed page is a hole, or one extended with `truncate -s 1G` past the pages its
    /// header counts: an error naming what is wrong, no packages, exit 3; and still no 1 GiB of memory.
    @Test(arguments: ["sqlite", "bdb", "bdb-truncated", "ndb"])
    func damagedSparseDatabaseIsAnError(_ damage: String) throws {
        let work = try Support.temporaryDirectory("sparse-rpm-bad")
        defer { Support.remove(work) }
        let sqlite = try Self.sqlite(work)
        let format: RPMDatabase.Format = damage == "sqlite" ? .sqlite : damage == "ndb" ? .ndb : .berkeleyDB
        let dense = work + "/dense.db", root = work + "/root"
        let path = Self.location[format]!
        try Self.database(format, from: sqlite, at: dense)
        try FileManager.default.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let target = root + path
        _ = try Self.makeSparse(format, dense, target)
        let bytes = try Self.head(target, 1 << 20)
        let expected: String
        switch damage {
        case "sqlite":
            // The Packages table's root page punched out: a zeroed page is no b-tree page.
            let pageSize = Int(bytes[16]) << 8 | Int(bytes[17])
            let table = try SQLiteFile(try Self.head(sqlite, 64 << 20)).rootPage(ofTable: "Packages")
            try Self.punch(target, offset: (table - 1) * pageSize, length: pageSize)
            expected = "page \(table) is not a table b-tree page (type 0)"
        case "bdb":
            // An overflow page of a header punched out: the chain reaches a zeroed page.
            let pageSize = bytes[20..<24].reversed().reduce(0) { $0 << 8 | Int($1) }
            let page = try #require(stride(from: 1, to: bytes.count / pageSize, by: 1).first { bytes[$0 * pageSize + 25] == 7 })
            try Self.punch(target, offset: page * pageSize, length: pageSize)
            expected = "overflow chain reaches page \(page) of type 0"
        case "bdb-truncated":
            // The dense file extended by `truncate -s 1G`: longer than the pages its meta page counts.
            try Data(try Self.head(dense, 64 << 20)).write(to: URL(fileURLWithPath: target))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: target))
            try handle.truncate(atOffset: UInt64(Self.apparentSize))
            try handle.close()
            expected = "the file has \(Self.apparentSize) bytes, not the"
        default:
            // The first used slot's blob punched out: no blob where the slot points.
            let slot = try #require(stride(from: 32, to: 4096, by: 16).first { bytes[$0 + 8..<$0 + 12] != [0, 0, 0, 0] })
            let block = bytes[slot + 8..<slot + 12].reversed().reduce(0) { $0 << 8 | Int($1) }
            try Self.punch(target, offset: block * 16, length: 4096)
            expected = "no blob header (BlbS) where its slot points"
        }
        let scan = try Self.scan(root, work: work)
        let database = try #require(Self.databases(scan.document).first, "\(scan.document)")
        #expect(database["read"] as? Bool == false)
        #expect(database["packages"] as? Int == 0)
        #expect((database["problem"] as? String)?.contains(expected) == true, "\(database)")
        #expect(!Support.findings(scan.document).contains { $0["rule"] as? String == "xz-backdoor-pkg-rpm" })
        #expect(scan.status == 3, "\(scan.stderr)")
        #expect(scan.peak < Self.peakBound, "peak RSS \(scan.peak >> 20) MiB")
    }

    /// A database that grows, or shrinks, while its pages are read is refused as changed, not read as a mix of
    /// two states.
    @Test(arguments: ["grows", "shrinks"])
    func databaseChangedWhileReadIsRefused(_ change: String) throws {
        let work = try Support.temporaryDirectory("sparse-rpm-change")
        defer { Support.remove(work) }
        let path = try Self.sqlite(work)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try #require(size > 2 * DatabasePages.defaultChunkSize, "several chunks: \(size) bytes")
        #expect(try RPMDatabase.read(try OpenFile(path: path), format: .sqlite).count == 3)

        let file = try OpenFile(path: path)
        var changed = false
        file.chunkObserver = { _ in
            guard !changed, let handle = try? FileHandle(forWritingTo: URL(fileURLWithPath: path)) else { return }
            changed = true
            if change == "grows" {
                _ = try? handle.seekToEnd()
                try? handle.write(contentsOf: Data(count: 4096))
            } else {
                try? handle.truncate(atOffset: UInt64(DatabasePages.defaultChunkSize + 4096))
            }
            try? handle.close()
        }
        let message: String
        do { message = "read \(try RPMDatabase.read(file, format: .sqlite).count) packages" } catch { message = "\(error)" }
        #expect(changed)
        #expect(message.contains("\(path): the file changed while it was being read"), "\(change): \(message)")
    }

    /// Every format read through chunks of odd sizes, with a cache of a few chunks, gives what reading it whole
    /// gives: reads that cross chunk boundaries and evicted chunks change nothing.
    @Test func chunkBoundariesChangeNothing() throws {
        let work = try Support.temporaryDirectory("sparse-rpm-chunks")
        defer { Support.remove(work) }
        let sqlite = try Self.sqlite(work)
        for format in [RPMDatabase.Format.sqlite, .berkeleyDB, .ndb] {
            let path = work + "/db-\(Self.sparseKind[format]!)"
            try Self.database(format, from: sqlite, at: path)
            let bytes = try Self.head(path, 64 << 20)
            let whole = RPMLegacyDatabaseTests.summary(try RPMDatabase.parse(bytes, format: format, chunkSize: bytes.count))
            #expect(whole.count == 3)
            for chunkSize in [1, 7, 509, 4096, 4097, 65536] {
                let pages = DatabasePages(bytes, chunkSize: chunkSize, cachedChunks: 3)
                #expect(RPMLegacyDatabaseTests.summary(try RPMDatabase.parse(pages, format: format)) == whole, "\(format.name), \(chunkSize)")
            }
        }
    }

    /// The first `limit` bytes of a file.
    static func head(_ path: String, _ limit: Int) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        return [UInt8](try handle.read(upToCount: limit) ?? Data())
    }

    /// Deallocates a range of a file (fallocate --punch-hole): it reads as zeros and costs no blocks.
    static func punch(_ path: String, offset: Int, length: Int) throws {
        let result = try Support.run("/usr/bin/fallocate", ["--punch-hole", "--offset", String(offset), "--length", String(length), path])
        try #require(result.status == 0, "\(result.stderr)")
    }
}
