import FoundationEssentials
import HostIO
import Synchronization

/// What the container runtimes' own files on disk say about a container: its name, image and pod. Read-only,
/// without any daemon or socket (issue 26): a stopped or compromised dockerd cannot hide a container from this.
///
/// Every file is opened with HostIO's `OpenFile` (lstat, then `O_NOFOLLOW | O_NONBLOCK`, refusing anything but a
/// regular file), read whole up to `maximumFileBytes`, and decoded into the few fields used; unknown keys are
/// ignored. Inside users' homes (rootless podman) every directory below the home must be a real directory owned
/// by the home's owner, and so must the file: a user cannot point the scan at another file. The runtimes' own
/// databases (libpod's bolt/sqlite, containerd's meta.db) are never read.
///
/// The state is read again on every call: it changes as containers come and go, and one lookup costs a few small
/// reads (a podman store's containers.json is the largest).
public struct RuntimeState: Sendable {
    /// Prepended to every absolute path: a directory holding a copy of a host's files (tests, an offline root).
    public let hostPrefix: String

    /// A state file over this size is reported, not read. Docker's config.v2.json and OCI bundles are a few KiB;
    /// a podman store lists every container in one file, about 500 bytes each.
    public static let maximumFileBytes: Int64 = 16 << 20
    /// At most this many containerd namespaces and home directories are searched.
    static let maximumNamespaces = 64
    static let maximumHomes = 64
    /// containers/storage's drivers: each keeps its containers in `<driver>-containers/`.
    static let storageDrivers = ["overlay", "vfs", "btrfs", "zfs", "devicemapper", "aufs"]

    /// Store lists already decoded by this value, by path: a podman store lists every container, and a scan of
    /// fifty containers must not decode it fifty times.
    final class Memo: Sendable {
        let stores = Mutex<[String: Result<[StorageContainer], Problem>]>([:])
    }
    let memo = Memo()

    public init(hostPrefix: String = "") {
        var prefix = hostPrefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        self.hostPrefix = prefix
    }

    /// The runtime's own record of `reference`: (metadata, nil) when found; (nil, nil) when no state on this host
    /// knows the container (a container inside another one, a runtime with its state elsewhere); (nil, problem)
    /// when a state file that could hold it could not be read. The problem names the file, what was wrong and
    /// what it means; a container without metadata is still scanned, named by its id.
    public func metadata(for reference: ContainerReference) -> (metadata: ContainerMetadata?, problem: String?) {
        let id = reference.id
        // The id becomes part of paths: only the form every runtime writes is looked up.
        guard CgroupPath.isContainerID(id) else {
            if reference.runtime == .unknown { return (nil, nil) }
            return (nil, "container id \"\(id)\" is not 64 lowercase hex digits; its \(reference.runtime.rawValue) state was not looked up")
        }
        let lookups: [() -> Lookup]
        switch reference.runtime {
        case .docker: lookups = [{ docker(id) }]
        // The cgroupfs Kubernetes form and `/<x>/<id>` are containerd's or Docker's (see CgroupPath).
        case .containerd: lookups = [{ containerd(id) }, { docker(id) }]
        case .crio: lookups = [{ crio(id) }, { storage(id, rootless: false) }]
        case .podman: lookups = [{ storage(id, rootless: true) }]
        case .unknown: lookups = [{ docker(id) }, { containerd(id) }, { crio(id) }, { storage(id, rootless: true) }]
        }
        return Lookup.first(of: lookups)
    }

    func path(_ absolute: String) -> String { hostPrefix + absolute }
}

extension RuntimeState {
    /// One source's answer.
    enum Lookup {
        case found(ContainerMetadata, note: String? = nil)
        case absent
        case failed([String])

        /// The first source that knows the container; otherwise every problem met on the way.
        static func first(of sources: [() -> Lookup]) -> (metadata: ContainerMetadata?, problem: String?) {
            var problems: [String] = []
            for source in sources {
                switch source() {
                case .found(let metadata, let note): return (metadata, note)
                case .absent: continue
                case .failed(let more): problems += more
                }
            }
            return (nil, problems.isEmpty ? nil : problems.joined(separator: "; "))
        }
    }
}

// MARK: - Reading state files

