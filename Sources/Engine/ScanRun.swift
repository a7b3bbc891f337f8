import ELFReader
import FoundationEssentials
import HostIO
import Probes

/// The phases of one scan, in order, each adding to the report and to the index of files seen.
struct ScanRun {
    let plan: ScanPlan
    let options: ScanOptions
    let root: ConfinedRoot
    let resolver: LibraryResolver
    /// /etc/ld.so.preload of the root: its libraries are in every program's graph.
    let preload: [String]?
    var report: ScanReport
    var index: FileIndex

    init(plan: ScanPlan, options: ScanOptions) {
        self.plan = plan
        self.options = options
        root = ConfinedRoot(options.root)
        resolver = LibraryResolver(root: root)
        preload = LoaderConfiguration.preload(root: root)
        report = ScanReport(
            scanID: UUID().uuidString.lowercased(), root: options.root, startedAt: Date().timeIntervalSince1970,
            findings: [], skipped: [], notes: [], statistics: ScanStatistics(), programs: [])
        report.statistics.rules = plan.rules.rules.count
        index = FileIndex(plan: plan, inspector: FileInspector(maximumSize: options.maximumFileSize), cache: options.cache,
                          stall: options.readStall, progress: options.progress)
        index.readBlockingFilesystems = options.readBlockingFilesystems
    }

    /// `--path`: each file, directory and archive given, members included.
    mutating func scanPaths(_ paths: [String]) {
        var walk = PathScan(plan: plan, inspector: index.inspector)
        for path in paths { walk.scan(path, into: &index) }
        report.skipped += walk.skipped
        report.notes += walk.notes
        report.scannedPaths = paths
    }

    /// Packages: every package database of the root (parsed again only when one changed, for the daemon).
    mutating func readPackages() -> PackageInventory {
        let inventory = options.cache?.packageInventory(root: root) ?? PackageDatabases.read(root: root)
        report.statistics.packages = inventory.packages.count
        report.packageDatabases = inventory.databases
        if inventory.databases.isEmpty {
            report.notes.append("no package database found in \(options.root) (dpkg, rpm, apk, pacman); package checks had nothing to check")
        }
        if inventory.fileCount == 0 && (plan.checksIntegrity || options.collectInventory) {
            let which = inventory.databases.isEmpty ? "no package database was found"
                : inventory.databases.map { "\($0.path) (\($0.format))" }.joined(separator: ", ") + " records no file lists"
            report.notes.append("file ownership unknown: \(which); no file is called unowned, and none is compared with a package")
        }
        report.notes += inventory.problems
        if plan.checksIntegrity || options.collectInventory { index.integrity = (root, inventory) }
        return inventory
    }

    /// Processes: every running process's executable mappings (the host only; an offline root has none).
    mutating func readProcesses() -> [Probes.ProcessInfo] {
        guard options.scanProcesses && root.isHost else {
            report.notes.append("process checks skipped: \(root.isHost ? "disabled" : "offline scan of \(options.root)")")
            return []
        }
        let table = ProcessTable.read(procPath: options.procPath) { plan.checksRuntime(of: $0) }
        report.statistics.processes = table.processes.count
        report.statistics.processesSkipped = table.skipped.count
        report.skipped += table.skipped
        for mapped in table.mappedFiles { index.addMapped(mapped) }
        // The objects of a program whose GOT is checked: their exports say where each slot should point.
        for process in table.processes where plan.got.checks(process.executable) {
            index.wantSymbols(of: (process.mappings ?? []).filter(\.isExecutable).map(\.identity))
        }
        return table.processes
    }

