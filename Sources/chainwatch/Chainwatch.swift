import ArgumentParser
import Glibc
import HostIO
import Reporting

/// The `chainwatch` command: `scan` (one-shot), `daemon` and `rules check|sign|install|keygen`, each with only its own
/// options. The flat flags of earlier releases (`--scan-now`, `--check-rules DIR`, `--sign-rules`, `--install-rules`,
/// `--generate-signing-key`, and no mode flag for the daemon) are aliases, rewritten by `LegacyArguments` before
/// parsing: the unit files, the man page and admins' habits use them.
@main
struct Chainwatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chainwatch",
        abstract: "Find the xz backdoor (CVE-2024-3094) and anything shaped like it on a Linux host.",
        discussion: """
            Checks installed packages against known-bad versions, hashes every library loaded by a running process \
            (from /proc) or lying in the loader's directories, walks sshd's shared-library graph by parsing ELF \
            (never running ldd), and flags IFUNC resolvers and byte signatures. Detections are YAML rules.

            Aliases kept from earlier releases: `chainwatch --scan-now [OPTIONS]` is `chainwatch scan [OPTIONS]`; \
            `chainwatch [OPTIONS]` with no command is `chainwatch daemon [OPTIONS]` (what chainwatch.service runs); \
            `--check-rules DIR...` is `rules check DIR...`; `--sign-rules DIR` is `rules sign DIR`; \
            `--install-rules BUNDLE` is `rules install BUNDLE`; `--generate-signing-key FILE` is `rules keygen FILE`.

            Exit status of a scan: 0 nothing at or above --fail-on (default low: anything above info) was found; \
            1 something was; 2 the scan could not run (bad arguments, invalid or untrusted rules, unreadable root); \
            3 INCOMPLETE: nothing at or above --fail-on was found but the scan could not look at everything it was \
            asked to (a file, process, package database, archive member or image layer it could not read, a \
            filesystem that did not answer, not run as root, an empty root); the report says what and why. \
            Other commands exit 0 on success and 2 on any error.
            """,
        version: ChainwatchVersion.current,
        subcommands: [ScanCommand.self, DaemonCommand.self, RulesCommand.self])

    /// argument-parser exits 64 on usage errors; chainwatch promises 2 for anything that stops a command from running,
    /// with one error line and one hint.
    static func main() async {
        // The Swift runtime reads argv from /proc/self/cmdline: without /proc (a bare chroot) it is empty, and
        // `chainwatch --scan-now` would silently become the daemon.
        if CommandLine.arguments.isEmpty {
            StandardError.writeLine("chainwatch: cannot read the command line: is /proc mounted?")
            Glibc.exit(2)
        }
        let arguments: [String]
        do throws(UsageError) {
            arguments = try LegacyArguments.translate(Array(CommandLine.arguments.dropFirst()))
            try CommandOptions.check(arguments)
        } catch {
            error.print()
            Glibc.exit(2)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let path = CommandOptions.commandPath(arguments)
            UsageError(command: path, message: message(for: error).trimmingWhitespace(),
                       hint: "`\(path) --help` lists this command's options.").print()
            Glibc.exit(2)
        }
    }
}
