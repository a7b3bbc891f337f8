#if canImport(Glibc)
import Glibc   // ENOTDIR, ELOOP
#endif
import ELFReader
import FoundationEssentials
import HostIO
import Probes

/// One target's part of a scan: its root and what the per-root phases learned of it.
struct TargetScan {
    var target: ScanTarget
    var root: ConfinedRoot
    let resolver: LibraryResolver
    /// /etc/ld.so.preload of the root: its libraries are in every program's graph.
    let preload: [String]?
    var inventory = PackageInventory()
    var processes: [Probes.ProcessInfo] = []
    var graphs: [(ProgramLocation, DependencyGraph)] = []
    var pids: [Int32] = []
    var problems: [String] = []
    /// Dates of the packages package-age rules select.
    var packageAges: PackageAges?
    /// False when its root could no longer be reached (a container whose processes all exited).
    var reached = true

    init(target: ScanTarget, root: ConfinedRoot) {
        self.target = target
        self.root = root
        resolver = LibraryResolver(root: root)
        preload = LoaderConfiguration.preload(root: root)
    }
}

/// The phases of one scan, in order, each adding to the report and to the index of files seen. The per-root
/// phases run once per target: the host (or the offline root, or the image), then each container on the host.
struct ScanRun {
    let plan: ScanPlan
    let options: ScanOptions
    var targets: [TargetScan]
    var report: ScanReport
    var index: FileIndex
    /// Holds the containers' roots open for the whole scan.
    var placement: ProcessPlacement?
    /// The filesystem under all of a container's overlay layers, when they share one: its package databases are
    /// then files of that filesystem, named by inode, whichever container's overlay shows them.
    var backingDevice: [ConfinedRoot: UInt64] = [:]
    /// Package inventories parsed in this scan, by the databases' files on that filesystem: fifty containers of
    /// one image parse its dpkg database once (a container that installed or removed a package has database files
    /// of its own, in its writable layer, and is parsed on its own).
    var inventories: [String: PackageInventory] = [:]
    /// Processes whose mappings the process table could not read (see `ProcessTable.mappingsNotRead`).
    var mappingsNotRead = 0

    init(plan: ScanPlan, options: ScanOptions) {
        var plan = plan
        plan.yara.limits = options.yara
        self.plan = plan
        self.options = options
        let root = ConfinedRoot(options.root)
        targets = [TargetScan(target: options.target ?? Self.defaultTarget(options), root: root)]
        report = ScanReport(
            scanID: UUID().uuidString.lowercased(), root: options.root, startedAt: Date().timeIntervalSince1970,
            findings: [], skipped: [], notes: [], statistics: ScanStatistics(), programs: [])
        report.statistics.rules = plan.rules.rules.count
        if let baseline = options.baseline {
            report.baseline = BaselineReference(baseline)
            report.notes += baseline.ignored.map { "baseline \(baseline.file): \($0)" }
            if !options.paths.isEmpty {
                report.notes.append("baseline \(baseline.file) not compared: a --path scan has no packages and no processes")
            } else if !baseline.approvesCode {
                report.notes.append("baseline \(baseline.file) approves no code by SHA-256 (a package list): running code was not compared with it")
            }
        }
        index = FileIndex(plan: plan, inspector: FileInspector(maximumSize: options.maximumFileSize, resolvers: plan.resolverLimits), cache: options.cache,
                          stall: options.readStall, progress: options.progress)
        index.readBlockingFilesystems = options.readBlockingFilesystems
    }

    static func defaultTarget(_ options: ScanOptions) -> ScanTarget {
        if !options.paths.isEmpty { return ScanTarget(kind: .paths) }
        if ConfinedRoot(options.root).isHost {
            return ScanTarget(kind: .host, name: (try? FileSystem.readText("/proc/sys/kernel/hostname", limit: 256))?.trimmingWhitespace())
        }
        return ScanTarget(kind: .root, id: options.root)
    }

    /// The host's, the offline root's or the image's.
    var primary: TargetScan { targets[0] }

    /// `--path`: each file, directory and archive given, members included.
    mutating func scanPaths(_ paths: [String]) {
        var walk = PathScan(plan: plan, inspector: index.inspector)
        for path in paths { walk.scan(path, into: &index) }
        report.skipped += walk.skipped
        report.notes += walk.notes
        report.scannedPaths = paths
    }

