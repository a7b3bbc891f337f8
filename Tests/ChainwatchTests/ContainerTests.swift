import Foundation
import Testing
@testable import Daemon
@testable import Engine
import Journal
import Reporting
@testable import Probes
@testable import Rules

/// Real containers (Tests/Fixtures/make-container-images.sh's images, run by podman with runc) on this host.
enum Containers {
    static let environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"]
    static let runOptions = ["--network", "none", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]

    /// The fixture images, built (or found up to date) once per test run.
    static let images: Result<Void, Error> = {
        do {
            let result = try command(Support.fixtures + "/make-container-images.sh", [])
            guard result.status == 0 else { throw Failure(message: "make-container-images.sh: \(result.stderr.suffix(2000))") }
            return .success(())
        } catch { return .failure(error) }
    }()

    struct Failure: Error, CustomStringConvertible { var message: String; var description: String { message } }

    @discardableResult
    static func podman(_ arguments: [String]) throws -> Support.Result {
        try command("/usr/bin/podman", ["--runtime", "runc"] + arguments)
    }

    /// Runs a container engine's command with system(3), not Foundation's Process: `podman run -d` leaves conmon
    /// running, and Process's wait for podman then never ended here (podman stayed a zombie, unreaped, for as long
    /// as the container ran). system() waits for its own child with waitpid.
    static func command(_ executable: String, _ arguments: [String]) throws -> Support.Result {
        let out = NSTemporaryDirectory() + "cw-engine-\(UUID().uuidString)"
        defer { Support.remove(out); Support.remove(out + ".err") }
        let quoted = ([executable] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let line = "PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root " + quoted.joined(separator: " ") + " </dev/null >\(out) 2>\(out).err"
        let status = system(line)
        let code: Int32 = status == -1 ? -1 : (status >> 8) & 0xff
        return Support.Result(status: code, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                              stderr: (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? "")
    }

    /// A running container of `image`, named `name` (any older one of that name removed first).
    struct Running {
        let name: String
        let id: String
        let pid: Int32

        init(_ image: String, name: String, command: [String] = []) throws {
            try Containers.images.get()
            try Containers.podman(["rm", "-f", "-t", "0", name])
            let run = try Containers.podman(["run", "-d", "--name", name] + Containers.runOptions + [image] + command)
            try #require(run.status == 0, "podman run \(image): \(run.stderr)")
            id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            self.name = name
            let inspect = try Containers.podman(["inspect", "-f", "{{.State.Pid}}", name])
            pid = try #require(Int32(inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(inspect.stderr)")
        }

        func exec(_ command: [String]) throws -> Support.Result { try Containers.podman(["exec", name] + command) }

        func remove() { _ = try? Containers.podman(["rm", "-f", "-t", "0", name]) }
    }

    static func target(_ finding: [String: Any]) -> [String: Any] { finding["target"] as? [String: Any] ?? [:] }

    static func findings(_ document: [String: Any], in name: String) -> [[String: Any]] {
        Support.findings(document).filter { target($0)["name"] as? String == name }
    }

    static func evidence(_ finding: [String: Any]) -> [String: Any] { finding["evidence"] as? [String: Any] ?? [:] }
}

extension LiveSystemTests {
/// Issue 26: each running container is a target of its own, scanned as its own root with its own packages, and
/// every finding names it.
@Suite(.serialized) struct ContainerTests {
    static let xzImage = "localhost/chainwatch-xz:test"
    static let cleanImage = "localhost/chainwatch-clean:test"
    static let gotImage = "localhost/chainwatch-got:test"

    /// A container with the backdoored package installed and not loaded, beside a clean one: the host scan reads
    /// the container's dpkg database and its libraries at rest; findings name the container and image, with
    /// paths inside it; the clean container is listed with nothing above info.
    @Test func packageAndLibraryAtRestInAContainerAreFoundAndNamed() throws {
        let bad = try Containers.Running(Self.xzImage, name: "cw-test-xz")
        defer { bad.remove() }
        let clean = try Containers.Running(Self.cleanImage, name: "cw-test-clean")
        defer { clean.remove() }
        let (result, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        #expect(result.status == 1, "\(result.stderr)")

        let found = Containers.findings(document, in: bad.name)
        let package = try #require(found.first { $0["rule"] as? String == "xz-backdoor-pkg-debian" }, "\(found.map { $0["rule"] ?? "" })")
        #expect(package["severity"] as? String == "critical")
        #expect(Containers.evidence(package)["version"] as? String == "5.6.1-1")
        let target = Containers.target(package)
        #expect(target["kind"] as? String == "container")
        #expect(target["id"] as? String == bad.id)
        #expect(target["short_id"] as? String == String(bad.id.prefix(12)))
        #expect(target["runtime"] as? String == "podman")
        #expect(target["image"] as? String == Self.xzImage)
        #expect((target["image_id"] as? String)?.isEmpty == false)

        let signature = try #require(found.first { $0["rule"] as? String == "xz-backdoor-sig-openwall-detect-sh" })
        // The path inside the container, never a /proc/PID/root path that dies with the process.
        #expect(Containers.evidence(signature)["path"] as? String == "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1")
        #expect(Containers.evidence(signature)["package"] as? String == "liblzma5")
        #expect((Containers.evidence(signature)["seen_as"] as? [String]) == ["library directory"])
        for finding in Support.findings(document) {
            #expect((Containers.evidence(finding)["path"] as? String)?.hasPrefix("/proc/") != true, "\(finding)")
        }
        // Nothing about the bad image reaches the host's or the clean container's findings.
        #expect(Support.findings(document).filter { Containers.target($0)["kind"] as? String == "host" }
            .allSatisfy { $0["severity"] as? String == "info" })
        #expect(Containers.findings(document, in: clean.name).allSatisfy { $0["severity"] as? String == "info" })

        let targets = try #require(document["targets"] as? [[String: Any]])
        let names = targets.compactMap { ($0["target"] as? [String: Any])?["name"] as? String }
        #expect(names.contains(bad.name) && names.contains(clean.name), "\(names)")
        let cleanSummary = try #require(targets.first { ($0["target"] as? [String: Any])?["name"] as? String == clean.name })
        #expect((cleanSummary["packages"] as? Int ?? 0) > 50)
        #expect((cleanSummary["pids"] as? [Int]) == [Int(clean.pid)])

        // The text report: a heading per container, the finding under its container.
        let text = try Support.chainwatch(["--scan-now", "--rules", Support.hostRulesDirectory])
        let heading = try #require(text.stdout.range(of: "== container \(bad.name) (podman \(bad.id.prefix(12)), image \(Self.xzImage))"), "\(text.stdout.prefix(3000))")
        #expect(text.stdout[heading.upperBound...].contains("[xz-backdoor-pkg-debian]"))
    }

    /// A container whose fixture sshd had its RSA_public_decrypt GOT slot rewritten: critical, naming the
    /// container, image, pid and symbol, with the objects' paths inside the container.
    @Test func hookedSshdInAContainerIsCritical() throws {
        let container = try Containers.Running(Self.gotImage, name: "cw-test-got")
        defer { container.remove() }
        #expect(Support.waitUntil(10) { (try? Containers.podman(["logs", container.name]))?.stdout.contains("ready") == true })
        let (result, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        #expect(result.status == 1)
        let hook = try #require(Containers.findings(document, in: container.name).first { $0["rule"] as? String == "xz-backdoor-got-sshd-rsa" },
                                "\(Support.findings(document).map { $0["rule"] ?? "" }) \(document["skipped"] ?? "")")
        #expect(hook["severity"] as? String == "critical")
        let evidence = Containers.evidence(hook)
        #expect(evidence["pid"] as? Int == Int(container.pid))
        #expect(evidence["symbol"] as? String == "RSA_public_decrypt")
        #expect(evidence["path"] as? String == "/opt/chainwatch-got/sbin/sshd")
        #expect(evidence["points_to"] as? String == "/opt/chainwatch-got/lib/liblzma.so.5")
        #expect(evidence["expected"] as? String == "/opt/chainwatch-got/lib/libcrypto.so.3")
        #expect(Containers.target(hook)["image"] as? String == Self.gotImage)
    }

    /// Two containers of one image: the image's files are one read (the overlay's lower layer is the same file on
    /// the host); each container still has its own findings.
    @Test func containersOfOneImageShareTheirReads() throws {
        let first = try Containers.Running(Self.xzImage, name: "cw-test-xz-a")
        defer { first.remove() }
        let second = try Containers.Running(Self.xzImage, name: "cw-test-xz-b")
        defer { second.remove() }
        let (_, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        for name in [first.name, second.name] {
            #expect(Containers.findings(document, in: name).contains { $0["rule"] as? String == "xz-backdoor-sig-openwall-detect-sh" }, "\(name)")
        }
        // Same file, same read: the library's record in each container carries the layer file's facts.
        let hashes = Set(Support.findings(document).filter {
            $0["rule"] as? String == "xz-backdoor-sig-openwall-detect-sh"
                && [first.name, second.name].contains(Containers.target($0)["name"] as? String ?? "")
        }.compactMap { Containers.evidence($0)["sha256"] as? String })
        #expect(hashes.count == 1)
        // A file the container changed (its writable layer) is its own: read in that container only.
        let changed = try second.exec(["sh", "-c", "cp /usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1 /tmp/x && printf X >> /tmp/x && cat /tmp/x > /usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"])
        #expect(changed.status == 0, "\(changed.stderr)")
        let (_, after) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        let byName = Dictionary(Support.findings(after).filter { $0["rule"] as? String == "xz-backdoor-sig-openwall-detect-sh" }
            .compactMap { f in (Containers.target(f)["name"] as? String).map { ($0, Containers.evidence(f)["sha256"] as? String ?? "") } },
                                uniquingKeysWith: { a, _ in a })
        // (Only these two: other containers of the image may run on a shared machine.)
        #expect(byName[first.name] != nil && byName[second.name] != nil && byName[first.name] != byName[second.name], "\(byName)")
        // Its package says otherwise: the changed file is modified in the second container only.
        let modified = Support.findings(after).filter { ($0["evidence"] as? [String: Any])?["integrity"] as? String == "modified" }
            .compactMap { Containers.target($0)["name"] as? String }
        #expect(modified.contains(second.name) && !modified.contains(first.name), "\(modified)")
        // A package database changed in one container is that container's: the image's parsed once is not reused.
        let downgraded = try second.exec(["sed", "-i", "s/^Version: 5.6.1-1$/Version: 5.4.1-1/", "/var/lib/dpkg/status"])
        #expect(downgraded.status == 0, "\(downgraded.stderr)")
        let (_, third) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        let packageFindings = Support.findings(third).filter { $0["rule"] as? String == "xz-backdoor-pkg-debian" }
            .compactMap { Containers.target($0)["name"] as? String }
        #expect(packageFindings.contains(first.name) && !packageFindings.contains(second.name), "\(packageFindings)")
    }

    /// A container whose loader directory holds symlinks to host files: absolute links resolve inside the
    /// container, `..` stops at its root; nothing of the host's is read or reported as the container's.
    @Test func symlinksInAContainerNeverLeadToTheHost() throws {
        let container = try Containers.Running(Self.cleanImage, name: "cw-test-links")
        defer { container.remove() }
        let planted = try container.exec(["sh", "-c", """
            cd /usr/lib/x86_64-linux-gnu && ln -s /etc/shadow libshadow.so.1 && ln -s ../../../../../../../../etc/shadow libup.so.1 \
            && ln -s /proc/1/root/etc/shadow libproc.so.1 && echo 'container-own-shadow' > /etc/shadow
            """])
        #expect(planted.status == 0, "\(planted.stderr)")
        let hostShadow = try Support.run("/usr/bin/sha256sum", ["/etc/shadow"]).stdout.prefix(64)
        let (result, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        #expect(!result.stdout.contains(String(hostShadow)), "the host's /etc/shadow was read as the container's")
        let report = try Support.chainwatch(["--scan-now", "--format", "cyclonedx", "--rules", Support.hostRulesDirectory])
        #expect(!report.stdout.contains(String(hostShadow)))
        #expect(Containers.findings(document, in: container.name).allSatisfy { $0["severity"] as? String == "info" })
    }

    /// A container whose every process chrooted into an empty directory: its root is still the container's (the
    /// namespace's root, found by walking up from the chroot), and the library at rest there is found.
    @Test func chrootInsideAContainerDoesNotHideItsRoot() throws {
        let container = try Containers.Running(Self.xzImage, name: "cw-test-chrooted",
                                               command: ["perl", "-e", #"mkdir "/e"; chroot("/e") or die; chdir("/"); sleep 100000"#])
        defer { container.remove() }
        let (_, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        let rules = Containers.findings(document, in: container.name).compactMap { $0["rule"] as? String }
        #expect(rules.contains("xz-backdoor-sig-openwall-detect-sh") && rules.contains("xz-backdoor-pkg-debian"), "\(rules)")
    }

    /// A loader directory whose real path is longer than PATH_MAX (a symlink into a deep tree): it cannot be
    /// listed by path, and the scan says so (incomplete, naming it) instead of passing it over.
    @Test func aLoaderDirectoryPastPathMaxIsASkipNotASilence() throws {
        let container = try Containers.Running(Self.cleanImage, name: "cw-test-deep")
        defer { container.remove() }
        let name = String(repeating: "d", count: 250)
        // Built one directory at a time, and reached through two symlinks of ~2.3 KB each (no single path a tool
        // is given is past PATH_MAX; the resolved path is ~4.5 KB).
        let moved = try container.exec(["/bin/bash", "-c", """
            set -e; mkdir /q; cd /q; for i in $(seq 18); do mkdir \(name); cd \(name); [ $i = 9 ] && pwd > /tmp/nine; done
            cp -a /usr/lib/x86_64-linux-gnu/libz.so.1* .; cd $(cat /tmp/nine); ln -s $(printf '\(name)/%.0s' $(seq 9)) n
            rm -rf /usr/local/lib; ln -s $(cat /tmp/nine)/n /usr/local/lib; ls /usr/local/lib/libz.so.1
            """])
        #expect(moved.status == 0, "\(moved.stderr)")
        let (_, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        let skips = (document["skipped"] as? [[String: Any]] ?? []).filter { ($0["target"] as? String)?.contains(container.name) == true }
        #expect(skips.contains { ($0["subject"] as? String) == "/usr/local/lib" && ($0["code"] as? String) == "unreadable" }, "\(skips)")
        #expect((document["verdict"] as? [String: Any])?["complete"] as? Bool == false)
    }

    /// A process chrooted into a directory on the host: its paths are the host's, shown once, never
    /// /proc/PID/root followed by the chroot's own host path.
    @Test func chrootedProcessPathsAreHostPaths() throws {
        let (work, library, mapsLib) = try LiveSystemTests.VerdictTests.canary("libchrooted.so.1")
        defer { Support.remove(work) }
        // A root for the chroot: the image's files (libc for maps-lib) copied out of a clean container's root.
        let container = try Containers.Running(Self.cleanImage, name: "cw-test-chroot-src")
        let jail = work + "/jail"
        try FileManager.default.createDirectory(atPath: jail, withIntermediateDirectories: true)
        let copy = try Support.run("/bin/sh", ["-c", "cd /proc/\(container.pid)/root && tar -c usr/lib usr/lib64 lib lib64 etc/ld.so.cache 2>/dev/null | tar -x -C \(jail)"])
        container.remove()
        #expect(copy.status == 0, "\(copy.stderr)")
        try FileManager.default.copyItem(atPath: mapsLib, toPath: jail + "/maps-lib")
        try FileManager.default.copyItem(atPath: library, toPath: jail + "/libchrooted.so.1")
        let jailed = try Support.Background("/usr/sbin/chroot", [jail, "/maps-lib", "/libchrooted.so.1"], stderrPath: work + "/jailed.err")
        defer { jailed.stop() }
        #expect(jailed.waitForLine() == "ready", "\(Support.text(work + "/jailed.err"))")
        let (_, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        let hits = Support.findings(document).filter { $0["rule"] as? String == LiveSystemTests.VerdictTests.signatureRule }
            .compactMap { Containers.evidence($0)["path"] as? String }
        #expect(hits.contains(jail + "/libchrooted.so.1"), "\(hits)")
        #expect(!hits.contains { $0.hasPrefix("/proc/") }, "\(hits)")
    }

    /// Docker end to end: dockerd (started here when none runs, as `dockerd --iptables=false --ip6tables=false
    /// --bridge=none`), the image imported with `docker import`, a container in cgroup /docker/<id>: found, named
    /// from config.v2.json, scanned in its own root.
    @Test func dockerContainerIsScannedAndNamed() throws {
        // Started detached (its own pid file), stopped at the end when this test started it.
        let pidFile = NSTemporaryDirectory() + "cw-test-dockerd.pid"
        var started = false
        defer { if started { _ = try? Containers.command("/bin/sh", ["-c", "kill $(cat \(pidFile)); rm -f \(pidFile)"]) } }
        if (try? Containers.command("/usr/local/bin/docker", ["info"]))?.status != 0
            && (try? Containers.command("/usr/bin/docker", ["info"]))?.status != 0 {
            let start = try Containers.command("/bin/sh", ["-c", "setsid /usr/sbin/dockerd --iptables=false --ip6tables=false --bridge=none --pidfile \(pidFile) >/tmp/cw-test-dockerd.log 2>&1 &"])
            try #require(start.status == 0)
            started = true
        }
        let docker = FileManager.default.isExecutableFile(atPath: "/usr/bin/docker") ? "/usr/bin/docker" : "/usr/local/bin/docker"
        #expect(Support.waitUntil(60) { (try? Containers.command(docker, ["info"]))?.status == 0 },
                "dockerd did not start")
        try Containers.images.get()
        let imported = try Containers.command(Support.fixtures + "/make-container-images.sh", ["--docker"])
        try #require(imported.status == 0 && imported.stdout.contains("docker:\(Self.xzImage)"), "\(imported.stderr.suffix(1500))")
        let name = "cw-test-docker-xz"
        _ = try Containers.command(docker, ["rm", "-f", name])
        let run = try Containers.command(docker, ["run", "-d", "--name", name] + Containers.runOptions + [Self.xzImage, "sleep", "infinity"])
        defer { _ = try? Containers.command(docker, ["rm", "-f", name]) }
        try #require(run.status == 0, "\(run.stderr)")
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let (_, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        let package = try #require(Containers.findings(document, in: name).first { $0["rule"] as? String == "xz-backdoor-pkg-debian" },
                                   "\(Support.findings(document).map { Containers.target($0) })")
        let target = Containers.target(package)
        #expect(target["runtime"] as? String == "docker")
        #expect(target["id"] as? String == id)
        #expect(target["image"] as? String == Self.xzImage)
        #expect((target["image_id"] as? String)?.hasPrefix("sha256:") == true)
    }

    /// containerd end to end: Debian's containerd started here (state in /run/containerd, as the package keeps it),
    /// the image imported with `ctr image import` from a docker-archive, a task started with `ctr run` under a
    /// 64-hex id (ctr puts it in cgroup /<namespace>/<id>): scanned in its own root, named by runtime and id.
    @Test func containerdTaskIsScannedAndNamed() throws {
        try Containers.images.get()
        let work = try Support.temporaryDirectory("containerd")
        defer { Support.remove(work) }
        let socket = "/run/containerd/containerd.sock"
        var started = false
        defer {
            if started { _ = try? Containers.command("/bin/sh", ["-c", "kill $(cat \(work)/containerd.pid) 2>/dev/null; sleep 1"]) }
        }
        if (try? Containers.command("/usr/bin/ctr", ["--address", socket, "version"]))?.status != 0 {
            let start = try Containers.command("/bin/sh", ["-c", "setsid /usr/bin/containerd >\(work)/containerd.log 2>&1 & echo $! > \(work)/containerd.pid"])
            try #require(start.status == 0)
            started = true
        }
        #expect(Support.waitUntil(30) { (try? Containers.command("/usr/bin/ctr", ["--address", socket, "version"]))?.status == 0 },
                "containerd did not start: \(Support.text(work + "/containerd.log").suffix(1500))")
        let ctr = ["--address", socket, "--namespace", "chainwatch-test"]
        let archive = work + "/xz.tar"
        let saved = try Containers.podman(["save", "--format", "docker-archive", "-o", archive, Self.xzImage])
        try #require(saved.status == 0, "\(saved.stderr)")
        let imported = try Containers.command("/usr/bin/ctr", ctr + ["image", "import", archive])
        try #require(imported.status == 0, "\(imported.stderr)")
        let id = String(repeating: "c0ffee", count: 11).prefix(64)
        let remove = { _ = try? Containers.command("/bin/sh", ["-c", "ctr --address \(socket) -n chainwatch-test task kill -s KILL \(id); sleep 1; ctr --address \(socket) -n chainwatch-test container rm \(id)"]) }
        remove()
        defer { remove() }
        let run = try Containers.command("/usr/bin/ctr", ctr + ["run", "-d", Self.xzImage, String(id), "sleep", "infinity"])
        try #require(run.status == 0, "\(run.stderr)")
        let (_, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        let package = try #require(Support.findings(document).first {
            $0["rule"] as? String == "xz-backdoor-pkg-debian" && Containers.target($0)["id"] as? String == String(id)
        }, "\(Support.findings(document).map { Containers.target($0) })")
        let target = Containers.target(package)
        #expect(target["runtime"] as? String == "containerd")
        #expect(target["short_id"] as? String == String(id.prefix(12)))
        #expect(Containers.evidence(Support.findings(document).first {
            $0["rule"] as? String == "xz-backdoor-sig-openwall-detect-sh" && Containers.target($0)["id"] as? String == String(id)
        } ?? [:])["path"] as? String == "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1")
    }

    /// A container named like a podman pod's infra container (anyone who runs containers can choose the name) that
    /// runs something else than a pause program is scanned like any other, not left out as a sandbox.
    @Test func aContainerNamedLikeASandboxIsStillScanned() throws {
        let container = try Containers.Running(Self.xzImage, name: "abcdef012345-infra")
        defer { container.remove() }
        let (_, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory])
        let rules = Containers.findings(document, in: container.name).compactMap { $0["rule"] as? String }
        #expect(rules.contains("xz-backdoor-pkg-debian"), "\(rules) \(document["notes"] ?? "")")
    }

    /// More containers than a scan looks at: each one over the limit is a `limit` skip naming it, and the verdict
    /// is incomplete, never clean. A container every process of which exits before its root is read is an
    /// `exited` skip naming it.
    @Test func containersOverTheLimitAreNamedSkips() throws {
        let first = try Containers.Running(Self.cleanImage, name: "cw-test-limit-a")
        defer { first.remove() }
        let second = try Containers.Running(Self.cleanImage, name: "cw-test-limit-b")
        defer { second.remove() }
        var options = ScanOptions()
        options.maximumContainers = 1
        let report = Engine.Scanner(rules: try RuleLoader.load(from: [Support.hostRulesDirectory]), options: options).run()
        let limited = report.skipped.filter { $0.code == .limit && $0.subject.hasPrefix("container ") }
        #expect(limited.count >= 1, "\(report.skipped)")
        #expect(report.targets.count == 2, "\(report.targets.map(\.target.label))")
        #expect(report.isIncomplete)
        #expect(report.incompleteReasons.contains { $0.contains("over the limit of 1 containers") }, "\(report.incompleteReasons)")
    }

    /// The daemon with the real journald: container findings carry CHAINWATCH_CONTAINER_* fields, and a container
    /// recreated under its name (new id, new pid) is the same problem: no "cleared", no second "new".
    @Test func daemonJournalsContainerFieldsAndDoesNotRealertOnRestart() throws {
        let setup = try LiveSystemTests.DaemonTests.Setup()
        defer { Support.remove(setup.work) }
        var container = try Containers.Running(Self.xzImage, name: "cw-test-daemon-xz")
        defer { container.remove() }
        let daemon = try setup.startDaemon()
        defer { daemon.stop() }
        let alert = try #require(try setup.sandbox.waitFor(90) {
            $0["CHAINWATCH_RULE"] as? String == "xz-backdoor-pkg-debian" && $0["CHAINWATCH_CONTAINER_NAME"] as? String == container.name
        }, "no container alert; daemon stderr: \(setup.daemonStderr())")
        #expect(alert["CHAINWATCH_EVENT"] as? String == "new")
        #expect(alert["CHAINWATCH_CONTAINER_ID"] as? String == container.id)
        #expect(alert["CHAINWATCH_CONTAINER_IMAGE"] as? String == Self.xzImage)
        #expect(alert["CHAINWATCH_CONTAINER_RUNTIME"] as? String == "podman")
        #expect(alert["CHAINWATCH_TARGET"] as? String == "container")
        #expect((alert["MESSAGE"] as? String)?.contains("container=\"\(container.name)\"") == true)

        // Recreated: another id and pid, the same name and image.
        container.remove()
        container = try Containers.Running(Self.xzImage, name: "cw-test-daemon-xz")
        let before = try setup.summaries()
        #expect(try setup.waitForSummaries(atLeast: before + 3, timeout: 120))
        let events = try setup.sandbox.entries().filter { $0["CHAINWATCH_CONTAINER_NAME"] as? String == container.name }
        let recreated = events.filter { $0["CHAINWATCH_CONTAINER_ID"] as? String == container.id }
        #expect(try setup.sandbox.entries().filter {
            $0["MESSAGE_ID"] as? String == JournalEntries.clearedMessageID && $0["CHAINWATCH_CONTAINER_NAME"] as? String == container.name
        }.isEmpty, "a restart cleared the container's findings")
        #expect(events.filter { $0["CHAINWATCH_RULE"] as? String == "xz-backdoor-pkg-debian" && $0["CHAINWATCH_EVENT"] as? String == "new" }.count == 1,
                "\(events.map { ($0["CHAINWATCH_EVENT"] ?? "", $0["CHAINWATCH_RULE"] ?? "") })")
        #expect(recreated.allSatisfy { $0["CHAINWATCH_EVENT"] as? String != "new" })
    }
}
}

