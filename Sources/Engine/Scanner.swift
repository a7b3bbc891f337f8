import FoundationEssentials
import HostIO
import Probes
import Rules
import Synchronization

/// How a scan runs.
public struct ScanOptions: Sendable {
    /// The root to scan: "/" for this host, or a mounted image or container root.
    public var root: String = "/"
    public var procPath: String = "/proc"
    /// Read running processes. Only meaningful for the host's own root; an offline root has none.
    public var scanProcesses = true
    /// Read and hash libraries lying in the loader's directories, not only those loaded or reached.
    public var scanLibraryDirectories = true
    /// Worker threads for reading and hashing files.
    public var jobs = 2
    /// Files whose reading starts ahead of the workers (see `FileIndex.inspectPending`); 0 for none.
    public var readAhead = 0
    /// The most bytes of one file held in memory (an archive's ELF member); files on disk are streamed whatever
    /// their size.
    public var maximumFileSize: Int64 = 512 << 20
    /// How long a read on a FUSE or network filesystem may go without progress before it is abandoned (a skip
    /// that leaves the scan incomplete).
    public var readStall: Duration = .seconds(10)
    /// Whether files on FUSE and network filesystems are read at all. Off by default: once a read there is left
    /// waiting, any later open() of the same file can wait in the kernel where no signal reaches it (FUSE keeps
    /// the page locked until its server answers), so a process that opened it can never exit. Skipped, such a
    /// file is a `blocked` skip and the scan is incomplete, never clean.
    public var readBlockingFilesystems = false
    /// `--path`: scan these files and directories, and the members of archives in them, instead of a root.
    public var paths: [String] = []
    /// Keep in the report what an SBOM needs: every package, every file read with its provenance, each program's
    /// dependency edges and the root's os-release.
    public var collectInventory = false
    /// Facts kept between scans (the daemon's); nil for one-shot scans.
    public var cache: FactsCache?
    /// Polled between files: a daemon asked to stop ends the scan early (the report says it is incomplete).
    public var shouldStop: @Sendable () -> Bool = { false }
    /// Advanced as the scan gets on (a phase done, a file read): the daemon feeds systemd's watchdog only while
    /// it moves, so a scan stuck for good is a service systemd sees as hung.
    public var progress = ScanProgress()
    /// `--image --platform`: the manifest to take from an image index; nil for this host's platform.
    public var imagePlatform: ImagePlatform?
    /// What the scan's root is, when the caller knows better than the root's path (an image); nil: the host for
    /// "/", an offline root otherwise, the given paths for `paths`.
    public var target: ScanTarget?
    /// Containers on the host scanned as targets of their own, at most (each one over is a skip).
    public var maximumContainers = 256
    /// Library files listed in one container's loader directories, at most.
    public var maximumFilesPerContainer = 20_000
    /// Where the runtimes' state directories are looked for ("" for this host; tests point it at a tree).
    public var runtimeStatePrefix = ""
    /// YARA rules' bounds, and whether every process's code outside files is scanned (docs/yara.md).
    public var yara = YARALimits()
    /// Work out which packages ship code nothing here runs (a report and SBOM fact, never a finding). The daemon,
    /// which reports only findings, turns it off.
    public var findCodeInUse = true
    /// The approved state `baseline-drift` rules compare each target with (`--baseline`); nil: none.
    public var baseline: Baseline?

    public init() {}
}

/// A counter the scan advances and another thread reads (the daemon's watchdog).
public final class ScanProgress: Sendable {
    private let ticks = Atomic<Int>(0)

    public init() {}

    public func advance() { ticks.add(1, ordering: .relaxed) }

    public var value: Int { ticks.load(ordering: .relaxed) }
}

/// Runs one scan: the probes gather facts phase by phase, then the plan's matchers turn facts into findings.
public struct Scanner: Sendable {
    public let plan: ScanPlan
    public let options: ScanOptions

    public init(plan: ScanPlan, options: ScanOptions) {
        self.plan = plan
        self.options = options
    }

    public init(rules: RuleSet, options: ScanOptions) {
        self.init(plan: ScanPlan(rules), options: options)
    }

    public func run() -> ScanReport {
        let started = ContinuousClock.now
        var scan = ScanRun(plan: plan, options: options)
        if !options.paths.isEmpty {
            // Build inputs and artifacts: content rules only; no packages, processes or program graphs.
            scan.scanPaths(options.paths)
            scan.inspectFiles()
            scan.suppress(scan.match(t: 0, live: [], images: []))
            scan.summarizeTargets()
            scan.collectInventory(0, live: [])
            scan.noteCoverage()
            return scan.finish(started: started)
        }
        let progress = options.progress
        // Processes first: the containers they run in are targets too.
        scan.readProcesses()
        progress.advance()
        for t in scan.targets.indices where scan.reachRoot(t) {
            scan.readPackages(t)
            scan.noteBaselineGaps(t)
            scan.datePackages(t)
            scan.walkProgramGraphs(t)
            scan.addLibrariesAtRest(t)
            progress.advance()
        }
        scan.inspectFiles()
        var findings: [Finding] = []
        var lives: [[(ProgramLocation, DependencyGraph)]] = []
        for t in scan.targets.indices {
            scan.assessProvenance(t)
            let live = scan.liveGraphs(t)
            lives.append(live)
            findings += scan.match(t: t, live: live, images: scan.readProcessImages(t), memory: scan.scanProcessMemory(t))
        }
        progress.advance()
        scan.suppress(findings.sorted(by: Finding.reportOrder))
        scan.summarizeTargets()
        for t in scan.targets.indices {
            if options.findCodeInUse { scan.findCodeInUse(t) }
            scan.collectInventory(t, live: lives[t])
        }
        scan.noteCoverage()
        return scan.finish(started: started)
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