    /// Packages: every package database of the target's root (parsed again only when one changed, for the daemon).
    mutating func readPackages(_ t: Int) {
        let root = targets[t].root
        var key: String?
        if let device = backingDevice[root] {
            key = "\(device)|" + PackageDatabases.stamp(root: root).map { status in
                status.map { "\($0.kind.rawValue):\($0.identity.inode):\($0.size):\($0.modified):\($0.changed)" } ?? "-"
            }.joined(separator: ",")
        }
        let inventory: PackageInventory
        if let key, let known = inventories[key] {
            inventory = known
        } else {
            inventory = options.cache?.packageInventory(root: root) ?? PackageDatabases.read(root: root)
            if let key, inventory.problems.isEmpty { inventories[key] = inventory }
        }
        targets[t].inventory = inventory
        if inventory.databases.contains(where: { !$0.wasRead }) { report.packagesUnknown.insert(targets[t].target.stableKey) }
        if t == 0 {
            report.statistics.packages = inventory.packages.count
            report.packageDatabases = inventory.databases
        } else {
            // A container's databases are its own (its summary lists them): an unreadable one is a gap of the
            // scan, named by its container.
            report.packageDatabases += inventory.databases.filter { !$0.wasRead }.map { database in
                var database = database
                database.path = targets[t].target.label + ": " + database.path
                return database
            }
        }
        let name = t == 0 ? options.root : targets[t].target.label
        if inventory.databases.isEmpty {
            report.notes.append("no package database found in \(name) (dpkg, rpm, apk, pacman); package checks had nothing to check")
        }
        if inventory.fileCount == 0 && (plan.checksIntegrity || options.collectInventory) {
            let which = inventory.databases.isEmpty ? "no package database was found"
                : inventory.databases.map { "\($0.path) (\($0.format))" }.joined(separator: ", ") + " records no file lists"
            report.notes.append("file ownership unknown in \(name): \(which); no file is called unowned, and none is compared with a package")
        }
        report.notes += inventory.problems.map { t == 0 ? $0 : "\(name): \($0)" }
        if plan.checksIntegrity || options.collectInventory { index.integrity[root] = inventory }
    }

    /// Processes: every running process's executable mappings (the host only; an offline root has none), each
    /// in its own root: the host's, or its container's, which becomes a target of its own.
    mutating func readProcesses() {
        guard options.scanProcesses && primary.root.isHost else {
            report.notes.append("process checks skipped: \(primary.root.isHost ? "disabled" : "offline scan of \(options.root)")")
            return
        }
        let placement = ProcessPlacement(procPath: options.procPath)
        self.placement = placement
        let table = ProcessTable.read(procPath: options.procPath, keepMappings: { plan.checksRuntime(of: $0) }, placement: placement)
        report.statistics.processes = table.processes.count
        report.statistics.processesSkipped = table.skipped.count
        mappingsNotRead = table.mappingsNotRead
        report.skipped += table.skipped
        let excluded = addContainers(placement.containers)
        for mapped in table.mappedFiles where !excluded.contains(mapped.root) { index.addMapped(mapped) }
        var position: [ConfinedRoot: Int] = [:]
        for (t, target) in targets.enumerated() { position[target.root] = t }
        for process in table.processes where !excluded.contains(process.root) {
            guard let t = position[process.root] else { continue }
            targets[t].processes.append(process)
            // The objects of a program whose GOT is checked: their exports say where each slot should point.
            if plan.got.checks(process.executable) {
                index.wantSymbols(of: (process.mappings ?? []).filter(\.isExecutable).map(\.identity))
            }
        }
    }