/// The daemon's memory of container findings: keyed by the container's name (or image), never its id or pid.
@Suite struct ContainerAlertTests {
    static func inContainer(id: String, name: String?, image: String? = "localhost/app:1", pid: Int32) -> Finding {
        var finding = DaemonUnitTests.finding("/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1", pids: [pid])
        finding.target = ScanTarget.container(ContainerReference(runtime: .podman, id: id), metadata: ContainerMetadata(name: name, image: image))
        return finding
    }

    static let first = String(repeating: "a", count: 64), second = String(repeating: "b", count: 64)

    /// Names from a container reach the JSON report with their bidi and C1 characters as \\u escapes.
    @Test func jsonEscapesCharactersThatReorderText() throws {
        var finding = Self.inContainer(id: Self.first, name: "web\u{202E}gnp.exe", pid: 1)
        finding.evidence.path = "/usr/lib/lib\u{9B}x.so\u{2028}"
        var report = ScanReport(scanID: "s", root: "/", startedAt: 0, findings: [finding], skipped: [], notes: [],
                                statistics: ScanStatistics(), programs: [])
        report.targets = [TargetSummary(target: ScanTarget(kind: .host)), TargetSummary(target: finding.target!)]
        let json = try JSONReporter().render(report)
        #expect(!json.unicodeScalars.contains { [0x202E, 0x9B, 0x2028].contains($0.value) })
        #expect(json.contains(#"web\u202Egnp.exe"#) && json.contains(#"lib\u009Bx.so\u2028"#))
        let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(((decoded?["findings"] as? [[String: Any]])?.first?["target"] as? [String: Any])?["name"] as? String == "web\u{202E}gnp.exe")
    }