    /// Program graphs: each program a dependency-chain rule names, wherever it is installed or running, and the
    /// libraries ld.so would load for it.
    mutating func walkProgramGraphs(inventory: PackageInventory, processes: [Probes.ProcessInfo]) -> [(ProgramLocation, DependencyGraph)] {
        report.notes += resolver.problems
        var graphs: [(ProgramLocation, DependencyGraph)] = []
        for name in plan.programs {
            let locations = ProgramLocator.locate(name, root: root, packages: inventory, processes: processes)
            if locations.isEmpty { report.notes.append("\(name): not installed or not found; its dependency checks had nothing to check") }
            for location in locations {
                let walkResolver = location.root == root ? resolver : LibraryResolver(root: location.root)
                let preload = location.root == root ? self.preload : LoaderConfiguration.preload(root: location.root)
                do {
                    let graph = try DependencyGraph.walk(program: location.path, resolver: walkResolver,
                                                         preload: preload ?? []) { path in
                        try index.inspectForGraph(root: location.root, path: path)
                    }
                    for node in graph.nodes { index.addGraphNode(node, root: location.root) }
                    graphs.append((location, graph))
                    report.programs.append(ProgramSummary(
                        program: location.root.displayPath(location.path), foundBy: location.foundBy,
                        libraries: graph.nodes.dropFirst().map { ProgramSummary.Library(chain: $0.chain, path: $0.path) },
                        missing: graph.missing.map { $0.chain.joined(separator: " -> ") }))
                } catch {
                    report.skipped.append(Skip(subject: location.root.displayPath(location.path), reason: "library graph not read: \(error)", code: .damaged))
                }
            }
        }
        return graphs
    }

