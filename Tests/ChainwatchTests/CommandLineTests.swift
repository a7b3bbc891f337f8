import Foundation
import Rules
import Testing

extension LiveSystemTests {
/// The command line end to end, with the built binary: each command, each alias of earlier releases, each misuse.
@Suite(.serialized) struct CommandLineTests {
    static func run(_ arguments: [String]) throws -> Support.Result {
        try Support.run(Support.builtBinary, arguments)
    }

    /// A misuse: exit 2, exactly one error line (naming the command it was said to) and one hint, nothing on stdout.
    func expectMisuse(_ arguments: [String], says expected: String, notSays unwanted: String? = nil,
                      sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let result = try Self.run(arguments)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(result.status == 2, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(lines.count == 2, "\(arguments): one error and one hint, got:\n\(result.stderr)", sourceLocation: sourceLocation)
        #expect(lines.first?.hasPrefix("chainwatch") == true, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(lines.first?.contains(expected) == true, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(lines.last?.hasPrefix("Hint: ") == true, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        if let unwanted { #expect(!result.stderr.contains(unwanted), "\(arguments): \(result.stderr)", sourceLocation: sourceLocation) }
        #expect(result.stdout.isEmpty, "\(arguments): \(result.stdout)", sourceLocation: sourceLocation)
    }

    @Test func unknownOptionsAreOneErrorWithASensibleSuggestion() throws {
        // Without a command this is the daemon; --bogus is near no option, so nothing is suggested (it was --jobs).
        try expectMisuse(["--bogus"], says: "chainwatch daemon: unknown option --bogus", notSays: "--jobs")
        try expectMisuse(["scan", "--bogus"], says: "chainwatch scan: unknown option --bogus", notSays: "did you mean")
        try expectMisuse(["scan", "--verbos"], says: "unknown option --verbos")
        #expect(try Self.run(["scan", "--verbos"]).stderr.contains("did you mean --verbose?"))
        try expectMisuse(["scna"], says: "unknown command scna")
        #expect(try Self.run(["scna"]).stderr.contains("did you mean scan?"))
        try expectMisuse(["rules", "chek", "x"], says: "chainwatch rules")
        // `rules` alone names no job: a misuse, not a help page that exits 0.
        try expectMisuse(["rules"], says: "chainwatch rules: give what to do with rules: check, sign, install or keygen")
    }

    @Test func anOptionOfAnotherCommandNamesTheCommandItBelongsTo() throws {
        try expectMisuse(["--scan-now", "--interval", "1h"], says: "--interval is an option of the daemon (chainwatch daemon), not of a one-shot scan")
        try expectMisuse(["scan", "--reminder=12h"], says: "--reminder is an option of the daemon (chainwatch daemon)")
        try expectMisuse(["--format", "sarif"], says: "--format is an option of a one-shot scan (chainwatch scan), not of the daemon")
        try expectMisuse(["daemon", "--format", "sarif"], says: "--format is an option of a one-shot scan (chainwatch scan)")
        try expectMisuse(["daemon", "--fail-on", "high"], says: "--fail-on is an option of a one-shot scan")
        try expectMisuse(["--check-rules", Support.rulesDirectory, "--rules", Support.rulesDirectory],
                         says: "chainwatch rules check: --rules is an option of a one-shot scan (chainwatch scan) and the daemon (chainwatch daemon)")
        try expectMisuse(["rules", "keygen", "/tmp/k", "--keys", "/tmp"], says: "--keys is an option of a one-shot scan (chainwatch scan) and a rules install (chainwatch rules install)")
        try expectMisuse(["--scan-now", "--check-rules", Support.rulesDirectory], says: "--scan-now and --check-rules choose different commands")
    }

    @Test func badValuesAreOneErrorSayingWhatWasWrong() throws {
        try expectMisuse(["scan", "--fail-on", "bogus"], says: "--fail-on bogus: not a severity; give critical, high, medium, low or info")
        // A negative number is a value to refuse, not a missing one.
        try expectMisuse(["--scan-now", "--jobs", "-1"], says: "--jobs -1: must be between 1 and 64", notSays: "Missing value")
        try expectMisuse(["daemon", "--jobs", "0"], says: "--jobs 0: must be between 1 and 64")
        try expectMisuse(["scan", "--jobs"], says: "Missing value for '--jobs <N>'")
        try expectMisuse(["scan", "--format", "xml"], says: "'xml' is invalid for '--format")
        try expectMisuse(["--scan-now", "--root", "/nonexistent-root"], says: "--root /nonexistent-root: not a directory")
        try expectMisuse(["daemon", "--interval", "soon"], says: "--interval soon: not a duration")
        try expectMisuse(["rules", "check"], says: "give at least one rule directory or file")
        try expectMisuse(["rules", "sign", Support.rulesDirectory], says: "--signing-key")
        try expectMisuse(["scan", "/tmp"], says: "Unexpected argument '/tmp'")
    }

    /// `--check-rules DIR...` takes several directories, as its usage line says, and so does `rules check`; both load
    /// them as one set.
    @Test func checkRulesTakesSeveralDirectories() throws {
        let extra = try Support.temporaryDirectory("extra-rules")
        defer { Support.remove(extra) }
        try RuleLoaderTests.valid.write(toFile: extra + "/extra.yaml", atomically: true, encoding: .utf8)
        let expected = try RuleLoader.load(from: [Support.rulesDirectory, extra])
        let line = "\(expected.rules.count) rules in \(expected.files.count) files: OK\n"
        for arguments in [["--check-rules", Support.rulesDirectory, extra], ["--check-rules", Support.rulesDirectory, "--check-rules", extra],
                          ["--check-rules=" + Support.rulesDirectory, extra], ["rules", "check", Support.rulesDirectory, extra]] {
            let result = try Self.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout == line, "\(arguments): \(result.stdout)")
        }
        // The usage says what is accepted: several directories.
        #expect(try Self.run(["--check-rules", "--help"]).stdout.contains("USAGE: chainwatch rules check [<DIR> ...]"))
    }

