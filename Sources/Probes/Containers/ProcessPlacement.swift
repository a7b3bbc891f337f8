import HostIO

/// Which root each process runs in, and so which scan target it belongs to: the host, or a container (known to a
/// runtime by its cgroup, or only by its mount namespace). One container is one root, shared by all its processes.
///
/// - A process whose root directory is the host's is the host's, whatever its mount namespace (a service with
///   PrivateTmp, an `unshare -m`).
/// - A process in the scanner's own mount namespace with another root is a chroot: the kernel already prints its
///   paths (maps, exe) as host paths, so it is the host's too, never `/proc/PID/root` + a host path.
/// - Any other process is in a container: its cgroup names the runtime and id; a mount namespace no runtime claims
///   is a container of `unknown` runtime, named by the namespace's inode.
public final class ProcessPlacement {
    public struct Container: Sendable {
        public var reference: ContainerReference
        public var root: ConfinedRoot
        /// Its processes, in the order seen (lowest pid first when /proc is read in order).
        public var pids: [Int32]
    }

    let procPath: String
    private let hostRoot: FileIdentity?
    private let ownMountNamespace: String?
    public private(set) var containers: [Container] = []
    private var byKey: [String: Int] = [:]

    public init(procPath: String = "/proc") {
        self.procPath = procPath
        hostRoot = (try? FileSystem.status("/"))?.identity
        ownMountNamespace = try? FileSystem.readLink("/proc/self/ns/mnt")
    }

    /// The largest /proc/PID/cgroup read (a process in thousands of v1 hierarchies is still a few KiB).
    static let maximumCgroupFile = 256 << 10

    /// Where a process runs.
    public struct Place: Sendable {
        public var root: ConfinedRoot
        /// Whether its paths are the scanner's own (its mount namespace is ours): then a file it maps is opened at
        /// that path, not through /proc/PID/root (which, for a chroot, would add the chroot's directory twice).
        public var sharesOurMounts: Bool

        public init(root: ConfinedRoot, sharesOurMounts: Bool) {
            self.root = root
            self.sharesOurMounts = sharesOurMounts
        }
    }

    /// The root `pid` runs in; nil when the process is gone (or its root cannot be told).
    public func place(of pid: Int32) -> Place? {
        let base = procPath + "/\(pid)"
        guard let rootStatus = try? FileSystem.status(base + "/root") else { return nil }
        let namespace = try? FileSystem.readLink(base + "/ns/mnt")
        let shared = namespace != nil && namespace == ownMountNamespace
        if rootStatus.identity == hostRoot || namespace == nil || shared { return Place(root: .host, sharesOurMounts: shared) }
        var reference: ContainerReference
        if let bytes = try? FileSystem.readKernelFile(base + "/cgroup", limit: Self.maximumCgroupFile),
           let found = CgroupPath.container(in: String(decoding: bytes, as: UTF8.self)) {
            reference = found
        } else {
            // "mnt:[4026532451]": the namespace's inode names it while it exists.
            let inode = namespace!.filter { $0.isASCII && $0.isNumber }
            reference = ContainerReference(runtime: .unknown, id: "mnt-" + inode)
        }
        // The cgroup is only a name: a process that may create cgroups can put itself in one named like another
        // container's. The mount namespace is what the kernel gives it, so it is part of the key: a process
        // claiming another container's id is a target of its own, its paths read in its own root.
        let key = reference.runtime.rawValue + ":" + reference.id + "@" + (namespace ?? "").filter { $0.isASCII && $0.isNumber }
        if let position = byKey[key] {
            containers[position].pids.append(pid)
            return Place(root: containers[position].root, sharesOurMounts: false)
        }
        let root = ConfinedRoot.container(key, pid: pid, procPath: procPath)
        byKey[key] = containers.count
        containers.append(Container(reference: reference, root: root, pids: [pid]))
        return Place(root: root, sharesOurMounts: false)
    }
}
