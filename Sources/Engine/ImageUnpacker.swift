import Archive
import Crypto
import FoundationEssentials
import HostIO
import Probes

/// Which image a scan was of: its name and manifest digest as the image says, and in which format it came.
public struct ImageReference: Sendable, Codable, Hashable {
    public var path: String
    /// "oci-layout", "oci-archive" or "docker-archive".
    public var format: String
    /// org.opencontainers.image.ref.name, or docker's first RepoTag.
    public var name: String?
    /// The manifest's digest (OCI), or the config's (docker's image ID).
    public var digest: String?
    public var layers: Int
}

/// `--image`: an OCI image layout, an OCI archive or a `docker save` tar, its layers applied in order into a
/// private temporary directory with whiteouts (`.wh.NAME` removes NAME of a lower layer, `.wh..wh..opq` empties
/// a directory of what lower layers put there), so the image's final filesystem can be scanned like `--root`.
/// Nothing from the image is executed; nothing is written outside that directory: member names are
/// sanitized, no `..`, no write through a symlink (libarchive's secure disk writer), no device node, no owner,
/// no setuid bit. Each layer's digest is checked as it is read.
struct ImageUnpacker {
    struct Limits {
        var members = 1_000_000
        var bytes: Int64 = 64 << 30
        var memberSize: Int64 = 4 << 30
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let limits = Limits()
    private(set) var notes: [String] = []
    private(set) var skipped: [Skip] = []
    private var members = 0
    private var written: Int64 = 0
    /// Regular files left unwritten: not ELF and in no place a root scan reads.
    private(set) var unwritten = 0

    /// Unpacks `image` under `work` (a private directory the caller removes); returns the root to scan.
    mutating func unpack(_ image: String, work: String) throws -> (root: String, reference: ImageReference) {
        let status = try FileSystem.status(image)
        var layout = image
        var format = "oci-layout"
        if status.kind != .directory {
            // An archive of the layout (OCI archive, docker save): its regular files only, into work/input.
            layout = work + "/input"
            try FileSystem.makeDirectory(layout, permissions: 0o700)
            try extractLayout(image, into: layout)
            format = "oci-archive"
        }
        let root = work + "/rootfs"
        try FileSystem.makeDirectory(root, permissions: 0o755)
        let confined = ConfinedRoot(layout)
        let (layers, name, digest, detected) = try manifest(confined, archived: format != "oci-layout")
        format = detected ?? format
        for (index, layer) in layers.enumerated() {
            try apply(layer: layer, number: index + 1, layout: confined, root: root)
        }
        return (root, ImageReference(path: image, format: format, name: name, digest: digest, layers: layers.count))
    }

    /// A layer blob: where it is in the layout and the digest it must have (nil for docker's layer.tar paths,
    /// which carry none).
    struct Layer {
        var path: String
        var digest: String?
    }

    /// The parts of OCI index, manifest and descriptor documents the unpacker reads (image-spec's index.json and
    /// manifest); unknown fields are ignored, a field of the wrong type makes the document invalid.
    private struct OCIDocument: Decodable {
        var manifests: [Descriptor]?
        var layers: [Descriptor]?

        struct Descriptor: Decodable {
            var digest: String?
            var platform: Platform?
            var annotations: [String: String]?
        }

        struct Platform: Decodable {
            var os: String?
            var architecture: String?
        }
    }

    /// One image of docker save's manifest.json.
    private struct DockerSaveEntry: Decodable {
        var layers: [String]?
        var repoTags: [String]?
        var config: String?

        enum CodingKeys: String, CodingKey {
            case layers = "Layers", repoTags = "RepoTags", config = "Config"
        }
    }

    private static func json<Document: Decodable>(_ root: ConfinedRoot, _ path: String, as _: Document.Type) throws -> Document {
        let bytes = try root.readBytes(path, limit: 16 << 20)
        do { return try JSONDecoder().decode(Document.self, from: Data(bytes)) } catch {
            throw Failure(description: "\(path) in the image is not a valid image document: \(error)")
        }
    }

