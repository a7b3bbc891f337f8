import Foundation
import Testing

extension LiveSystemTests {
/// Code put into programs by the loader's own mechanisms: /etc/ld.so.preload, LD_* variables, rtld-audit entries,
/// executable memfd mappings. Each is reported by the shipped loader-injection rules.
@Suite(.serialized) struct LoaderInjectionTests {
    static func findings(_ document: [String: Any], rule: String) -> [[String: Any]] {
        Support.findings(document).filter { $0["rule"] as? String == rule }
    }

    static func evidence(_ finding: [String: Any]) -> [String: Any] { finding["evidence"] as? [String: Any] ?? [:] }

    /// A root whose /etc/ld.so.preload names a backdoored liblzma copy: the file is flagged, and the library is
    /// in sshd's graph (ld.so loads it into every program), where its signature is found and raises the chain.
    @Test func preloadFileIsFlaggedAndItsLibraryIsInEveryGraph() throws {
        let root = try Support.makeRoot(["--version", "5.4.1-1"])
        defer { Support.remove(root + "/..") }
        let planted = try Support.makeRoot(["--signature"])
        defer { Support.remove(planted + "/..") }
        try FileManager.default.createDirectory(atPath: root + "/opt/hide", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: planted + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1",
                                         toPath: root + "/opt/hide/libhide.so")
        try "# added\n/opt/hide/libhide.so\n".write(toFile: root + "/etc/ld.so.preload", atomically: true, encoding: .utf8)
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(result.status == 1)
        let preload = try #require(Self.findings(document, rule: "loader-preload-file").first)
        #expect(Self.evidence(preload)["path"] as? String == "/etc/ld.so.preload")
        #expect((Self.evidence(preload)["detail"] as? String)?.contains("/opt/hide/libhide.so") == true)
        let programs = document["programs"] as? [[String: Any]] ?? []
        let sshd = try #require(programs.first { $0["program"] as? String == "/usr/sbin/sshd" })
        let libraries = sshd["libraries"] as? [[String: Any]] ?? []
        #expect(libraries.contains { $0["path"] as? String == "/opt/hide/libhide.so" && $0["chain"] as? [String] == ["/usr/sbin/sshd", "/opt/hide/libhide.so"] })
        #expect(Support.findings(document).contains {
            $0["kind"] as? String == "byte-signature" && Self.evidence($0)["path"] as? String == "/opt/hide/libhide.so"
        })
    }

    /// A running sshd started with LD_PRELOAD: the variable, its value and the pid are reported.
    @Test func sshdStartedWithLDPreloadIsReported() throws {
        let parent = try Support.temporaryDirectory("preload")
        defer { Support.remove(parent) }
        let made = try Support.run(Support.packageRoot + "/Tests/Fixtures/make-got.sh", [parent + "/root"])
        try #require(made.status == 0, "\(made.stderr)")
        let library = parent + "/root/lib/liblzma.so.5"
        let sshd = try Support.Background(parent + "/root/sbin/sshd", [],
                                          environment: ["LD_LIBRARY_PATH": parent + "/root/lib", "LD_PRELOAD": library])
        defer { sshd.stop() }
        try #require(sshd.waitForLine() == "ready")
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--no-library-dirs"])
        let found = Self.findings(document, rule: "loader-injection-sshd-environment").filter {
            Self.evidence($0)["pid"] as? Int == Int(sshd.pid)
        }
        #expect(Set(found.compactMap { Self.evidence($0)["detail"] as? String })
                == ["started with LD_PRELOAD=\(library)", "started with LD_LIBRARY_PATH=\(parent)/root/lib"])
        #expect(found.allSatisfy { $0["severity"] as? String == "high" })
    }

    /// A program named sshd that dlopen()s a backdoored liblzma from a memfd: the executable memfd mapping is
    /// reported, and the content rules apply to the memfd's bytes (read through /proc/PID/map_files).
    @Test func codeLoadedFromAMemfdIsReportedAndScanned() throws {
        let parent = try Support.temporaryDirectory("memfd")
        defer { Support.remove(parent) }
        let loader = parent + "/sshd"
        let made = try Support.run(Support.packageRoot + "/Tests/Fixtures/make-got.sh", ["--memfd-loader", loader])
        try #require(made.status == 0, "\(made.stderr)")
        let planted = try Support.makeRoot(["--signature"])
        defer { Support.remove(planted + "/..") }
        let process = try Support.Background(loader, [planted + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"])
        defer { process.stop() }
        try #require(process.waitForLine() == "ready")
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--no-library-dirs"])
        let memfd = Self.findings(document, rule: "loader-injection-sshd-code-outside-files").filter {
            Self.evidence($0)["pid"] as? Int == Int(process.pid)
        }
        #expect(memfd.contains { (Self.evidence($0)["detail"] as? String)?.contains("/memfd:crcaccel") == true }, "\(memfd)")
        #expect(Support.findings(document).contains {
            $0["rule"] as? String == "xz-backdoor-sig-openwall-detect-sh"
                && (Self.evidence($0)["path"] as? String)?.hasPrefix("/memfd:crcaccel") == true
                && (Self.evidence($0)["pids"] as? [Int])?.contains(Int(process.pid)) == true
        })
    }

    /// An sshd linked with an rtld-audit entry (GNU ld --audit): DT_AUDIT in its graph is reported.
    @Test func anAuditEntryInSshdsGraphIsReported() throws {
        let root = try Support.makeRoot(["--version", "5.4.1-1"])
        defer { Support.remove(root + "/..") }
        let source = root + "/../main.c"
        try "int main(void) { return 0; }\n".write(toFile: source, atomically: true, encoding: .utf8)
        let built = try Support.run("/usr/bin/gcc", ["-o", root + "/usr/sbin/sshd", source, "-Wl,--audit=libaudit-hook.so.1"])
        try #require(built.status == 0, "\(built.stderr)")
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        let audit = try #require(Self.findings(document, rule: "loader-injection-sshd-audit-entry").first, "\(Support.findings(document))")
        #expect(Self.evidence(audit)["path"] as? String == "/usr/sbin/sshd")
        #expect(Self.evidence(audit)["detail"] as? String == "DT_AUDIT names libaudit-hook.so.1")
    }
}
}
