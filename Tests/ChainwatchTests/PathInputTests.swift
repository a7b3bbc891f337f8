import Foundation
import Testing
@testable import Engine
import Probes
import Rules

extension Support {
    /// The chainwatch `swift build` put beside this test bundle, whatever `--scratch-path` it used (several builds
    /// of one checkout side by side), else `binary`.
    static let builtBinary: String = {
        if let bundle = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let candidate = URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("chainwatch").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return binary
    }()

    /// `chainwatch --scan-now --format json ARGUMENTS` with `builtBinary`, decoded; run as `user` when given
    /// (setpriv: that uid and gid, no supplementary groups).
    static func scanBuiltJSON(_ arguments: [String], asUser user: UInt32? = nil) throws -> (Result, [String: Any]) {
        let command = [builtBinary, "--scan-now", "--format", "json"] + arguments
        let result = try user.map { try run("/usr/bin/setpriv", ["--reuid=\($0)", "--regid=\($0)", "--clear-groups"] + command) }
            ?? run(command[0], Array(command.dropFirst()))
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (result, try #require(object, "not JSON: \(result.stdout.prefix(400)) / \(result.stderr)"))
    }

    static func skips(_ document: [String: Any]) -> [[String: Any]] { document["skipped"] as? [[String: Any]] ?? [] }

    static func incompleteReasons(_ document: [String: Any]) -> [String] {
        (document["verdict"] as? [String: Any])?["incomplete_reasons"] as? [String] ?? []
    }
}

/// `--path` inputs the scan could not read, and inputs it must read although something stood in the way: a path
/// that is missing, unreadable or refused by libarchive leaves the verdict INCOMPLETE (exit 3 when nothing above
/// info was found), never a clean exit 0; a symlink named on the command line and a member past the file read
/// limit are read.
@Suite struct PathInputTests {
    static let nobody: UInt32 = 65534

    /// A path that is not there is never a clean scan: the command line refuses it (exit 2) and, gone between
    /// that check and the walk, the walk's skip for it leaves the verdict incomplete (not "gone": it was asked for).
    @Test func aMissingPathIsNeverClean() throws {
        let parent = try Support.temporaryDirectory("missing")
        defer { Support.remove(parent) }
        let missing = parent + "/no-such-archive.tar.gz"
        let result = try Support.run(Support.builtBinary, ["--scan-now", "--rules", Support.rulesDirectory, "--path", missing])
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains(missing), "\(result.stderr)")

        let plan = ScanPlan(try RuleLoader.load(from: [Support.rulesDirectory]))
        var index = FileIndex(plan: plan, inspector: FileInspector(), cache: nil)
        var scan = PathScan(plan: plan, inspector: index.inspector)
        scan.scan(missing, into: &index)
        let skip = try #require(scan.skipped.first { $0.subject == missing }, "\(scan.skipped)")
        #expect(skip.code == .unreadable && skip.leavesScanIncomplete, "\(skip)")
        #expect(index.records.isEmpty)
    }