    /// The containers the process table found, as targets: named from their runtime's state on disk, at most
    /// `options.maximumContainers`, pods' sandbox containers left out. Returns the roots not scanned.
    private mutating func addContainers(_ containers: [ProcessPlacement.Container]) -> Set<ConfinedRoot> {
        var excluded: Set<ConfinedRoot> = []
        let state = RuntimeState(hostPrefix: options.runtimeStatePrefix)
        var sandboxes = 0
        // A cgroup is a name a process can choose: when several roots claim one container id, none of them gets
        // the runtime's name and image (which suppressions match), and each says why.
        var claims: [String: Int] = [:]
        for container in containers where container.reference.runtime != .unknown { claims[container.reference.id, default: 0] += 1 }
        var perContainer: [String: Int] = [:]
        let mounts = MountTable.read()
        for container in containers {
            let contested = (claims[container.reference.id] ?? 0) > 1
            var (metadata, problem) = container.reference.runtime == .unknown ? (nil, nil) : state.metadata(for: container.reference)
            if contested {
                metadata?.name = nil
                metadata?.image = nil
                metadata?.imageID = nil
                problem = "\(claims[container.reference.id]!) different roots claim this container id in their cgroup; its name and image are not trusted"
            }
            var target = ScanTarget.container(container.reference, metadata: metadata)
            if metadata?.isSandbox == true {
                // A label or a name says "sandbox", and whoever runs containers can set either: left out only when
                // every process in it is a pause program; otherwise scanned like any container, and said.
                let programs = container.pids.map { (try? FileSystem.readLink(options.procPath + "/\($0)/exe")).map(baseName) }
                if programs.allSatisfy({ $0 == "pause" || $0 == "catatonit" }) {
                    sandboxes += 1
                    excluded.insert(container.root)
                    continue
                }
                problem = [problem, "its runtime state marks it as a pod sandbox, but it runs other programs; scanned as a workload"]
                    .compactMap { $0 }.joined(separator: "; ")
            }
            perContainer[container.reference.id, default: 0] += 1
            guard targets.count <= options.maximumContainers, perContainer[container.reference.id]! <= Self.maximumRootsPerContainer else {
                excluded.insert(container.root)
                let reason = targets.count > options.maximumContainers
                    ? "over the limit of \(options.maximumContainers) containers a scan looks at; not scanned"
                    : "over the limit of \(Self.maximumRootsPerContainer) roots in one container (namespaces of its own processes); not scanned"
                report.skipped.append(Skip(subject: target.label, reason: reason, code: .limit))
                continue
            }
            if target.runtime == .unknown { target.name = nil }
            var scan = TargetScan(target: target, root: container.root)
            scan.pids = container.pids
            if let problem { scan.problems.append(problem) }
            targets.append(scan)
            index.targetLabels[container.root] = target.label
            // The layers from the host's own mount table (the runtime mounted the container's root there), never
            // from the container's, which a privileged container can forge.
            if let device = try? container.pinned.status().identity.device, let layers = OverlayLayers.find(device: device, in: mounts) {
                index.layers[container.root] = layers
                let devices = Set(layers.directories.compactMap { try? FileSystem.status($0).identity.device })
                if devices.count == 1 { backingDevice[container.root] = devices.first }
            }
        }
        if sandboxes > 0 {
            report.notes.append("\(sandboxes) pod sandbox (pause) container\(sandboxes == 1 ? "" : "s") not scanned as workloads")
        }
        report.statistics.containers = targets.count - 1
        return excluded
    }

    /// Roots (mount namespaces with roots of their own) one container may have before the rest are a limit skip.
    static let maximumRootsPerContainer = 8

    /// Whether a container's root can be read (it is held open, so its processes exiting does not take it away).
    /// A container with a FUSE or network filesystem mounted in it is not walked by path (a lookup that enters
    /// one can wait for good; the scan must end): a blocked skip naming it, unless --read-blocking-filesystems.
    mutating func reachRoot(_ t: Int) -> Bool {
        guard targets[t].target.kind == .container else { return true }
        if !options.readBlockingFilesystems, let pid = targets[t].pids.first {
            let blocking = MountTable.read(options.procPath + "/\(pid)/mountinfo").mounts.filter { MountTable.readsMayBlock($0.type) }
            if !blocking.isEmpty {
                report.skipped.append(Skip(subject: targets[t].target.label, reason: "has \(blocking.map { "\($0.type) at \($0.mountPoint)" }.prefix(3).joined(separator: ", ")) mounted, whose lookups can block for good; its packages and files at rest were not read (use --read-blocking-filesystems)", code: .blocked))
                targets[t].reached = false
                return false
            }
        }
        do {
            _ = try FileSystem.status(targets[t].root.hostPath("/"))
            return true
        } catch {
            report.skipped.append(Skip(subject: targets[t].target.label, reason: "its root could not be read (\(error.reason)); its files were not read", code: .unreadable))
            targets[t].reached = false
            return false
        }
    }