    @Test func recreatedContainerIsTheSameFinding() {
        var state = AlertState()
        let before = Self.inContainer(id: Self.first, name: "web", pid: 10)
        #expect(AlertPlanner.plan(&state, findings: [before], now: 0, reminder: 1000).map(\.name) == ["new"])
        let after = Self.inContainer(id: Self.second, name: "web", pid: 20)
        #expect(before.key == after.key)
        #expect(AlertPlanner.plan(&state, findings: [after], now: 10, reminder: 1000).isEmpty)
        // Unnamed containers are keyed by image; containers of another name are other findings.
        #expect(Self.inContainer(id: Self.first, name: nil, pid: 1).key == Self.inContainer(id: Self.second, name: nil, pid: 2).key)
        #expect(Self.inContainer(id: Self.first, name: "db", pid: 1).key != before.key)
        // The host's key is what it was before containers.
        #expect(DaemonUnitTests.finding("/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1").key.hasPrefix("r|"))
    }

    @Test func aContainerMissingFromAScanKeepsItsFindingsForTheGrace() {
        var state = AlertState()
        let finding = Self.inContainer(id: Self.first, name: "web", pid: 10)
        let web = finding.target!.stableKey
        _ = AlertPlanner.plan(&state, findings: [finding], now: 0, reminder: 1000, scannedTargets: ["host", web], containerGrace: 30)
        // Restarting: not in this scan at all.
        #expect(AlertPlanner.plan(&state, findings: [], now: 10, reminder: 1000, scannedTargets: ["host"], containerGrace: 30).isEmpty)
        // Gone for longer than the grace: cleared.
        #expect(AlertPlanner.plan(&state, findings: [], now: 45, reminder: 1000, scannedTargets: ["host"], containerGrace: 30).map(\.name) == ["cleared"])
        // Scanned and no longer found: cleared at once.
        _ = AlertPlanner.plan(&state, findings: [finding], now: 50, reminder: 1000, scannedTargets: ["host", web], containerGrace: 30)
        #expect(AlertPlanner.plan(&state, findings: [], now: 51, reminder: 1000, scannedTargets: ["host", web], containerGrace: 30).map(\.name) == ["cleared"])
    }
}
