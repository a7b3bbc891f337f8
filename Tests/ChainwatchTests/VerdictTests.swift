import Foundation
import Testing
@testable import Engine
import HostIO
@testable import Probes
import Reporting
import Rules

// Host scans and live processes: one at a time with every other test that starts processes or scans the host.
extension LiveSystemTests {
/// Issue 21: "nothing found, exit 0" means the scan looked. Evidence an attacker can push behind a skip (a
/// short-lived mapper, a padded or constantly touched library, a huge maps file or environment) is read anyway,
/// and whatever could not be read makes the verdict INCOMPLETE (exit 3) instead of clean.
@Suite(.serialized) struct VerdictTests {
    static let signatureRule = "xz-backdoor-sig-openwall-detect-sh"

    /// A fixture liblzma carrying the backdoor's byte signature, copied to `name` in a new directory.
    static func canary(_ name: String) throws -> (work: String, library: String, mapsLib: String) {
        let root = try Support.makeRoot(["--signature"])
        let work = URL(fileURLWithPath: root).deletingLastPathComponent().path
        let library = work + "/" + name
        try FileManager.default.copyItem(atPath: root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1", toPath: library)
        let mapsLib = work + "/maps-lib"
        try #require(try Support.run(Support.fixtures + "/make-root.sh", ["--maps-lib", mapsLib]).status == 0)
        return (work, library, mapsLib)
    }

    static func hits(_ document: [String: Any], rule: String = signatureRule, path: String) -> [[String: Any]] {
        Support.findings(document).filter {
            $0["rule"] as? String == rule && ($0["evidence"] as? [String: Any])?["path"] as? String == path
        }
    }

    /// A background tool with a PATH (Support.Background starts its programs with an empty environment).
    static func tool(_ executable: String, _ arguments: [String]) throws -> Support.Background {
        try Support.Background(executable, arguments, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
    }

    /// Whether any process maps a file whose path contains `fragment`, within 10 s.
    static func someProcessMaps(_ fragment: String) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where pid.allSatisfy(\.isNumber) {
                if let maps = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8), maps.contains(fragment) { return true }
            }
            usleep(20_000)
        }
        return false
    }

    static func verdict(_ document: [String: Any]) -> [String: Any] { document["verdict"] as? [String: Any] ?? [:] }