    /// gzip's magic and then no gzip stream: libarchive refuses it. The file itself is still read as a plain file.
    @Test func anArchiveLibarchiveRefusesIsIncomplete() throws {
        let parent = try Support.temporaryDirectory("refused")
        defer { Support.remove(parent) }
        let path = parent + "/broken.tar.gz"
        try Data([0x1f, 0x8b, 0x08, 0x00] + Array(repeating: 0x41, count: 4096)).write(to: URL(fileURLWithPath: path))
        let (result, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--path", path])
        #expect(result.status == 3, "\(result.stdout)")
        let skip = Support.skips(document).first { $0["subject"] as? String == path }
        #expect(skip?["code"] as? String == "damaged", "\(Support.skips(document))")
        #expect((skip?["reason"] as? String)?.contains("not readable as an archive") == true)
        let statistics = (document["scan"] as? [String: Any])?["statistics"] as? [String: Any]
        #expect(statistics?["files_read"] as? Int == 1, "the file is still hashed and searched: \(String(describing: statistics))")
    }

    /// Run as nobody (setpriv): a 0600 archive of root's and a 0700 directory of root's cannot be read. Each is a
    /// skip that leaves the scan incomplete, named in the verdict's reasons.
    @Test func anInputPermissionDeniedIsIncomplete() throws {
        let parent = try Support.temporaryDirectory("denied")
        defer { Support.remove(parent) }
        let archive = parent + "/secret.tar"
        let directory = parent + "/private"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        try Data(repeating: 0, count: 10240).write(to: URL(fileURLWithPath: archive))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: archive)
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: directory + "/inside.txt"))
        let (result, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--path", archive, "--path", directory],
                                                           asUser: Self.nobody)
        #expect(result.status == 3, "\(result.stdout) \(result.stderr)")
        for path in [archive, directory] {
            let skip = Support.skips(document).first { $0["subject"] as? String == path }
            #expect(skip?["code"] as? String == "notPermitted", "\(path): \(Support.skips(document))")
            #expect(Support.incompleteReasons(document).contains { $0.hasPrefix(path + ": ") }, "\(Support.incompleteReasons(document))")
        }
    }

    /// `--path .../liblzma.so.5`, the symlink a user finds first: the library it leads to is read (it was skipped
    /// as "symlink; not followed" and the scan said nothing found).
    @Test func aSymlinkNamedOnTheCommandLineIsFollowed() throws {
        let root = try Support.makeRoot(["--signature"])
        defer { Support.remove(root + "/..") }
        let link = root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5"
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        let (result, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--path", link])
        #expect(result.status == 1, "\(result.stdout)")
        let paths = Support.findings(document).compactMap { ($0["evidence"] as? [String: Any])?["path"] as? String }
        #expect(paths.contains(root + "/usr/lib/x86_64-linux-gnu/" + target), "\(paths)")
        #expect((document["notes"] as? [String])?.contains { $0.hasPrefix(link + " is a symlink to ") } == true)
    }

    /// The signature library padded with zeros past the 512 MiB file read limit, inside a .tar.zst: the member is
    /// hashed and searched in full (the expansion budget bounds it), so its signature is found. It was skipped as
    /// "over the read limit; not read".
    @Test func aMemberPastTheReadLimitIsSearchedInFull() throws {
        let root = try Support.makeRoot(["--signature"])
        defer { Support.remove(root + "/..") }
        let parent = try Support.temporaryDirectory("padded")
        defer { Support.remove(parent) }
        let library = "usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"
        let made = try Support.run("/bin/sh", ["-ec", """
            mkdir -p "$2/usr/lib/x86_64-linux-gnu"
            cp "$1/\(library)" "$2/\(library)"
            truncate -s 513M "$2/\(library)"
            tar -C "$2" -cf - \(library) | zstd -1 -q -T1 > "$2/padded.tar.zst"
            rm "$2/\(library)"
            """, "sh", root, parent])
        try #require(made.status == 0, "\(made.stderr)")
        let archive = parent + "/padded.tar.zst"
        let (result, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--path", archive])
        #expect(result.status == 1, "\(result.stdout)")
        let hits = Support.findings(document).filter { $0["rule"] as? String == "xz-backdoor-sig-openwall-detect-sh" }
            .compactMap { ($0["evidence"] as? [String: Any])?["path"] as? String }
        #expect(hits == [archive + "!" + library], "\(hits)")
        #expect(!Support.skips(document).contains { ($0["reason"] as? String)?.contains("read limit; not read") == true },
                "\(Support.skips(document))")
        let statistics = (document["scan"] as? [String: Any])?["statistics"] as? [String: Any]
        #expect((statistics?["bytes_read"] as? Int ?? 0) >= 513 << 20, "\(String(describing: statistics))")
    }
}
