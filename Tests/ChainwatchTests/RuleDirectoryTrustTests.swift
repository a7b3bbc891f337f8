import Foundation
import Testing
@testable import Daemon
import Rules

/// As root, rules are read only from a path no other user can change: the rules directory and every directory
/// above it root's and not writable by group or others (a root-owned sticky directory such as /tmp is accepted
/// above), every symlink on the way root's. With the built binary: --check-rules and --scan-now exit 2 naming the
/// directory and what to do.
@Suite struct RuleDirectoryTrustTests {
    /// WORK/PARENT/rules: a copy of one shipped rule file, root's, 0755 and 0644.
    static func rulesUnder(_ work: String, parent: String = "parent") throws -> String {
        let rules = work + "/" + parent + "/rules"
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        #expect(chmod(work + "/" + parent, 0o755) == 0)
        try FileManager.default.copyItem(atPath: Support.rulesDirectory + "/cve-2024-3094/hashes.yaml", toPath: rules + "/hashes.yaml")
        #expect(chmod(rules + "/hashes.yaml", 0o644) == 0)
        return rules
    }

    static func requireRoot() throws {
        try #require(getuid() == 0, "the trust checks apply when chainwatch runs as root")
    }

    @Test func aRulesDirectoryInAProperlyOwnedTreeLoads() throws {
        try Self.requireRoot()
        let work = try Support.temporaryDirectory("trust-ok")
        defer { Support.remove(work) }
        let rules = try Self.rulesUnder(work)
        let result = try Support.builtChainwatch(["--check-rules", rules])
        #expect(result.status == 0, "\(result.stderr)")
        // A root-owned sticky directory above (as /tmp is) is fine: nobody else can rename what root put in it.
        let sticky = try Self.rulesUnder(work, parent: "sticky")
        #expect(chmod(work + "/sticky", 0o1777) == 0)
        #expect(try Support.builtChainwatch(["--check-rules", sticky]).status == 0)
        // ... and a root-owned symlink on the way.
        #expect(symlink(rules, work + "/link") == 0)
        #expect(try Support.builtChainwatch(["--check-rules", work + "/link"]).status == 0)
    }

    @Test func aRulesDirectoryReachedThroughASymlinkAnotherUserOwnsIsRefused() throws {
        try Self.requireRoot()
        let work = try Support.temporaryDirectory("trust-link")
        defer { Support.remove(work) }
        let rules = try Self.rulesUnder(work)
        let link = work + "/rules-link"
        #expect(symlink(rules, link) == 0)
        #expect(lchown(link, 65534, 65534) == 0)
        for arguments in [["--check-rules", link], ["--scan-now", "--no-processes", "--no-library-dirs", "--rules", link]] {
            let result = try Support.builtChainwatch(arguments)
            #expect(result.status == 2, "\(arguments[0]): \(result.stdout.prefix(200)) \(result.stderr)")
            #expect(result.stderr.contains("symlink \(link), which uid 65534 owns"), "\(result.stderr)")
            #expect(result.stderr.contains("chown -h root \(link)"), "says what to do: \(result.stderr)")
        }
        // A symlink further up the way counts as much.
        let up = work + "/up-link"
        #expect(symlink(work + "/parent", up) == 0)
        #expect(lchown(up, 65534, 65534) == 0)
        #expect(try Support.builtChainwatch(["--check-rules", up + "/rules"]).stderr.contains("which uid 65534 owns"))
    }

    @Test(arguments: [(0o777, uid_t(0), "writable by group or others (mode 777)", "chmod go-w"),
                      (0o775, uid_t(0), "writable by group or others (mode 775)", "chmod go-w"),
                      (0o755, uid_t(65534), "owned by uid 65534, not root", "chown root")])
    func aDirectoryAboveTheRulesThatAnotherUserCanWriteIsRefused(_ mode: Int, _ owner: uid_t, _ problem: String, _ fix: String) throws {
        try Self.requireRoot()
        let work = try Support.temporaryDirectory("trust-parent")
        defer { Support.remove(work) }
        let rules = try Self.rulesUnder(work)
        let parent = work + "/parent"
        #expect(chmod(parent, mode_t(mode)) == 0 && chown(parent, owner, 0) == 0)
        let result = try Support.builtChainwatch(["--check-rules", rules])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(parent), a directory above the rules, is \(problem)"), "\(result.stderr)")
        #expect(result.stderr.contains("\(fix) \(parent)"), "says what to do: \(result.stderr)")
    }

    @Test func theWalkFollowsRelativeSymlinksAndDotDot() throws {
        try Self.requireRoot()
        let work = try Support.temporaryDirectory("trust-walk")
        defer { Support.remove(work) }
        let rules = try Self.rulesUnder(work)
        try FileManager.default.createDirectory(atPath: work + "/open", withIntermediateDirectories: true)
        #expect(chmod(work + "/open", 0o777) == 0)
        // ../parent/rules from a directory anyone can write: the way passes through it.
        #expect(RuleLoader.pathTrustProblem(work + "/open/../parent/rules")?.contains("\(work)/open, a directory above") == true)
        #expect(symlink("../parent/rules", work + "/open/relative") == 0)
        #expect(RuleLoader.pathTrustProblem(work + "/open/relative")?.contains("\(work)/open, a directory above") == true)
        #expect(symlink("parent/rules", work + "/relative") == 0)
        #expect(RuleLoader.pathTrustProblem(work + "/relative") == nil)
        #expect(RuleLoader.pathTrustProblem(rules) == nil)
    }
}

extension LiveSystemTests {
/// The daemon, told to reload (SIGHUP) after a directory above its rules became writable by others, keeps the
/// rules it has and says why in the journal.
@Suite(.serialized) struct RuleDirectoryTrustDaemonTests {
    @Test func aReloadFromAnUntrustedWayKeepsThePreviousRules() throws {
        try RuleDirectoryTrustTests.requireRoot()
        let setup = try DaemonTests.Setup()
        defer { Support.remove(setup.work) }
        let rules = try RuleDirectoryTrustTests.rulesUnder(setup.work)
        let daemon = try Support.Background("/usr/bin/nsenter", setup.sandbox.inside([
            Support.builtBinary, "--config", setup.config, "--rules", rules, "--state-dir", setup.work + "/state",
        ]), environment: ["PATH": "/usr/bin:/bin"], stderrPath: setup.work + "/daemon.err")
        defer { daemon.stop() }
        #expect(try setup.waitForSummaries(atLeast: 1), "stderr: \(setup.daemonStderr())")
        #expect(chmod(setup.work + "/parent", 0o777) == 0)
        daemon.signal(SIGHUP)
        let error = try setup.sandbox.waitFor(30) { $0["MESSAGE_ID"] as? String == JournalEntries.rulesErrorMessageID }
        let text = error?["CHAINWATCH_RULES_ERROR"] as? String ?? ""
        #expect(text.contains("\(setup.work)/parent, a directory above the rules, is writable by group or others"), "\(String(describing: error))")
        #expect((error?["MESSAGE"] as? String)?.contains("still running the previous") == true)
        #expect(try setup.sandbox.entries().filter { $0["CHAINWATCH_DAEMON"] as? String == "reloaded" }.isEmpty)
        let after = try setup.summaries()
        #expect(try setup.waitForSummaries(atLeast: after + 1), "scanning stopped after the refused reload")
    }
}
}
