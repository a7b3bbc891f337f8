import Foundation
import Testing
import HostIO
@testable import Rules

/// Files an attacker controls, in a scanned root: each must give a bounded, reported outcome, never a crash,
/// a hang, a read outside the root or silence.
@Suite(.serialized) struct HostileInputTests {
    static let libraryDirectory = "/usr/lib/x86_64-linux-gnu"

    /// A clean root (the host's own liblzma) with its liblzma.so.5 replaced by `make`.
    static func scanWithHostileLiblzma(_ make: (String) throws -> Void) throws -> (Support.Result, [String: Any]) {
        let root = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(root + "/..") }
        let target = root + libraryDirectory + "/liblzma.so.5"
        try FileManager.default.removeItem(atPath: target)
        try make(target)
        return try scan(root)
    }

    /// A JSON scan of `root` with the shipped rules.
    static func scan(_ root: String) throws -> (Support.Result, [String: Any]) {
        let started = Date()
        let result = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(Date().timeIntervalSince(started) < 60, "the scan must stay bounded")
        return result
    }

    static func skips(_ document: [String: Any]) -> [String: String] {
        var result: [String: String] = [:]
        for skip in document["skipped"] as? [[String: Any]] ?? [] {
            if let subject = skip["subject"] as? String, let reason = skip["reason"] as? String { result[subject] = reason }
        }
        return result
    }

    /// One of the report's `scan.statistics` counters (files_examined, files_read, bytes_read...).
    static func statistic(_ document: [String: Any], _ name: String) -> Int64? {
        let statistics = (document["scan"] as? [String: Any])?["statistics"] as? [String: Any]
        return (statistics?[name] as? Int).map { Int64($0) }
    }

    /// The chains (program -> ... -> library) the library graphs could not complete.
    static func missingChains(_ document: [String: Any]) -> [String] {
        (document["programs"] as? [[String: Any]] ?? []).flatMap { $0["missing"] as? [String] ?? [] }
    }

    /// Whether a finding names a path ending in `suffix`.
    static func findingNames(_ document: [String: Any], pathEndingIn suffix: String) -> Bool {
        Support.findings(document).contains { finding in
            ((finding["evidence"] as? [String: Any])?["path"] as? String)?.hasSuffix(suffix) == true
        }
    }

    @Test(arguments: ["garbage", "truncated", "empty"])
    func brokenELFNamedLiblzmaIsReportedNotFatal(_ kind: String) throws {
        let (result, document) = try Self.scanWithHostileLiblzma { path in
            let host = try FileSystem.readLink("/usr/lib/x86_64-linux-gnu/liblzma.so.5")
            let real = try Array(Data(contentsOf: URL(fileURLWithPath: "/usr/lib/x86_64-linux-gnu/" + host)))
            let bytes: [UInt8]
            switch kind {
            case "garbage": bytes = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
            case "truncated": bytes = Array(real.prefix(300))
            default: bytes = []
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        // A liblzma that does not parse is a gap: 3 (or 1 if something above info was found), never a clean 0.
        #expect(result.status == 3 || result.status == 1, "\(result.stderr)")
        let reason = Self.skips(document).first { $0.key.hasSuffix("/liblzma.so.5") }?.value
        #expect(reason?.contains("ELF not readable") == true, "\(Self.skips(document))")
    }

    @Test(arguments: ["fifo", "device", "directory"])
    func nonRegularFilesAreNeverOpened(_ kind: String) throws {
        let (result, document) = try Self.scanWithHostileLiblzma { path in
            switch kind {
            case "fifo": #expect(mkfifo(path, 0o644) == 0)
            case "device": #expect(mknod(path, S_IFCHR | 0o644, dev_t((1 << 8) | 3)) == 0)   // 1:3, /dev/null's numbers
            default: try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            }
        }
        #expect(result.status == 0, "\(result.stderr)")
        let skips = Self.skips(document)
        let reason = skips.first { $0.key.hasSuffix("/liblzma.so.5") }?.value
        if kind == "directory" {
            // A directory among the libraries holds nothing to read and is passed over; reported at all, it is
            // reported as what it is, never as a file that failed to open, read or parse.
            #expect(reason == nil || reason?.contains("not a regular file") == true, "\(skips)")
        } else {
            #expect(reason?.contains("not a regular file") == true, "\(skips)")
        }
        #expect(!Self.findingNames(document, pathEndingIn: "/liblzma.so.5"), "\(Support.findings(document))")
        // Not made a file of the scan (every file examined was read: none failed to open), and the others were
        // read: sshd, libsystemd.so.0.35.0 and the real liblzma.so.5.X.Y beside the non-regular liblzma.so.5.
        let examined = Self.statistic(document, "files_examined"), read = Self.statistic(document, "files_read")
        #expect(examined != nil && examined == read, "files examined \(String(describing: examined)), read \(String(describing: read))")
        #expect((read ?? 0) >= 3, "files read \(String(describing: read))")
    }

    /// Issue 21: size alone is never a reason to skip (a backdoor padded past any limit would hide there). A 1 GiB
    /// sparse liblzma.so.5, past the old 512 MiB read limit, is read to its end; being no ELF, it is an
    /// "ELF not readable" gap (exit 3), not a size skip.
    @Test func hugeSparseFileIsReadInFull() throws {
        let (result, document) = try Self.scanWithHostileLiblzma { path in
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
            #expect(truncate(path, 1 << 30) == 0)   // 1 GiB, no blocks
        }
        #expect(result.status == 3)
        let reason = Self.skips(document).first { $0.key.hasSuffix("/liblzma.so.5") }?.value
        #expect(reason?.contains("ELF not readable") == true, "\(Self.skips(document))")
        #expect(!Self.skips(document).values.contains { $0.contains("read limit") }, "\(Self.skips(document))")
        let bytesRead = try #require(Self.statistic(document, "bytes_read"))
        #expect(bytesRead >= 1 << 30, "\(bytesRead) bytes read: the sparse file was not read in full")
        #expect((Self.statistic(document, "files_read") ?? 0) >= 3, "sshd, libsystemd and the real liblzma are read")
    }

    /// liblzma.so.5 is one end of a two-link loop: resolution stops (ELOOP) for both loop entries, each skipped with
    /// that reason, and the graph finds no liblzma.so.5. The host liblzma, moved out of the loader's directories,
    /// is reachable only through a loop-free link beside the loop (liblzma.so.5.backup): that link is followed and
    /// the file read, one file and its bytes more than a scan of the same root without the link.
    @Test func symlinkLoopIsBounded() throws {
        let root = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(root + "/..") }
        let manager = FileManager.default
        let directory = root + Self.libraryDirectory
        let link = try manager.destinationOfSymbolicLink(atPath: directory + "/liblzma.so.5")
        let real = String(link.split(separator: "/").last ?? Substring(link))   // liblzma.so.5.X.Y
        let size = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + real)).count
        try manager.createDirectory(atPath: root + "/opt/xz", withIntermediateDirectories: true)
        try manager.moveItem(atPath: directory + "/" + real, toPath: root + "/opt/xz/" + real)
        try manager.removeItem(atPath: directory + "/liblzma.so.5")
        try manager.createSymbolicLink(atPath: directory + "/liblzma.so.5", withDestinationPath: "liblzma.so.5.loop")
        try manager.createSymbolicLink(atPath: directory + "/liblzma.so.5.loop", withDestinationPath: "liblzma.so.5")
        let (resultWithout, withoutLink) = try Self.scan(root)
        try manager.createSymbolicLink(atPath: directory + "/liblzma.so.5.backup", withDestinationPath: "../../../opt/xz/" + real)
        let (result, withLink) = try Self.scan(root)
        #expect(resultWithout.status == 0 && result.status == 0, "\(resultWithout.stderr)\(result.stderr)")

        for document in [withoutLink, withLink] {
            let skips = Self.skips(document)
            for name in ["liblzma.so.5", "liblzma.so.5.loop"] {
                let reason = skips.first { $0.key.hasSuffix("/" + name) }?.value
                #expect(reason?.contains("Too many levels of symbolic links") == true, "\(name): \(skips)")   // ELOOP
            }
            let missing = Self.missingChains(document)
            #expect(missing.contains { $0.hasSuffix(" -> liblzma.so.5") }, "\(missing)")
        }
        #expect(!Self.skips(withLink).keys.contains { $0.hasSuffix("/liblzma.so.5.backup") || $0.hasSuffix("/" + real) },
                "\(Self.skips(withLink))")
        // The link's target is the one file the second scan examines and reads on top of the first's, whole.
        let before = try #require(Self.statistic(withoutLink, "files_examined"))
        let readBefore = try #require(Self.statistic(withoutLink, "files_read"))
        let bytesBefore = try #require(Self.statistic(withoutLink, "bytes_read"))
        #expect(Self.statistic(withLink, "files_examined") == before + 1)
        #expect(Self.statistic(withLink, "files_read") == readBefore + 1)
        let bytesAdded = (Self.statistic(withLink, "bytes_read") ?? 0) - bytesBefore
        #expect(bytesAdded >= Int64(size), "\(bytesAdded) bytes more read; \(real) has \(size)")
    }

    /// A bad library placed outside the root, reached by absolute and `..` symlinks from inside: never read.
    @Test(arguments: ["absolute", "dotdot"])
    func symlinksOutOfTheRootAreNotFollowedOut(_ form: String) throws {
        let outside = try Support.makeRoot(["--signature", "--version", "5.6.1-1"])
        defer { Support.remove(outside + "/..") }
        let bad = outside + Self.libraryDirectory + "/liblzma.so.5.6.1"
        let (_, document) = try Self.scanWithHostileLiblzma { path in
            let target = form == "absolute" ? bad : String(repeating: "../", count: 12) + bad.dropFirst()
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        }
        let kinds = Support.findings(document).compactMap { $0["kind"] as? String }
        #expect(!kinds.contains("byte-signature") && !kinds.contains("elf-feature"), "read outside the root: \(kinds)")
    }

    @Test func includeLoopInLdSoConfIsReported() throws {
        let root = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(root + "/..") }
        try "include /etc/ld.so.conf\ninclude /etc/ld.so.conf.d/*.conf\n".write(toFile: root + "/etc/ld.so.conf", atomically: true, encoding: .utf8)
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(result.status == 0)
        #expect((document["notes"] as? [String])?.contains { $0.contains("include loop") } == true)
    }

    /// A file name with a newline and an escape sequence: escaped in the text report, exact in JSON.
    @Test func controlCharactersInNamesAreEscaped() throws {
        let root = try Support.makeRoot(["--signature", "--version", "5.4.1-1"])
        defer { Support.remove(root + "/..") }
        let directory = root + Self.libraryDirectory
        let name = "liblzma.so.5\nCRITICAL (0)\u{1b}[2J"
        try FileManager.default.moveItem(atPath: directory + "/liblzma.so.5.6.1", toPath: directory + "/" + name)
        try FileManager.default.removeItem(atPath: directory + "/liblzma.so.5")
        try FileManager.default.createSymbolicLink(atPath: directory + "/liblzma.so.5", withDestinationPath: name)
        let text = try Support.chainwatch(["--scan-now", "--rules", Support.rulesDirectory, "--root", root])
        #expect(text.stdout.contains("liblzma.so.5\\x0aCRITICAL (0)\\x1b[2J"))
        #expect(!text.stdout.contains("\u{1b}"))
        #expect(!text.stdout.split(separator: "\n").contains("CRITICAL (0)"))
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        let paths = Support.findings(document).compactMap { ($0["evidence"] as? [String: Any])?["path"] as? String }
        #expect(paths.contains(Self.libraryDirectory + "/" + name))
    }
}