    /// `--scan-now` is `scan`: the same findings and exit status for the same root, in every format.
    @Test func scanNowIsTheScanCommand() throws {
        let root = try Support.makeRoot(["--version", "5.6.1-1"])
        defer { Support.remove(root + "/..") }
        func findings(_ arguments: [String]) throws -> (Int32, [String]) {
            let result = try Self.run(arguments + ["--rules", Support.rulesDirectory, "--root", root, "--format", "json"])
            let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let findings = try Support.findings(document).map { finding in
                String(decoding: try JSONSerialization.data(withJSONObject: finding, options: [.sortedKeys]), as: UTF8.self)
            }
            return (result.status, findings.sorted())
        }
        let alias = try findings(["--scan-now"])
        let command = try findings(["scan"])
        #expect(alias.0 == 1 && command.0 == 1)
        #expect(!alias.1.isEmpty && alias.1 == command.1)
    }

    /// No command is the daemon, with the daemon's options (what chainwatch.service runs): both forms reach its
    /// settings file.
    @Test func noCommandIsTheDaemon() throws {
        for arguments in [["--config", "/nonexistent/chainwatch.conf"], ["daemon", "--config", "/nonexistent/chainwatch.conf"]] {
            let result = try Self.run(arguments + ["--rules", Support.rulesDirectory])
            #expect(result.status == 2)
            #expect(result.stderr.contains("config /nonexistent/chainwatch.conf:"), "\(arguments): \(result.stderr)")
        }
    }

    /// `rules keygen`, `rules sign` and `rules install` do what `--generate-signing-key`, `--sign-rules` and
    /// `--install-rules` do (FleetTests runs the aliases).
    @Test func rulesCommandsSignAndInstall() throws {
        let work = try Support.temporaryDirectory("rules-commands")
        defer { Support.remove(work) }
        try FileManager.default.createDirectory(atPath: work + "/keys", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work + "/state", withIntermediateDirectories: true)
        let keygen = try Self.run(["rules", "keygen", work + "/signing.key"])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        try FileManager.default.copyItem(atPath: work + "/signing.key.pub", toPath: work + "/keys/publisher.pub")
        let sign = try Self.run(["rules", "sign", Support.rulesDirectory, "--signing-key", work + "/signing.key",
                                 "--bundle-version", "2026.12.3", "--output", work + "/b.bundle"])
        #expect(sign.status == 0, "\(sign.stderr)")
        let install = try Self.run(["rules", "install", work + "/b.bundle", "--keys", work + "/keys", "--state-dir", work + "/state"])
        #expect(install.status == 0, "\(install.stderr)")
        #expect(install.stdout.contains("installed rules bundle 2026.12.3"), "\(install.stdout)")
        let aliasKey = try Self.run(["--generate-signing-key", work + "/other.key"])
        #expect(aliasKey.status == 0 && FileManager.default.fileExists(atPath: work + "/other.key.pub"), "\(aliasKey.stderr)")
    }

    /// The top-level help names every command and alias; each command's help lists its options, and the option
    /// table that refuses another command's options agrees with every help: an option one command lists is
    /// accepted there and named as that command's elsewhere.
    @Test func helpListsEachCommandsOptionsAndTheRefusalsAgree() throws {
        let top = try Self.run(["--help"])
        #expect(top.status == 0)
        for text in ["scan", "daemon", "rules", "--scan-now", "--check-rules", "--sign-rules", "--install-rules", "--generate-signing-key", "Exit status"] {
            #expect(top.stdout.contains(text), "top-level help lacks \(text)")
        }
        let commands = [["scan"], ["daemon"], ["rules", "check"], ["rules", "sign"], ["rules", "install"], ["rules", "keygen"]]
        var options: [String: Set<String>] = [:]
        for command in commands {
            let help = try Self.run(command + ["--help"])
            #expect(help.status == 0, "\(command): \(help.stderr)")
            #expect(help.stdout.contains("USAGE: chainwatch " + command.joined(separator: " ")), "\(help.stdout)")
            let listed = Set(help.stdout.matches(of: /(?:^|\s)(--[a-z][a-z-]+)/).map { String($0.1) })
                .subtracting(["--help", "--version", "--scan-now", "--check-rules", "--sign-rules", "--install-rules", "--generate-signing-key"])
            options[command.joined(separator: " ")] = listed
        }
        #expect(options["scan"]!.isSuperset(of: ["--rules", "--root", "--path", "--image", "--format", "--fail-on", "--jobs", "--verbose", "--no-processes", "--no-library-dirs"]))
        #expect(options["daemon"]!.isSuperset(of: ["--config", "--interval", "--reminder", "--state-dir", "--rules", "--jobs"]))
        for command in commands {
            let name = command.joined(separator: " ")
            for option in options.values.reduce(Set(), { $0.union($1) }) {
                let result = try Self.run(command + [option + "=x", "--help"])
                if options[name]!.contains(option) {
                    #expect(!result.stderr.contains("is an option of") && !result.stderr.contains("unknown option"),
                            "\(name) lists \(option) but refuses it: \(result.stderr)")
                } else {
                    #expect(result.stderr.contains("\(option) is an option of"), "\(name) \(option): \(result.stderr)")
                }
            }
        }
    }
}
}
