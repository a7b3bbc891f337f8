import ArgumentParser
import Daemon
import Engine
import Glibc
import HostIO
import Reporting
import Rules

/// The `chainwatch` command: a one-shot scan, a rules check, or (without --scan-now) the daemon.
@main
struct Chainwatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chainwatch",
        abstract: "Find the xz backdoor (CVE-2024-3094) and anything shaped like it on a Linux host.",
        discussion: """
            Checks installed packages against known-bad versions, hashes every library loaded by a running process \
            (from /proc) or lying in the loader's directories, walks sshd's shared-library graph by parsing ELF \
            (never running ldd), and flags IFUNC resolvers and byte signatures. Detections are YAML rules.

            Without --scan-now, chainwatch runs in the foreground as a systemd Type=notify daemon: it scans every \
            --interval, sends findings to the journal when they appear, change, persist past --reminder or clear, \
            reloads rules on SIGHUP and stops on SIGTERM.

            Exit status: 0 nothing above info was found; 1 something was; 2 the scan could not run \
            (bad arguments, invalid or untrusted rules, unreadable root); 3 INCOMPLETE: nothing above info was found \
            but the scan could not look at everything it was asked to (a file, process, package database, archive \
            member or image layer it could not read, a filesystem that did not answer, not run as root, an empty \
            root); the report says what and why.
            """,
        version: ChainwatchVersion.current)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, cyclonedx
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

    @Option(name: .customLong("path"), help: ArgumentHelp(
        "Scan FILE or DIR (repeatable) and the members of the archives in them (tar in any compression, .deb, .rpm, zip, nested) with every content rule, instead of a root; for build inputs and artifacts.",
        valueName: "FILE|DIR"))
    var paths: [String] = []

    @Option(help: ArgumentHelp(
        "Scan a container image: an OCI image layout directory, an OCI archive or a `docker save` tar. Layers are applied with whiteouts in a private temporary directory and the result scanned like --root; nothing from the image runs.",
        valueName: "PATH"))
    var image: String?

    @Option(help: ArgumentHelp(
        "With --image: the manifest to scan from a multi-platform image index, e.g. linux/arm64/v8 (default: this host's platform, as a runtime here would pull).",
        valueName: "OS/ARCH[/VARIANT]"))
    var platform: String?

    @Option(name: .customLong("metrics-file"), help: ArgumentHelp(
        "Write the scan's figures as a node_exporter textfile (Prometheus text format) to FILE, atomically; the daemon rewrites it after every scan.",
        valueName: "FILE"))
    var metricsFile: String?

    @Option(help: "Report format: text for people, json for programs (schema in the README), cyclonedx for a CycloneDX 1.6 SBOM of the scan.")
    var format: Format = .text

    @Option(help: "Threads reading and hashing files (default 2 for --scan-now; the daemon uses 1).")
    var jobs: Int?

    @Flag(help: "List every library of each program's graph and every skipped item.")
    var verbose = false

    @Flag(name: .customLong("no-processes"), help: "Do not read /proc (running processes' loaded libraries).")
    var noProcesses = false

    @Flag(name: .customLong("read-blocking-filesystems"), help: "Read files on FUSE and network filesystems too, each on a thread abandoned after 10 s without progress (default: not read, a skip that makes the scan incomplete; see docs/verdicts.md for why).")
    var readBlockingFilesystems = false

    @Option(name: .customLong("yara-timeout"), help: ArgumentHelp(
        "Seconds the YARA rules may spend on one file or memory mapping (default 10); one that takes longer is a recorded skip.", valueName: "SECONDS"))
    var yaraTimeout: Int?

    @Option(name: .customLong("yara-max-file-size"), help: ArgumentHelp(
        "Largest file the YARA rules are run on, in MiB (default 128): its bytes are held in memory for libyara; a larger one is a recorded skip.", valueName: "MIB"))
    var yaraMaximumFileSize: Int?

    @Option(name: .customLong("yara-memory"), help: ArgumentHelp(
        "Whose code outside files the YARA rules scan: runtime (default: the processes runtime rules name, such as sshd) or all (every process).", valueName: "runtime|all"))
    var yaraMemory: String?

    @Flag(name: .customLong("no-library-dirs"), help: "Do not hash libraries at rest in the loader's directories; only loaded or reached ones.")
    var noLibraryDirectories = false

    @Option(name: .customLong("install-rules"), help: ArgumentHelp(
        "Install a signed rules bundle: verified against the keys in --keys, every rule validated, not older than the installed one, then put in place in one rename under the state directory; a running daemon is told to reload. Anything else leaves the installed rules as they were (exit 2).",
        valueName: "BUNDLE"))
    var installRules: String?

    @Option(help: ArgumentHelp("Trusted public keys for --install-rules (*.pub, base64 Ed25519; default \(RuleBundle.defaultKeysDirectory)).", valueName: "DIR"))
    var keys: String?

    @Option(name: .customLong("sign-rules"), help: ArgumentHelp(
        "Make a signed rules bundle of the rule files in DIR (with --signing-key, --bundle-version, --output).", valueName: "DIR"))
    var signRules: String?

    @Option(name: .customLong("signing-key"), help: ArgumentHelp("Private key for --sign-rules (made by --generate-signing-key).", valueName: "FILE"))
    var signingKey: String?

    @Option(name: .customLong("bundle-version"), help: ArgumentHelp("Version of the bundle --sign-rules makes: numbers and dots, e.g. 2026.12.1.", valueName: "VERSION"))
    var bundleVersion: String?

    @Option(help: ArgumentHelp("Where --sign-rules writes the bundle.", valueName: "FILE"))
    var output: String?

    @Option(name: .customLong("generate-signing-key"), help: ArgumentHelp(
        "Write a new Ed25519 signing key to FILE (mode 0600) and its public key to FILE.pub (for /etc/chainwatch/keys).", valueName: "FILE"))
    var generateSigningKey: String?

    @Option(help: ArgumentHelp("Daemon: settings file (key = value lines: interval, reminder, rules, state-dir, jobs).", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("Daemon: time between scans, e.g. 30s, 15m, 1h (default 1h).", valueName: "DURATION"))
    var interval: String?

    @Option(help: ArgumentHelp("Daemon: resend a finding that persists this often, e.g. 12h (default 24h).", valueName: "DURATION"))
    var reminder: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Daemon: where findings state is kept (default /var/lib/chainwatch).", valueName: "DIR"))
    var stateDirectory: String?

    func validate() throws {
        for (name, value) in [("--interval", interval), ("--reminder", reminder)] {
            if let value, DaemonConfiguration.parseDuration(value) == nil {
                throw ValidationError("\(name) \(value): not a duration; use e.g. 30s, 15m, 1h, 1d")
            }
        }
        guard (jobs ?? 1) >= 1 && (jobs ?? 1) <= 64 else { throw ValidationError("--jobs must be between 1 and 64") }
        if let yaraTimeout, !(1...3600).contains(yaraTimeout) { throw ValidationError("--yara-timeout must be between 1 and 3600 seconds") }
        if let yaraMaximumFileSize, !(1...4096).contains(yaraMaximumFileSize) { throw ValidationError("--yara-max-file-size must be between 1 and 4096 MiB") }
        if let yaraMemory, !["runtime", "all"].contains(yaraMemory) { throw ValidationError("--yara-memory \(yaraMemory): use runtime or all") }
        guard let status = try? FileSystem.status(root), status.kind == .directory else {
            throw ValidationError("--root \(root): not a directory")
        }
        // Only a path that does not exist is an argument error; one the scan may not read is its skip (exit 3).
        for path in paths {
            do { _ = try FileSystem.linkStatus(path) } catch where error.isNotFound {
                throw ValidationError("--path \(TerminalText.escape(path)): no such file or directory")
            } catch {}
        }
        if [!paths.isEmpty, root != "/", image != nil].filter({ $0 }).count > 1 {
            throw ValidationError("--path, --root and --image scan different things; give one of them")
        }
        if let image, (try? FileSystem.status(image)) == nil { throw ValidationError("--image \(image): no such file or directory") }
        if let platform {
            guard image != nil else { throw ValidationError("--platform chooses a manifest of an --image; give --image too") }
            guard ImagePlatform(platform) != nil else { throw ValidationError("--platform \(platform): not OS/ARCH[/VARIANT] (e.g. linux/amd64, linux/arm64/v8)") }
        }
    }

    func run() async throws {
        if let generateSigningKey {
            do { try RuleBundle.generateKey(at: generateSigningKey) } catch { throw failure("--generate-signing-key \(generateSigningKey): \(error)") }
            print("signing key: \(generateSigningKey) (keep it private); public key: \(generateSigningKey).pub (install it in \(RuleBundle.defaultKeysDirectory))")
            return
        }
        if let signRules {
            guard let signingKey, let bundleVersion, let output else {
                throw failure("--sign-rules needs --signing-key FILE, --bundle-version VERSION and --output FILE")
            }
            do {
                let bundle = try RuleBundle.sign(directory: signRules, keyPath: signingKey, version: bundleVersion)
                try FileSystem.writeAtomically(bundle, to: output, permissions: 0o644)
            } catch { throw failure("--sign-rules \(signRules): \(error)") }
            print("bundle \(bundleVersion) of \(signRules) written to \(output)")
            return
        }
        if let installRules {
            try install(installRules)
            return
        }
        if !checkRules.isEmpty {
            let set = try loadRules(checkRules)
            print("\(set.rules.count) rules in \(set.files.count) files: OK")
            return
        }
        guard scanNow else {
            try await runDaemon()
            return
        }
        let set = try loadRules(rules.isEmpty ? RuleLoader.defaultDirectories(stateDirectory: stateDirectory ?? DaemonConfiguration().stateDirectory) : rules)
        var options = ScanOptions()
        options.root = root
        options.scanProcesses = !noProcesses
        options.readBlockingFilesystems = readBlockingFilesystems
        options.scanLibraryDirectories = !noLibraryDirectories
        options.jobs = jobs ?? 2
        // A one-shot scan is waited for: start the disk reads of upcoming files so cold reads overlap.
        options.readAhead = 4 * options.jobs
        options.collectInventory = format == .cyclonedx
        options.imagePlatform = platform.flatMap(ImagePlatform.init)
        if let yaraTimeout { options.yara.timeoutSeconds = yaraTimeout }
        if let yaraMaximumFileSize { options.yara.maximumFileSize = Int64(yaraMaximumFileSize) << 20 }
        options.yara.memoryOfEveryProcess = yaraMemory == "all"
        // Files are opened by absolute path (as a confined root's paths are): a relative --path is taken from here.
        let here = paths.contains { !$0.hasPrefix("/") } ? try FileSystem.readLink("/proc/self/cwd") : "/"
        options.paths = paths.map { path in
            let absolute = path.hasPrefix("/") ? path : (here == "/" ? "/" : here + "/") + path
            return absolute.count > 1 && absolute.hasSuffix("/") ? String(absolute.dropLast()) : absolute
        }
        let report: ScanReport
        if let image {
            do { report = try Scanner(rules: set, options: options).scanImage(image) } catch {
                // The error quotes the image (member names, platforms, paths in its documents): escaped.
                throw failure(TerminalText.escape("--image \(image): \(error)"))
            }
        } else {
            report = Scanner(rules: set, options: options).run()
        }
        if let metricsFile {
            do { try MetricsFile(path: metricsFile).write(report, rules: set, counters: MetricsFile.Counters(scans: 1)) } catch {
                throw failure("--metrics-file \(metricsFile): \(error)")
            }
        }
        switch format {
        case .text: print(TextReporter(verbose: verbose).render(report), terminator: "")
        case .json:
            do { print(try JSONReporter().render(report), terminator: "") } catch { throw failure(error.description) }
        case .cyclonedx: print(CycloneDXReporter(rules: set).render(report), terminator: "")
        }
        if let highest = report.highestSeverity, highest > .info { throw ExitCode(1) }
        // Not looked is not "nothing found": a pipeline gating on 0 must not pass a scan that could not look.
        if report.isIncomplete { throw ExitCode(3) }
    }

    private func runDaemon() async throws {
        ignoreHangupSignal()
        var configuration = DaemonConfiguration()
        let configPath = config ?? DaemonConfiguration.defaultPath
        do {
            let text = try FileSystem.readText(configPath, limit: 1 << 20)
            try configuration.apply(fileText: text, file: configPath)
        } catch let error as FileReadError where error.isNotFound && config == nil {
            // No settings file at the default path: defaults apply.
        } catch {
            throw failure("config \(configPath): \(error)")
        }
        if let interval { configuration.interval = DaemonConfiguration.parseDuration(interval)! }
        if let reminder { configuration.reminder = DaemonConfiguration.parseDuration(reminder)! }
        if let stateDirectory { configuration.stateDirectory = stateDirectory }
        if let jobs { configuration.jobs = jobs }
        if readBlockingFilesystems { configuration.readBlockingFilesystems = true }
        if let metricsFile { configuration.metricsFile = metricsFile }
        if !rules.isEmpty { configuration.rules = rules }
        let paths = configuration.rules.isEmpty
            ? RuleLoader.defaultDirectories(stateDirectory: configuration.stateDirectory) : configuration.rules
        let set = try loadRules(paths)
        do {
            try await DaemonRunner.run(configuration: configuration, rulePaths: paths, rules: set)
        } catch {
            throw failure("daemon stopped: \(error)")
        }
    }

    /// --install-rules: the bundle put in place (or nothing changed), then the running daemon, if any, told to reload.
    private func install(_ bundle: String) throws {
        let state = stateDirectory ?? DaemonConfiguration().stateDirectory
        let installed: RuleBundle.Installed
        do {
            installed = try RuleBundle.install(bundle, keysDirectory: keys ?? RuleBundle.defaultKeysDirectory, stateDirectory: state,
                                               alongside: [RuleLoader.defaultDirectories[1]])
        } catch {
            throw failure("--install-rules \(bundle): \(error)\nThe installed rules are unchanged.")
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
        StandardError.writeLine("chainwatch: \(message)")
        return ExitCode(2)
    }

    /// argument-parser exits 64 on usage errors; chainwatch promises 2 for anything that stops a scan from running.
    static func main() async {
        // The Swift runtime reads argv from /proc/self/cmdline: without /proc (a bare chroot) it is empty, and
        // `chainwatch --scan-now` would silently become the daemon.
        if CommandLine.arguments.isEmpty {
            StandardError.writeLine("chainwatch: cannot read the command line: is /proc mounted?")
            Glibc.exit(2)
        }
        do {
            let parsed = try parseAsRoot()
            if var command = parsed as? AsyncParsableCommand { try await command.run() } else { var command = parsed; try command.run() }
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            StandardError.writeLine(fullMessage(for: error))
            if !(error is CleanExit) { StandardError.writeLine("Run chainwatch --help for the options.") }
            Glibc.exit(2)
        }
    }
}
