import Foundation
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
        #expect(parsed.last?.1 == ["/usr/lib/liblzma.so.5.6.1"])
        #expect(parsed.last?.0.source == "xz")
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
}