    /// A library mapped only by processes that live a second (a new one every 100 ms, so some map it when /proc is
    /// walked): the mappers seen are gone by the time the file is read, seconds later, yet
    /// the file is still on disk at the mapped path, so it is read there (identity checked). Found in every scan.
    @Test func libraryOfShortLivedMappersIsReadFromItsPath() throws {
        let (work, library, mapsLib) = try Self.canary("libcanary.so.1")
        defer { Support.remove(work) }
        let churn = try Self.tool("/bin/bash", ["-c", """
            while :; do ( "$0" "$1" >/dev/null & p=$!; sleep 1; kill -9 $p 2>/dev/null; wait $p 2>/dev/null ) & sleep 0.1; done
            """, mapsLib, library])
        defer {
            churn.stop()
            // Its last mapper outlives the loop's shell: end every process mapping the canary (its path is unique).
            // Twice: a subshell of the loop may start one more mapper while the first sweep runs.
            _ = try? Support.run("/usr/bin/pkill", ["-KILL", "-f", library])
            usleep(300_000)
            _ = try? Support.run("/usr/bin/pkill", ["-KILL", "-f", library])
        }
        #expect(Self.someProcessMaps("libcanary.so.1"), "the churn loop's mappers never mapped the canary")
        for scan in 1...3 {
            let (result, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory, "--no-library-dirs"])
            #expect(!Self.hits(document, path: library).isEmpty, "scan \(scan): canary not found; skipped: \(document["skipped"] ?? [])")
            #expect(result.status == 1)
        }
    }

    /// The first pid that mapped a file has exited while another still maps it (a child after its parent's
    /// exit, here two mappers of a deleted file): the file is read through the other pid's map_files.
    @Test func mappedFileIsReadThroughAnyPidStillMappingIt() throws {
        let (work, library, mapsLib) = try Self.canary("libparent.so.1")
        defer { Support.remove(work) }
        let first = try Support.Background(mapsLib, [library])
        #expect(first.waitForLine() == "ready")
        let second = try Support.Background(mapsLib, [library])
        defer { second.stop() }
        #expect(second.waitForLine() == "ready")
        try FileManager.default.removeItem(atPath: library)   // no path to fall back on: only a pid's map_files
        let table = ProcessTable.read()
        let mapped = try #require(table.mappedFiles.first {
            $0.path.hasSuffix("/libparent.so.1") && $0.pids.contains(first.pid) && $0.pids.contains(second.pid)
        })
        #expect(mapped.ways.count >= 2)
        first.stop()   // the pid whose map_files entry came first is gone
        var index = FileIndex(plan: ScanPlan(try RuleLoader.load(from: [Support.rulesDirectory])),
                              inspector: FileInspector(), cache: nil)
        index.addMapped(mapped)
        index.inspectPending(jobs: 1)
        #expect(index.skipped.isEmpty, "\(index.skipped)")
        let record = try #require(index.records.first)
        #expect(record.facts != nil)
        #expect(record.patternHits?.isEmpty == false)
    }

    /// A backdoored library padded with a sparse tail past 512 MiB is read to its end and its signature found:
    /// no file on disk is skipped for its size.
    @Test func sparselyPaddedLibraryIsReadInFull() throws {
        let root = try Support.makeRoot(["--signature"])
        defer { Support.remove(root + "/..") }
        let library = root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"
        let handle = try #require(FileHandle(forWritingAtPath: library))
        try handle.truncate(atOffset: 600 << 20)
        try handle.close()
        let (result, document) = try Support.scanJSON(["--root", root, "--rules", Support.rulesDirectory])
        #expect(!Self.hits(document, path: "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1").isEmpty,
                "\(document["skipped"] ?? [])")
        #expect(result.status == 1)
        let statistics = (document["scan"] as? [String: Any])?["statistics"] as? [String: Any]
        #expect((statistics?["bytes_read"] as? Int ?? 0) >= 600 << 20)
    }

    /// A library `touch`ed every 20 ms changes its times during every read: its bytes do not change, so two
    /// reads with the same digest are a consistent snapshot, and its finding is reported, not skipped.
    @Test func libraryTouchedInALoopIsReadAsASnapshot() throws {
        let root = try Support.makeRoot(["--signature"])
        defer { Support.remove(root + "/..") }
        let library = root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"
        // Make it large enough (sparse zeros) that every read spans several touches.
        let handle = try #require(FileHandle(forWritingAtPath: library))
        try handle.truncate(atOffset: 64 << 20)
        try handle.close()
        let toucher = try Self.tool("/bin/bash", ["-c", "while :; do touch \"$0\"; sleep 0.02; done", library])
        defer { toucher.stop() }
        let (result, document) = try Support.scanJSON(["--root", root, "--rules", Support.rulesDirectory])
        #expect(!Self.hits(document, path: "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1").isEmpty, "\(document["skipped"] ?? [])")
        #expect(result.status == 1)
    }

    /// A file whose bytes differ in every read cannot be snapshotted: it is reported as unread, and the scan is
    /// incomplete (exit 3), never clean.
    @Test func fileRewrittenInEveryReadLeavesTheScanIncomplete() throws {
        let work = try Support.temporaryDirectory("rewrite")
        defer { Support.remove(work) }
        let path = work + "/data.bin"
        try Data(repeating: 1, count: 8 << 20).write(to: URL(fileURLWithPath: path))
        var index = FileIndex(plan: ScanPlan(try RuleLoader.load(from: [Support.rulesDirectory])),
                              inspector: FileInspector(), cache: nil)
        let status = try FileSystem.linkStatus(path)
        index.addPath(path, status: status)
        let writer = try Self.tool("/usr/bin/python3", ["-c", """
            import os, sys, time
            fd = os.open(sys.argv[1], os.O_WRONLY)
            n = 0
            while True:
                n += 1
                os.pwrite(fd, n.to_bytes(8, 'little'), 0)
                time.sleep(0.0005)
            """, path])
        defer { writer.stop() }
        usleep(200_000)
        index.inspectPending(jobs: 1)
        let skip = try #require(index.skipped.first, "read as a snapshot although every read saw other bytes")
        #expect(skip.leavesScanIncomplete)
        #expect(skip.reason.contains("changed in each of"))
    }

    /// A process with 20,001 mappings of a long path (over 64 MB of maps) is read, not dropped whole: the
    /// library it maps is found.
    @Test func processWithAHugeMapsFileIsRead() throws {
        let (work, library, _) = try Self.canary("libhuge.so.1")
        defer { Support.remove(work) }
        // A long directory name makes each maps line ~4 KB.
        var directory = work
        for _ in 0..<15 { directory += "/" + String(repeating: "d", count: 250) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let long = directory + "/libhuge.so.1"
        try FileManager.default.moveItem(atPath: library, toPath: long)
        let mapper = try Self.tool("/usr/bin/python3", ["-c", """
            import ctypes, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            fd = os.open(sys.argv[1], os.O_RDONLY)
            for _ in range(20001):   # PROT_READ|PROT_EXEC, MAP_PRIVATE; one fd (Python's mmap dups one per map)
                assert libc.mmap(None, 4096, 5, 2, fd, 0) not in (None, ctypes.c_void_p(-1).value)
            print("ready", flush=True)
            import time
            time.sleep(600)
            """, long])
        defer { mapper.stop() }
        #expect(mapper.waitForLine() == "ready")
        let size = try FileSystem.forEachKernelRecord("/proc/\(mapper.pid)/maps", separator: 10, maximumRecord: 1 << 20) { _, _ in }
        #expect(size > 64 << 20, "maps is only \(size) bytes")
        let table = ProcessTable.read()
        #expect(!table.skipped.contains { $0.subject == "pid \(mapper.pid)" }, "\(table.skipped)")
        let mapped = table.mappedFiles.filter { $0.pids.contains(mapper.pid) && $0.path == long }
        #expect(mapped.count == 1)
    }

    /// An sshd whose environment is over 4 MiB keeps its LD_PRELOAD (the last variable) in the scan's facts.
    @Test func loaderVariablesOfAHugeEnvironmentAreRead() throws {
        // The kernel allows an environment of a quarter of the stack limit: the child raises it, then execs.
        let child = try Self.tool("/usr/bin/python3", ["-c", """
            import os, resource
            resource.setrlimit(resource.RLIMIT_STACK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            env = {"FILLER_%d" % n: "x" * 100000 for n in range(50)}
            env["LD_PRELOAD"] = "/tmp/evil.so"
            os.execve("/bin/sleep", ["sleep", "600"], env)
            """])
        defer { child.stop() }
        let deadline = Date().addingTimeInterval(10)
        var variables: [String: String] = [:]
        while Date() < deadline {
            // The kernel points exe at the new program before it has laid out the new stack: until then environ
            // reads empty. Wait for both, as a process seen mid-exec is not one this test is about.
            if let exe = try? FileSystem.readLink("/proc/\(child.pid)/exe"), exe.hasSuffix("/sleep"),
               (try? FileSystem.forEachKernelRecord("/proc/\(child.pid)/environ", separator: 0, maximumRecord: 1 << 20) { _, _ in }) ?? 0 > 0 {
                variables = try ProcessTable.loaderEnvironment("/proc/\(child.pid)/environ")
                break
            }
            usleep(20_000)
        }
        let size = try FileSystem.forEachKernelRecord("/proc/\(child.pid)/environ", separator: 0, maximumRecord: 1 << 20) { _, _ in }
        #expect(size > 4 << 20)
        #expect(variables["LD_PRELOAD"] == "/tmp/evil.so")
    }

    /// Run as a user that is not root, the scan says so and exits 3, whatever it found readable.
    @Test func nonRootScanIsIncomplete() throws {
        let work = try Support.temporaryDirectory("nonroot")
        defer { Support.remove(work) }
        let binary = work + "/chainwatch"
        try FileManager.default.copyItem(atPath: Support.binary, toPath: binary)
        let rules = work + "/rules"
        try FileManager.default.copyItem(atPath: Support.rulesDirectory, toPath: rules)
        let result = try Support.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary,
                                                          "--scan-now", "--rules", rules, "--no-library-dirs"])
        #expect(result.status == 3, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("INCOMPLETE"))
        #expect(result.stdout.contains("not run as root"))
    }

    /// An empty (or unmounted) --root has nothing to scan: exit 3, not a clean 0.
    @Test func emptyRootIsIncomplete() throws {
        let root = try Support.temporaryDirectory("empty")
        defer { Support.remove(root) }
        let (result, document) = try Support.scanJSON(["--root", root, "--rules", Support.rulesDirectory])
        #expect(result.status == 3)
        #expect(Self.verdict(document)["result"] as? String == "incomplete")
        #expect((Self.verdict(document)["incomplete_reasons"] as? [String])?.contains { $0.contains("nothing to scan") } == true)
    }

    /// A root whose package database records no file lists (dpkg's status without info/*.list, as distroless
    /// images ship) does not call its libraries unowned: ownership is unknown, said once.
    @Test func rootWithoutFileListsDoesNotCallEveryLibraryUnowned() throws {
        let root = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(root + "/..") }
        for entry in try FileManager.default.contentsOfDirectory(atPath: root + "/var/lib/dpkg/info") where entry.hasSuffix(".list") {
            try FileManager.default.removeItem(atPath: root + "/var/lib/dpkg/info/" + entry)
        }
        let (_, document) = try Support.scanJSON(["--root", root, "--rules", Support.rulesDirectory])
        let unowned = Support.findings(document).filter { ($0["rule"] as? String ?? "").contains("unowned") }
        #expect(unowned.isEmpty, "\(unowned)")
        let critical = Support.findings(document).filter { $0["severity"] as? String == "critical" }
        #expect(critical.isEmpty, "\(critical)")
        #expect((document["notes"] as? [String])?.contains { $0.contains("file ownership unknown") } == true)
    }

    /// The scanner run from a clone in /tmp is not its own finding: no report about its binary, not exit 1.
    @Test func scannerRunFromTmpIsNotItsOwnFinding() throws {
        let work = try Support.temporaryDirectory("selfscan")
        defer { Support.remove(work) }
        let binary = work + "/chainwatch"
        try FileManager.default.copyItem(atPath: Support.binary, toPath: binary)
        let result = try Support.run(binary, ["--scan-now", "--format", "json", "--rules", Support.hostRulesDirectory, "--no-library-dirs"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let aboutItself = Support.findings(document).filter { ($0["evidence"] as? [String: Any])?["path"] as? String == binary }
        #expect(aboutItself.isEmpty, "\(aboutItself)")
    }

    /// Line separators, bidi overrides and C1 controls in a file name never reach the report raw.
    @Test func reportEscapesLineBreakingAndReorderingCharacters() throws {
        let hostile = "lib\u{2028}Result: nothing\u{202E}os.\u{9B}31m\u{2029}x"
        let escaped = TerminalText.escape(hostile)
        for scalar in escaped.unicodeScalars {
            #expect(!(0x80..<0xa0).contains(scalar.value) && ![0x2028, 0x2029, 0x202e].contains(scalar.value))
        }
        #expect(escaped.contains("\\u{2028}") && escaped.contains("\\u{202e}") && escaped.contains("\\x9b"))
        let root = try Support.makeRoot(["--signature"])
        defer { Support.remove(root + "/..") }
        let planted = root + "/usr/lib/x86_64-linux-gnu/" + "liblzma.so.5\u{2028}\u{202E}x"
        try FileManager.default.copyItem(atPath: root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1", toPath: planted)
        let result = try Support.chainwatch(["--scan-now", "--root", root, "--rules", Support.rulesDirectory, "--verbose"])
        #expect(result.stdout.contains("liblzma.so.5\\u{2028}\\u{202e}x"))
        #expect(!result.stdout.unicodeScalars.contains { [0x2028, 0x2029, 0x202e, 0x9b].contains($0.value) })
    }

    /// The exit status follows the verdict: a skip that hides something makes a scan with nothing above info
    /// exit 3; one that hides nothing (a process that exited) does not.
    @Test func skipsThatHideEvidenceMakeTheVerdictIncomplete() {
        var report = ScanReport(scanID: "t", root: "/", startedAt: 0, findings: [], skipped: [], notes: [],
                                statistics: ScanStatistics(), programs: [])
        report.skipped = [Skip(subject: "pid 7", reason: "exited during the scan", code: .exited)]
        #expect(!report.isIncomplete)
        report.skipped.append(Skip(subject: "/usr/lib/libx.so", reason: "on fuse: no answer", code: .blocked))
        #expect(report.isIncomplete)
        #expect(report.incompleteSubjects == ["/usr/lib/libx.so"])
        #expect(TextReporter().render(report).contains("Result: INCOMPLETE"))
    }
}

/// A package's library bind-mounted over by a modified copy in a private mount namespace: the process maps the
/// package's path, but not the file at that path in the scanner's namespace. It is compared with the package's
/// digest anyway (what runs is what counts), and reported modified, not waved through as "replaced".
@Suite(.serialized) struct PrivateNamespaceTests {
    static func tool(_ executable: String, _ arguments: [String]) throws -> Support.Background { try LiveSystemTests.VerdictTests.tool(executable, arguments) }

    @Test func modifiedLibraryBindMountedInAPrivateNamespaceIsCompared() throws {
        let original = try FileSystem.readLink("/usr/lib/x86_64-linux-gnu/liblzma.so.5")
        let target = "/usr/lib/x86_64-linux-gnu/" + original
        let work = try Support.temporaryDirectory("bind")
        defer { Support.remove(work) }
        let modified = work + "/liblzma-modified.so"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: target))
        bytes.append(0)   // still loads; no longer what the package installed
        try bytes.write(to: URL(fileURLWithPath: modified))
        let mapsLib = work + "/maps-lib"
        try #require(try Support.run(Support.fixtures + "/make-root.sh", ["--maps-lib", mapsLib]).status == 0)
        let mapper = try Self.tool("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c",
                                                                 "mount --bind \"$1\" \"$2\" && exec \"$0\" \"$2\"", mapsLib, modified, target])
        defer { mapper.stop() }
        #expect(mapper.waitForLine() == "ready")
        let (_, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory, "--no-library-dirs"])
        let hits = Support.findings(document).filter {
            let evidence = $0["evidence"] as? [String: Any]
            return $0["rule"] as? String == "provenance-modified-package-file" && evidence?["path"] as? String == target
                && (evidence?["pids"] as? [Int])?.contains(Int(mapper.pid)) == true
        }
        #expect(!hits.isEmpty, "\(Support.findings(document).map { ($0["rule"] ?? "", ($0["evidence"] as? [String: Any])?["path"] ?? "") })")
    }
}

