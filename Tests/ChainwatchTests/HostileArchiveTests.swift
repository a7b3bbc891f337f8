import Foundation
import Testing

/// Archives and image layers built to attack a scanner (Tests/Fixtures/make-hostile-archives.py): every case is
/// bounded, reported as a skip or a note naming the member, and nothing is written or read outside.
@Suite struct HostileArchiveTests {
    static func scan(_ path: String, image: Bool = false) throws -> (Support.Result, [String: Any]) {
        try Support.scanJSON(["--rules", Support.rulesDirectory, image ? "--image" : "--path", path])
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

        // case file -> a fragment the notes or skips must contain
        let expected: [(String, String)] = [
            ("traversal.tar", "leads out of the archive"), ("traversal.zip", "leads out of the archive"),
            ("symlink-abs.tar", "symlink to /etc/passwd, outside the archive; not followed"),
            ("symlink-dir.tar", "symlink to ../../../etc, outside the archive; not followed"),
            ("hardlink.tar", "hardlink to /etc/shadow, outside the archive; not followed"),
            ("chardev.tar", "character device member; not read"), ("blockdev.tar", "block device member; not read"),
            ("fifo.tar", "fifo member; not read"), ("setuid.tar", "set-user-ID or set-group-ID member"),
            ("gzip-bomb.tar.gz", "over the 536870912-byte read limit"), ("xz-bomb.tar.xz", "over the 536870912-byte read limit"),
            ("huge-member.tar.gz", "over the 536870912-byte read limit"),
            ("truncated.tar", "Truncated tar archive"), ("truncated.tar.gz", "archive not readable"),
            ("nested-10.tar.gz", "nested deeper than 4 levels"),
        ]
        for (name, fragment) in expected {
            let (result, document) = try Self.scan(out + "/" + name)
            #expect(result.status == 0, "\(name): \(result.stderr)")
            let texts = Self.texts(document)
            let hit = texts.first { $0.contains(fragment) }
            #expect(hit != nil, "\(name): \(texts)")
            // Each says which member it is about.
            #expect(hit?.contains(out + "/" + name) == true, "\(name): \(hit ?? "")")
        }
        // Ten thousand empty members: all read, quickly, none lost.
        let (_, many) = try Self.scan(out + "/many-members.tar")
        let statistics = (many["scan"] as? [String: Any])?["statistics"] as? [String: Any]
        #expect((statistics?["files_read"] as? Int ?? 0) >= 10_000, "\(String(describing: statistics))")

        // An image layer whose whiteouts name escapes: ignored with notes, the image's own files kept.
        let (imageResult, image) = try Self.scan(out + "/whiteout-escape-oci", image: true)
        #expect(imageResult.status == 0, "\(imageResult.stderr)")
        let notes = Self.texts(image)
        #expect(notes.contains { $0.contains("a whiteout naming '..'") }, "\(notes)")
        #expect(notes.contains { $0.contains("../.wh.passwd: the member's name leads out of the image") }, "\(notes)")
        #expect(watched.map(Self.stamp) == before, "host files untouched")
    }
}