extension RuntimeState {
    /// A state file's bytes; `owner` requires the file to belong to that uid (a user's own store).
    func readStateFile(_ path: String, owner: UInt32? = nil) -> StateFile {
        do {
            let file = try OpenFile(path: path)
            if let owner, file.status.owner != owner {
                return .failed("\(path): owned by uid \(file.status.owner), not by the store's user \(owner); not read")
            }
            return .bytes(try file.readAll(limit: Self.maximumFileBytes))
        } catch where error.isNotFound {
            return .absent
        } catch {
            switch error {
            case .notRegular(_, .symlink):
                return .failed("\(path): a symlink where the runtime writes a regular file; not followed (check who replaced it)")
            case .tooLarge(_, let size, let limit):
                return .failed("\(path): \(size) bytes, over the \(limit)-byte limit for a runtime state file; not read")
            case .changed:
                return .failed("\(path): changed while it was read (the runtime rewrote it); scan again")
            default:
                return .failed("\(error)")
            }
        }
    }

    /// JSON decoded into `type`; a problem names the file and what was wrong, never the file's content.
    func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], path: String, format: String) -> Result<T, Problem> {
        do {
            return .success(try JSONDecoder().decode(T.self, from: Data(bytes)))
        } catch let error as DecodingError {
            return .failure(Problem("\(path): not \(format) (\(Self.describe(error))); \(Self.meanwhile)"))
        } catch {
            return .failure(Problem("\(path): not \(format); \(Self.meanwhile)"))
        }
    }

    /// What a damaged state file means, and what to do.
    static let meanwhile = "the container is named by its id; if its runtime was rewriting the file, scan again"

    static func describe(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            path.isEmpty ? "" : " at " + path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON: truncated, or not JSON at all" : "invalid value\(at(context.codingPath))"
        case .keyNotFound(let key, let context): return "no \"\(key.stringValue)\"\(at(context.codingPath))"
        case .typeMismatch(_, let context): return "a value of another type\(at(context.codingPath))"
        case .valueNotFound(_, let context): return "null\(at(context.codingPath))"
        @unknown default: return "undecodable"
        }
    }

    /// Directories below `base` (a user's home or runtime directory) that must each be a real directory owned
    /// by `owner`: `.absent` when one does not exist, `.failed` when one is a symlink or someone else's.
    func checkOwnedDirectories(_ base: String, _ components: [String], owner: UInt32) -> OwnedDirectory {
        var current = base
        for component in components {
            current += "/" + component
            let status: FileStatus
            do { status = try FileSystem.linkStatus(current) } catch {
                return error.isNotFound ? .absent : .failed(error.description)
            }
            if status.kind == .symlink {
                return .failed("\(current): a symlink inside a user's container store; not followed")
            }
            guard status.kind == .directory else { return .absent }
            guard status.owner == owner else {
                return .failed("\(current): owned by uid \(status.owner), not by the store's user \(owner); not read")
            }
        }
        return .present
    }
}

extension RuntimeState {
    enum StateFile {
        case bytes([UInt8])
        case absent
        case failed(String)
    }

    enum OwnedDirectory {
        case present
        case absent
        case failed(String)
    }

    struct Problem: Error, Sendable {
        let text: String
        init(_ text: String) { self.text = text }
    }

    /// A Docker or OCI image id: podman and CRI-O write the bare hex digest, Docker `sha256:<hex>`.
    static func normalisedImageID(_ id: String?) -> String? {
        guard let id, !id.isEmpty else { return nil }
        return CgroupPath.isContainerID(id) ? "sha256:" + id : id
    }

    /// The Kubernetes labels kubelet gives every container, as Docker and CRI-O keep them.
    enum KubernetesLabel {
        static let podName = "io.kubernetes.pod.name"
        static let podNamespace = "io.kubernetes.pod.namespace"
        static let containerName = "io.kubernetes.container.name"
    }
}

// MARK: - Docker

extension RuntimeState {
    /// `/var/lib/docker/containers/<id>/config.v2.json`: dockerd's record of a container, written as the
    /// container changes (moby container/container.go, `configFileName = "config.v2.json"`; seen here with
    /// dockerd 20.10.24).
    func docker(_ id: String) -> Lookup {
        let file = path("/var/lib/docker/containers/\(id)/config.v2.json")
        switch readStateFile(file) {
        case .absent: return .absent
        case .failed(let problem): return .failed([problem])
        case .bytes(let bytes):
            switch decode(DockerConfig.self, bytes, path: file, format: "Docker's config.v2.json") {
            case .failure(let problem): return .failed([problem.text])
            case .success(let config):
                if let recorded = config.id, recorded != id {
                    return .failed(["\(file): names container \(recorded), not \(id); not used"])
                }
                let labels = config.config?.labels ?? [:]
                var name = config.name
                if name?.hasPrefix("/") == true { name?.removeFirst() }
                return .found(ContainerMetadata(
                    name: name, image: config.config?.image, imageID: Self.normalisedImageID(config.image), labels: labels,
                    pod: labels[KubernetesLabel.podName], namespace: labels[KubernetesLabel.podNamespace],
                    containerName: labels[KubernetesLabel.containerName],
                    // dockershim and cri-dockerd mark a pod's pause container so.
                    isSandbox: labels["io.kubernetes.docker.type"] == "podsandbox"))
            }
        }
    }
}

