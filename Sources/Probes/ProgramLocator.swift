import HostIO

/// Where a program named in a rule (e.g. sshd) lives: package file lists, the standard directories, and the
/// executables of running processes (read through /proc/PID/root, so a container's sshd is walked in its own root).
public struct ProgramLocation: Sendable, Hashable {
    public var root: ConfinedRoot
    public var path: String
    /// How it was found: "package openssh-server", "standard path", "running pid 812".
    public var foundBy: String
    /// The process whose mappings a live graph was built from; nil for a graph walked on disk.
    public var pid: Int32?

    public init(root: ConfinedRoot, path: String, foundBy: String, pid: Int32? = nil) {
        self.root = root
        self.path = path
        self.foundBy = foundBy
        self.pid = pid
    }
}

public enum ProgramLocator {
    public static let standardDirectories = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"]

    public static func locate(
        _ name: String, root: ConfinedRoot, packages: PackageInventory, processes: [ProcessInfo]
    ) -> [ProgramLocation] {
        var found: [ProgramLocation] = []
        var seen: Set<FileIdentity> = []
        func add(_ root: ConfinedRoot, _ path: String, _ how: String) {
            guard let (_, status) = try? root.status(path), status.isRegular, seen.insert(status.identity).inserted else { return }
            found.append(ProgramLocation(root: root, path: path, foundBy: how))
        }
        for (path, package) in packages.programs(named: name) {
            add(root, path, "package \(package.name)")
        }
        for directory in standardDirectories { add(root, directory + "/" + name, "standard path") }
        for process in processes {
            guard var executable = process.executable else { continue }
            if executable.hasSuffix(" (deleted)") { executable.removeLast(" (deleted)".count) }
            guard executable.split(separator: "/").last.map(String.init) == name else { continue }
            // A process in the host's own root is walked in the scan's root; one in a container, in its root.
            add(process.root.isHost ? root : process.root, executable, "running pid \(process.pid)")
        }
        return found
    }
}
