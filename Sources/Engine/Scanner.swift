import FoundationEssentials
import HostIO
import Probes
import Rules

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
    public var maximumFileSize: Int64 = 512 << 20
    /// `--path`: scan these files and directories, and the members of archives in them, instead of a root.
    public var paths: [String] = []
    /// Keep in the report what an SBOM needs: every package, every file read with its provenance, each program's
    /// dependency edges and the root's os-release.
    public var collectInventory = false
    /// Facts kept between scans (the daemon's); nil for one-shot scans.
    public var cache: FactsCache?
    /// Polled between files: a daemon asked to stop ends the scan early (the report says it is incomplete).
    public var shouldStop: @Sendable () -> Bool = { false }

    public init() {}
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
            scan.match(inventory: PackageInventory(), graphs: [], images: [], running: [])
            scan.collectInventory(PackageInventory(), graphs: [], running: [])
            return scan.finish(started: started)
        }
        let inventory = scan.readPackages()
        let processes = scan.readProcesses()
        let graphs = scan.walkProgramGraphs(inventory: inventory, processes: processes)
        scan.addLibrariesAtRest(like: graphs.first?.1)
        scan.inspectFiles()
        scan.assessProvenance(inventory: inventory)
        let live = scan.liveGraphs(processes)
        let images = scan.readProcessImages(processes)
        scan.match(inventory: inventory, graphs: graphs + live, images: images, running: processes)
        scan.collectInventory(inventory, graphs: graphs + live, running: processes)
        return scan.finish(started: started)
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