/// A mapped file on a FUSE filesystem whose read never returns: the scan ends anyway (the read is abandoned after
/// its stall time), names the file as not read, and exits 3 instead of hanging or calling the host clean.
@Suite(.serialized) struct BlockingFilesystemTests {
    static func tool(_ executable: String, _ arguments: [String]) throws -> Support.Background { try LiveSystemTests.VerdictTests.tool(executable, arguments) }

    @Test func mappedFileOnABlockedFUSEMountDoesNotHangTheScan() throws {
        let work = try Support.temporaryDirectory("fuse")
        let mountpoint = work + "/mnt"
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        let source = work + "/libfused.so.1"
        try FileManager.default.copyItem(atPath: URL(fileURLWithPath: "/usr/lib/x86_64-linux-gnu/liblzma.so.5").resolvingSymlinksInPath().path,
                                         toPath: source)
        let trigger = work + "/block-now"
        let fuse = try Support.Background("/usr/bin/python3", [Support.fixtures + "/blocking-fuse.py", mountpoint, source,
                                                                "--block-after", trigger],
                                          environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], stderrPath: work + "/fuse.err")
        defer {
            _ = try? Support.run("/bin/fusermount3", ["-u", "-z", mountpoint])
            fuse.stop()
            Support.remove(work)
        }
        #expect(fuse.waitForLine() == "mounted", "\((try? String(contentsOfFile: work + "/fuse.err", encoding: .utf8)) ?? "")")
        let mapsLib = work + "/maps-lib"
        try #require(try Support.run(Support.fixtures + "/make-root.sh", ["--maps-lib", mapsLib]).status == 0)
        let mapper = try Support.Background(mapsLib, [mountpoint + "/libfused.so.1"])
        defer { mapper.stop() }
        #expect(mapper.waitForLine() == "ready")
        FileManager.default.createFile(atPath: trigger, contents: Data())
        let started = Date()
        let (result, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory, "--no-library-dirs"])
        #expect(Date().timeIntervalSince(started) < 60)
        // 3, or 1 when another suite's fixture process maps a backdoored library meanwhile: never a clean 0.
        #expect(result.status != 0)
        #expect(LiveSystemTests.VerdictTests.verdict(document)["complete"] as? Bool == false, "\(result.stdout.prefix(2000))")
        let skipped = document["skipped"] as? [[String: Any]] ?? []
        let blocked = skipped.first { ($0["subject"] as? String)?.hasSuffix("/mnt/libfused.so.1") == true }
        #expect(blocked?["code"] as? String == "blocked", "\(skipped)")
        #expect((blocked?["reason"] as? String)?.contains("fuse") == true)
        // Nothing of the scan is left in the kernel: it exited at once, without opening the file.
        #expect(Date().timeIntervalSince(started) < 30)
    }
}
}
