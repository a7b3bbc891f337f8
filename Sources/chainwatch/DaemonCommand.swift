import ArgumentParser
import Daemon
import Engine
import HostIO
import Reporting
import Rules

/// `chainwatch daemon` (and `chainwatch` with no command, what chainwatch.service runs): scans every interval in the
/// foreground as a systemd Type=notify service.
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run in the foreground as a systemd Type=notify daemon (alias: chainwatch with no command).",
        discussion: """
            Scans every --interval, sends findings to the journal when they appear, change, persist past --reminder \
            or clear, reloads rules on SIGHUP and stops on SIGTERM. Settings come from --config \
            (default \(DaemonConfiguration.defaultPath)); options given here override them.
            """)

    @Option(help: ArgumentHelp("Settings file (key = value lines: interval, reminder, rules, state-dir, jobs, metrics-file; default \(DaemonConfiguration.defaultPath)).", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("Time between scans, e.g. 30s, 15m, 1h (default 1h).", valueName: "DURATION"))
    var interval: String?

    @Option(help: ArgumentHelp("Resend a finding that persists this often, e.g. 12h (default 24h).", valueName: "DURATION"))
    var reminder: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where findings state is kept (default /var/lib/chainwatch).", valueName: "DIR"))
    var stateDirectory: String?

    @OptionGroup var ruleOptions: RuleOptions

    @OptionGroup var jobsOption: JobsOption

    @Option(name: .customLong("metrics-file"), help: ArgumentHelp(
        "Write each scan's figures as a node_exporter textfile (Prometheus text format) to FILE, atomically.", valueName: "FILE"))
    var metricsFile: String?

    @Option(help: ArgumentHelp(
        "Judge drift against the approved baseline in FILE (a CycloneDX JSON SBOM a scan wrote; docs/baselines.md); read again when it changes. Refused at start: exit 2.",
        valueName: "FILE"))
    var baseline: String?

    @Flag(name: .customLong("read-blocking-filesystems"), help: "Read files on FUSE and network filesystems too, each on a thread abandoned after 10 s without progress.")
    var readBlockingFilesystems = false

    func validate() throws {
        for (name, value) in [("--interval", interval), ("--reminder", reminder)] {
            if let value, DaemonConfiguration.parseDuration(value) == nil {
                throw ValidationError("\(name) \(value): not a duration; use e.g. 30s, 15m, 1h, 1d")
            }
        }
    }

    func run() async throws {
        ignoreHangupSignal()
        var configuration = DaemonConfiguration()
        let configPath = config ?? DaemonConfiguration.defaultPath
        do {
            let text = try FileSystem.readText(configPath, limit: 1 << 20)
            try configuration.apply(fileText: text, file: configPath)
        } catch let error as FileReadError where error.isNotFound && config == nil {
            // No settings file at the default path: defaults apply.
        } catch {
            throw CommandSupport.failure("config \(configPath): \(error)")
        }
        if let interval { configuration.interval = DaemonConfiguration.parseDuration(interval)! }
        if let reminder { configuration.reminder = DaemonConfiguration.parseDuration(reminder)! }
        if let stateDirectory { configuration.stateDirectory = stateDirectory }
        if let jobs = jobsOption.jobs { configuration.jobs = jobs }
        if readBlockingFilesystems { configuration.readBlockingFilesystems = true }
        if let metricsFile { configuration.metricsFile = metricsFile }
        if !ruleOptions.rules.isEmpty { configuration.rules = ruleOptions.rules }
        let paths = configuration.rules.isEmpty
            ? RuleLoader.defaultDirectories(stateDirectory: configuration.stateDirectory) : configuration.rules
        let set = try CommandSupport.loadRules(paths)
        if let baseline { configuration.baseline = baseline }
        // A baseline that cannot be read at start is an error, not a daemon that judges drift against nothing.
        var approved: Baseline?
        if let path = configuration.baseline {
            do { approved = try BaselineFile.load(path, keysDirectory: configuration.keysDirectory, requireSignature: configuration.requireSignedBaseline) } catch {
                throw CommandSupport.failure(TerminalText.escape(error.description))
            }
        }
        do {
            try await DaemonRunner.run(configuration: configuration, rulePaths: paths, rules: set, baseline: approved)
        } catch {
            throw CommandSupport.failure("daemon stopped: \(error)")
        }
    }
}
