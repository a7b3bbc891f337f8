import Dispatch
import ELFReader
import Foundation
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
    public var maximumFileSize: Int64 = 512 << 20
    /// Facts kept between scans (the daemon's); nil for one-shot scans.
    public var cache: FactsCache?
    /// Polled between files: a daemon asked to stop ends the scan early (the report says it is incomplete).
    public var shouldStop: @Sendable () -> Bool = { false }

    public init() {}
}

/// Runs one scan: collects facts from the probes, then hands them to the matcher.
public struct Scanner: Sendable {
    public let rules: RuleSet
    public let options: ScanOptions

    public init(rules: RuleSet, options: ScanOptions) {
        self.rules = rules
        self.options = options
    }

    public func run() -> ScanReport {
        let clock = ContinuousClock.now
        let root = ConfinedRoot(options.root)
        var report = ScanReport(
            scanID: UUID().uuidString.lowercased(), root: options.root, startedAt: Date().timeIntervalSince1970,
            findings: [], skipped: [], notes: [], statistics: ScanStatistics(), programs: [])
        report.statistics.rules = rules.rules.count

        let byteMatcher = ByteMatcher(rules: rules.rules)
        let elfGlobs = GlobSet(rules.rules.compactMap { rule -> [String]? in
            if case .elfFeature(let match) = rule.match { return match.files }
            return nil
        }.flatMap { $0 })
        var index = FileIndex(
            inspector: FileInspector(maximumSize: options.maximumFileSize) { names, bytes, _ in
                byteMatcher.matches(names: names, bytes: bytes)
            },
            wantsELF: { elfGlobs.matchesAny($0) },
            wantsBytes: { byteMatcher.applies(to: $0) },
            cache: options.cache)

        // Packages.
        let inventory = options.cache?.packageInventory(root: root) ?? PackageDatabases.read(root: root)
        report.statistics.packages = inventory.packages.count
        if inventory.packages.isEmpty {
            report.notes.append("no package database found in \(options.root) (dpkg, rpm, apk, pacman); package checks had nothing to check")
        }
        report.notes += inventory.problems

        // Processes.
        var table = ProcessTable()
        let scanProcesses = options.scanProcesses && root.isHost
        if scanProcesses {
            table = ProcessTable.read(procPath: options.procPath)
            report.statistics.processes = table.processes.count
            report.statistics.processesSkipped = table.skipped.count
            report.skipped += table.skipped
            for mapped in table.mappedFiles { index.addMapped(mapped) }
        } else {
            report.notes.append("process checks skipped: \(root.isHost ? "disabled" : "offline scan of \(options.root)")")
        }

        // Programs named by dependency-chain rules, and their library graphs.
        let resolver = LibraryResolver(root: root)
        report.notes += resolver.problems
        var graphs: [(ProgramLocation, DependencyGraph)] = []
        var programNames: [String] = []
        for rule in rules.rules {
            if case .dependencyChain(let match) = rule.match, !programNames.contains(match.binary) { programNames.append(match.binary) }
        }
        for name in programNames {
            let locations = ProgramLocator.locate(name, root: root, packages: inventory, processes: table.processes, procPath: options.procPath)
            if locations.isEmpty { report.notes.append("\(name): not installed or not found; its dependency checks had nothing to check") }
            for location in locations {
                let walkResolver = location.root == root ? resolver : LibraryResolver(root: location.root)
                do {
                    let graph = try DependencyGraph.walk(program: location.path, resolver: walkResolver) { path in
                        try index.inspectForGraph(root: location.root, path: path)
                    }
                    for node in graph.nodes { index.addGraphNode(node, root: location.root) }
                    graphs.append((location, graph))
                    report.programs.append(ProgramSummary(
                        program: location.path, foundBy: location.foundBy,
                        libraries: graph.nodes.dropFirst().map { ProgramSummary.Library(chain: $0.chain, path: $0.path) },
                        missing: graph.missing.map { $0.chain.joined(separator: " -> ") }))
                } catch {
                    report.skipped.append(Skip(subject: location.path, reason: "library graph not read: \(error)"))
                }
            }
        }

        // Libraries at rest in the loader's directories: a bad liblzma is found before anything loads it.
        if options.scanLibraryDirectories {
            let kind = graphs.first.map { ELFClassAndMachine(is64Bit: $0.1.nodes[0].elf.fileClass == .elf64, machine: $0.1.nodes[0].elf.machine) }
                ?? ELFClassAndMachine(is64Bit: true, machine: 62)
            var listed: Set<String> = []
            for directory in resolver.searchDirectories(for: kind) {
                // Merged /usr makes /lib/x86_64-linux-gnu and /usr/lib/x86_64-linux-gnu one directory: list it once.
                guard let (resolved, status) = try? root.status(directory), status.kind == .directory,
                      listed.insert(resolved).inserted else { continue }
                for entry in LibraryDirectory.entries(root: root, directory: resolved, status: status, cache: options.cache) {
                    index.addAtRest(entry, root: root, directory: resolved)
                }
            }
        }

        index.inspectPending(jobs: options.jobs, readAhead: options.readAhead, shouldStop: options.shouldStop)
        if options.shouldStop() {
            report.completed = false
            report.notes.append("scan stopped before it finished")
        }
        report.skipped += index.skipped
        report.statistics.filesExamined = index.records.count
        report.statistics.filesRead = index.filesRead
        report.statistics.bytesRead = index.bytesRead
        report.statistics.filesFromCache = index.filesFromCache
        options.cache?.retain(only: Set(index.records.compactMap { $0.facts?.identity }))

        let matcher = Matcher(rules: rules, inventory: inventory, files: index.records, graphs: graphs)
        report.findings = matcher.findings()
        report.statistics.durationSeconds = (ContinuousClock.now - clock).seconds
        return report
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