/// Rules are what decide detection: untrusted or oversized rule sets are refused with a clear error.
@Suite struct HostileRuleTests {
    static func directoryWith(_ text: String, permissions: Int = 0o644, owner: uid_t = 0) throws -> String {
        let directory = try Support.temporaryDirectory("hostile-rules")
        let file = directory + "/r.yaml"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(chmod(file, mode_t(permissions)) == 0)
        #expect(chown(file, owner, 0) == 0)
        return directory
    }

    @Test func writableByOthersOrNotOwnedByRootIsRefused() throws {
        try #require(getuid() == 0, "the trust check applies when chainwatch runs as root")
        for (permissions, owner, expected) in [(0o666, uid_t(0), "writable by group or others"), (0o644, uid_t(65534), "owned by uid 65534")] {
            let directory = try Self.directoryWith(RuleLoaderTests.valid, permissions: permissions, owner: owner)
            defer { Support.remove(directory) }
            let result = try Support.chainwatch(["--check-rules", directory])
            #expect(result.status == 2)
            #expect(result.stderr.contains(expected), "\(result.stderr)")
        }
        let directory = try Self.directoryWith(RuleLoaderTests.valid)
        defer { Support.remove(directory) }
        #expect(chmod(directory, 0o777) == 0)
        #expect(try Support.chainwatch(["--check-rules", directory]).stderr.contains("writable by group or others"))
    }

    @Test func oversizedPatternsAndRuleCountsAreBounded() throws {
        let huge = String(repeating: "ab", count: BytePattern.maximumLength + 1)
        #expect(throws: BytePattern.ParseError.tooLong(BytePattern.maximumLength + 1)) { try BytePattern(huge) }
        var text = "chainwatch-rules: 1\nrules:\n"
        for index in 0...RuleLoader.maximumRules {
            let id = String(format: "%032x", index)
            text += "  - {id: r\(index), title: t, kind: file-hash, severity: low, message-id: \(id), description: d, match: {hashes: [{sha256: \(String(repeating: "0", count: 64)), file: f, source: s}]}}\n"
        }
        let directory = try Self.directoryWith(text)
        defer { Support.remove(directory) }
        let result = try Support.chainwatch(["--check-rules", directory])
        #expect(result.status == 2)
        #expect(result.stderr.contains("more than \(RuleLoader.maximumRules) rules"), "\(result.stderr.prefix(300))")
    }
}
