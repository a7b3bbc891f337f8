import HostIO

/// A process seen in /proc.
public struct ProcessInfo: Sendable, Hashable {
    public var pid: Int32
    /// readlink /proc/PID/exe, as seen in the process's own mount namespace.
    public var executable: String?
    /// The owner of /proc/PID: the process's effective uid (root for a process that made itself non-dumpable,
    /// which only errs towards treating it as root's).
    public var userID: UInt32?
    /// The host's root, or its container's (`ProcessPlacement`): paths in its maps and exe are inside this root.
    public var root: ConfinedRoot
    /// Every file-backed mapping, executable or not, for the processes whose mappings were asked for (runtime
    /// checks); nil for the others.
    public var mappings: [MemoryMapping]?
    /// Where the kernel's vDSO is mapped, for the same processes.
    public var vdso: Range<UInt64>?
    /// Executable memory backed by no file, for the same processes.
    public var anonymousExecutable: [Range<UInt64>] = []
    /// The LD_* variables of /proc/PID/environ (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH...), for the same
    /// processes: only these are kept, never the rest of a process's environment.
    public var loaderEnvironment: [String: String] = [:]
}

/// A file mapped executable into one or more processes of one root, deduplicated by device and inode (the same
/// file mapped in two containers is two of these: each container is named with its own findings).
public struct MappedFile: Sendable {
    public var identity: FileIdentity
    /// The path as the first process mapping it names it, inside that process's `root`.
    public var path: String
    public var root: ConfinedRoot
    public var isDeleted: Bool
    public var pids: [Int32]
    /// Ways to open the exact mapped file, one per mapping process (the first few): a short-lived process may be
    /// gone when the file is read while another still maps it.
    public var ways: [Way]

    /// /proc/PID/map_files/START-END, which works for deleted files too, and the same file through the process's
    /// root for when map_files is not allowed (no CAP_SYS_ADMIN).
    public struct Way: Sendable, Hashable {
        public var pid: Int32
        public var mapFiles: String
        public var rootPath: String?

        public init(pid: Int32, mapFiles: String, rootPath: String?) {
            self.pid = pid
            self.mapFiles = mapFiles
            self.rootPath = rootPath
        }
    }

    /// Processes whose way in is kept: enough to outlive short-lived mappers, few enough to stay small.
    public static let maximumWays = 8
}

/// Every process's file-backed executable mappings, read from /proc.
public struct ProcessTable: Sendable {
    public var processes: [ProcessInfo] = []
    public var mappedFiles: [MappedFile] = []
    /// Processes whose maps could not be read (exited mid-scan, not permitted).
    public var skipped: [Skip] = []
    /// Processes alive whose executable mappings are missing or partial here (maps unreadable or cut, root not
    /// placed): what they run is unknown, which "what nothing uses" must say.
    public var mappingsNotRead = 0

    public init() {}

    /// Reads /proc (or `procPath`, for tests). Processes that vanish or deny access are recorded in `skipped`.
    /// - Parameters:
    ///   - keepMappings: given a process's executable path, whether to keep all its mappings.
    ///   - placement: tells each process's root (the host's or a container's) and collects the containers seen.
    public static func read(procPath: String = "/proc", keepMappings: (String?) -> Bool = { _ in false },
                            placement: ProcessPlacement? = nil) -> ProcessTable {
        let placement = placement ?? ProcessPlacement(procPath: procPath)
        var table = ProcessTable()
        let entries: [String]
        do { entries = try FileSystem.directoryEntries(procPath) } catch {
            table.skipped.append(Skip(subject: procPath, reason: error.description))
            return table
        }
        var index: [MappingKey: Int] = [:]
        // The scanner itself: its own binary may lie anywhere (a clone in /tmp during an incident) and it maps
        // nothing it did not load itself; reporting it would be a false alarm about the tool, not the host.
        let scanner = procPath == "/proc" ? ProcessIdentity.current : nil
        // In pid order: a container's first process seen is then its oldest, normally its init, whose root is the
        // container's (a process that chrooted later has another).
        for pid in entries.compactMap({ $0.allSatisfy(\.isNumber) ? Int32($0) : nil }).sorted() where pid != scanner {
            let base = procPath + "/\(pid)"
            let executable = try? FileSystem.readLink(base + "/exe")
            let keep = keepMappings(executable)
            let maps: Maps
            do {
                maps = try Self.readMaps(base + "/maps", keepAll: keep)
            } catch {
                table.skipped.append(Self.skip(pid: pid, error))
                if !error.isNotFound { table.mappingsNotRead += 1 }
                continue
            }
            if maps.overlongLines > 0 {
                table.mappingsNotRead += 1
                table.skipped.append(Skip(subject: "pid \(pid)", reason: "\(maps.overlongLines) lines of its maps over \(Self.maximumMapsLine) bytes; those mappings not read", code: .unreadable))
            }
            let mappings = maps.mappings
            // A kernel thread (no executable, nothing mapped) has no root of its own to scan (kdevtmpfs's is the
            // devtmpfs it mounts): the host's.
            let kernelThread = executable == nil && maps.mappings.isEmpty
            let place: ProcessPlacement.Place
            switch kernelThread ? .placed(ProcessPlacement.Place(root: .host, sharesOurMounts: true)) : placement.place(of: pid) {
            case .placed(let found): place = found
            case .gone:
                table.skipped.append(Skip(subject: "pid \(pid)", reason: "exited during the scan", code: .exited))
                continue
            case .failed(let error):
                table.mappingsNotRead += 1
                // Not "exited": a root that cannot be read (a hung or failing filesystem under it) hides its files.
                table.skipped.append(Skip(subject: "pid \(pid)" + (executable.map { " (\($0))" } ?? ""),
                                          reason: "its root or mount namespace could not be read (\(error.reason)); its files were not looked at",
                                          code: error.isPermissionDenied && effectiveUserID() != 0 ? .notPermitted : .unreadable))
                continue
            }
            let root = place.root
            var process = ProcessInfo(pid: pid, executable: executable, root: root, mappings: keep ? mappings : nil)
            process.userID = (try? FileSystem.status(base))?.owner
            if keep {
                process.vdso = maps.vdso
                process.anonymousExecutable = maps.anonymousExecutable
                do {
                    process.loaderEnvironment = try Self.loaderEnvironment(base + "/environ")
                } catch {
                    // Its LD_* variables are unknown: say so instead of reporting none.
                    if !error.isNotFound {
                        table.skipped.append(Skip(subject: "pid \(pid)", reason: "environment not readable (\(error.reason)); LD_* not checked",
                                                  code: error.isPermissionDenied && effectiveUserID() == 0 ? .restricted : .unreadable))
                    }
                }
            }
            table.processes.append(process)
            for mapping in mappings where mapping.isExecutable {
                let identity = FileIdentity(device: mapping.device, inode: mapping.inode)
                let way = MappedFile.Way(pid: pid, mapFiles: base + "/map_files/" + mapping.mapFilesName,
                                         rootPath: mapping.isDeleted ? nil : place.sharesOurMounts ? mapping.path
                                             : place.root.isHost ? base + "/root" + mapping.path : place.root.hostPath(mapping.path))
                let key = MappingKey(root: root, identity: identity)
                if let existing = index[key] {
                    if table.mappedFiles[existing].pids.last != pid {
                        table.mappedFiles[existing].pids.append(pid)
                        if table.mappedFiles[existing].ways.count < MappedFile.maximumWays { table.mappedFiles[existing].ways.append(way) }
                    }
                    continue
                }
                index[key] = table.mappedFiles.count
                table.mappedFiles.append(MappedFile(
                    identity: identity, path: mapping.path, root: root, isDeleted: mapping.isDeleted, pids: [pid], ways: [way]))
            }
        }
        return table
    }

