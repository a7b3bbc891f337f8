import Engine
import Foundation
import Rules
import Testing

/// The daemon's cache (file facts, loader-directory listings, the package inventory) must make a scan where
/// nothing changed cheap without hiding any change: an in-place edit, a new library, a package database edit.
@Suite struct WarmScanTests {
    static func scan(_ root: String, cache: FactsCache) throws -> ScanReport {
        var options = ScanOptions()
        options.root = root
        options.scanProcesses = false
        options.cache = cache
        let rules = try RuleLoader.load(from: [Support.rulesDirectory])
        return Engine.Scanner(rules: rules, options: options).run()
    }

    static func signaturePaths(_ report: ScanReport) -> Set<String> {
        Set(report.findings.filter { $0.kind == .byteSignature }.compactMap { $0.evidence.path })
    }

    /// The regular liblzma file of a fixture root.
    static func liblzma(in root: String) throws -> String {
        let directory = root + "/usr/lib/x86_64-linux-gnu"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: directory).first { name in
            name.hasPrefix("liblzma.so.5.") &&
                (try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + name)) == nil
        })
        return directory + "/" + name
    }

    static func inode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int)
    }

    @Test func nothingChangedReadsNothingAndEveryChangeIsSeen() throws {
        let root = try Support.makeRoot(["--version", "5.4.1-1"])
        defer { Support.remove(root + "/..") }
        let planted = try Support.makeRoot(["--version", "5.4.1-1", "--signature"])
        defer { Support.remove(planted + "/..") }
        let plantedBytes = try Data(contentsOf: URL(fileURLWithPath: try Self.liblzma(in: planted)))
        let cache = FactsCache()

        let first = try Self.scan(root, cache: cache)
        #expect(first.statistics.filesRead > 0 && first.statistics.filesFromCache == 0)
        #expect(Self.signaturePaths(first).isEmpty)
        #expect(!first.findings.contains { $0.kind == .packageVersion })

        let second = try Self.scan(root, cache: cache)
        #expect(second.statistics.filesRead == 0, "nothing changed, so nothing is read")
        #expect(second.statistics.filesFromCache == first.statistics.filesExamined)
        #expect(Set(second.findings.map(\.key)) == Set(first.findings.map(\.key)))
        #expect(second.statistics.packages == first.statistics.packages)

        // A new library dropped into a loader directory.
        let library = try Self.liblzma(in: root)
        let added = root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.9.9"
        try plantedBytes.write(to: URL(fileURLWithPath: added))
        let third = try Self.scan(root, cache: cache)
        #expect(Self.signaturePaths(third).contains { $0.hasSuffix("/liblzma.so.5.9.9") }, "\(third.findings)")
        try FileManager.default.removeItem(atPath: added)

        // The library rewritten in place: same inode, same directory listing.
        let before = try Self.inode(library)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: library))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: plantedBytes)
        try handle.close()
        #expect(try Self.inode(library) == before)
        let fourth = try Self.scan(root, cache: cache)
        #expect(Self.signaturePaths(fourth).contains { $0.hasSuffix(library.split(separator: "/").last.map(String.init) ?? "?") },
                "\(fourth.findings)")
        #expect(!Self.signaturePaths(fourth).contains { $0.hasSuffix("/liblzma.so.5.9.9") }, "a removed file is not reported")

        // The package database changed: liblzma5 "upgraded" to a backdoored version.
        let status = root + "/var/lib/dpkg/status"
        let text = try String(contentsOfFile: status, encoding: .utf8)
        try text.replacingOccurrences(of: "Version: 5.4.1-1", with: "Version: 5.6.1-1")
            .write(toFile: status, atomically: true, encoding: .utf8)
        let fifth = try Self.scan(root, cache: cache)
        let package = try #require(fifth.findings.first { $0.kind == .packageVersion })
        #expect(package.evidence.version == "5.6.1-1")
    }

    /// One cache across rule sets, as the daemon keeps it across SIGHUP: facts are reused, pattern hits only with
    /// the patterns they were found with, so a new pattern finds a file the cache already knows, and an unchanged
    /// pattern set reads nothing.
    @Test func aNewPatternFindsCachedFilesAndAnUnchangedSetReadsNothing() throws {
        let root = try Support.makeRoot(["--version", "5.4.1-1", "--signature"])
        defer { Support.remove(root + "/..") }
        let cache = FactsCache()
        var options = ScanOptions()
        options.root = root
        options.scanProcesses = false
        options.cache = cache
        let shipped = try RuleLoader.load(from: [Support.rulesDirectory])
        let withoutSignatures = RuleSet(rules: shipped.rules.filter { $0.kind != .byteSignature }, files: shipped.files)

        let before = Engine.Scanner(rules: withoutSignatures, options: options).run()
        #expect(Self.signaturePaths(before).isEmpty)
        let examined = before.statistics.filesExamined
        #expect(before.statistics.filesRead == examined)

        // "Reload": the signature rules are added. Each file is read again once, for the new patterns.
        let plan = ScanPlan(shipped)
        #expect(plan.bytePatternDigest != ScanPlan(withoutSignatures).bytePatternDigest)
        let after = Engine.Scanner(plan: plan, options: options).run()
        #expect(Self.signaturePaths(after).contains { $0.hasSuffix("/liblzma.so.5.6.1") }, "\(after.findings.map(\.rule))")
        #expect(after.statistics.filesRead == examined && after.statistics.filesFromCache == 0)

        // The same patterns again (a reload that changed only titles, or the next scan): nothing is read.
        let again = Engine.Scanner(plan: ScanPlan(shipped), options: options).run()
        #expect(again.statistics.filesRead == 0 && again.statistics.filesFromCache == examined)
        #expect(Set(again.findings.map(\.key)) == Set(after.findings.map(\.key)))

        // Back to no byte rules: their findings go, and with no pattern to search for, nothing is read.
        let removed = Engine.Scanner(rules: withoutSignatures, options: options).run()
        #expect(Self.signaturePaths(removed).isEmpty)
        #expect(removed.statistics.filesRead == 0 && removed.statistics.filesFromCache == examined)
    }
}

extension WarmScanTests {
    /// Package integrity through the cache: a warm scan reads nothing, yet a library changed in place after its
    /// package installed it is modified at the next scan (its facts are read again; the recorded digest is kept).
    @Test func integrityThroughTheCache() throws {
        let root = try Support.fixture("make-dpkg-root.sh", ["--no-tamper"])
        defer { Support.remove(root + "/..") }
        let cache = FactsCache()
        func modified(_ report: ScanReport) -> Set<String> {
            Set(report.findings.filter { $0.rule == ProvenanceTests.modifiedRule }.compactMap { $0.evidence.path })
        }
        let first = try Self.scan(root, cache: cache)
        #expect(modified(first).isEmpty)
        let second = try Self.scan(root, cache: cache)
        #expect(second.statistics.filesRead == 0)
        #expect(modified(second).isEmpty)

        let library = root + "/usr/lib/x86_64-linux-gnu/libclean.so.1"
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: library))
        try handle.seek(toOffset: 200)
        let byte = try #require(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: 200)
        try handle.write(contentsOf: Data([byte ^ 0xff]))
        try handle.close()
        let third = try Self.scan(root, cache: cache)
        #expect(third.statistics.filesRead == 1)
        #expect(modified(third) == ["/usr/lib/x86_64-linux-gnu/libclean.so.1"], "\(third.findings.map(\.rule))")
    }
}