    /// Libraries at rest in the loader's directories: a bad liblzma is found before anything loads it.
    /// - Parameter graph: a walked program, whose ELF class and machine pick the directories (x86-64 otherwise).
    mutating func addLibrariesAtRest(like graph: DependencyGraph?) {
        guard options.scanLibraryDirectories else { return }
        let kind = graph.map { ELFClassAndMachine(is64Bit: $0.nodes[0].elf.fileClass == .elf64, machine: $0.nodes[0].elf.machine) }
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

    /// File inspection: every file seen and not yet read is read once (SHA-256, ELF facts, byte patterns).
    mutating func inspectFiles() {
        index.inspectPending(jobs: options.jobs, readAhead: options.readAhead, shouldStop: options.shouldStop)
        if options.shouldStop() {
            report.completed = false
        }
        report.skipped += index.skipped
        report.statistics.filesExamined = index.records.count
        report.statistics.filesRead = index.filesRead
        report.statistics.bytesRead = index.bytesRead
        report.statistics.filesFromCache = index.filesFromCache
        options.cache?.retain(only: Set(index.records.compactMap { $0.facts?.identity }))
    }

    /// Provenance: for each file read, its package and whether its content is what the package recorded (the
    /// digest was computed in the same read as the SHA-256), where it lives and who besides root can change it.
    mutating func assessProvenance(inventory: PackageInventory) {
        guard plan.checksIntegrity || options.collectInventory else { return }
        let scanned = index.records.indices.filter { index.records[$0].root == root && index.records[$0].facts != nil }
        let paths = scanned.map { index.records[$0].path }
        let (recorded, problems) = options.cache?.recordedDigests(for: paths, inventory: inventory, root: root)
            ?? PackageIntegrity.recordedDigests(for: paths, inventory: inventory, root: root)
        options.cache?.retainRecordedDigests(only: Set(paths))
        report.notes += problems
        var writability = WritabilityCheck()
        index.updateRecords { records in
            for position in records.indices {
                guard let facts = records[position].facts else { continue }
                let record = records[position]
                let deleted = record.seenAs.contains("mapped (deleted from disk)")
                let place = Provenance.place(of: record.path)
                // What is at the path now: the file read, or another one (replaced since a process mapped it).
                let current = place == .memfd ? nil
                    : record.pathStatus ?? (try? FileSystem.linkStatus(record.root.hostPath(record.path)))
                let replaced = deleted || current?.identity != facts.identity
                var integrity = Provenance.Integrity.unowned, detail: String?
                var package: InstalledPackage?
                if record.root == root && inventory.fileCount == 0 {
                    // Unknown is not "unowned": a root whose database lists no files (none at all, dpkg without
                    // info/*.list, a distroless status.d) says nothing about who installed this file.
                    integrity = .notChecked
                    detail = "the package database records no file lists; its owner is unknown"
                } else if record.root == root, let entry = recorded[record.path] {
                    (integrity, detail) = Provenance.integrity(recorded: entry, computed: facts.digest, packages: inventory.packages)
                    switch entry {
                    case .recorded(_, _, let index, _), .notRecorded(let index, _): package = inventory.packages[index]
                    case .unowned, .locallyDiverted: break
                    }
                    if replaced && package != nil {
                        if !deleted && integrity == .modified {
                            // Mapped under the package's path, yet not the file at that path here: a bind mount in a
                            // private mount namespace. What runs is what counts, and it is not what was installed.
                            detail = "mapped as \(record.path), but not the file at that path in the scanner's mount namespace "
                                + "(a bind mount in another namespace?); its content is not what the package installed. " + (detail ?? "")
                        } else if deleted || integrity != .matches {
                            integrity = .replaced
                            detail = "the file at \(record.path) is no longer the one read (deleted or replaced since it was mapped); not compared"
                        }
                    }
                } else if record.root != root {
                    integrity = .notChecked
                    detail = "in \(record.root.displayPath("/")), whose package database is not read"
                }
                records[position].provenance = Provenance(
                    package: package, integrity: integrity, integrityDetail: detail, place: place,
                    writableBy: place == .memfd ? nil : writability.nonRootWriter(root: record.root, path: record.path, status: facts.status),
                    deleted: deleted)
            }
        }
    }

    /// Live graphs: for each running program a dependency-chain rule names, the chains of what it really mapped
    /// (LD_LIBRARY_PATH, a library replaced since it started), next to the on-disk walk of what it would load now.
    mutating func liveGraphs(_ processes: [Probes.ProcessInfo]) -> [(ProgramLocation, DependencyGraph)] {
        var graphs: [(ProgramLocation, DependencyGraph)] = []
        for process in processes {
            guard let mappings = process.mappings, let executable = process.executable.map(ScanPlan.trimmingDeleted),
                  plan.programs.contains(baseName(executable)),
                  let identity = executableIdentity(process, mappings: mappings) else { continue }
            var seen: Set<FileIdentity> = []
            let objects = mappings.filter(\.isExecutable).compactMap { mapping -> DependencyGraph.MappedObject? in
                guard seen.insert(mapping.identity).inserted, let elf = index.facts(of: mapping.identity)?.elf else { return nil }
                return DependencyGraph.MappedObject(identity: mapping.identity, path: mapping.path, elf: elf)
            }
            guard let graph = DependencyGraph.mapped(program: executable, executable: identity, objects: objects) else { continue }
            let location = ProgramLocation(root: process.root, path: executable,
                                           foundBy: "running pid \(process.pid), as mapped", pid: process.pid)
            graphs.append((location, graph))
            report.programs.append(ProgramSummary(
                program: process.root.displayPath(executable), foundBy: location.foundBy,
                libraries: graph.nodes.dropFirst().map { ProgramSummary.Library(chain: $0.chain, path: process.root.displayPath($0.path)) },
                missing: graph.missing.map { $0.chain.joined(separator: " -> ") }))
        }
        return graphs
    }

    /// The running executable's identity as /proc/PID/maps names it. On overlayfs (a container's root) maps shows
    /// the underlying file's device while stat of /proc/PID/exe shows the overlay's, so the mapping of the
    /// executable's path is taken first; the stat only when no mapping has that path.
    func executableIdentity(_ process: Probes.ProcessInfo, mappings: [MemoryMapping]) -> FileIdentity? {
        if let executable = process.executable.map(ScanPlan.trimmingDeleted),
           let mapping = mappings.first(where: { $0.path == executable }) {
            return mapping.identity
        }
        return try? FileSystem.status(options.procPath + "/\(process.pid)/exe").identity
    }

    /// Runtime images: for each process a got-integrity rule names, its executable's GOT slots as they are now.
    mutating func readProcessImages(_ processes: [Probes.ProcessInfo]) -> [ProcessImage] {
        var images: [ProcessImage] = []
        for process in processes {
            guard let mappings = process.mappings, let executable = process.executable,
                  plan.got.checks(executable) else { continue }
            let subject = "pid \(process.pid) (\(executable))"
            // The running inode, whatever its path says now.
            guard let identity = executableIdentity(process, mappings: mappings),
                  let elf = index.facts(of: identity)?.elf, elf.symbolsRead else {
                report.skipped.append(Skip(subject: subject, reason: "executable not readable as ELF; GOT not checked", code: .damaged))
                continue
            }
            do {
                images.append(try ProcessImage.read(pid: process.pid, executable: executable, identity: identity, elf: elf,
                                                    mappings: mappings, vdso: process.vdso, procPath: options.procPath))
            } catch {
                let exited: Bool
                if case .memoryNotReadable(_, let system) = error { exited = system.isNotFound } else { exited = false }
                report.skipped.append(Skip(subject: subject, reason: error.description, code: exited ? .exited : .unreadable))
            }
        }
        report.statistics.processesChecked = images.count
        return images
    }

    /// Matching: the plan's rules against the facts, all names of every file known by now.
    mutating func match(inventory: PackageInventory, graphs: [(ProgramLocation, DependencyGraph)], images: [ProcessImage],
                        running: [Probes.ProcessInfo]) {
        let findings = plan.findings(ScanFacts(root: root, inventory: inventory, files: index.records, graphs: graphs,
                                               processes: images, running: running, preload: preload))
        let (active, suppressed, notes) = plan.suppressions.apply(findings, running: running, now: Date().timeIntervalSince1970)
        report.findings = active
        report.suppressed = suppressed
        report.statistics.findingsSuppressed = suppressed.count
        report.notes += notes
    }

    /// The SBOM's material: every package, every file read with its provenance and the processes mapping it,
    /// each program's DT_NEEDED edges, and the root's os-release.
    mutating func collectInventory(_ inventory: PackageInventory, graphs: [(ProgramLocation, DependencyGraph)],
                                   running: [Probes.ProcessInfo]) {
        guard options.collectInventory else { return }
        let executables = Dictionary(running.compactMap { process in process.executable.map { (process.pid, ScanPlan.trimmingDeleted($0)) } },
                                     uniquingKeysWith: { first, _ in first })
        var packageIndex: [InstalledPackage: Int] = [:]
        for (position, package) in inventory.packages.enumerated() where packageIndex[package] == nil { packageIndex[package] = position }
        var files: [ScannedFile] = []
        for record in index.records {
            guard let facts = record.facts else { continue }
            let kind: ScannedFile.Kind = !facts.isELF ? .file
                : (record.seenAs.contains("program") || facts.elf?.interpreter != nil && facts.elf?.soname == nil) ? .program : .library
            files.append(ScannedFile(
                path: record.displayPath, sha256: facts.sha256, digests: facts.digests, kind: kind, names: record.names.sorted(),
                package: record.provenance?.package.flatMap { packageIndex[$0] },
                provenance: record.provenance, pids: record.pids.sorted(),
                mappedBy: Set(record.pids.compactMap { executables[$0] }).sorted(), seenAs: record.seenAs.sorted()))
        }
        // By identity: a file first seen mapped or at rest may have been recorded under another of its paths.
        var edges: Set<ScanInventory.Edge> = []
        for (_, graph) in graphs {
            for node in graph.nodes {
                guard let from = index.record(withIdentity: node.identity) else { continue }
                for child in node.children {
                    guard let to = index.record(withIdentity: graph.nodes[child].identity) else { continue }
                    edges.insert(ScanInventory.Edge(from: from.displayPath, to: to.displayPath))
                }
            }
        }
        report.inventory = ScanInventory(
            system: OSRelease.read(root: root), packages: inventory.packages, files: files,
            edges: edges.sorted { ($0.from, $0.to) < ($1.from, $1.to) })
    }

    /// Gaps of the whole scan, not of one file: run without root, or a root with nothing in it to scan.
    mutating func noteCoverage() {
        if effectiveUserID() != 0 {
            report.coverageGaps.append("not run as root: processes, package databases and files only root may read were not looked at; run chainwatch as root")
        }
        if options.paths.isEmpty && report.packageDatabases.isEmpty && index.records.isEmpty {
            report.coverageGaps.append("nothing to scan in \(options.root): no package database, program or library found (is it the right directory, and is it mounted?)")
        }
    }

    func finish(started: ContinuousClock.Instant) -> ScanReport {
        var report = self.report
        report.statistics.durationSeconds = (ContinuousClock.now - started).seconds
        return report
    }
}