    private struct MappingKey: Hashable {
        var root: ConfinedRoot
        var identity: FileIdentity
    }

    /// The LD_* entries of a NUL-separated environ file (the environment the process started with), read as a
    /// stream whatever its size: a 5 MB environment must not hide an LD_PRELOAD. A value past 64 KiB is kept cut
    /// short (still an LD_* variable set), never dropped.
    static func loaderEnvironment(_ path: String) throws(SystemError) -> [String: String] {
        var result: [String: String] = [:]
        let prefix = Array("LD_".utf8)
        try FileSystem.forEachKernelRecord(path, separator: 0, maximumRecord: 64 << 10) { entry, truncated in
            guard entry.starts(with: prefix), let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { return }
            result[String(decoding: entry[..<equals], as: UTF8.self)] =
                String(decoding: entry[(equals + 1)...], as: UTF8.self) + (truncated ? "...(cut at 64 KiB)" : "")
        }
        return result
    }

    /// What a scan keeps of one process's maps.
    struct Maps {
        var mappings: [MemoryMapping] = []
        var vdso: Range<UInt64>?
        var anonymousExecutable: [Range<UInt64>] = []
        var overlongLines = 0
    }

    /// A line of maps is at most a path (PATH_MAX, each byte escaped to 4) and its fields.
    static let maximumMapsLine = 20 << 10

    /// /proc/PID/maps, read as a stream with bounds: every line is looked at (a process with 20,000 mappings is
    /// not dropped), only the mappings the scan needs are kept: for most processes each distinct executable file
    /// once; for processes a runtime rule checks, every file mapping and the anonymous executable ranges.
    static func readMaps(_ path: String, keepAll: Bool) throws(SystemError) -> Maps {
        var maps = Maps()
        var seen: Set<FileIdentity> = []
        var examined = 0
        try FileSystem.forEachKernelRecord(path, separator: UInt8(ascii: "\n"), maximumRecord: maximumMapsLine) { line, truncated in
            if truncated {
                maps.overlongLines += 1
                return
            }
            if keepAll {
                if maps.vdso == nil, let range = MemoryMapParser.range(named: "[vdso]", line: line) { maps.vdso = range }
                if let range = MemoryMapParser.anonymousExecutable(line: line) { maps.anonymousExecutable.append(range) }
            }
            if !keepAll {
                guard let (identity, executable) = MemoryMapParser.identity(ofLine: line), executable,
                      !seen.contains(identity) else { return }
            }
            guard let mapping = MemoryMapParser.parseLine(line, executableOnly: !keepAll, examined: &examined) else { return }
            if !keepAll && !seen.insert(mapping.identity).inserted { return }
            maps.mappings.append(mapping)
        }
        return maps
    }

    /// A process whose maps could not be read. One that exited hides nothing; one denied to root is the kernel's
    /// policy (another user namespace, a security module), listed but not the scan's gap; denied to a scan that is
    /// not root, it is a gap (and the whole scan says it was not root).
    static func skip(pid: Int32, _ error: SystemError) -> Skip {
        let subject = "pid \(pid)"
        if error.isNotFound { return Skip(subject: subject, reason: "exited during the scan", code: .exited) }
        if error.isPermissionDenied {
            return effectiveUserID() == 0
                ? Skip(subject: subject, reason: "maps not readable even as root (\(error.reason)): another user namespace or a security policy", code: .restricted)
                : Skip(subject: subject, reason: "maps not readable without root (\(error.reason))", code: .notPermitted)
        }
        return Skip(subject: subject, reason: error.reason, code: .unreadable)
    }
}
