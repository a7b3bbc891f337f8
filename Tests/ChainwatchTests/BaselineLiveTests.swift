import Foundation
import Testing
@testable import Daemon

extension LiveSystemTests {
/// Drift on this host, with the daemon and the real journald: code running that the baseline does not approve is
/// high with its pid when a root process maps it and medium when only another user's does; the alerts clear once
/// a new baseline approves it; a baseline replaced by one that is refused leaves the approved one in force.
@Suite(.serialized) struct BaselineLiveTests {
    @Test func theDaemonAlertsOnUnapprovedCodeAndClearsWhenItIsApproved() throws {
        let setup = try DaemonTests.Setup()
        defer { Support.remove(setup.work) }
        // Two benign libraries built now, so no baseline written before can know them.
        let packages = setup.work + "/drift"
        try #require(try Support.run(Support.fixtures + "/make-drift-packages.sh", [packages, "deb"]).status == 0)
        let rootLibrary = setup.work + "/libdrift-root.so.1", userLibrary = setup.work + "/libdrift-user.so.1"
        try FileManager.default.copyItem(atPath: packages + "/libclean.so.1.rebuilt", toPath: rootLibrary)
        try #require(try Support.run("/usr/bin/dpkg-deb", ["-x", packages + "/libextra1_1.0-1_amd64.deb", packages + "/extra"]).status == 0)
        try FileManager.default.copyItem(atPath: packages + "/extra/usr/lib/x86_64-linux-gnu/libextra.so.1", toPath: userLibrary)

        let baseline = setup.work + "/baseline.json"
        func approve() throws {
            let result = try Support.run(Support.builtBinary, ["scan", "--rules", Support.hostRulesDirectory, "--no-library-dirs",
                                                               "--write-baseline", baseline])
            try #require(result.stderr.contains("wrote baseline"), "\(result.stderr)")
        }
        try approve()
        let daemon = try setup.startDaemon(options: ["--baseline", baseline])
        defer { daemon.stop() }
        let rootVictim = try Support.Background(setup.mapsLib, [rootLibrary])
        defer { rootVictim.stop() }
        try #require(rootVictim.waitForLine() == "ready")
        let userVictim = try Support.Background("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", setup.mapsLib, userLibrary])
        defer { userVictim.stop() }
        try #require(userVictim.waitForLine() == "ready")

