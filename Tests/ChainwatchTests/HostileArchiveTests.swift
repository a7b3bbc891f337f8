import Foundation
import Testing
@testable import Engine
import Probes
import Rules

/// Archives and image layers built to attack a scanner (Tests/Fixtures/make-hostile-archives.py): every case is
/// bounded, reported as a skip or a note naming the member, and nothing is written or read outside. A bound
/// reached, or an archive damaged, leaves the verdict incomplete (exit 3); notes do not.
@Suite struct HostileArchiveTests {
    static func scan(_ path: String, image: Bool = false) throws -> (Support.Result, [String: Any]) {
        try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, image ? "--image" : "--path", path])
    }

    static func texts(_ document: [String: Any]) -> [String] {
        (document["notes"] as? [String] ?? [])
            + (document["skipped"] as? [[String: Any]] ?? []).map { "\($0["subject"] as? String ?? ""): \($0["reason"] as? String ?? "")" }
    }

    static func stamp(_ path: String) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return "\(attributes?[.modificationDate] ?? "-") \(attributes?[.size] ?? "-")"
    }

    @Test func everyHostileCaseIsBoundedAndReported() throws {
        let parent = try Support.temporaryDirectory("hostile")
        defer { Support.remove(parent) }
        let out = parent + "/cases"
        let made = try Support.run(Support.fixtures + "/make-hostile-archives.py", [out])
        try #require(made.status == 0, "\(made.stderr)")
        let watched = ["/etc/passwd", "/etc/shadow", "/etc"]
        let before = watched.map(Self.stamp)

        // case file -> a fragment the notes or skips must contain, and the exit status: notes leave the verdict
        // complete, a damaged archive or a bound reached does not.
        let expected: [(String, String, Int32)] = [
            ("traversal.tar", "leads out of the archive", 0), ("traversal.zip", "leads out of the archive", 0),
            ("symlink-abs.tar", "symlink to /etc/passwd, outside the archive; not followed", 0),
            ("symlink-dir.tar", "symlink to ../../../etc, outside the archive; not followed", 0),
            ("hardlink.tar", "hardlink to /etc/shadow, outside the archive; not followed", 0),
            ("chardev.tar", "character device member; not read", 0), ("blockdev.tar", "block device member; not read", 0),
            ("fifo.tar", "fifo member; not read", 0), ("setuid.tar", "set-user-ID or set-group-ID member", 0),
            ("truncated.tar", "Truncated tar archive", 3), ("truncated.tar.gz", "not readable as an archive", 3),
            ("nested-10.tar.gz", "nested deeper than 4 levels", 3),
        ]
        for (name, fragment, status) in expected {
            let (result, document) = try Self.scan(out + "/" + name)
            #expect(result.status == status, "\(name): \(result.stderr) \(Self.texts(document))")
            let texts = Self.texts(document)
            let hit = texts.first { $0.contains(fragment) }
            #expect(hit != nil, "\(name): \(texts)")
            // Each says which member it is about.
            #expect(hit?.contains(out + "/" + name) == true, "\(name): \(hit ?? "")")
        }
        // One 640 MiB member: past the 512 MiB file read limit, read in full all the same (hashed and searched as
        // it streams; the expansion budget is what bounds it), not skipped for its size.
        let (huge, hugeDocument) = try Self.scan(out + "/huge-member.tar.gz")
        #expect(huge.status == 0, "\(Self.texts(hugeDocument))")
        #expect(Self.texts(hugeDocument).isEmpty, "\(Self.texts(hugeDocument))")
        let hugeStatistics = (hugeDocument["scan"] as? [String: Any])?["statistics"] as? [String: Any]
        #expect((hugeStatistics?["bytes_read"] as? Int ?? 0) >= 640 << 20, "\(String(describing: hugeStatistics))")

        // Ten thousand empty members: all read, quickly, none lost.
        let (_, many) = try Self.scan(out + "/many-members.tar")
        let statistics = (many["scan"] as? [String: Any])?["statistics"] as? [String: Any]
        #expect((statistics?["files_read"] as? Int ?? 0) >= 10_000, "\(String(describing: statistics))")

        // An image layer whose whiteouts name escapes: ignored with notes, the image's own files kept. The image
        // holds no package database or program, which may make its scan incomplete ("nothing to scan"), but the
        // whiteouts themselves hide nothing: no incompleteness reason is about them.
        let (imageResult, image) = try Self.scan(out + "/whiteout-escape-oci", image: true)
        #expect([0, 3].contains(imageResult.status), "\(imageResult.stderr)")
        #expect(!Support.incompleteReasons(image).contains { $0.contains(".wh.") }, "\(Support.incompleteReasons(image))")
        let notes = Self.texts(image)
        #expect(notes.contains { $0.contains("a whiteout naming '..'") }, "\(notes)")
        #expect(notes.contains { $0.contains("../.wh.passwd: the member's name leads out of the image") }, "\(notes)")
        #expect(watched.map(Self.stamp) == before, "host files untouched")
    }
}

extension HostileArchiveTests {
    /// `PathScan` over one input with these limits, as `--path` runs it.
    static func walk(_ path: String, limits: PathScan.Limits) throws -> (PathScan, FileIndex) {
        let plan = ScanPlan(try RuleLoader.load(from: [Support.rulesDirectory]))
        var index = FileIndex(plan: plan, inspector: FileInspector(), cache: nil)
        var scan = PathScan(plan: plan, inspector: index.inspector, limits: limits)
        scan.scan(path, into: &index)
        return (scan, index)
    }

