/// Which container a process runs in, read from its `/proc/PID/cgroup` alone: no daemon, no socket, no runtime
/// state. The runtimes name the cgroups they create after the container (issue 26), so the name is there even when
/// the daemon is stopped, hung or lying.
///
/// The forms recognised, one path component each (an id is always 64 lowercase hex digits):
///
/// | component                                   | runtime    | written by                                       |
/// |---------------------------------------------|------------|--------------------------------------------------|
/// | `docker-<id>.scope`                         | docker     | runc's systemd driver for dockerd, cri-dockerd   |
/// | `docker/<id>`                               | docker     | dockerd's cgroupfs driver (seen here: 20.10.24)  |
/// | `cri-containerd-<id>.scope`                 | containerd | containerd's CRI with `SystemdCgroup = true`     |
/// | `<slice>:cri-containerd:<id>`               | containerd | the same cgroupsPath taken literally by a        |
/// |                                             |            | cgroupfs runtime (containerd/runwasi#821)        |
/// | `kubepods/<qos>/pod<uid>/<id>`              | containerd | containerd's CRI, cgroupfs (seen here: 1.6.20);  |
/// |                                             |            | cri-dockerd writes the same, see below           |
/// | `<namespace>/<id>` (the whole path)         | containerd | `ctr run`'s default cgroupsPath (seen here)      |
/// | `crio-<id>.scope`, `crio-<id>`, `:crio:<id>`| cri-o      | CRI-O (opencontainers/runc#4620)                 |
/// | `libpod-<id>.scope`, `libpod-<id>`,         | podman     | podman: systemd driver, cgroupfs driver (seen    |
/// | `libpod-payload-<id>`                       |            | here: 4.3.1), `--cgroups=split`                  |
///
/// `crio-conmon-<id>` and `libpod-conmon-<id>` hold the runtimes' monitor, which runs on the host: never a
/// container. A Kubernetes pod's uid comes from `kubepods-<qos>-pod<uid with _ for ->.slice` (systemd) or
/// `kubepods/<qos>/pod<uid>` (cgroupfs).
///
/// The cgroupfs Kubernetes form does not name its runtime: containerd's CRI and cri-dockerd both write a bare id.
/// It reads as containerd (the runtime Kubernetes uses by default since dockershim left in 1.24);
/// `RuntimeState` also looks for such an id in Docker's state. A bare `/<x>/<id>` is ctr's form, or dockerd's with
/// `--cgroup-parent=/<x>`: the same fallback covers it.
///
/// This is a name, not an identity: a process allowed to create cgroups below its own (systemd in a container,
/// cgroup delegation) can name one like any container. Targets are keyed by namespace; this names them.
public enum CgroupPath {
    /// More lines than any kernel writes (one per v1 hierarchy plus the v2 line): the text is not a cgroup file.
    static let maximumLines = 64
    /// A cgroup path is at most PATH_MAX (4096) bytes; the hierarchy number and controller list add a few more.
    static let maximumLineBytes = 4096 + 256

    /// The container `/proc/PID/cgroup`'s text names, nil for a host process, a runtime's monitor or text that is
    /// not a cgroup file.
    ///
    /// Every line is read (cgroup v1 `N:controllers:/path`, v2 `0::/path`). They normally agree; where they do not
    /// (a monitor moved in some hierarchies only, a hybrid host whose v2 line stays at `/`), the most specific wins:
    /// the container found deepest in its path, and among equally deep ones the v2 line, then `name=systemd`,
    /// then the v1 controllers by hierarchy number. Within one path the innermost container is the one named
    /// (a pod's container inside a Kubernetes node that is itself a Docker container).
    public static func container(in cgroupFile: String) -> ContainerReference? {
        guard let entries = entries(of: cgroupFile) else { return nil }
        var best: (reference: ContainerReference, depth: Int, preference: Preference)?
        for entry in entries {
            guard let found = container(inPath: entry.path) else { continue }
            let preference = Preference(entry)
            if let current = best,
               current.depth > found.depth || (current.depth == found.depth && !(preference < current.preference)) {
                continue
            }
            best = (found.reference, found.depth, preference)
        }
        return best?.reference
    }