    /// Program graphs: each program a dependency-chain rule names, wherever it is installed or running in the
    /// target's root, and the libraries ld.so would load for it.
    mutating func walkProgramGraphs(_ t: Int) {
        let target = targets[t]
        if t == 0 { report.notes += target.resolver.problems } else { report.notes += target.resolver.problems.map { "\(target.target.label): \($0)" } }
        for name in plan.programs {
            let locations = ProgramLocator.locate(name, root: target.root, packages: target.inventory, processes: target.processes)
            if locations.isEmpty && t == 0 { report.notes.append("\(name): not installed or not found; its dependency checks had nothing to check") }
            for location in locations {
                let walkResolver = location.root == target.root ? target.resolver : LibraryResolver(root: location.root)
                let preload = location.root == target.root ? target.preload : LoaderConfiguration.preload(root: location.root)
                do {
                    let graph = try DependencyGraph.walk(program: location.path, resolver: walkResolver,
                                                         preload: preload ?? []) { path in
                        try index.inspectForGraph(root: location.root, path: path)
                    }
                    for node in graph.nodes { index.addGraphNode(node, root: location.root) }
                    targets[t].graphs.append((location, graph))
                    report.programs.append(ProgramSummary(
                        program: location.root.displayPath(location.path), foundBy: location.foundBy,
                        libraries: graph.nodes.dropFirst().map { ProgramSummary.Library(chain: $0.chain, path: $0.path) },
                        missing: graph.missing.map { $0.chain.joined(separator: " -> ") }, target: t == 0 ? nil : target.target.label))
                } catch {
                    var skip = Skip(subject: location.root.displayPath(location.path), reason: "library graph not read: \(error)", code: .damaged)
                    skip.target = index.targetLabels[location.root]
                    report.skipped.append(skip)
                }
            }
        }
    }

