import HostIO

/// A process seen in /proc.
public struct ProcessInfo: Sendable, Hashable {
    public var pid: Int32
    /// readlink /proc/PID/exe, as seen in the process's own mount namespace.
    public var executable: String?
    /// The host's root, or the process's own (`/proc/PID/root`) when it runs in another one (a container).
    public var root: ConfinedRoot
    /// Every file-backed mapping, executable or not, for the processes whose mappings were asked for (runtime
    /// checks); nil for the others.
    public var mappings: [MemoryMapping]?
    /// Where the kernel's vDSO is mapped, for the same processes.
    public var vdso: Range<UInt64>?
}

/// A file mapped executable into one or more processes, deduplicated by device and inode.
public struct MappedFile: Sendable {
    public var identity: FileIdentity
    /// The path as the first process mapping it names it, inside that process's `root`.
    public var path: String
    public var root: ConfinedRoot
    public var isDeleted: Bool
    public var pids: [Int32]
    /// Where to open the exact mapped file: /proc/PID/map_files/START-END, which works for deleted files too.
    public var mapFilesPath: String
    /// The same file through the process's root, for when map_files is not allowed (no CAP_SYS_ADMIN).
    public var rootPath: String?
}

/// A process or file the scan could not read, and why. Counted and reported, never fatal.
public struct Skip: Sendable, Hashable, Codable {
    public var subject: String
    public var reason: String

    public init(subject: String, reason: String) {
        self.subject = subject
        self.reason = reason
    }
}

/// Every process's file-backed executable mappings, read from /proc.
public struct ProcessTable: Sendable {
    public var processes: [ProcessInfo] = []
    public var mappedFiles: [MappedFile] = []
    /// Processes whose maps could not be read (exited mid-scan, not permitted).
    public var skipped: [Skip] = []

    public init() {}

    /// Reads /proc (or `procPath`, for tests). Processes that vanish or deny access are recorded in `skipped`.
    /// - Parameter keepMappings: given a process's executable path, whether to keep all its mappings.
    public static func read(procPath: String = "/proc", keepMappings: (String?) -> Bool = { _ in false }) -> ProcessTable {
        var table = ProcessTable()
        let entries: [String]
        do { entries = try FileSystem.directoryEntries(procPath) } catch {
            table.skipped.append(Skip(subject: procPath, reason: error.description))
            return table
        }
        var index: [FileIdentity: Int] = [:]
        let hostRoot = try? FileSystem.status("/")
        for entry in entries where entry.allSatisfy(\.isNumber) {
            guard let pid = Int32(entry) else { continue }
            let base = procPath + "/" + entry
            let maps: [UInt8]
            do {
                maps = try FileSystem.readKernelFile(base + "/maps", limit: 64 << 20)
            } catch {
                table.skipped.append(Skip(subject: "pid \(pid)", reason: Self.reason(error)))
                continue
            }
            let executable = try? FileSystem.readLink(base + "/exe")
            // A process whose root is the host's (same directory inode) sees host paths; any other sees its own.
            let sameRoot = (try? FileSystem.status(base + "/root"))?.identity == hostRoot?.identity
            let root: ConfinedRoot = sameRoot ? .host : .process(pid, procPath: procPath)
            let keep = keepMappings(executable)
            let mappings = MemoryMapParser.parse(bytes: maps, executableOnly: !keep)
            table.processes.append(ProcessInfo(pid: pid, executable: executable, root: root, mappings: keep ? mappings : nil,
                                               vdso: keep ? MemoryMapParser.range(named: "[vdso]", in: maps) : nil))
            for mapping in mappings where mapping.isExecutable {
                let identity = FileIdentity(device: mapping.device, inode: mapping.inode)
                if let existing = index[identity] {
                    if table.mappedFiles[existing].pids.last != pid { table.mappedFiles[existing].pids.append(pid) }
                    continue
                }
                index[identity] = table.mappedFiles.count
                table.mappedFiles.append(MappedFile(
                    identity: identity, path: mapping.path, root: root, isDeleted: mapping.isDeleted, pids: [pid],
                    mapFilesPath: base + "/map_files/" + mapping.mapFilesName,
                    rootPath: mapping.isDeleted ? nil : base + "/root" + mapping.path))
            }
        }
        return table
    }

    private static func reason(_ error: SystemError) -> String {
        if error.isNotFound { return "exited during the scan" }
        if error.isPermissionDenied { return "maps not readable (\(error.reason))" }
        return error.reason
    }
}
