/// Which options each command takes, so an option given to the wrong command is refused with the command it belongs
/// to ("--interval is an option of chainwatch daemon") instead of argument-parser's "unknown option" and a guess.
/// `CLITests.everyCommandsHelpListsExactlyItsOptions` checks this table against each command's --help.
enum CommandOptions {
    enum Command: String, CaseIterable {
        case scan, daemon
        case rulesCheck = "rules check", rulesSign = "rules sign", rulesInstall = "rules install", rulesKeygen = "rules keygen"

        /// What the command is, for messages: "a one-shot scan".
        var role: String {
            switch self {
            case .scan: return "a one-shot scan"
            case .daemon: return "the daemon"
            case .rulesCheck: return "a rules check"
            case .rulesSign: return "rule signing"
            case .rulesInstall: return "a rules install"
            case .rulesKeygen: return "key generation"
            }
        }

        /// Long options and whether each takes a value.
        var options: [String: Bool] {
            switch self {
            case .scan:
                return ["--rules": true, "--root": true, "--path": true, "--image": true, "--platform": true,
                        "--metrics-file": true, "--format": true, "--fail-on": true, "--jobs": true, "--state-dir": true,
                        "--verbose": false, "--no-processes": false, "--read-blocking-filesystems": false,
                        "--no-library-dirs": false, "--yara-timeout": true, "--yara-max-file-size": true, "--yara-memory": true,
                        "--baseline": true, "--write-baseline": true, "--signing-key": true, "--keys": true,
                        "--require-signed-baseline": false]
            case .daemon:
                return ["--config": true, "--interval": true, "--reminder": true, "--state-dir": true, "--rules": true,
                        "--jobs": true, "--metrics-file": true, "--read-blocking-filesystems": false, "--baseline": true]
            case .rulesCheck, .rulesKeygen:
                return [:]
            case .rulesSign:
                return ["--signing-key": true, "--bundle-version": true, "--output": true]
            case .rulesInstall:
                return ["--keys": true, "--state-dir": true]
            }
        }
    }

    /// Options every command takes.
    static let common: Set<String> = ["--help", "-h", "--version"]

    /// The command named by the first words of translated arguments.
    static func command(_ arguments: [String]) -> Command? {
        guard let first = arguments.first else { return nil }
        if first == "rules", arguments.count > 1 { return Command(rawValue: "rules " + arguments[1]) }
        return Command(rawValue: first)
    }

    /// "chainwatch scan", "chainwatch rules check", or "chainwatch" when no command was named.
    static func commandPath(_ arguments: [String]) -> String {
        if let command = command(arguments) { return "chainwatch " + command.rawValue }
        if arguments.first == "rules" { return "chainwatch rules" }
        return "chainwatch"
    }

    /// Refuses an option the named command does not take, naming the command(s) that do, or suggesting a near name.
    static func check(_ arguments: [String]) throws(UsageError) {
        guard let command = command(arguments) else { return }
        let path = "chainwatch " + command.rawValue
        let options = command.options
        var index = command.rawValue.split(separator: " ").count
        while index < arguments.count {
            let token = arguments[index]
            index += 1
            if token == "--" { return }
            guard token.hasPrefix("-"), token.count > 1, !isNumber(token) else { continue }
            let name = token.split(separator: "=", maxSplits: 1).first.map(String.init) ?? token
            if common.contains(name) { continue }
            if let takesValue = options[name] {
                if takesValue && !token.contains("=") { index += 1 }
                continue
            }
            let owners = Command.allCases.filter { $0 != command && $0.options[name] != nil }
            if !owners.isEmpty {
                throw UsageError(
                    command: path,
                    message: "\(name) is an option of " + owners.map { "\($0.role) (chainwatch \($0.rawValue))" }.joined(separator: " and ")
                        + ", not of \(command.role)",
                    hint: "leave \(name) out, or give it to `chainwatch \(owners[0].rawValue)`; `\(path) --help` lists this command's options.")
            }
            let near = options.keys.filter { distance(name, $0) <= max(1, min(2, ($0.count - 2) / 4)) }.sorted()
            throw UsageError(
                command: path, message: "unknown option \(name)",
                hint: (near.isEmpty ? "" : "did you mean \(near.joined(separator: " or "))? ") + "`\(path) --help` lists this command's options.")
        }
    }

    static func isNumber(_ token: String) -> Bool { Int(token) != nil || Double(token) != nil }

    /// Levenshtein distance, for "did you mean": only a near name is a useful suggestion.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}
