import HostIO

/// A process seen in /proc.
public struct ProcessInfo: Sendable, Hashable {
    public var pid: Int32
    /// readlink /proc/PID/exe, as seen in the process's own mount namespace.
    public var executable: String?
    /// The owner of /proc/PID: the process's effective uid (root for a process that made itself non-dumpable,
    /// which only errs towards treating it as root's).
    public var userID: UInt32?
    /// The host's root, or the process's own (`/proc/PID/root`) when it runs in another one (a container).
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
            var process = ProcessInfo(pid: pid, executable: executable, root: root, mappings: keep ? mappings : nil)
            process.userID = (try? FileSystem.status(base))?.owner
            if keep {
                process.vdso = MemoryMapParser.range(named: "[vdso]", in: maps)
                process.anonymousExecutable = MemoryMapParser.anonymousExecutable(in: maps)
                process.loaderEnvironment = Self.loaderEnvironment(base + "/environ")
            }
            table.processes.append(process)
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

    /// The LD_* entries of a NUL-separated environ file (the environment the process started with).
    static func loaderEnvironment(_ path: String) -> [String: String] {
        guard let bytes = try? FileSystem.readKernelFile(path, limit: 4 << 20) else { return [:] }
        var result: [String: String] = [:]
        for entry in bytes.split(separator: 0) where entry.starts(with: Array("LD_".utf8)) {
            guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            result[String(decoding: entry[..<equals], as: UTF8.self)] = String(decoding: entry[(equals + 1)...], as: UTF8.self)
        }
        return result
    }

    private static func reason(_ error: SystemError) -> String {
        if error.isNotFound { return "exited during the scan" }
        if error.isPermissionDenied { return "maps not readable (\(error.reason))" }
        return error.reason
    }
}
