/// The container runtimes chainwatch recognises from a process's cgroup.
public enum ContainerRuntime: String, Sendable, Hashable, Codable, CaseIterable {
    case docker
    case containerd
    case crio = "cri-o"
    case podman
    /// A process in a mount namespace of its own that no runtime's cgroup names (an unshare, a runtime we do not
    /// know): still scanned as a target of its own.
    case unknown
}

/// What a process's cgroup says about the container it runs in.
public struct ContainerReference: Sendable, Hashable, Codable {
    public var runtime: ContainerRuntime
    /// The runtime's full container id (64 lowercase hex digits for every runtime above).
    public var id: String
    /// The Kubernetes pod's uid (dashes restored from the systemd form's underscores), when the cgroup is a pod's.
    public var podUID: String?

    public init(runtime: ContainerRuntime, id: String, podUID: String? = nil) {
        self.runtime = runtime
        self.id = id
        self.podUID = podUID
    }

    /// The first 12 digits, as `docker ps` and `podman ps` show an id.
    public var shortID: String { String(id.prefix(12)) }
}

/// What a runtime's own state on disk says about a container: never required, a container without it is still
/// scanned and named by its id.
public struct ContainerMetadata: Sendable, Hashable, Codable {
    public var name: String?
    /// The image as the runtime names it ("docker.io/library/debian:12", "localhost/chainwatch-xz:latest").
    public var image: String?
    /// The image's id or digest ("sha256:...").
    public var imageID: String?
    public var labels: [String: String] = [:]
    /// Kubernetes: the pod's name and namespace and the container's name in the pod.
    public var pod: String?
    public var namespace: String?
    public var containerName: String?
    /// A pod's pause (sandbox) container: it holds the pod's namespaces and runs no workload.
    public var isSandbox = false

    public init(name: String? = nil, image: String? = nil, imageID: String? = nil, labels: [String: String] = [:],
                pod: String? = nil, namespace: String? = nil, containerName: String? = nil, isSandbox: Bool = false) {
        self.name = name
        self.image = image
        self.imageID = imageID
        self.labels = labels
        self.pod = pod
        self.namespace = namespace
        self.containerName = containerName
        self.isSandbox = isSandbox
    }
}
