import HostIO
import Probes
import Rules

/// Everything the probes found in one scan, as the matchers see it: they read facts and know nothing of how the
/// facts were gathered.
struct ScanFacts {
    /// The root scanned: its package database is the one `inventory` holds.
    let root: ConfinedRoot
    let inventory: PackageInventory
    let files: [FileRecord]
    let graphs: [(ProgramLocation, DependencyGraph)]
    /// Running programs whose GOT was read (for got-integrity rules).
    let processes: [ProcessImage]
    /// Every process seen; those a rule names with their mappings and LD_* variables.
    let running: [Probes.ProcessInfo]
    /// The libraries /etc/ld.so.preload names in the scanned root, or nil when it has none.
    let preload: [String]?
    private let positions: [FileIdentity: Int]
    /// Identities maps gave a container's files (the overlay's device) to those of the layer files they are.
    let aliases: [FileIdentity: FileIdentity]
    /// What the YARA rules found in processes' code outside files (`ScanRun.scanProcessMemory`).
    var memory: [ProcessMemoryScan] = []
    /// Dates of the packages package-age rules select (`ScanRun.datePackages`); nil when no such rule is loaded.
    var packageAges: PackageAges?
    /// The target these facts are of, and the approved state drift rules compare it with (nil: no baseline given).
    var target = ScanTarget(kind: .host)
    var baseline: Baseline?

    init(root: ConfinedRoot, inventory: PackageInventory, files: [FileRecord],
         graphs: [(ProgramLocation, DependencyGraph)], processes: [ProcessImage] = [],
         running: [Probes.ProcessInfo] = [], preload: [String]? = nil, aliases: [FileIdentity: FileIdentity] = [:]) {
        self.aliases = aliases
        self.root = root
        self.inventory = inventory
        self.files = files
        self.graphs = graphs
        self.processes = processes
        self.running = running
        self.preload = preload
        var positions: [FileIdentity: Int] = [:]
        for (position, file) in files.enumerated() {
            if let identity = file.facts?.identity, positions[identity] == nil { positions[identity] = position }
        }
        self.positions = positions
    }

    /// The evidence every file finding carries: path, hash, owning package, pids, the shortest chain, how seen.
    func evidence(for file: FileRecord, matchedName: String? = nil, detail: String?) -> Evidence {
        var evidence = Evidence(path: file.displayPath, sha256: file.facts?.sha256, detail: detail)
        evidence.matchedName = matchedName
        if let owner = owner(of: file) {
            evidence.package = owner.name
            evidence.version = owner.version
        }
        let pids = file.pids.sorted()
        if !pids.isEmpty {
            evidence.pid = pids[0]
            evidence.pids = pids
        }
        evidence.chain = file.chains.min { $0.count < $1.count }
        evidence.seenAs = file.seenAs
        evidence.archive = file.archive
        return evidence
    }

    /// The package that installed the file: only the scanned root's database describes its files (a container
    /// process's root has a database of its own, not read).
    func owner(of file: FileRecord) -> InstalledPackage? {
        file.root == root ? inventory.owner(of: file.path) : nil
    }

    func file(withIdentity identity: FileIdentity) -> FileRecord? {
        positions[aliases[identity] ?? identity].map { files[$0] }
    }
}
