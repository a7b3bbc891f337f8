/// The flat command line of earlier releases, rewritten into a command before parsing:
///
///     chainwatch --scan-now [OPTIONS]            -> chainwatch scan [OPTIONS]
///     chainwatch --check-rules DIR...            -> chainwatch rules check DIR...
///     chainwatch --sign-rules DIR [OPTIONS]      -> chainwatch rules sign DIR [OPTIONS]
///     chainwatch --install-rules BUNDLE [OPTIONS] -> chainwatch rules install BUNDLE [OPTIONS]
///     chainwatch --generate-signing-key FILE     -> chainwatch rules keygen FILE
///     chainwatch [OPTIONS]                       -> chainwatch daemon [OPTIONS]  (chainwatch.service runs this)
///
/// Arguments that start with a command, and `--help`, `--version` and `--generate-completion-script` alone, are left
/// as they are.
enum LegacyArguments {
    static let commands: Set<String> = ["scan", "daemon", "rules", "help"]

    /// Each flat mode flag, the command it stands for, and whether it is followed by the command's first argument.
    static let modeFlags: [(flag: String, command: [String], takesValue: Bool)] = [
        ("--scan-now", ["scan"], false),
        ("--check-rules", ["rules", "check"], true),
        ("--sign-rules", ["rules", "sign"], true),
        ("--install-rules", ["rules", "install"], true),
        ("--generate-signing-key", ["rules", "keygen"], true),
    ]

    static let rootOnly: Set<String> = ["--help", "-h", "--version", "--generate-completion-script", "--experimental-dump-help"]

    static func translate(_ arguments: [String]) throws(UsageError) -> [String] {
        guard let first = arguments.first else { return ["daemon"] }
        if commands.contains(first) { return arguments }
        if !first.hasPrefix("-") {
            let near = commands.subtracting(["help"]).filter { CommandOptions.distance(first, $0) <= 2 }.sorted()
            throw UsageError(command: "chainwatch", message: "unknown command \(first)",
                             hint: (near.isEmpty ? "" : "did you mean \(near.joined(separator: " or "))? ")
                                + "The commands are scan, daemon and rules; `chainwatch --help` describes them.")
        }
        // Only the part before "--" holds options.
        let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
        let flagName = { (token: String) in token.split(separator: "=", maxSplits: 1).first.map(String.init) ?? token }
        let modes = modeFlags.filter { mode in arguments[..<end].contains { flagName($0) == mode.flag } }
        if modes.count > 1 {
            throw UsageError(command: "chainwatch", message: "\(modes.map(\.flag).joined(separator: " and ")) choose different commands; give one",
                             hint: "run each on its own: " + modes.map { "chainwatch " + $0.command.joined(separator: " ") }.joined(separator: ", ") + ".")
        }
        guard let mode = modes.first else {
            if rootOnly.contains(flagName(first)) { return arguments }
            return ["daemon"] + arguments
        }
        // The flag goes; a value it had stays in place as the command's argument ("--check-rules=A" becomes "A").
        var rest: [String] = []
        for (index, token) in arguments.enumerated() {
            if index < end && flagName(token) == mode.flag {
                if mode.takesValue, token.contains("=") { rest.append(String(token.dropFirst(mode.flag.count + 1))) }
                continue
            }
            rest.append(token)
        }
        return mode.command + rest
    }
}
