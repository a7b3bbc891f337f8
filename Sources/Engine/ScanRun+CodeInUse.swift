import HostIO
import Probes

extension ScanRun {
    /// What nothing uses: for each package of the target whose files include code, whether a process of the
    /// target maps one of its files or a walked program graph reaches one (`CodeInUse`). Runs after the files are
    /// read and the targets summarised; its answer goes on the target's summary.
    mutating func findCodeInUse(_ t: Int) {
        guard t < report.targets.count, options.paths.isEmpty else { return }
        report.targets[t].codeInUse = codeInUse(t)
    }

    private func codeInUse(_ t: Int) -> CodeInUse {
        let target = targets[t], inventory = target.inventory
        let processesRead = options.scanProcesses && primary.root.isHost
        if !target.reached { return CodeInUse(basis: .unknown, notes: ["its root could not be read"]) }
        if !report.completed { return CodeInUse(basis: .unknown, notes: [ScanReport.stoppedEarly]) }
        if inventory.databases.isEmpty { return CodeInUse(basis: .unknown, notes: ["no package database was found"]) }
        if inventory.fileCount == 0 {
            return CodeInUse(basis: .unknown, notes: ["the package databases record no file lists: which package ships which file is unknown"])
        }
        var basis = CodeInUse.Basis.processesAndGraphs
        var notes: [String] = []
        if !processesRead || target.processes.isEmpty {
            basis = .graphsOnly
            notes.append(!primary.root.isHost ? "an offline root runs nothing: in use means only reached by a program graph the scan walked"
                : !options.scanProcesses ? "processes were not read (--no-processes): in use means only reached by a program graph the scan walked"
                : "no process of it could be read: in use means only reached by a program graph the scan walked")
            if target.graphs.isEmpty {
                return CodeInUse(basis: .unknown, notes: notes + ["and no program graph was walked in it (no dependency-chain rule names a program found here), so nothing says what runs"])
            }
        } else if mappingsNotRead > 0 {
            notes.append("\(mappingsNotRead) process\(mappingsNotRead == 1 ? "'s" : "es'") mappings could not be read: a package only they run is listed as unused")
        }
        let unread = inventory.databases.filter { !$0.wasRead }
        if !unread.isEmpty {
            notes.append("packages of \(unread.map(\.path).joined(separator: ", ")) unknown: that database was not read")
        }

        // Files in use: mapped by a process of the target or a node of a graph walked in it.
        let container: Bool
        if case .container = target.root.kind { container = true } else { container = false }
        var usedPaths: Set<String> = []
        var isELF: [FileMatch: Bool] = [:]
        var inUse: Set<Int> = []
        for record in index.records where record.root == target.root {
            if let facts = record.facts {
                for identity in [record.identity, facts.identity] { isELF[FileMatch(identity, container: container)] = facts.isELF }
            }
            guard !record.pids.isEmpty || !record.chains.isEmpty else { continue }
            // Its owner by every path it was seen at in this root: a library reached by its SONAME symlink
            // (liblzma.so.5) is its package's by that name too.
            for path in record.paths(in: target.root) {
                usedPaths.formUnion(MergedUsr.twins(of: path))
                if case .package(let package, _) = inventory.ownership(of: path) { inUse.insert(package) }
            }
        }

        // The rest: in use when it lists a path in use (a second lister, which the ownership table does not keep);
        // unused when one of its code paths is, or links to, an ELF file (a -dev package's libfoo.so: the linker's
        // name, which nothing loads); not judged when none is. Its shared objects come first (`CodeFiles.paths`), so a
        // package costs about one lstat.
        var lookup = CodePathLookup(root: target.root, mounts: options.readBlockingFilesystems || container ? nil : index.mounts)
        var unused: Set<Int> = [], notJudged = 0, cut = 0
        for files in inventory.codeFiles where !inUse.contains(files.package) {
            if files.paths.contains(where: { usedPaths.contains($0) }) {
                inUse.insert(files.package)
                continue
            }
            let sawELF = files.paths.contains { path in
                guard let (directory, name, status) = lookup.linkStatus(path) else { return false }
                if status.isRegular {
                    return isELF[FileMatch(status.identity, container: container)] ?? lookup.startsLikeELF(directory + "/" + name)
                }
                guard status.kind == .symlink, let (resolved, linked) = try? target.root.status(name, in: directory),
                      linked.isRegular else { return false }
                return isELF[FileMatch(linked.identity, container: container)] ?? lookup.startsLikeELF(resolved)
            }
            if files.cut { cut += 1 } else if sawELF { unused.insert(files.package) } else { notJudged += 1 }
        }
        if cut > 0 {
            notes.append("\(cut) packages list more code than the scan keeps (\(PackageInventory.maximumCodePaths) paths); not judged")
        }
        if lookup.blocked > 0 {
            notes.append("\(lookup.blocked) directories on filesystems whose reads can block (FUSE, network) not looked in; their packages may be listed as not judged")
        }
        let packages = inventory.packages
        return CodeInUse(basis: basis, notes: notes, inUse: inUse.sorted().map { packages[$0] },
                         unused: unused.sorted().map { packages[$0] }, notJudged: notJudged)
    }
}

