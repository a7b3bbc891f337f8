import HostIO
import Probes

/// What one part of a scan is about: this host, one container on it, an offline root, an image, or a set of paths.
/// Every finding names its target; the per-root phases (packages, loader configuration, libraries at rest,
/// program graphs, runtime checks) run once per target.
public struct ScanTarget: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case host, container, root, image, paths
    }

    public var kind: Kind
    /// Container: the runtime's full id (or "mnt-INODE" for a mount namespace no runtime claims); image: its
    /// reference; root: its directory. Nil for the host and for paths.
    public var id: String?
    public var shortID: String?
    /// Container: its name as the runtime knows it; host: the host name.
    public var name: String?
    public var runtime: ContainerRuntime?
    public var image: String?
    public var imageID: String?
    /// Kubernetes: the pod, its namespace and the container's name in the pod.
    public var pod: String?
    public var namespace: String?
    public var containerName: String?

    public init(kind: Kind, id: String? = nil, name: String? = nil) {
        self.kind = kind
        self.id = id
        self.name = name
    }

    public static func container(_ reference: ContainerReference, metadata: ContainerMetadata?) -> ScanTarget {
        var target = ScanTarget(kind: .container, id: reference.id, name: metadata?.name)
        target.shortID = reference.runtime == .unknown ? reference.id : reference.shortID
        target.runtime = reference.runtime
        target.image = metadata?.image
        target.imageID = metadata?.imageID
        target.pod = metadata?.pod
        target.namespace = metadata?.namespace
        target.containerName = metadata?.containerName
        return target
    }

    /// What names "the same target" across scans, for alert state and suppressions: never a pid or a /proc path,
    /// and for a container not its id either (a restarted container has a new one): its Kubernetes identity, else
    /// its name, else its image; the id only when the runtime records neither.
    public var stableKey: String {
        switch kind {
        case .host, .paths: return kind.rawValue
        case .root, .image: return kind.rawValue + ":" + (id ?? "")
        case .container:
            if let pod, let namespace { return "container:k8s:\(namespace)/\(pod)/\(containerName ?? name ?? "")" }
            if let name { return "container:name:" + name }
            if let image { return "container:image:" + image }
            return "container:id:" + (id ?? "")
        }
    }

    /// One line naming the target for people: "container web (podman 1a2b3c4d5e6f, image localhost/app:1)".
    public var label: String {
        switch kind {
        case .host: return "this host" + (name.map { " (\($0))" } ?? "")
        case .paths: return "the given paths"
        case .root: return "offline root \(id ?? "")"
        case .image: return "image \(id ?? "")"
        case .container:
            var details = [(runtime == .unknown ? "unknown runtime, mount namespace" : runtime?.rawValue ?? "") + " " + (shortID ?? "")]
            if let image { details.append("image " + image) }
            if let pod, let namespace { details.append("pod \(namespace)/\(pod)") }
            return "container " + (name ?? shortID ?? "?") + " (" + details.joined(separator: ", ") + ")"
        }
    }
}

/// One target in a report: what it is, where its files were read from, and what its scan covered.
public struct TargetSummary: Sendable, Codable {
    public var target: ScanTarget
    /// The processes seen in it (containers; the host's count is in the statistics).
    public var pids: [Int32]
    public var packages: Int
    /// Package databases found and read in its root.
    public var packageDatabases: [String]
    /// Why the runtime's state could not say more about it (a state file unreadable), when it could not.
    public var problems: [String]
    /// A container's SBOM material, when the scan keeps it (the host's is the report's own).
    public var inventory: ScanInventory?
    /// False when its root could not be reached (every process of the container exited during the scan): its
    /// findings are unknown this time, not gone.
    public var scanned: Bool
    /// Which of its packages ship code and whether anything here runs it; nil for a `--path` scan.
    public var codeInUse: CodeInUse?

    public init(target: ScanTarget, pids: [Int32] = [], packages: Int = 0, packageDatabases: [String] = [], problems: [String] = [],
                scanned: Bool = true) {
        self.target = target
        self.pids = pids
        self.packages = packages
        self.packageDatabases = packageDatabases
        self.problems = problems
        self.scanned = scanned
    }
}