    /// "sha256:<64 hex>" to blobs/sha256/<hex>; anything else is refused (a digest is never a path).
    private static func blobPath(_ digest: String) throws -> String {
        let parts = digest.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, ["sha256", "sha512"].contains(parts[0]),
              parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }), parts[1].count == (parts[0] == "sha256" ? 64 : 128) else {
            throw Failure(description: "digest '\(digest)' is not sha256:<64 hex digits>")
        }
        return "/blobs/\(parts[0])/\(parts[1])"
    }

    private func manifest(_ layout: ConfinedRoot, archived: Bool) throws -> (layers: [Layer], name: String?, digest: String?, format: String?) {
        if (try? layout.status("/index.json")) != nil {
            guard var descriptors = try Self.json(layout, "/index.json", as: OCIDocument.self).manifests, !descriptors.isEmpty else {
                throw Failure(description: "index.json lists no manifest")
            }
            var name: String?
            // An index may point at another index (multi-platform): follow it to the linux/amd64 manifest.
            for _ in 0..<4 {
                let chosen = descriptors.first {
                    guard let platform = $0.platform else { return true }
                    return platform.os == "linux" && platform.architecture == "amd64"
                } ?? descriptors[0]
                name = name ?? chosen.annotations?["org.opencontainers.image.ref.name"]
                guard let digest = chosen.digest else { throw Failure(description: "a manifest descriptor has no digest") }
                let manifest = try Self.json(layout, try Self.blobPath(digest), as: OCIDocument.self)
                if let nested = manifest.manifests, !nested.isEmpty {
                    descriptors = nested
                    continue
                }
                guard let layers = manifest.layers else { throw Failure(description: "manifest \(digest) lists no layers") }
                let list = try layers.map { layer -> Layer in
                    guard let digest = layer.digest else { throw Failure(description: "a layer of \(digest) has no digest") }
                    return Layer(path: try Self.blobPath(digest), digest: digest)
                }
                return (list, name, digest, archived ? "oci-archive" : "oci-layout")
            }
            throw Failure(description: "image indexes nested more than 4 deep")
        }
        if (try? layout.status("/manifest.json")) != nil {
            guard let first = try Self.json(layout, "/manifest.json", as: [DockerSaveEntry].self).first,
                  let layers = first.layers else {
                throw Failure(description: "manifest.json (docker save) lists no image with Layers")
            }
            let name = first.repoTags?.first
            var digest: String?
            if let config = first.config, let bytes = try? layout.readBytes("/" + config, limit: 16 << 20) {
                digest = "sha256:" + SHA256.hash(data: bytes).hex
            }
            let list = try layers.map { path -> Layer in
                guard !PathScan.escapes(path), !path.isEmpty else { throw Failure(description: "layer path '\(path)' leads out of the image") }
                // docker save of Docker 25+ names layers blobs/sha256/<hex>: their digest can be checked too.
                let parts = path.split(separator: "/")
                let digest = parts.count == 3 && parts[0] == "blobs" ? "\(parts[1]):\(parts[2])" : nil
                return Layer(path: "/" + path, digest: digest)
            }
            return (list, name, digest, "docker-archive")
        }
        throw Failure(description: "neither index.json (OCI) nor manifest.json (docker save) found: not an image")
    }

    /// The regular files and directories of an image archive, securely, into `directory`.
    private mutating func extractLayout(_ archive: String, into directory: String) throws {
        let file = try OpenFile(path: archive)
        var offset: Int64 = 0
        let reader = try ArchiveReader(label: archive) {
            let block = try file.read(at: offset, count: 256 * 1024)
            offset += Int64(block.count)
            return block
        }
        let disk = try DiskWriter()
        while let member = try reader.next() {
            guard let components = sanitized(member.name, shown: archive) else { continue }
            guard member.kind == .regular || member.kind == .directory, !components.isEmpty else { continue }
            try count(member, shown: archive + "!" + member.name)
            try reader.extractCurrent(to: disk, path: directory + "/" + components.joined(separator: "/"))
        }
    }

    /// The member name as path components inside the root, or nil (with a note) when it leads out of it.
    private mutating func sanitized(_ name: String, shown: String) -> [String]? {
        let components = name.split(separator: "/").map(String.init).filter { $0 != "." }
        if components.contains("..") {
            notes.append("\(shown)!\(name): the member's name leads out of the image; not written")
            return nil
        }
        return components
    }

    private mutating func count(_ member: ArchiveMember, shown: String) throws {
        members += 1
        written += member.size ?? 0
        if members > limits.members { throw Failure(description: "\(shown): more than \(limits.members) members; image not scanned") }
        if written > limits.bytes { throw Failure(description: "\(shown): more than \(limits.bytes) bytes unpacked; image not scanned") }
    }

    /// One layer applied over the layers below it.
    private mutating func apply(layer: Layer, number: Int, layout: ConfinedRoot, root: String) throws {
        let label = "layer \(number) (\(layer.digest ?? layer.path))"
        let (_, file) = try layout.open(layer.path)
        var offset: Int64 = 0
        var hasher = SHA256()
        let reader = try ArchiveReader(label: label) {
            let block = try file.read(at: offset, count: 256 * 1024)
            offset += Int64(block.count)
            hasher.update(data: block)
            return block
        }
        let disk = try DiskWriter()
        // What this layer wrote: an opaque whiteout hides what lower layers put in its directory, not these.
        var ours: Set<String> = []
        while let member = try reader.next() {
            let shown = label + "!" + member.name
            guard var components = sanitized(member.name, shown: label), let base = components.last else { continue }
            if base.hasPrefix(".wh.") {
                components.removeLast()
                let parent = components
                if base == ".wh..wh..opq" {
                    try opaque(root: root, directory: parent, keep: ours)
                } else {
                    let hidden = String(base.dropFirst(4))
                    guard !hidden.isEmpty, hidden != ".", hidden != "..", !hidden.contains("/") else {
                        notes.append("\(shown): a whiteout naming '\(hidden)', outside its directory; ignored")
                        continue
                    }
                    if !(try FileSystem.removeBeneath(root, components: parent + [hidden])) {
                        // Hiding what no lower layer has (or what sits behind a symlink) changes nothing.
                        continue
                    }
                }
                continue
            }
            switch member.kind {
            case .characterDevice, .blockDevice, .fifo, .socket, .unknown:
                skipped.append(Skip(subject: shown, reason: "\(member.kind.rawValue) member; not created"))
                continue
            case .regular where (member.size ?? 0) > limits.memberSize:
                skipped.append(Skip(subject: shown, reason: "\(member.size ?? 0) bytes is over the \(limits.memberSize)-byte member limit; not unpacked"))
                continue
            default:
                break
            }
            if member.permissions & 0o6000 != 0 {
                notes.append("\(shown): set-user-ID or set-group-ID file (mode \(String(member.permissions, radix: 8))); unpacked without those bits")
            }
            try count(member, shown: shown)
            var linkPath: String?
            if member.kind == .hardlink, let target = member.linkTarget {
                guard let targetComponents = sanitized(target, shown: shown), !targetComponents.isEmpty else { continue }
                linkPath = root + "/" + targetComponents.joined(separator: "/")
            }
            let path = root + "/" + components.joined(separator: "/")
            do {
                // Only what a root scan can read is written: a file that is neither ELF nor in a place the scan
                // looks (package databases, /etc, *.so* names, bin and sbin directories) stays unpacked, which
                // spares the disk most of an image's bytes (documentation, data, interpreters' libraries).
                let readable = Self.scanMayRead(components)
                guard try reader.extractCurrent(to: disk, path: path, linkPath: linkPath,
                                                keep: readable ? nil : { head in head.starts(with: [0x7f, 0x45, 0x4c, 0x46]) }) else {
                    unwritten += 1
                    continue
                }
                for end in 1...components.count { ours.insert(components[0..<end].joined(separator: "/")) }
            } catch {
                // A member the secure writer refuses (through a symlink, a link out of the root) is left out.
                notes.append("\(shown): not unpacked (\(error))")
            }
        }
        try reader.finish()
        if let digest = layer.digest, digest.hasPrefix("sha256:") {
            let actual = "sha256:" + hasher.finalize().hex
            guard actual == digest else {
                throw Failure(description: "\(label): the blob's SHA-256 is \(actual), not its digest; the image is damaged or altered")
            }
        }
    }

    /// Places a root scan reads files from whatever they contain: the package databases, /etc, os-release, files
    /// named like shared objects (libc.so is a linker script, ld.so.cache lists names) and programs' directories.
    static func scanMayRead(_ components: [String]) -> Bool {
        guard let name = components.last else { return true }
        if name.contains(".so") { return true }
        let path = components.joined(separator: "/")
        if ["etc/", "var/lib/dpkg/", "var/lib/rpm/", "usr/lib/sysimage/", "lib/apk/", "usr/lib/apk/", "var/lib/pacman/"]
            .contains(where: path.hasPrefix) || path == "usr/lib/os-release" { return true }
        return components.dropLast().contains { ["bin", "sbin", "libexec"].contains($0) }
    }

    /// `.wh..wh..opq`: everything lower layers put in the directory goes; what this layer wrote there stays.
    private func opaque(root: String, directory: [String], keep: Set<String>) throws {
        var path = root
        for component in directory {
            path += "/" + component
            guard (try? FileSystem.linkStatus(path))?.kind == .directory else { return }
        }
        let prefix = directory.isEmpty ? "" : directory.joined(separator: "/") + "/"
        for entry in (try? FileSystem.directoryEntries(path)) ?? [] where !keep.contains(prefix + entry) {
            try FileSystem.removeBeneath(root, components: directory + [entry])
        }
    }
}

extension Scanner {
    /// Scans an image (`--image`): unpacked into a private temporary directory (under $TMPDIR), scanned as an
    /// offline root, the directory removed afterwards. The report names the image, its reference and digest, and
    /// shows paths inside the image.
    /// - Throws: when the image cannot be unpacked (not an image, a damaged or altered layer, over a limit).
    public func scanImage(_ image: String) throws -> ScanReport {
        let work = try FileSystem.makeTemporaryDirectory(prefix: "chainwatch-image")
        defer { try? FileSystem.removeTree(work) }
        var unpacker = ImageUnpacker()
        let (root, reference) = try unpacker.unpack(image, work: work)
        var options = self.options
        options.root = root
        options.scanProcesses = false
        var report = Scanner(plan: plan, options: options).run()
        report.root = image
        report.image = reference
        report.notes = unpacker.notes + report.notes.map { $0.replacing(root, with: image) }
        if unpacker.unwritten > 0 {
            report.notes.append("\(unpacker.unwritten) files of the image are neither ELF nor in a place a root scan reads (package databases, /etc, *.so*, bin/sbin); they were not unpacked")
        }
        report.skipped = unpacker.skipped + report.skipped
        return report
    }
}