extension RuntimeState {
    /// The fields of config.v2.json used: `Name` ("/name"), `Image` (the image id), `Config.Image` (the image as
    /// asked for) and `Config.Labels`.
    struct DockerConfig: Decodable {
        var id: String?
        var name: String?
        var image: String?
        var config: Inner?

        struct Inner: Decodable {
            var image: String?
            var labels: [String: String]?
            enum CodingKeys: String, CodingKey { case image = "Image", labels = "Labels" }
        }

        enum CodingKeys: String, CodingKey { case id = "ID", name = "Name", image = "Image", config = "Config" }
    }
}

// MARK: - containerd

extension RuntimeState {
    /// The OCI bundle the runtime v2 shim runs a task from, `<state>/io.containerd.runtime.v2.task/<namespace>/
    /// <id>/config.json` (containerd runtime/v2/bundle.go). The CRI plugin records the pod in the spec's
    /// annotations (containerd pkg/cri/annotations/annotations.go: `io.kubernetes.cri.container-type`, `sandbox-
    /// name`, `sandbox-namespace`, `container-name`, `image-name`); `ctr run` records none (seen here with 1.6.20:
    /// its image is only in containerd's meta.db, which is not read).
    func containerd(_ id: String) -> Lookup {
        var problems: [String] = []
        for root in Self.containerdTaskRoots {
            let directory = path(root)
            let namespaces: [String]
            do { namespaces = try FileSystem.directoryEntries(directory) } catch {
                if !error.isNotFound { problems.append(error.description) }
                continue
            }
            if namespaces.count > Self.maximumNamespaces {
                problems.append("\(directory): \(namespaces.count) namespaces, only the first \(Self.maximumNamespaces) searched")
            }
            for namespace in namespaces.prefix(Self.maximumNamespaces) {
                let file = "\(directory)/\(namespace)/\(id)/config.json"
                switch readStateFile(file) {
                case .absent: continue
                case .failed(let problem): problems.append(problem)
                case .bytes(let bytes):
                    switch decode(OCISpecAnnotations.self, bytes, path: file, format: "an OCI runtime spec") {
                    case .failure(let problem): problems.append(problem.text)
                    case .success(let spec): return .found(containerdMetadata(id, spec.annotations ?? [:]))
                    }
                }
            }
        }
        return problems.isEmpty ? .absent : .failed(problems)
    }

    /// containerd's task state: its own (`/run/containerd`), k3s's, and the v1 runtime's of containerd < 1.5.
    static let containerdTaskRoots = [
        "/run/containerd/io.containerd.runtime.v2.task",
        "/run/k3s/containerd/io.containerd.runtime.v2.task",
        "/run/containerd/io.containerd.runtime.v1.linux",
    ]

    func containerdMetadata(_ id: String, _ annotations: [String: String]) -> ContainerMetadata {
        let isSandbox = annotations["io.kubernetes.cri.container-type"] == "sandbox"
        let pod = annotations["io.kubernetes.cri.sandbox-name"]
        let containerName = annotations["io.kubernetes.cri.container-name"]
        return ContainerMetadata(
            // A plain ctr container has no name but its id; a CRI sandbox is named after its pod.
            name: containerName ?? (isSandbox ? pod : nil) ?? id,
            image: annotations["io.kubernetes.cri.image-name"] ?? annotations["io.kubernetes.cri.sandbox-image-name"],
            pod: pod, namespace: annotations["io.kubernetes.cri.sandbox-namespace"], containerName: containerName,
            isSandbox: isSandbox)
    }
}

extension RuntimeState {
    /// An OCI runtime spec (config.json): only its annotations are used.
    struct OCISpecAnnotations: Decodable {
        var annotations: [String: String]?
    }
}

// MARK: - CRI-O