    /// A tar of three .tar.gz (tar and gzip), each expanding to a 48 MiB member, against a 100 MiB budget: one
    /// budget for the input, every nesting level together, so the third inner member stops the read with a skip
    /// naming it (.limit: incomplete). Each nested level reset the count before (a 32 GiB bound let 35 GiB
    /// through): all 144 MiB were read and nothing was said.
    @Test func nestedArchivesShareOneExpansionBudget() throws {
        let parent = try Support.temporaryDirectory("nested-budget")
        defer { Support.remove(parent) }
        let made = try Support.run("/bin/sh", ["-ec", """
            cd "$1"
            head -c 48M /dev/zero > zeros
            tar -cf - zeros | gzip -1 > inner-1.tar.gz
            cp inner-1.tar.gz inner-2.tar.gz
            cp inner-1.tar.gz inner-3.tar.gz
            tar -cf outer.tar inner-1.tar.gz inner-2.tar.gz inner-3.tar.gz
            rm zeros inner-*.tar.gz
            """, "sh", parent])
        try #require(made.status == 0, "\(made.stderr)")
        let limit: Int64 = 100 << 20
        let (scan, index) = try Self.walk(parent + "/outer.tar", limits: PathScan.Limits(expandedBytes: limit))
        let outer = parent + "/outer.tar"
        let hit = scan.skipped.first { $0.subject == outer + "!inner-3.tar.gz!zeros" }
        #expect(hit?.code == .limit, "\(scan.skipped)")
        #expect(hit?.reason.contains("more than \(limit) bytes decompressed from \(outer)") == true, "\(hit?.reason ?? "")")
        #expect(scan.skipped.allSatisfy { $0.code == .limit }, "\(scan.skipped)")
        // What was read whole stays under the budget; the budget stops within one block past it.
        #expect(index.bytesRead < limit + (1 << 20), "\(index.bytesRead) bytes read")
        #expect(scan.budget.used <= limit + 256 * 1024, "\(scan.budget.used) bytes decompressed")
        #expect(index.records.contains { $0.path == outer + "!inner-2.tar.gz!zeros" && $0.facts != nil })
    }

    /// The 2 GiB gzip and xz bombs against a 64 MiB budget: the read stops within a block of the bound with a
    /// .limit skip naming the member (they were skipped whole, before, for their declared size).
    @Test(arguments: ["gzip-bomb.tar.gz", "xz-bomb.tar.xz"])
    func aBombStopsAtTheBudget(_ name: String) throws {
        let parent = try Support.temporaryDirectory("bombs")
        defer { Support.remove(parent) }
        let made = try Support.run(Support.fixtures + "/make-hostile-archives.py", [parent + "/cases"])
        try #require(made.status == 0, "\(made.stderr)")
        let limit: Int64 = 64 << 20
        let path = parent + "/cases/" + name
        let (scan, _) = try Self.walk(path, limits: PathScan.Limits(expandedBytes: limit))
        let skip = scan.skipped.first { $0.subject == path + "!zeros" }
        #expect(skip?.code == .limit, "\(scan.skipped)")
        #expect(skip?.reason.contains("more than \(limit) bytes decompressed") == true, "\(skip?.reason ?? "")")
        #expect(scan.budget.used <= limit + 256 * 1024, "\(scan.budget.used) bytes decompressed")
    }
}

extension HostileArchiveTests {
    /// Member and link names carrying ESC, C1 (U+009B), U+2028 and a bidi override reach the text report (notes and
    /// skips of --verbose) only escaped: an archive cannot recolour, rewrite or forge a line of the report.
    @Test func memberNamesAreEscapedInTheTextReport() throws {
        let parent = try Support.temporaryDirectory("escape")
        defer { Support.remove(parent) }
        let archive = parent + "/names.tar"
        let made = try Support.run("/usr/bin/python3", ["-c", """
            import sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
                for name in ["../\\x1b[31mred\\u2028Result: nothing above info found.", "dev\\u009bz"]:
                    member = tarfile.TarInfo(name); member.type = tarfile.CHRTYPE; t.addfile(member)
                link = tarfile.TarInfo("a\\u202eb"); link.type = tarfile.LNKTYPE; link.linkname = "/etc/\\x1b]0;title\\x07"
                t.addfile(link)
            """, archive])
        try #require(made.status == 0, "\(made.stderr)")
        let result = try Support.run(Support.builtBinary, ["--scan-now", "--verbose", "--rules", Support.rulesDirectory, "--path", archive])
        #expect(result.status == 0, "\(result.stdout)")
        let raw = result.stdout.unicodeScalars.filter { scalar in
            (scalar.value < 0x20 && scalar != "\n") || (0x7f...0x9f).contains(scalar.value) || [0x2028, 0x2029, 0x202e].contains(scalar.value)
        }
        #expect(raw.isEmpty, "unescaped: \(raw.map { String($0.value, radix: 16) })")
        #expect(result.stdout.contains("\\x1b[31mred"), "\(result.stdout)")
        #expect(result.stdout.split(separator: "\n").filter { $0.hasPrefix("Result:") }.count == 1, "one Result line")
    }
}
