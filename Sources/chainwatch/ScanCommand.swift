import ArgumentParser
import Daemon
import Engine
import HostIO
import Reporting
import Rules

/// `chainwatch scan` (alias `--scan-now`): one scan of this host, an offline root, an image or paths; a report; an exit
/// status a pipeline can gate on.
struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan once, print a report and exit (alias: chainwatch --scan-now).",
        discussion: """
            Without --root, --image or --path, scans this host and every running container. \
            Exit status: 0 nothing at or above --fail-on was found; 1 something was; 2 the scan could not run; \
            3 INCOMPLETE: nothing at or above --fail-on was found, but the scan could not look at everything it was \
            asked to (the report says what and why).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, cyclonedx, sarif
    }

    @OptionGroup var ruleOptions: RuleOptions

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
        "Write the scan's figures as a node_exporter textfile (Prometheus text format) to FILE, atomically.",
        valueName: "FILE"))
    var metricsFile: String?

    @Option(help: "Report format: text for people, json for programs, cyclonedx for a CycloneDX 1.6 SBOM of the scan, sarif for a SARIF 2.1.0 log (GitHub code scanning).")
    var format: Format = .text

    @Option(name: .customLong("fail-on"), help: ArgumentHelp(
        "Exit 1 only when a finding of SEVERITY or higher is found: critical, high, medium, low or info (default low: any finding above info).",
        valueName: "SEVERITY"))
    var failOn: String?

    @OptionGroup var jobsOption: JobsOption

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where an installed rules bundle is found when no --rules is given (default /var/lib/chainwatch).", valueName: "DIR"))
    var stateDirectory: String?

    @Flag(help: "List every library of each program's graph and every skipped item.")
    var verbose = false

    @Flag(name: .customLong("no-processes"), help: "Do not read /proc (running processes' loaded libraries).")
    var noProcesses = false

    @Flag(name: .customLong("read-blocking-filesystems"), help: "Read files on FUSE and network filesystems too, each on a thread abandoned after 10 s without progress (default: not read, a skip that makes the scan incomplete; see docs/verdicts.md for why).")
    var readBlockingFilesystems = false

    @Flag(name: .customLong("no-library-dirs"), help: "Do not hash libraries at rest in the loader's directories; only loaded or reached ones.")
    var noLibraryDirectories = false

    @Option(name: .customLong("yara-timeout"), help: ArgumentHelp(
        "Seconds the YARA rules may spend on one file or memory mapping (default 10); one that takes longer is a recorded skip.", valueName: "SECONDS"))
    var yaraTimeout: Int?

    @Option(name: .customLong("yara-max-file-size"), help: ArgumentHelp(
        "Largest file the YARA rules are run on, in MiB (default 128): its bytes are held in memory for libyara; a larger one is a recorded skip.", valueName: "MIB"))
    var yaraMaximumFileSize: Int?

    @Option(name: .customLong("yara-memory"), help: ArgumentHelp(
        "Whose code outside files the YARA rules scan: runtime (default: the processes runtime rules name, such as sshd) or all (every process).", valueName: "runtime|all"))
    var yaraMemory: String?

    @Option(help: ArgumentHelp(
        "Compare what is installed and running with the approved state in FILE, a CycloneDX JSON SBOM (one --write-baseline wrote, or another tool's: its packages); baseline-drift rules report what differs. FILE.sig, when present, must verify with a key in --keys.",
        valueName: "FILE"))
    var baseline: String?

    @Option(name: .customLong("write-baseline"), help: ArgumentHelp(
        "After the scan, write what it saw as the approved state to FILE: a CycloneDX 1.6 SBOM of every package and every code file read, with SHA-256s (see docs/baselines.md).",
        valueName: "FILE"))
    var writeBaseline: String?

    @Option(name: .customLong("signing-key"), help: ArgumentHelp(
        "With --write-baseline: sign it with this Ed25519 private key (chainwatch rules keygen), writing FILE.sig beside it.",
        valueName: "KEY"))
    var signingKey: String?

    @Option(help: ArgumentHelp("Trusted public keys (*.pub) a baseline's signature must verify with (default /etc/chainwatch/keys).", valueName: "DIR"))
    var keys: String?

    @Flag(name: .customLong("require-signed-baseline"), help: "Refuse a --baseline without a signature (FILE.sig): whoever removes the signature must not make it count as unsigned.")
    var requireSignedBaseline = false

    /// The severity at or above which the scan exits 1.
    var threshold: Severity { failOn.flatMap(Severity.init(rawValue:)) ?? .low }

    func validate() throws {
        if let failOn, Severity(rawValue: failOn) == nil {
            throw ValidationError("--fail-on \(failOn): not a severity; give critical, high, medium, low or info")
        }
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
        if requireSignedBaseline && baseline == nil { throw ValidationError("--require-signed-baseline is about the --baseline FILE the scan is given; give --baseline too") }
        if signingKey != nil && writeBaseline == nil { throw ValidationError("--signing-key signs the baseline --write-baseline writes; give --write-baseline FILE too") }
        if writeBaseline != nil && !paths.isEmpty { throw ValidationError("--write-baseline approves a host, --root or --image; a --path scan has no packages to approve") }
        if let image, (try? FileSystem.status(image)) == nil { throw ValidationError("--image \(image): no such file or directory") }
        if let platform {
            guard image != nil else { throw ValidationError("--platform chooses a manifest of an --image; give --image too") }
            guard ImagePlatform(platform) != nil else { throw ValidationError("--platform \(platform): not OS/ARCH[/VARIANT] (e.g. linux/amd64, linux/arm64/v8)") }
        }
    }

    func run() throws {
        let rules = ruleOptions.rules
        let set = try CommandSupport.loadRules(rules.isEmpty
            ? RuleLoader.defaultDirectories(stateDirectory: stateDirectory ?? DaemonConfiguration().stateDirectory) : rules)
        var approved: Baseline?
        if let baseline {
            do {
                approved = try BaselineFile.load(baseline, keysDirectory: keys ?? RuleBundle.defaultKeysDirectory, requireSignature: requireSignedBaseline)
            } catch {
                throw CommandSupport.failure(TerminalText.escape(error.description))
            }
        }
        let report = try scan(set, baseline: approved)
        if let writeBaseline {
            do { try BaselineFile.write(CycloneDXReporter(rules: set).renderBaseline(report), to: writeBaseline, signingKey: signingKey) } catch {
                throw CommandSupport.failure(TerminalText.escape(error.description))
            }
            StandardError.writeLine("chainwatch: wrote baseline \(TerminalText.escape(writeBaseline))" + (signingKey == nil ? " (unsigned)" : " and its signature"))
            if report.isIncomplete || report.findings.contains(where: { $0.severity > .info }) {
                // A baseline approves what the scan saw: what it could not read stays unapproved, what it found is approved.
                StandardError.writeLine("chainwatch: warning: the baseline approves what this scan saw, which was "
                                        + (report.isIncomplete ? "incomplete" : "not clean") + "; read the report before trusting it")
            }
        }
        if let metricsFile {
            do { try MetricsFile(path: metricsFile).write(report, rules: set, counters: MetricsFile.Counters(scans: 1)) } catch {
                throw CommandSupport.failure("--metrics-file \(metricsFile): \(error)")
            }
        }
        switch format {
        case .text: print(TextReporter(verbose: verbose).render(report), terminator: "")
        case .json:
            do { print(try JSONReporter().render(report), terminator: "") } catch {
                throw CommandSupport.failure(error.description)
            }
        case .cyclonedx: print(CycloneDXReporter(rules: set).render(report), terminator: "")
        case .sarif:
            do { print(try SARIFReporter(rules: set).render(report), terminator: "") } catch {
                throw CommandSupport.failure("the SARIF log could not be encoded: \(error)")
            }
        }
        if report.findings.contains(where: { $0.severity >= threshold }) { throw ExitCode(1) }
        // Not looked is not "nothing found": a pipeline gating on 0 must not pass a scan that could not look.
        if report.isIncomplete { throw ExitCode(3) }
    }

    private func scan(_ set: RuleSet, baseline: Baseline?) throws -> ScanReport {
        var options = ScanOptions()
        options.root = root
        options.scanProcesses = !noProcesses
        options.readBlockingFilesystems = readBlockingFilesystems
        options.scanLibraryDirectories = !noLibraryDirectories
        options.jobs = jobsOption.jobs ?? 2
        // A one-shot scan is waited for: start the disk reads of upcoming files so cold reads overlap.
        options.readAhead = 4 * options.jobs
        options.collectInventory = format == .cyclonedx || writeBaseline != nil
        options.baseline = baseline
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
        guard let image else { return Scanner(rules: set, options: options).run() }
        do { return try Scanner(rules: set, options: options).scanImage(image) } catch {
            // The error quotes the image (member names, platforms, paths in its documents): escaped.
            throw CommandSupport.failure(TerminalText.escape("--image \(image): \(error)"))
        }
    }
}