extension RuntimeState {
    /// CRI-O saves each container's OCI spec in its containers/storage directories, the run directory (the bundle
    /// conmon is started on) and the graph root's (cri-o server/container_create_linux.go: `SaveToFile` to
    /// `containerInfo.RunDir` and `containerInfo.Dir`), with its `io.kubernetes.cri-o.*` annotations
    /// (cri-o pkg/annotations/internal.go); the keys read here are those of a CRI-O pod's spec as
    /// falcosecurity/libs' container_parser_cri_crio.ut.cpp records it. CRI-O could not be run here.
    func crio(_ id: String) -> Lookup {
        var problems: [String] = []
        for root in ["/run/containers/storage", "/var/lib/containers/storage"] {
            for driver in Self.storageDrivers {
                let file = path("\(root)/\(driver)-containers/\(id)/userdata/config.json")
                switch readStateFile(file) {
                case .absent: continue
                case .failed(let problem): problems.append(problem)
                case .bytes(let bytes):
                    switch decode(OCISpecAnnotations.self, bytes, path: file, format: "an OCI runtime spec") {
                    case .failure(let problem): problems.append(problem.text)
                    case .success(let spec): return .found(crioMetadata(spec.annotations ?? [:], path: file))
                    }
                }
            }
        }
        return problems.isEmpty ? .absent : .failed(problems)
    }

    func crioMetadata(_ annotations: [String: String], path file: String) -> ContainerMetadata {
        /// Two of CRI-O's annotations hold JSON themselves: the CRI labels and the CRI metadata.
        struct CRIMetadata: Decodable { var name: String? }
        func json<T: Decodable>(_ key: String, as type: T.Type) -> T? {
            guard let text = annotations[key] else { return nil }
            return try? JSONDecoder().decode(T.self, from: Data(text.utf8))
        }
        let labels = json("io.kubernetes.cri-o.Labels", as: [String: String].self) ?? [:]
        let isSandbox = annotations["io.kubernetes.cri-o.ContainerType"] == "sandbox"
        return ContainerMetadata(
            name: annotations["io.kubernetes.cri-o.Name"],
            image: annotations["io.kubernetes.cri-o.ImageName"] ?? annotations["io.kubernetes.cri-o.Image"],
            imageID: Self.normalisedImageID(annotations["io.kubernetes.cri-o.ImageRef"]),
            labels: labels,
            pod: labels[KubernetesLabel.podName] ?? (isSandbox ? annotations["io.kubernetes.cri-o.KubeName"] : nil),
            namespace: labels[KubernetesLabel.podNamespace] ?? annotations["io.kubernetes.cri-o.Namespace"],
            containerName: labels[KubernetesLabel.containerName]
                ?? json("io.kubernetes.cri-o.Metadata", as: CRIMetadata.self)?.name,
            isSandbox: isSandbox)
    }
}

// MARK: - containers/storage (podman; CRI-O's fallback)

extension RuntimeState {
    /// The containers a containers/storage store holds: `<graph root>/<driver>-containers/containers.json`, and
    /// `volatile-containers.json` beside it, or in the run root's `<driver>-containers/` with a transient store
    /// (containers/storage containers.go, `newContainerStore`). Each entry is `{id, names, image, metadata}`, its
    /// metadata a JSON string in which podman records `image-name` and `name` (seen here with podman 4.3.1, which
    /// keeps `--rm` containers in containers.json with a `Volatile` flag). Rootful stores are at
    /// /var/lib/containers/storage and /run/containers/storage; rootless ones at
    /// ~/.local/share/containers/storage and /run/user/<uid>/containers.
    func storage(_ id: String, rootless: Bool) -> Lookup {
        var problems: [String] = []
        var files = rootfulStoreFiles()
        if rootless { files += rootlessStoreFiles(problems: &problems) }
        for store in files {
            let decoded: Result<[StorageContainer], Problem>
            if let known = memo.stores.withLock({ $0[store.path] }) {
                decoded = known
            } else {
                switch readStateFile(store.path, owner: store.owner) {
                case .absent:
                    decoded = .success([])
                case .failed(let problem):
                    decoded = .failure(Problem(problem))
                case .bytes(let bytes):
                    decoded = decode([StorageContainer].self, bytes, path: store.path, format: "a containers/storage container list")
                }
                memo.stores.withLock { $0[store.path] = decoded }
            }
            switch decoded {
            case .failure(let problem): problems.append(problem.text)
            case .success(let containers):
                if let container = containers.first(where: { $0.id == id }) {
                    return storageMetadata(container, file: store.path)
                }
            }
        }
        return problems.isEmpty ? .absent : .failed(problems)
    }

    struct StoreFile {
        var path: String
        /// The uid that must own the file (a user's store); nil for root's.
        var owner: UInt32?
    }