        let high = try #require(try setup.sandbox.waitFor(120) {
            $0["CHAINWATCH_RULE"] as? String == "baseline-unapproved-code-privileged" && $0["CHAINWATCH_PATH"] as? String == rootLibrary
        }, "no drift alert for the root process; daemon stderr: \(setup.daemonStderr())")
        #expect(high["CHAINWATCH_EVENT"] as? String == "new")
        #expect(high["CHAINWATCH_SEVERITY"] as? String == "high")
        #expect(high["PRIORITY"] as? String == "3")
        #expect(high["CHAINWATCH_PID"] as? String == String(rootVictim.pid))
        #expect(high["CHAINWATCH_BASELINE"] as? String == baseline)
        #expect((high["CHAINWATCH_DETAIL"] as? String)?.contains("pid \(rootVictim.pid) (maps-lib, root)") == true, "\(high)")
        let medium = try #require(try setup.sandbox.waitFor(60) {
            $0["CHAINWATCH_RULE"] as? String == "baseline-unapproved-code" && $0["CHAINWATCH_PATH"] as? String == userLibrary
        }, "no drift alert for nobody's process")
        #expect(medium["CHAINWATCH_SEVERITY"] as? String == "medium")
        #expect((medium["CHAINWATCH_PIDS"] as? String)?.split(separator: " ").contains { Int32($0) != nil } == true)
        #expect(try setup.sandbox.entries().allSatisfy {
            !($0["CHAINWATCH_RULE"] as? String == "baseline-unapproved-code-privileged" && $0["CHAINWATCH_PATH"] as? String == userLibrary)
        }, "a library only nobody's process maps is not the high rule's")

        // Approved: a new baseline written while they run. The daemon reads it before its next scan and clears both.
        try approve()
        #expect(try setup.sandbox.waitFor(120) { $0["CHAINWATCH_DAEMON"] as? String == "baseline-loaded" } != nil,
                "the new baseline was not read; daemon stderr: \(setup.daemonStderr())")
        for (rule, path) in [("baseline-unapproved-code-privileged", rootLibrary), ("baseline-unapproved-code", userLibrary)] {
            let cleared = try setup.sandbox.waitFor(120) {
                $0["MESSAGE_ID"] as? String == JournalEntries.clearedMessageID && $0["CHAINWATCH_RULE"] as? String == rule
                    && $0["CHAINWATCH_PATH"] as? String == path
            }
            #expect(cleared?["CHAINWATCH_EVENT"] as? String == "cleared", "\(rule) did not clear")
        }

        // A replacement that is refused: an error entry, and the approved baseline stays in force (no new alert).
        try "not a baseline\n".write(toFile: baseline, atomically: true, encoding: .utf8)
        let refused = try #require(try setup.sandbox.waitFor(60) { $0["MESSAGE_ID"] as? String == JournalEntries.baselineErrorMessageID })
        #expect((refused["CHAINWATCH_BASELINE_ERROR"] as? String)?.contains("not a CycloneDX JSON document") == true, "\(refused)")
        #expect((refused["MESSAGE"] as? String)?.contains("still judging drift against the previous baseline") == true)
        let before = try setup.summaries()
        #expect(try setup.waitForSummaries(atLeast: before + 1, timeout: 120))
        let news = try setup.sandbox.entries().filter {
            $0["CHAINWATCH_RULE"] as? String == "baseline-unapproved-code-privileged" && $0["CHAINWATCH_PATH"] as? String == rootLibrary
                && $0["CHAINWATCH_EVENT"] as? String == "new"
        }
        #expect(news.count == 1, "a refused baseline must not undo the approval")
    }

    /// Each running container is compared with its own approved state, found by its name: a package installed in
    /// one with its own dpkg is drift named with that container (and not the host's), and a container started after
    /// the baseline was written is one finding, not a flood of every package in it.
    @Test func eachContainerHasItsOwnApprovedState() throws {
        let work = try Support.temporaryDirectory("baseline-containers")
        defer { Support.remove(work) }
        try #require(try Support.run(Support.fixtures + "/make-drift-packages.sh", [work + "/drift", "deb"]).status == 0)
        let approved = try Containers.Running(ContainerTests.cleanImage, name: "cw-test-baseline")
        defer { approved.remove() }
        let baseline = work + "/baseline.json"
        let written = try Support.run(Support.builtBinary, ["scan", "--rules", Support.hostRulesDirectory, "--no-library-dirs", "--write-baseline", baseline])
        try #require(written.stderr.contains("wrote baseline"), "\(written.stderr)")
        #expect(try String(contentsOfFile: baseline, encoding: .utf8).contains("container:name:cw-test-baseline"))

        try #require(try Containers.podman(["cp", work + "/drift/libextra1_1.0-1_amd64.deb", "cw-test-baseline:/tmp/extra.deb"]).status == 0)
        let installed = try approved.exec(["dpkg", "-i", "/tmp/extra.deb"])
        try #require(installed.status == 0, "\(installed.stderr)")
        let newcomer = try Containers.Running(ContainerTests.cleanImage, name: "cw-test-unapproved")
        defer { newcomer.remove() }

        let (_, document) = try Support.scanJSON(["--rules", Support.hostRulesDirectory, "--no-library-dirs", "--baseline", baseline])
        let drift = Support.findings(document).filter {
            guard let rule = $0["rule"] as? String else { return false }
            return rule.hasPrefix("baseline-package") || rule == "baseline-container-not-approved"
        }
        let described = drift.map { "\($0["rule"]!) \(Containers.target($0)["name"] ?? "host") \(Containers.evidence($0)["package"] ?? "")" }.sorted()
        #expect(described == ["baseline-container-not-approved cw-test-unapproved ", "baseline-package-added cw-test-baseline libextra1"],
                "\(described)")
        let added = try #require(drift.first { $0["rule"] as? String == "baseline-package-added" })
        #expect(Containers.target(added)["image"] as? String == ContainerTests.cleanImage)
    }
}
}
