import Foundation
import HostIO
import Testing
@testable import Probes

/// Package databases of other distributions in an offline root: the per-ecosystem rules apply to them, and the
/// look-alike fixed versions stay clean.
@Suite(.serialized) struct PackageDatabaseTests {
    static func packageFindings(_ root: String) throws -> [[String: Any]] {
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        return Support.findings(document).filter { $0["kind"] as? String == "package-version" }
    }

    @Test(arguments: [("5.6.1-r1", true), ("5.6.1-r2", false)])
    func alpine(_ version: String, _ bad: Bool) throws {
        let root = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(root + "/..") }
        try FileManager.default.createDirectory(atPath: root + "/lib/apk/db", withIntermediateDirectories: true)
        try """
            C:Q1abc=
            P:musl
            V:1.2.4-r2
            A:x86_64

            P:xz-libs
            V:\(version)
            A:x86_64
            o:xz
            F:usr/lib
            R:liblzma.so.5.6.1

            """.write(toFile: root + "/lib/apk/db/installed", atomically: true, encoding: .utf8)
        let findings = try Self.packageFindings(root)
        #expect(findings.contains { ($0["evidence"] as? [String: Any])?["version"] as? String == version } == bad, "\(findings)")
        let parsed = AlpineDatabase.parse(try String(contentsOfFile: root + "/lib/apk/db/installed", encoding: .utf8))
        #expect(parsed.last?.files == ["/usr/lib/liblzma.so.5.6.1"])
        #expect(parsed.last?.package.source == "xz")
    }

    @Test(arguments: [("5.6.1-1", true), ("5.6.1-2", false)])
    func arch(_ version: String, _ bad: Bool) throws {
        let root = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(root + "/..") }
        let directory = root + "/var/lib/pacman/local/xz-\(version)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "%NAME%\nxz\n\n%VERSION%\n\(version)\n\n%BASE%\nxz\n\n%ARCH%\nx86_64\n\n"
            .write(toFile: directory + "/desc", atomically: true, encoding: .utf8)
        try "%FILES%\nusr/\nusr/lib/\nusr/lib/liblzma.so.5.6.1\n\n".write(toFile: directory + "/files", atomically: true, encoding: .utf8)
        let findings = try Self.packageFindings(root)
        #expect(findings.contains { ($0["evidence"] as? [String: Any])?["version"] as? String == version } == bad, "\(findings)")
    }

    /// The owner index keeps digests of paths, not paths: on this host's real dpkg database every distinct listed
    /// path must still be its own entry, and owners and programs come out right.
    @Test func hostOwnersFromTheRealDpkgDatabase() throws {
        let inventory = PackageDatabases.read(root: .host)
        #expect(inventory.problems.isEmpty, "\(inventory.problems)")
        var listed: Set<String> = []
        for name in try FileManager.default.contentsOfDirectory(atPath: "/var/lib/dpkg/info") where name.hasSuffix(".list") {
            let text = try String(contentsOfFile: "/var/lib/dpkg/info/" + name, encoding: .utf8)
            for line in text.split(separator: "\n") { listed.insert(String(line)) }
        }
        #expect(inventory.fileCount == listed.count, "no two listed paths share a digest")
        #expect(inventory.owner(of: "/usr/lib/x86_64-linux-gnu/libc.so.6")?.name == "libc6")
        #expect(inventory.owner(of: "/lib/x86_64-linux-gnu/libc.so.6")?.name == "libc6", "merged-/usr twin")
        #expect(inventory.owner(of: "/usr/sbin/sshd")?.name == "openssh-server")
        #expect(inventory.owner(of: "/usr/lib/x86_64-linux-gnu/libc.so.6.not-listed") == nil)
        let sshd = inventory.programs(named: "sshd")
        #expect(sshd.contains { $0.path == "/usr/sbin/sshd" && $0.package.name == "openssh-server" }, "\(sshd.map(\.path))")
        #expect(inventory.programs(named: "libc.so.6").isEmpty, "only bin and sbin directories hold programs")
    }

    /// Builds a root with an rpm database written by rpm itself (Tests/Fixtures/make-rpmdb.sh).
    static func rpmRoot(_ specs: [String], base: [String] = ["--host-liblzma"]) throws -> String {
        let root = try Support.makeRoot(base)
        let result = try Support.run(Support.packageRoot + "/Tests/Fixtures/make-rpmdb.sh", [root] + specs)
        try #require(result.status == 0, "make-rpmdb.sh failed: \(result.stderr)")
        return root
    }

    @Test(arguments: [("5.6.1", "2.fc40", true), ("5.6.1", "1.1", true), ("5.4.6", "3.fc40", false)])
    func rpm(_ version: String, _ release: String, _ bad: Bool) throws {
        // A package with a large file list spills into overflow pages; several packages need interior pages.
        let specs = ["xz-libs:\(version):\(release):1::xz", "big:1.0:1:600"] + (1...12).map { "filler\($0):1.\($0):1" }
        let root = try Self.rpmRoot(specs)
        defer { Support.remove(root + "/..") }
        let findings = try Self.packageFindings(root)
        let evidence = findings.compactMap { $0["evidence"] as? [String: Any] }
        #expect(evidence.contains { $0["version"] as? String == "\(version)-\(release)" && $0["package"] as? String == "xz-libs" } == bad,
                "\(findings)")
    }

    /// What chainwatch reads from rpmdb.sqlite is what rpm itself reports: names, epoch:version-release, source
    /// package, and file owners.
    @Test func rpmDatabaseAgreesWithRpm() throws {
        let specs = ["xz-libs:5.6.1:2.fc40:1::xz", "epoched:2.0:7:1:3", "big:1.0:1:1500"] + (1...20).map { "p\($0):0.\($0):1.el9" }
        let root = try Self.rpmRoot(specs, base: ["--no-ifunc"])
        defer { Support.remove(root + "/..") }
        let inventory = PackageDatabases.read(root: ConfinedRoot(root))
        #expect(inventory.problems.isEmpty, "\(inventory.problems)")
        let rpm = try Support.run("/usr/bin/rpm", ["--root", root, "--dbpath", "/var/lib/rpm", "-qa", "--qf",
                                                   "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{SOURCERPM}\\n"])
        try #require(rpm.status == 0, "\(rpm.stderr)")
        var expected: Set<String> = []
        for line in rpm.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            let evr = fields[1].hasPrefix("0:") ? String(fields[1].dropFirst(2)) : fields[1]
            expected.insert("\(fields[0]) \(evr) \(RPMDatabase.sourceName(fields[2]) ?? "?")")
        }
        let read = Set(inventory.packages.filter { $0.ecosystem == .rpm }.map { "\($0.name) \($0.version) \($0.source)" })
        #expect(read == expected)
        #expect(expected.count == specs.count)
        #expect(read.contains("epoched 3:2.0-7 epoched") && read.contains("xz-libs 5.6.1-2.fc40 xz"))
        #expect(inventory.owner(of: "/usr/lib64/liblzma.so.5.6.1")?.name == "xz-libs")
        #expect(inventory.owner(of: "/usr/share/big/file-with-a-long-name-to-fill-pages-1499")?.name == "big")
    }

    /// A damaged or hostile rpmdb.sqlite is a problem in the report, never a crash or a hang.
    @Test func damagedRpmDatabaseIsAProblemNotACrash() throws {
        let root = try Self.rpmRoot(["xz-libs:5.6.1:2.fc40", "big:1.0:1:600"], base: ["--no-ifunc"])
        defer { Support.remove(root + "/..") }
        let path = root + "/var/lib/rpm/rpmdb.sqlite"
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        var cyclic = original
        let pageSize = Int(original[16]) << 8 | Int(original[17])
        // Page 2 (the Packages table's root here, checked below) made an interior page whose only child is itself.
        cyclic.replaceSubrange(pageSize..<pageSize + 12, with: [0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])
        let variants: [(String, [UInt8])] = [
            ("truncated", Array(original.prefix(original.count / 3))), ("cyclic", cyclic),
            ("garbage", (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }),
            ("header only", Array(original.prefix(100))),
        ]
        #expect(try SQLiteFile(original).rootPage(ofTable: "Packages") == 2)
        for (label, bytes) in variants {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let inventory = PackageDatabases.read(root: ConfinedRoot(root))
            let database = inventory.databases.first { $0.format == "rpm sqlite" }
            #expect(database?.wasRead == false && database?.packages == 0, "\(label): \(inventory.databases)")
            #expect(!inventory.packages.contains { $0.name == "xz-libs" }, "\(label)")
        }
    }
}