    /// Libraries at rest in the loader's directories: a bad liblzma is found before anything loads it.
    mutating func addLibrariesAtRest(_ t: Int) {
        guard options.scanLibraryDirectories else { return }
        let target = targets[t]
        // This machine's own kind always (ld.so's directories for it are searched whatever a root's programs are),
        // and the kind of every program walked: a root cannot steer the listing away by its first program's header.
        var kinds = [ELFClassAndMachine(is64Bit: true, machine: 62)]
        for (_, graph) in target.graphs {
            let kind = ELFClassAndMachine(is64Bit: graph.nodes[0].elf.fileClass == .elf64, machine: graph.nodes[0].elf.machine)
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        var directories: [String] = []
        for kind in kinds { directories += target.resolver.searchDirectories(for: kind).filter { !directories.contains($0) } }
        var listed: Set<String> = []
        var added = 0
        for directory in directories {
            // Merged /usr makes /lib/x86_64-linux-gnu and /usr/lib/x86_64-linux-gnu one directory: list it once.
            let resolved: String, status: FileStatus
            do { (resolved, status) = try target.root.status(directory) } catch {
                // Absent is nothing to list; anything else (a path past PATH_MAX, an I/O error) hides what is there.
                if !error.isNotFound && error.errno != ENOTDIR {
                    var skip = Skip(subject: target.root.displayPath(directory), reason: "loader directory not read (\(error.reason))",
                                    code: error.errno == ELOOP ? .notApplicable : .unreadable)
                    skip.target = index.targetLabels[target.root]
                    report.skipped.append(skip)
                }
                continue
            }
            guard status.kind == .directory, listed.insert(resolved).inserted else { continue }
            for entry in LibraryDirectory.entries(root: target.root, directory: resolved, status: status, cache: options.cache) {
                if t > 0 && added >= options.maximumFilesPerContainer {
                    report.skipped.append(Skip(subject: target.target.label, reason: "over the limit of \(options.maximumFilesPerContainer) library files per container; the rest of \(resolved) and later directories not read", code: .limit))
                    return
                }
                index.addAtRest(entry, root: target.root, directory: resolved)
                added += 1
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
        options.cache?.retainRoots(only: Set(targets.map(\.root)))
    }

    /// Provenance: for each file read in the target, its package and whether its content is what the package
    /// recorded (the digest was computed in the same read as the SHA-256), where it lives and who besides root can
    /// change it.
    mutating func assessProvenance(_ t: Int) {
        guard plan.checksIntegrity || options.collectInventory else { return }
        let root = targets[t].root, inventory = targets[t].inventory
        let scanned = index.records.indices.filter { index.records[$0].root == root && index.records[$0].facts != nil }
        let paths = scanned.map { index.records[$0].path }
        let (recorded, problems) = options.cache?.recordedDigests(for: paths, inventory: inventory, root: root)
            ?? PackageIntegrity.recordedDigests(for: paths, inventory: inventory, root: root)
        options.cache?.retainRecordedDigests(only: Set(paths), root: root)
        report.notes += problems
        var writability = WritabilityCheck()
        index.updateRecords { records in
            for position in scanned {
                guard let facts = records[position].facts else { continue }
                let record = records[position]
                let deleted = record.seenAs.contains("mapped (deleted from disk)")
                let place = Provenance.place(of: record.path)
                // What is at the path now: the file read, or another one (replaced since a process mapped it).
                let current = place == .memfd ? nil
                    : record.pathStatus ?? (try? FileSystem.linkStatus(record.root.hostPath(record.path)))
                // A container's file read from its layer: the container sees overlayfs's device, the layer's inode.
                let sameFile = current.map { $0.identity == facts.identity
                    || (!root.isHost && $0.identity.inode == facts.identity.inode && $0.size == facts.status.size) } ?? false
                let replaced = deleted || !sameFile
                var integrity = Provenance.Integrity.unowned, detail: String?
                var package: InstalledPackage?
                if inventory.fileCount == 0 {
                    // Unknown is not "unowned": a root whose database lists no files (none at all, dpkg without
                    // info/*.list, a distroless status.d) says nothing about who installed this file.
                    integrity = .notChecked
                    detail = "the package database records no file lists; its owner is unknown"
                } else if let entry = recorded[record.path] {
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
                }
                records[position].provenance = Provenance(
                    package: package, integrity: integrity, integrityDetail: detail, place: place,
                    writableBy: place == .memfd ? nil : writability.nonRootWriter(root: record.root, path: record.path, status: facts.status),
                    deleted: deleted)
            }
        }
    }

    /// Live graphs: for each running program of the target a dependency-chain rule names, the chains of what it
    /// really mapped (LD_LIBRARY_PATH, a library replaced since it started), next to the on-disk walk of what it
    /// would load now.
    mutating func liveGraphs(_ t: Int) -> [(ProgramLocation, DependencyGraph)] {
        var graphs: [(ProgramLocation, DependencyGraph)] = []
        for process in targets[t].processes {
            guard let mappings = process.mappings, let executable = process.executable.map(ScanPlan.trimmingDeleted),
                  plan.programs.contains(baseName(executable)),
                  let identity = executableIdentity(process, mappings: mappings) else { continue }
            var seen: Set<FileIdentity> = []
            let objects = mappings.filter(\.isExecutable).compactMap { mapping -> DependencyGraph.MappedObject? in
                let identity = index.canonical(mapping.identity)
                guard seen.insert(identity).inserted, let elf = index.facts(of: identity)?.elf else { return nil }
                return DependencyGraph.MappedObject(identity: identity, path: mapping.path, elf: elf)
            }
            guard let graph = DependencyGraph.mapped(program: executable, executable: index.canonical(identity), objects: objects) else { continue }
            let location = ProgramLocation(root: process.root, path: executable,
                                           foundBy: "running pid \(process.pid), as mapped", pid: process.pid)
            graphs.append((location, graph))
            report.programs.append(ProgramSummary(
                program: process.root.displayPath(executable), foundBy: location.foundBy,
                libraries: graph.nodes.dropFirst().map { ProgramSummary.Library(chain: $0.chain, path: process.root.displayPath($0.path)) },
                missing: graph.missing.map { $0.chain.joined(separator: " -> ") }, target: t == 0 ? nil : targets[t].target.label))
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

    /// Runtime images: for each process of the target a got-integrity rule names, its executable's GOT slots as
    /// they are now.
    mutating func readProcessImages(_ t: Int) -> [ProcessImage] {
        var images: [ProcessImage] = []
        for process in targets[t].processes {
            guard let mappings = process.mappings, let executable = process.executable,
                  plan.got.checks(executable) else { continue }
            let subject = "pid \(process.pid) (\(executable))"
            // The running inode, whatever its path says now.
            guard let identity = executableIdentity(process, mappings: mappings),
                  let elf = index.facts(of: identity)?.elf, elf.symbolsRead else {
                report.skipped.append(targeted(Skip(subject: subject, reason: "executable not readable as ELF; GOT not checked", code: .damaged), t))
                continue
            }
            do {
                images.append(try ProcessImage.read(pid: process.pid, executable: executable, identity: identity, elf: elf,
                                                    mappings: mappings, vdso: process.vdso, procPath: options.procPath))
            } catch {
                let exited: Bool
                if case .memoryNotReadable(_, let system) = error { exited = system.isNotFound } else { exited = false }
                report.skipped.append(targeted(Skip(subject: subject, reason: error.description, code: exited ? .exited : .unreadable), t))
            }
        }
        report.statistics.processesChecked += images.count
        return images
    }

    func targeted(_ skip: Skip, _ t: Int) -> Skip {
        var skip = skip
        if t > 0 { skip.target = targets[t].target.label }
        return skip
    }

    /// Matching: the plan's rules against each target's facts, all names of every file known by now. Each finding
    /// names its target; a rule that says where it applies is matched there only.
    mutating func match(t: Int, live: [(ProgramLocation, DependencyGraph)], images: [ProcessImage],
                        memory: [ProcessMemoryScan] = []) -> [Finding] {
        let target = targets[t]
        let files = index.records.filter { $0.root == target.root }
        var facts = ScanFacts(root: target.root, inventory: target.inventory, files: files, graphs: target.graphs + live,
                              processes: images, running: target.processes, preload: target.preload, aliases: index.aliases)
        facts.memory = memory
        facts.packageAges = target.packageAges
        facts.target = target.target
        facts.baseline = options.baseline
        return plan.findings(facts).filter { plan.applies($0.rule, to: target.target.kind) }.map { finding in
            var finding = finding
            finding.target = target.target
            return finding
        }
    }

    /// Suppressions over every target's findings at once.
    mutating func suppress(_ findings: [Finding]) {
        let running = targets.flatMap(\.processes)
        let (active, suppressed, notes) = plan.suppressions.apply(findings, running: running, now: Date().timeIntervalSince1970)
        report.findings = active
        report.suppressed = suppressed
        report.statistics.findingsSuppressed = suppressed.count
        report.notes += notes
    }

    /// The targets as the report lists them: the containers with their processes and packages.
    mutating func summarizeTargets() {
        report.targets = targets.map { target in
            TargetSummary(target: target.target, pids: target.pids, packages: target.inventory.packages.count,
                          packageDatabases: target.inventory.databases.filter(\.wasRead).map(\.path), problems: target.problems,
                          scanned: target.reached)
        }
    }

    /// The SBOM's material: every package, every file read with its provenance and the processes mapping it,
    /// each program's DT_NEEDED edges, and the root's os-release; one per target.
    mutating func collectInventory(_ t: Int, live: [(ProgramLocation, DependencyGraph)]) {
        guard options.collectInventory else { return }
        let target = targets[t], inventory = target.inventory, graphs = target.graphs + live
        let executables = Dictionary(target.processes.compactMap { process in process.executable.map { (process.pid, ScanPlan.trimmingDeleted($0)) } },
                                     uniquingKeysWith: { first, _ in first })
        var packageIndex: [InstalledPackage: Int] = [:]
        for (position, package) in inventory.packages.enumerated() where packageIndex[package] == nil { packageIndex[package] = position }
        var files: [ScannedFile] = []
        for record in index.records where record.root == target.root {
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
                guard let from = index.record(withIdentity: node.identity, root: target.root) else { continue }
                for child in node.children {
                    guard let to = index.record(withIdentity: graph.nodes[child].identity, root: target.root) else { continue }
                    edges.insert(ScanInventory.Edge(from: from.displayPath, to: to.displayPath))
                }
            }
        }
        let collected = ScanInventory(
            system: OSRelease.read(root: target.root), packages: inventory.packages, files: files,
            edges: edges.sorted { ($0.from, $0.to) < ($1.from, $1.to) })
        if t == 0 { report.inventory = collected } else { report.targets[t].inventory = collected }
    }

    /// Gaps of the whole scan, not of one file: run without root, or a root with nothing in it to scan.
    mutating func noteCoverage() {
        if effectiveUserID() != 0 {
            report.coverageGaps.append("not run as root: processes, package databases and files only root may read were not looked at; run chainwatch as root")
        }
        if options.paths.isEmpty && primary.inventory.databases.isEmpty && !index.records.contains(where: { $0.root == primary.root }) {
            report.coverageGaps.append("nothing to scan in \(options.root): no package database, program or library found (is it the right directory, and is it mounted?)")
        }
    }

    func finish(started: ContinuousClock.Instant) -> ScanReport {
        var report = self.report
        report.statistics.durationSeconds = (ContinuousClock.now - started).seconds
        return report
    }
}
