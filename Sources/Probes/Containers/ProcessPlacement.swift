#if canImport(Glibc)
import Glibc   // ESRCH
#endif
import HostIO

/// Which root each process runs in, and so which scan target it belongs to: the host, or a container (known to a
/// runtime by its cgroup, or only by its mount namespace). One container is one root, shared by all its processes.
///
/// - A process in the scanner's own mount namespace is the host's, chrooted or not: the kernel already prints its
///   paths (maps, exe) as host paths, never `/proc/PID/root` + a host path.
/// - Any other process's paths are relative to the root of its mount namespace, wherever it chrooted. That root is
///   found by walking `..` up from `/proc/PID/root` (the kernel resolves it against the scanner's root, so a chroot
///   does not stop it) and held open, so it stays readable when the container's processes exit. A namespace whose
///   root is the host's own `/` is the host's (a service with private mounts).
/// - Otherwise the process is in a container: its cgroup names the runtime and id; a namespace no runtime claims is
///   a container of `unknown` runtime. A container is keyed by that name and its root's identity: a cgroup is only
///   a name a process may choose, the root is what the kernel gives it, and every namespace of one container
///   (`unshare -m` inside it) shares its root.
public final class ProcessPlacement {
    public struct Container: Sendable {
        public var reference: ContainerReference
        public var root: ConfinedRoot
        /// The namespace root, held open for the scan.
        public var pinned: PinnedDirectory
        /// Its processes, in the order seen.
        public var pids: [Int32]
    }

    /// Where a process runs.
    public struct Place: Sendable {
        public var root: ConfinedRoot
        /// Whether its paths are the scanner's own (its mount namespace is ours): then a file it maps is opened at
        /// that path.
        public var sharesOurMounts: Bool

        public init(root: ConfinedRoot, sharesOurMounts: Bool) {
            self.root = root
            self.sharesOurMounts = sharesOurMounts
        }
    }

    public enum Outcome: Sendable {
        case placed(Place)
        /// The process exited.
        case gone
        /// Its root or namespace could not be read (the error says why): its files are unknown.
        case failed(SystemError)
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

    public func place(of pid: Int32) -> Outcome {
        let base = procPath + "/\(pid)"
        let namespace: String
        do { namespace = try FileSystem.readLink(base + "/ns/mnt") } catch {
            return error.isNotFound || error.errno == ESRCH ? .gone : .failed(error)
        }
        if namespace == ownMountNamespace { return .placed(Place(root: .host, sharesOurMounts: true)) }
        let top: (directory: PinnedDirectory, status: FileStatus)
        do { top = try PinnedDirectory(base + "/root").top() } catch {
            return error.isNotFound || error.errno == ESRCH ? .gone : .failed(error)
        }
        if top.status.identity == hostRoot { return .placed(Place(root: .host, sharesOurMounts: false)) }
        let reference: ContainerReference
        if let bytes = try? FileSystem.readKernelFile(base + "/cgroup", limit: Self.maximumCgroupFile),
           let found = CgroupPath.container(in: String(decoding: bytes, as: UTF8.self)) {
            reference = found
        } else {
            // "mnt:[4026532451]": the namespace's inode names it while it exists.
            reference = ContainerReference(runtime: .unknown, id: "mnt-" + namespace.filter { $0.isASCII && $0.isNumber })
        }
        let identity = top.status.identity
        let key = (reference.runtime == .unknown ? "unknown" : reference.runtime.rawValue + ":" + reference.id)
            + "@\(identity.device)-\(identity.inode)"
        if let position = byKey[key] {
            containers[position].pids.append(pid)
            return .placed(Place(root: containers[position].root, sharesOurMounts: false))
        }
        let root = ConfinedRoot.container(key, prefix: top.directory.path)
        byKey[key] = containers.count
        containers.append(Container(reference: reference, root: root, pinned: top.directory, pids: [pid]))
        return .placed(Place(root: root, sharesOurMounts: false))
    }
}
