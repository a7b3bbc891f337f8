import ArgumentParser
import Daemon
import Glibc
import HostIO
import Rules

/// `chainwatch rules check|sign|install|keygen`: rule files and signed rule bundles; scans nothing.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check rule files, make a signing key, sign and install rule bundles.",
        subcommands: [Check.self, Sign.self, Install.self, Keygen.self])

    /// `chainwatch rules` alone names no job: a mistake like any other (exit 2), not a help page with exit 0.
    func run() throws {
        throw ValidationError("give what to do with rules: check, sign, install or keygen")
    }

    /// `rules check DIR...` (alias `--check-rules DIR...`).
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the rule files in each DIR together and exit (alias: chainwatch --check-rules DIR...).")

        @Argument(help: ArgumentHelp("Rule directories or files, checked as one set (suppressions may name rules of another).", valueName: "DIR"))
        var directories: [String] = []

        func validate() throws {
            if directories.isEmpty { throw ValidationError("give at least one rule directory or file to check") }
        }

        func run() throws {
            let set = try CommandSupport.loadRules(directories)
            print("\(set.rules.count) rules in \(set.files.count) files: OK")
        }
    }

    /// `rules sign DIR` (alias `--sign-rules DIR`).
    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a signed rules bundle of the rule files in DIR (alias: chainwatch --sign-rules DIR).")

        @Argument(help: ArgumentHelp("The rules directory to bundle; its rules must validate.", valueName: "DIR"))
        var directory: String

        @Option(name: .customLong("signing-key"), help: ArgumentHelp("Private key (made by chainwatch rules keygen).", valueName: "FILE"))
        var signingKey: String

        @Option(name: .customLong("bundle-version"), help: ArgumentHelp("Version of the bundle: numbers and dots, e.g. 2026.12.1.", valueName: "VERSION"))
        var bundleVersion: String

        @Option(help: ArgumentHelp("Where the bundle is written.", valueName: "FILE"))
        var output: String

        func run() throws {
            do {
                let bundle = try RuleBundle.sign(directory: directory, keyPath: signingKey, version: bundleVersion)
                try FileSystem.writeAtomically(bundle, to: output, permissions: 0o644)
            } catch { throw CommandSupport.failure("--sign-rules \(directory): \(error)") }
            print("bundle \(bundleVersion) of \(directory) written to \(output)")
        }
    }

    /// `rules install BUNDLE` (alias `--install-rules BUNDLE`).
    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a signed rules bundle and tell a running daemon to reload (alias: chainwatch --install-rules BUNDLE).",
            discussion: """
                Verified against the keys in --keys, every rule validated with /etc/chainwatch/rules.d, not older than \
                the installed one, then put in place in one rename under the state directory. Anything else leaves the \
                installed rules as they were (exit 2).
                """)

        @Argument(help: ArgumentHelp("The bundle made by chainwatch rules sign.", valueName: "BUNDLE"))
        var bundle: String

        @Option(help: ArgumentHelp("Trusted public keys (*.pub, base64 Ed25519; default \(RuleBundle.defaultKeysDirectory)).", valueName: "DIR"))
        var keys: String?

        @Option(name: .customLong("state-dir"), help: ArgumentHelp("The daemon's state directory, where bundles are installed (default /var/lib/chainwatch).", valueName: "DIR"))
        var stateDirectory: String?

        func run() throws {
            let state = stateDirectory ?? DaemonConfiguration().stateDirectory
            let installed: RuleBundle.Installed
            do {
                installed = try RuleBundle.install(bundle, keysDirectory: keys ?? RuleBundle.defaultKeysDirectory, stateDirectory: state,
                                                   alongside: [RuleLoader.defaultDirectories[1]])
            } catch {
                throw CommandSupport.failure("--install-rules \(bundle): \(error)\nThe installed rules are unchanged.")
            }
            print("installed rules bundle \(installed.version) (\(installed.rules) rules in \(installed.files) files) at \(installed.directory)"
                + (installed.previousVersion.map { ", replacing \($0)" } ?? ""))
            // The daemon writes its pid in the state directory; only a process that is chainwatch gets the signal.
            guard let text = try? FileSystem.readText(state + "/chainwatch.pid", limit: 64),
                  let pid = Int32(text.trimmingWhitespace()),
                  let executable = try? FileSystem.readLink("/proc/\(pid)/exe"),
                  baseName(executable).hasPrefix("chainwatch") else {
                print("no running chainwatch daemon found (\(state)/chainwatch.pid); the next start loads the new rules")
                return
            }
            do {
                try ProcessIdentity.send(SIGHUP, to: pid)
                print("told the daemon (pid \(pid)) to reload")
            } catch {
                print("could not signal the daemon (pid \(pid)): \(error); run systemctl reload chainwatch")
            }
        }
    }

    /// `rules keygen FILE` (alias `--generate-signing-key FILE`).
    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new Ed25519 signing key to FILE (mode 0600) and its public key to FILE.pub (alias: chainwatch --generate-signing-key FILE).")

        @Argument(help: ArgumentHelp("Where the private key is written; FILE.pub gets the public key (for /etc/chainwatch/keys).", valueName: "FILE"))
        var file: String

        func run() throws {
            do { try RuleBundle.generateKey(at: file) } catch { throw CommandSupport.failure("--generate-signing-key \(file): \(error)") }
            print("signing key: \(file) (keep it private); public key: \(file).pub (install it in \(RuleBundle.defaultKeysDirectory))")
        }
    }
}