    func rootfulStoreFiles() -> [StoreFile] {
        Self.storageDrivers.flatMap { driver in
            ["/var/lib/containers/storage/\(driver)-containers/containers.json",
             "/var/lib/containers/storage/\(driver)-containers/volatile-containers.json",
             "/run/containers/storage/\(driver)-containers/volatile-containers.json"].map { StoreFile(path: path($0)) }
        }
    }

    /// The stores of the users with a home in /home (at most `maximumHomes`, by name).
    func rootlessStoreFiles(problems: inout [String]) -> [StoreFile] {
        guard let found = homeDirectories(problems: &problems) else { return [] }
        let (homes, directory) = (found.names, found.directory)
        if homes.count > Self.maximumHomes {
            problems.append("\(directory): \(homes.count) homes, only the first \(Self.maximumHomes) searched for podman stores")
        }
        var files: [StoreFile] = []
        for name in homes.prefix(Self.maximumHomes) {
            let home = directory + "/" + name
            guard let status = try? FileSystem.linkStatus(home), status.kind == .directory else { continue }
            let owner = status.owner
            let stores: [(base: String, components: [String], names: [String])] = [
                (home, [".local", "share", "containers", "storage"], ["containers.json", "volatile-containers.json"]),
                (path("/run/user"), ["\(owner)", "containers"], ["volatile-containers.json"]),
            ]
            for store in stores {
                switch checkOwnedDirectories(store.base, store.components, owner: owner) {
                case .absent: continue
                case .failed(let problem): problems.append(problem); continue
                case .present: break
                }
                let root = store.base + "/" + store.components.joined(separator: "/")
                for driver in Self.storageDrivers {
                    switch checkOwnedDirectories(root, ["\(driver)-containers"], owner: owner) {
                    case .absent: continue
                    case .failed(let problem): problems.append(problem)
                    case .present:
                        files += store.names.map { StoreFile(path: "\(root)/\(driver)-containers/\($0)", owner: owner) }
                    }
                }
            }
        }
        return files
    }

    /// The names in /home, following /home itself if it is a symlink (Fedora Atomic's /home -> var/home).
    func homeDirectories(problems: inout [String]) -> (names: [String], directory: String)? {
        var directory = path("/home")
        if let status = try? FileSystem.linkStatus(directory), status.kind == .symlink,
           let target = try? FileSystem.readLink(directory) {
            directory = target.hasPrefix("/") ? path(target) : path("/" + target)
        }
        do { return (try FileSystem.directoryEntries(directory), directory) } catch {
            if !error.isNotFound { problems.append("\(error); rootless podman stores not searched") }
            return nil
        }
    }

    func storageMetadata(_ container: StorageContainer, file: String) -> Lookup {
        var recorded = StorageMetadata()
        var note: String?
        if let text = container.metadata, !text.isEmpty {
            if let decoded = try? JSONDecoder().decode(StorageMetadata.self, from: Data(text.utf8)) {
                recorded = decoded
            } else {
                note = "\(file): the metadata of container \(container.id) is not JSON; its image is unknown"
            }
        }
        let name = container.names?.first ?? recorded.name
        return .found(ContainerMetadata(
            name: name, image: recorded.imageName, imageID: Self.normalisedImageID(container.image ?? recorded.imageID),
            // CRI-O marks a pod's infra container; podman names it `<first 12 digits of the pod id>-infra`
            // (podman pkg/specgen/generate/pod_create.go) and records nothing else about it here.
            isSandbox: recorded.pod == true || name.map(isPodmanInfraName) == true), note: note)
    }

    func isPodmanInfraName(_ name: String) -> Bool {
        name.utf8.count == 18 && name.hasSuffix("-infra") && name.utf8.prefix(12).allSatisfy(CgroupPath.isLowercaseHexDigit)
    }
}

extension RuntimeState {
    /// An entry of containers.json (containers/storage `Container`): only the fields used.
    struct StorageContainer: Decodable, Sendable {
        var id: String
        var names: [String]?
        /// The image's id, bare hex.
        var image: String?
        /// JSON in a string, the caller's own record: podman's `RuntimeContainerMetadata`, or CRI-O's.
        var metadata: String?
    }

    /// The metadata string's fields podman (`image-name`, `image-id`, `name`) and CRI-O (also `pod`, true for a pod's
    /// infra container) write.
    struct StorageMetadata: Decodable {
        var pod: Bool?
        var imageName: String?
        var imageID: String?
        var name: String?

        init() {}

        enum CodingKeys: String, CodingKey { case pod, imageName = "image-name", imageID = "image-id", name }
    }
}