    /// Whether `text` is a container id as every runtime above writes it: 64 lowercase hex digits.
    public static func isContainerID<S: StringProtocol>(_ text: S) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy(isLowercaseHexDigit)
    }

    // MARK: - Lines

    struct Entry {
        var hierarchy: Int
        var controllers: Substring
        var path: Substring
    }

    /// How much a line is trusted when lines disagree: the v2 line, then `name=systemd`, then the v1 controllers.
    struct Preference: Comparable {
        var rank: Int
        var hierarchy: Int

        init(_ entry: Entry) {
            if entry.hierarchy == 0 && entry.controllers.isEmpty {
                rank = 0
            } else if entry.controllers.split(separator: ",").contains("name=systemd") {
                rank = 1
            } else {
                rank = 2
            }
            hierarchy = entry.hierarchy
        }

        static func < (a: Preference, b: Preference) -> Bool {
            (a.rank, a.hierarchy) < (b.rank, b.hierarchy)
        }
    }

    /// The lines of a cgroup file, or nil for text the kernel does not write (too many lines, an over-long line,
    /// a line that is not `number:controllers:/path`).
    static func entries(of text: String) -> [Entry]? {
        guard text.utf8.count <= maximumLines * (maximumLineBytes + 1) else { return nil }
        var entries: [Entry] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard entries.count < maximumLines, line.utf8.count <= maximumLineBytes else { return nil }
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3,
                  (1...10).contains(fields[0].utf8.count), fields[0].utf8.allSatisfy(isDecimalDigit),
                  let hierarchy = Int(fields[0]),
                  fields[2].hasPrefix("/")
            else { return nil }
            entries.append(Entry(hierarchy: hierarchy, controllers: fields[1], path: fields[2]))
        }
        return entries.isEmpty ? nil : entries
    }

    // MARK: - One path

    /// The innermost container a cgroup path names, with the index of the component that names it.
    static func container(inPath path: Substring) -> (reference: ContainerReference, depth: Int)? {
        let components = path.split(separator: "/")
        for index in components.indices.reversed() {
            guard let (runtime, id, slicePodUID) = name(components, at: index) else { continue }
            let podUID = slicePodUID ?? podUID(in: components[..<index])
            return (ContainerReference(runtime: runtime, id: id, podUID: podUID), index)
        }
        return nil
    }

    /// The runtime and id component `index` names, and the pod uid when the component itself carries it (the
    /// `<slice>:<prefix>:<id>` form).
    static func name(_ components: [Substring], at index: Int) -> (ContainerRuntime, String, String?)? {
        let component = components[index]
        if component.contains(":") { return colonForm(component) }

        var base = component
        if base.hasSuffix(".scope") { base = base.dropLast(".scope".utf8.count) }
        for (prefix, runtime) in prefixes where base.hasPrefix(prefix) {
            let id = base.dropFirst(prefix.utf8.count)
            guard let runtime, isContainerID(id) else { return nil }   // a monitor, or not an id
            return (runtime, String(id), nil)
        }

        guard isContainerID(component) else { return nil }
        let ancestors = components[..<index]
        if ancestors.last == "docker" { return (.docker, String(component), nil) }
        if ancestors.contains(where: { $0.contains("kubepods") }) { return (.containerd, String(component), nil) }
        if index == 1 && components.count == 2, let namespace = ancestors.last, namespace != "libpod_parent",
           isContainerdNamespace(namespace) {
            return (.containerd, String(component), nil)
        }
        return nil
    }

    /// Component prefixes, longest first so `crio-conmon-` is seen before `crio-`. A nil runtime is a monitor.
    static let prefixes: [(String, ContainerRuntime?)] = [
        ("crio-conmon-", nil),
        ("libpod-conmon-", nil),
        ("cri-containerd-", .containerd),
        ("libpod-payload-", .podman),
        ("libpod-", .podman),
        ("docker-", .docker),
        ("crio-", .crio),
    ]

    /// `kubepods-besteffort-pod<uid>.slice:cri-containerd:<id>`: runc's systemd cgroupsPath (`slice:prefix:name`)
    /// as a cgroupfs runtime creates it, literally.
    static func colonForm(_ component: Substring) -> (ContainerRuntime, String, String?)? {
        let parts = component.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, isContainerID(parts[2]) else { return nil }
        let runtime: ContainerRuntime
        switch parts[1] {
        case "cri-containerd": runtime = .containerd
        case "crio": runtime = .crio
        case "docker": runtime = .docker
        default: return nil
        }
        return (runtime, String(parts[2]), systemdPodUID(parts[0]))
    }

    // MARK: - Pods

    /// The pod uid the nearest pod cgroup above a container names.
    static func podUID(in ancestors: ArraySlice<Substring>) -> String? {
        guard ancestors.contains(where: { $0.contains("kubepods") }) else { return nil }
        for component in ancestors.reversed() {
            if let uid = systemdPodUID(component) { return uid }
            if component.hasPrefix("pod"), isPodUID(component.dropFirst(3)) { return String(component.dropFirst(3)) }
        }
        return nil
    }

    /// `kubepods-burstable-pod<uid>.slice` (also `kubelet-kubepods-...`, as kind nests it): the uid, its
    /// underscores turned back into the dashes systemd does not allow in a unit name.
    static func systemdPodUID(_ component: Substring) -> String? {
        guard component.contains("kubepods"), component.hasSuffix(".slice"),
              let marker = component.ranges(of: "-pod").last else { return nil }
        let escaped = component[marker.upperBound...].dropLast(".slice".utf8.count)
        let uid = String(escaped.map { $0 == "_" ? "-" : $0 })
        return isPodUID(uid[...]) ? uid : nil
    }

    /// A pod uid: a UUID, or the 32 hex digits kubelet gives a static pod.
    static func isPodUID(_ text: Substring) -> Bool {
        (32...36).contains(text.utf8.count) && text.utf8.allSatisfy { isLowercaseHexDigit($0) || $0 == UInt8(ascii: "-") }
    }

    /// containerd's namespace names: letters, digits, `.`, `_`, `-`, starting with a letter or digit.
    static func isContainerdNamespace(_ text: Substring) -> Bool {
        guard let first = text.utf8.first, (1...76).contains(text.utf8.count),
              isDecimalDigit(first) || isLetter(first) else { return false }
        return text.utf8.allSatisfy { isDecimalDigit($0) || isLetter($0) || $0 == UInt8(ascii: ".")
            || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    static func isDecimalDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
    static func isLowercaseHexDigit(_ byte: UInt8) -> Bool {
        isDecimalDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
