import Foundation
import Testing

extension LiveSystemTests {
/// What nothing uses on this host and in a container on it, cross-checked against /proc/*/maps and the dpkg file
/// lists read here, without chainwatch's code: processes come and go during the scan, so a package must be in use
/// when a process alive before and after the scan mapped its file both times, and a package in use must be
/// explained by a mapping seen, by sshd's graph (as ldd lists it), or by processes gone by the end.
@Suite(.serialized) struct CodeInUseLiveTests {
    /// A file by device and inode.
    struct Identity: Hashable { var device: UInt64; var inode: UInt64 }

    /// A process by pid and start time (a pid reused during the scan is another process).
    struct ProcessKey: Hashable { var pid: Int32; var start: String }

    static func identity(_ path: String, follow: Bool = true) -> Identity? {
        var status = stat()
        guard (follow ? stat(path, &status) : lstat(path, &status)) == 0 else { return nil }
        return Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    static func isRegular(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }

    /// A /proc file read to its end (String(contentsOfFile:) stops after its first read of a file stat calls empty).
    static func procFile(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Field 22 of /proc/PID/stat, after the command name (which may hold spaces and parentheses).
    static func startTime(_ pid: Int32) -> String? {
        guard let stat = procFile("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// For every process whose root is `root` (stat of /proc/PID/root/ is the root's), each executable file it
    /// maps, by identity as seen through its own root.
    static func snapshot(root: Identity) -> [ProcessKey: Set<Identity>] {
        var processes: [ProcessKey: Set<Identity>] = [:]
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        for pid in pids where pid != getpid() {
            guard identity("/proc/\(pid)/root/") == root, let start = startTime(pid),
                  let maps = procFile("/proc/\(pid)/maps") else { continue }
            var files: Set<Identity> = []
            for line in maps.split(separator: "\n") {
                let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
                guard fields.count == 6, fields[1].contains("x") else { continue }
                let path = fields[5].trimmingCharacters(in: .whitespaces)
                guard path.hasPrefix("/"), !path.hasSuffix(" (deleted)"),
                      let file = identity("/proc/\(pid)/root" + path) else { continue }
                files.insert(file)
            }
            if startTime(pid) == start { processes[ProcessKey(pid: pid, start: start)] = files }
        }
        return processes
    }

    /// Package of each regular file the dpkg lists of the root at `prefix` name (every lister; `:ARCH` dropped),
    /// for files in `wanted` only.
    static func owners(prefix: String, wanted: Set<Identity>) throws -> [Identity: Set<String>] {
        let info = prefix + "/var/lib/dpkg/info"
        var owners: [Identity: Set<String>] = [:]
        for list in try FileManager.default.contentsOfDirectory(atPath: info) where list.hasSuffix(".list") {
            let package = String(list.dropLast(5).split(separator: ":")[0])
            let text = try String(contentsOfFile: info + "/" + list, encoding: .utf8)
            for line in text.split(separator: "\n") {
                let path = prefix + line
                guard isRegular(path), let file = identity(path), wanted.contains(file) else { continue }
                owners[file, default: []].insert(package)
            }
        }
        return owners
    }

    /// The libraries `ldd` lists for a program, with the program: an independent view of its DT_NEEDED graph.
    static func ldd(_ program: String) throws -> [String] {
        let result = try Support.run("/usr/bin/ldd", [program])
        try #require(result.status == 0, "\(result.stderr)")
        let paths = result.stdout.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            if let arrow = words.firstIndex(of: "=>"), arrow + 1 < words.count, words[arrow + 1].hasPrefix("/") { return String(words[arrow + 1]) }
            return words.first.flatMap { $0.hasPrefix("/") ? String($0) : nil }
        }
        return [program] + paths
    }

    /// Package names whose chainwatch:code-in-use is `value`, among package components.
    static func marked(_ components: [[String: Any]], _ value: String) -> Set<String> {
        Set(components.filter { component in
            (component["purl"] as? String)?.hasPrefix("pkg:deb/") == true
                && (component["properties"] as? [[String: String]] ?? []).contains { $0["name"] == "chainwatch:code-in-use" && $0["value"] == value }
        }.compactMap { $0["name"] as? String })
    }

    static func property(_ component: [String: Any], _ name: String) -> [String] {
        (component["properties"] as? [[String: String]] ?? []).filter { $0["name"] == name }.compactMap { $0["value"] }
    }

    @Test func inUseListsMatchProcMapsOnThisHostAndInAContainer() throws {
        let container = try Containers.Running(ContainerTests.cleanImage, name: "cw-test-code-in-use")
        defer { container.remove() }
        let containerPrefix = "/proc/\(container.pid)/root"
        let hostRoot = try #require(Self.identity("/"))
        let containerRoot = try #require(Self.identity(containerPrefix + "/"))

        let before = Self.snapshot(root: hostRoot), containerBefore = Self.snapshot(root: containerRoot)
        let (result, bom) = try ProvenanceTests.sbom([], rules: Support.hostRulesDirectory)
        let after = Self.snapshot(root: hostRoot), containerAfter = Self.snapshot(root: containerRoot)
        #expect(result.status != 2, "\(result.stderr)")

        // This host: the packages mapped by a process alive before and after, both times, are in use.
        let graph = try Self.ldd("/usr/sbin/sshd").compactMap { Self.identity($0) }
        let mapped = before.values.reduce(Set(), { $0.union($1) }).union(after.values.reduce(Set(), { $0.union($1) }))
        let owners = try Self.owners(prefix: "", wanted: mapped.union(graph))
        let stable = Set(before.keys).intersection(after.keys).flatMap { before[$0]!.intersection(after[$0]!) }
        let stablePackages = Set(stable.flatMap { owners[$0] ?? [] })
        let seenPackages = Set(mapped.flatMap { owners[$0] ?? [] })
        let graphPackages = Set(graph.flatMap { owners[$0] ?? [] })
        let components = bom["components"] as? [[String: Any]] ?? []
        let inUse = Self.marked(components, "true"), unused = Self.marked(components, "false")
        #expect(stablePackages.contains("libc6"), "every program here maps libc: \(stablePackages)")
        #expect(graphPackages.contains("openssh-server") && graphPackages.contains("libssl3"), "\(graphPackages)")
        #expect(stablePackages.isSubset(of: inUse), "mapped before and after, yet not in use: \(stablePackages.subtracting(inUse).sorted())")
        #expect(graphPackages.isSubset(of: inUse), "in sshd's graph, yet not in use: \(graphPackages.subtracting(inUse).sorted())")
        #expect(inUse.isDisjoint(with: unused))
        #expect(!unused.isEmpty, "a Debian host ships code nothing runs (dpkg's own tools, at least)")
        // In use and neither seen mapped nor in sshd's graph: only processes that started or ended during the scan
        // may explain it (a pid alive throughout, same start time, mapped the same then as before and after).
        let throughout = Set(Set(before.keys).intersection(after.keys).map(\.pid))
        let refs = Dictionary(components.compactMap { c in (c["bom-ref"] as? String).map { ($0, c["name"] as? String ?? "") } }, uniquingKeysWith: { a, _ in a })
        for package in inUse.subtracting(seenPackages).subtracting(graphPackages) {
            let files = components.filter { Self.property($0, "chainwatch:package").contains { refs[$0] == package } }
            let pids = files.flatMap { Self.property($0, "chainwatch:pid").compactMap(Int32.init) }
            #expect(!pids.isEmpty && pids.allSatisfy { !throughout.contains($0) },
                    "\(package) is in use, but no mapping seen before or after the scan and not in sshd's graph; pids \(pids)")
        }
        let subject = (bom["metadata"] as? [String: Any])?["component"] as? [String: Any] ?? [:]
        #expect(Self.property(subject, "chainwatch:code-in-use:basis") == ["processes-and-graphs"])

        // The container (nothing walked there: no sshd in it): exactly the packages its processes map.
        let containerMapped = containerBefore.values.reduce(Set(), { $0.union($1) })
        let containerOwners = try Self.owners(prefix: containerPrefix, wanted: containerMapped)
        let containerStable = Set(containerBefore.keys).intersection(containerAfter.keys)
            .flatMap { containerBefore[$0]!.intersection(containerAfter[$0]!) }
        let expected = Set(containerStable.flatMap { containerOwners[$0] ?? [] })
        let component = try #require(components.first { $0["type"] as? String == "container" && $0["name"] as? String == container.name })
        let nested = component["components"] as? [[String: Any]] ?? []
        #expect(Self.property(component, "chainwatch:code-in-use:basis") == ["processes-and-graphs"])
        #expect(expected == ["coreutils", "libc6"], "the container runs sleep: \(expected)")
        #expect(Self.marked(nested, "true") == expected)
        #expect(Self.marked(nested, "false").contains("dpkg"))
    }
}
}
