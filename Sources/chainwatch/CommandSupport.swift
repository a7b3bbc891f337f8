import ArgumentParser
import HostIO
import Rules

/// What every command does the same way: a failure is one "chainwatch: ..." message on stderr and exit 2; rules
/// load with every problem listed.
enum CommandSupport {
    static func failure(_ message: String) -> ExitCode {
        StandardError.writeLine("chainwatch: \(message)")
        return ExitCode(2)
    }

    static func loadRules(_ paths: [String]) throws -> RuleSet {
        guard !paths.isEmpty else {
            throw failure("no rules found in \(RuleLoader.defaultDirectories.joined(separator: " or ")); pass --rules DIR (the repository's rules/ directory)")
        }
        do {
            return try RuleLoader.load(from: paths)
        } catch {
            throw failure("invalid rules (\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s")):\n" + error.description)
        }
    }
}

/// The rule directories a scan or the daemon loads.
struct RuleOptions: ParsableArguments {
    @Option(name: .customLong("rules"), help: ArgumentHelp(
        "Load rules from DIR or FILE (repeatable). Default: \(RuleLoader.defaultDirectories.joined(separator: " and ")), or an installed rules bundle in place of the first.",
        valueName: "DIR"))
    var rules: [String] = []
}

/// `--jobs N`: a negative number is a value to refuse with a reason, not an option name.
struct JobsOption: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Threads reading and hashing files, 1 to 64 (default 2 for a scan, 1 for the daemon).", valueName: "N"))
    var jobs: Int?

    func validate() throws {
        if let jobs, !(1...64).contains(jobs) { throw ValidationError("--jobs \(jobs): must be between 1 and 64") }
    }
}