extension FileRecord {
    /// Every path in `root` the record knows the file at: where it was first seen, then its other ways.
    func paths(in root: ConfinedRoot) -> [String] {
        var paths = self.root == root ? [path] : []
        for case .root(let other, let path) in alternatives where other == root && !paths.contains(path) { paths.append(path) }
        return paths
    }
}

/// A file as the ELF check looks it up among the records: by device and inode, or in a container by inode alone
/// (its root shows the overlay's device; the scan's records, the layer file's).
private struct FileMatch: Hashable {
    var device: UInt64
    var inode: UInt64

    init(_ identity: FileIdentity, container: Bool) {
        device = container ? 0 : identity.device
        inode = identity.inode
    }
}

/// Stats packages' code paths in a root, each directory resolved once (a lookup per path, not per component).
private struct CodePathLookup {
    let root: ConfinedRoot
    /// The scanner's mounts, to leave FUSE and network filesystems alone; nil when they are read anyway.
    let mounts: MountTable?
    private var directories: [String: String?] = [:]
    private(set) var blocked = 0

    init(root: ConfinedRoot, mounts: MountTable?) {
        self.root = root
        self.mounts = mounts
    }

    /// The lstat of the file at `path` (the directories on its way resolved inside the root) with its resolved
    /// directory and name, or nil when there is none to look at.
    mutating func linkStatus(_ path: String) -> (directory: String, name: String, status: FileStatus)? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let directory = String(path[..<slash]), name = String(path[path.index(after: slash)...])
        let resolved: String?
        if let known = directories[directory] {
            resolved = known
        } else {
            resolved = resolve(directory.isEmpty ? "/" : directory)
            directories[directory] = resolved
        }
        guard let resolved, !name.isEmpty, name != ".", name != "..",
              let status = try? FileSystem.linkStatus(root.hostPath(resolved == "/" ? "/" + name : resolved + "/" + name)) else { return nil }
        return (resolved == "/" ? "" : resolved, name, status)
    }

    private mutating func resolve(_ directory: String) -> String? {
        if let mounts, let type = mounts.type(containing: root.hostPath(directory)), MountTable.readsMayBlock(type) {
            blocked += 1
            return nil
        }
        guard let resolved = try? root.resolve(directory) else { return nil }
        if let mounts, let status = try? FileSystem.linkStatus(root.hostPath(resolved)),
           let type = mounts.type(ofDevice: status.identity.device), MountTable.readsMayBlock(type) {
            blocked += 1
            return nil
        }
        return resolved
    }

    /// Whether the regular file at `resolved` begins with ELF's magic: a script in bin is not code its package runs.
    func startsLikeELF(_ resolved: String) -> Bool {
        guard let file = try? OpenFile(path: root.hostPath(resolved)), let head = try? file.read(at: 0, count: 4) else { return false }
        return head == [0x7f, 0x45, 0x4c, 0x46]
    }
}
