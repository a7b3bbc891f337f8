import ArgumentParser
import Engine
import Foundation
import HostIO
import Reporting
import Rules

/// The `chainwatch` command: a one-shot scan, a rules check, or (without --scan-now) the daemon.
@main
struct Chainwatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chainwatch",
        abstract: "Find the xz backdoor (CVE-2024-3094) and anything shaped like it on a Linux host.",
        discussion: """
            Checks installed packages against known-bad versions, hashes every library loaded by a running process \
            (from /proc) or lying in the loader's directories, walks sshd's shared-library graph by parsing ELF \
            (never running ldd), and flags IFUNC resolvers and byte signatures. Detections are YAML rules.

            Exit status: 0 nothing above info was found; 1 something was; 2 the scan could not run \
            (bad arguments, invalid or untrusted rules, unreadable root).
            """,
        version: ChainwatchVersion.current)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Flag(name: .customLong("scan-now"), help: "Scan once, print a report and exit (without it chainwatch runs as a daemon).")
    var scanNow = false

    @Option(name: .customLong("check-rules"), help: ArgumentHelp("Validate the rule files in DIR (repeatable) and exit; scans nothing.", valueName: "DIR"))
    var checkRules: [String] = []

    @Option(name: .customLong("rules"), help: ArgumentHelp(
        "Load rules from DIR or FILE (repeatable). Default: \(RuleLoader.defaultDirectories.joined(separator: " and ")).",
        valueName: "DIR"))
    var rules: [String] = []

    @Option(help: ArgumentHelp("Scan a mounted image or container root offline instead of this host; process checks are skipped.", valueName: "DIR"))
    var root: String = "/"

    @Option(help: "Report format: text for people, json for programs (schema in the README).")
    var format: Format = .text

    @Option(help: "Threads reading and hashing files (default 2; the daemon uses 1).")
    var jobs: Int = 2

    @Flag(help: "List every library of each program's graph and every skipped item.")
    var verbose = false

    @Flag(name: .customLong("no-processes"), help: "Do not read /proc (running processes' loaded libraries).")
    var noProcesses = false

    @Flag(name: .customLong("no-library-dirs"), help: "Do not hash libraries at rest in the loader's directories; only loaded or reached ones.")
    var noLibraryDirectories = false

    func validate() throws {
        guard jobs >= 1 && jobs <= 64 else { throw ValidationError("--jobs must be between 1 and 64") }
        guard let status = try? FileSystem.status(root), status.kind == .directory else {
            throw ValidationError("--root \(root): not a directory")
        }
    }

    func run() throws {
        if !checkRules.isEmpty {
            let set = try loadRules(checkRules)
            print("\(set.rules.count) rules in \(set.files.count) files: OK")
            return
        }
        guard scanNow else {
            throw failure("daemon mode is not available in this build yet; run chainwatch --scan-now for a one-shot scan")
        }
        let set = try loadRules(rules.isEmpty ? RuleLoader.defaultDirectories.filter { (try? FileSystem.status($0)) != nil } : rules)
        var options = ScanOptions()
        options.root = root
        options.scanProcesses = !noProcesses
        options.scanLibraryDirectories = !noLibraryDirectories
        options.jobs = jobs
        let report = Scanner(rules: set, options: options).run()
        switch format {
        case .text: print(TextReporter(verbose: verbose).render(report), terminator: "")
        case .json: print(JSONReporter().render(report), terminator: "")
        }
        if let highest = report.highestSeverity, highest > .info { throw ExitCode(1) }
    }

    private func loadRules(_ paths: [String]) throws -> RuleSet {
        guard !paths.isEmpty else {
            throw failure("no rules found in \(RuleLoader.defaultDirectories.joined(separator: " or ")); pass --rules DIR (the repository's rules/ directory)")
        }
        do {
            return try RuleLoader.load(from: paths)
        } catch {
            throw failure("invalid rules (\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s")):\n" + error.description)
        }
    }

    private func failure(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("chainwatch: \(message)\n".utf8))
        return ExitCode(2)
    }

    /// argument-parser exits 64 on usage errors; chainwatch promises 2 for anything that stops a scan from running.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            if !(error is CleanExit) { FileHandle.standardError.write(Data("Run chainwatch --help for the options.\n".utf8)) }
            Foundation.exit(2)
        }
    }
}
