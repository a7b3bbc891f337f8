import FoundationEssentials
import HostIO

/// What an image says it is made of, read and checked the way a runtime pulling it would: the layers to apply in
/// order (each with the digest its blob must have), and what the report names the image by.
struct ImagePlan {
    var layers: [ImageLayer]
    var name: String?
    /// The manifest's digest (OCI), or the config's (docker's image ID).
    var digest: String?
    var format: String
    /// The platform the chosen manifest is for, as its index entry or config states it.
    var platform: ImagePlatform?
}

/// A layer blob: where it is in the layout, and what its bytes must hash to.
struct ImageLayer {
    var path: String
    /// The blob's own digest: an OCI descriptor's, or the one a docker layer path blobs/sha256/<hex> names.
    var digest: ImageDigest?
    /// docker save: the config's rootfs.diff_ids entry, the digest of the uncompressed tar (the blob itself).
    var diffID: ImageDigest?
    /// The size the descriptor states.
    var size: Int64?
}

/// Reads an image layout's documents (OCI index.json, or docker save's manifest.json): every blob it uses (a
/// nested index, the manifest, the config) is checked against the digest and size that name it before a byte of
/// it is decoded, and from an index the manifest for this host's platform (or `--platform`'s) is chosen the way
/// containerd does: entries that state a matching platform first, best variant first, then entries that state
/// none, by their config's platform. index.json and manifest.json themselves are the layout's roots: nothing
/// names their digest.
struct ImageManifestReader {
    let layout: ConfinedRoot
    /// `--platform`; nil for this host's.
    let wanted: ImagePlatform?
    private(set) var notes: [String] = []

    /// Image documents are small; a bound keeps a hostile one from costing memory.
    static let documentLimit: Int64 = 16 << 20

    init(layout: ConfinedRoot, wanted: ImagePlatform?) {
        self.layout = layout
        self.wanted = wanted
    }

    private var target: ImagePlatform { wanted ?? .host }

    mutating func plan(archived: Bool) throws -> ImagePlan {
        var plan: ImagePlan
        if (try? layout.status("/index.json")) != nil {
            plan = try ociPlan()
            plan.format = archived ? "oci-archive" : "oci-layout"
        } else if (try? layout.status("/manifest.json")) != nil {
            plan = try dockerPlan()
        } else {
            throw ImageUnpacker.Failure(.notAnImage, "neither index.json (OCI) nor manifest.json (docker save) found: not an image")
        }
        if wanted == nil, let platform = plan.platform, ImagePlatform.host.rank(platform) == nil {
            notes.append("the image is for \(platform), not this host's \(ImagePlatform.host); scanned as it is")
        }
        return plan
    }

    // MARK: OCI

    private func ociPlan() throws -> ImagePlan {
        let index = try Self.decode(OCIDocument.self, try layout.readBytes("/index.json", limit: Self.documentLimit), "index.json")
        guard let descriptors = index.manifests, !descriptors.isEmpty else {
            throw ImageUnpacker.Failure(.notAnImage, "index.json lists no manifest")
        }
        var offered: [String] = []
        guard let chosen = try choose(descriptors, in: "index.json", depth: 0, offered: &offered) else {
            let which = wanted == nil ? "this host's platform, \(target)" : "\(target)"
            let listed = offered.isEmpty ? "no platform at all" : offered.joined(separator: ", ")
            throw ImageUnpacker.Failure(.platform, "the image has no manifest for \(which); it has \(listed). Name one with --platform OS/ARCH[/VARIANT]")
        }
        guard let descriptors = chosen.manifest.layers else {
            throw ImageUnpacker.Failure(.notAnImage, "manifest \(chosen.digest) lists no layers")
        }
        // Each layer is checked against its descriptor's digest (of the blob as stored, compressed or not), which
        // pins its content; the config's diff_ids (of the uncompressed tar) would need a second hash of what
        // libarchive decompresses, which it does not hand out, and would pin nothing more.
        let layers = try descriptors.enumerated().map { number, descriptor in
            guard let text = descriptor.digest else {
                throw ImageUnpacker.Failure(.notAnImage, "layer \(number + 1) of manifest \(chosen.digest) has no digest")
            }
            let digest = try ImageDigest(text)
            return ImageLayer(path: digest.blobPath, digest: digest, size: descriptor.size)
        }
        return ImagePlan(layers: layers, name: chosen.name, digest: chosen.digest.description, format: "oci-layout", platform: chosen.platform)
    }

    /// A manifest chosen from an index, with its config.
    private struct Chosen {
        var digest: ImageDigest
        var manifest: OCIDocument
        var config: ImageConfig
        var name: String?
        var platform: ImagePlatform?
    }

    /// The manifest of `descriptors` (an index's entries) a runtime here would run, following nested indexes; nil
    /// when none is for the platform (`offered` then lists what there is).
    private func choose(_ descriptors: [OCIDocument.Descriptor], in document: String, depth: Int, offered: inout [String]) throws -> Chosen? {
        guard depth < 4 else { throw ImageUnpacker.Failure(.notAnImage, "image indexes nested more than 4 deep") }
        // One entry and no --platform: nothing to choose, as when a runtime imports a single-image layout.
        if descriptors.count == 1 && wanted == nil {
            return try open(descriptors[0], in: document, depth: depth, offered: &offered, mustMatch: false)
        }
        var stating: [(rank: Int, position: Int)] = []
        for (position, descriptor) in descriptors.enumerated() {
            guard let platform = descriptor.platform?.platform else { continue }
            if let rank = target.rank(platform) { stating.append((rank, position)) } else { offered.append(platform.description) }
        }
        for (_, position) in stating.sorted(by: { ($0.rank, $0.position) < ($1.rank, $1.position) }) {
            if let chosen = try open(descriptors[position], in: document, depth: depth, offered: &offered, mustMatch: false) { return chosen }
        }
        // Entries stating no platform come after every entry that states this one (a decoy listed first is not
        // taken); their config says what they are for.
        for descriptor in descriptors where descriptor.platform?.platform == nil {
            if let chosen = try open(descriptor, in: document, depth: depth, offered: &offered, mustMatch: true) { return chosen }
        }
        return nil
    }

    /// An index entry's blob, checked: a nested index is chosen from in turn; a manifest comes back with its
    /// config, or nil when `mustMatch` and the config is for another platform.
    private func open(_ descriptor: OCIDocument.Descriptor, in document: String, depth: Int, offered: inout [String], mustMatch: Bool) throws -> Chosen? {
        let (digest, bytes) = try blob(descriptor, "an entry listed in \(document)")
        let node = try Self.decode(OCIDocument.self, bytes, "manifest \(digest)")
        let name = descriptor.annotations?["org.opencontainers.image.ref.name"]
        if let nested = node.manifests, !nested.isEmpty {
            guard var chosen = try choose(nested, in: "index \(digest)", depth: depth + 1, offered: &offered) else { return nil }
            chosen.name = name ?? chosen.name
            return chosen
        }
        guard let configDescriptor = node.config else {
            throw ImageUnpacker.Failure(.notAnImage, "manifest \(digest) has no config")
        }
        let (configDigest, configBytes) = try blob(configDescriptor, "the config of manifest \(digest)")
        let config = try Self.decode(ImageConfig.self, configBytes, "config \(configDigest)")
        let platform = descriptor.platform?.platform ?? config.platform
        if mustMatch {
            guard let platform, target.rank(platform) != nil else {
                offered.append(platform?.description ?? "none stated (manifest \(digest))")
                return nil
            }
        }
        return Chosen(digest: digest, manifest: node, config: config, name: name, platform: platform)
    }

    /// The blob a descriptor names, read whole (bounded) and checked against its digest and size.
    private func blob(_ descriptor: OCIDocument.Descriptor, _ what: String) throws -> (ImageDigest, [UInt8]) {
        guard let text = descriptor.digest else { throw ImageUnpacker.Failure(.notAnImage, "\(what) has no digest") }
        let digest = try ImageDigest(text)
        let bytes: [UInt8]
        do { bytes = try layout.readBytes(digest.blobPath, limit: Self.documentLimit) } catch {
            throw ImageUnpacker.Failure(.notAnImage, "\(what), blob \(digest): \(error)")
        }
        try digest.check(BlobHasher.digest(bytes, digest.algorithm), "\(what), blob \(digest)")
        if let size = descriptor.size, size != Int64(bytes.count) {
            throw ImageUnpacker.Failure(.altered, "\(what), blob \(digest): \(bytes.count) bytes, not the \(size) its descriptor says; the image is damaged or altered")
        }
        return (digest, bytes)
    }

    // MARK: docker save

    private func dockerPlan() throws -> ImagePlan {
        let entries = try Self.decode([DockerSaveEntry].self, try layout.readBytes("/manifest.json", limit: Self.documentLimit), "manifest.json")
        guard !entries.isEmpty else { throw ImageUnpacker.Failure(.notAnImage, "manifest.json (docker save) lists no image") }
        // docker save writes one entry per image asked for; --platform picks among them by their configs.
        var offered: [String] = []
        for entry in entries {
            let plan = try dockerImage(entry)
            guard let wanted else { return plan }
            if let platform = plan.platform, wanted.rank(platform) != nil { return plan }
            offered.append(plan.platform?.description ?? "none stated (\(plan.digest ?? "?"))")
        }
        throw ImageUnpacker.Failure(.platform, "the image has no manifest for \(target); it has \(offered.joined(separator: ", "))")
    }

    /// One image of docker save's manifest.json: its config checked against the digest its name carries (the
    /// image ID), each layer to be checked against the config's rootfs.diff_ids.
    private func dockerImage(_ entry: DockerSaveEntry) throws -> ImagePlan {
        guard let paths = entry.layers, let configPath = entry.config else {
            throw ImageUnpacker.Failure(.notAnImage, "manifest.json (docker save) lists an image without Config or Layers")
        }
        for path in paths + [configPath] where path.isEmpty || PathScan.escapes(path) {
            throw ImageUnpacker.Failure(.notAnImage, "path '\(path)' in manifest.json leads out of the image")
        }
        let bytes: [UInt8]
        do { bytes = try layout.readBytes("/" + configPath, limit: Self.documentLimit) } catch {
            throw ImageUnpacker.Failure(.notAnImage, "config \(configPath): \(error)")
        }
        let imageID = BlobHasher.digest(bytes, .sha256)
        if let named = Self.digest(named: configPath) {
            try named.check(BlobHasher.digest(bytes, named.algorithm), "config \(configPath)")
        }
        let config = try Self.decode(ImageConfig.self, bytes, "config \(configPath)")
        guard let diffIDs = config.rootfs?.diffIDs else {
            throw ImageUnpacker.Failure(.altered, "config \(configPath) has no rootfs.diff_ids, so its layers cannot be checked")
        }
        guard diffIDs.count == paths.count else {
            throw ImageUnpacker.Failure(.altered, "manifest.json lists \(paths.count) layers but config \(configPath) \(diffIDs.count) diff_ids; the image is damaged or altered")
        }
        let layers = try zip(paths, diffIDs).map { path, diffID in
            ImageLayer(path: "/" + path, digest: ImageDigest(blobPath: path), diffID: try ImageDigest(diffID))
        }
        return ImagePlan(layers: layers, name: entry.repoTags?.first, digest: imageID.description, format: "docker-archive",
                         platform: config.platform)
    }

    /// The digest docker save names a config by: `<64 hex>.json` (the image ID), or blobs/sha256/<hex>.
    private static func digest(named path: String) -> ImageDigest? {
        if let digest = ImageDigest(blobPath: path) { return digest }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard name.hasSuffix(".json") else { return nil }
        return try? ImageDigest("sha256:" + name.dropLast(5))
    }

    private static func decode<Document: Decodable>(_: Document.Type, _ bytes: [UInt8], _ what: String) throws -> Document {
        do { return try JSONDecoder().decode(Document.self, from: Data(bytes)) } catch {
            throw ImageUnpacker.Failure(.notAnImage, "\(what) in the image is not a valid image document: \(error)")
        }
    }
}

/// The parts of OCI index and manifest documents (and docker's manifest list and schema 2 manifest, which have
/// the same fields) the unpacker reads; unknown fields are ignored, a field of the wrong type makes it invalid.
struct OCIDocument: Decodable {
    var manifests: [Descriptor]?
    var config: Descriptor?
    var layers: [Descriptor]?

    struct Descriptor: Decodable {
        var digest: String?
        var size: Int64?
        var platform: Platform?
        var annotations: [String: String]?
    }

    struct Platform: Decodable {
        var os: String?
        var architecture: String?
        var variant: String?

        var platform: ImagePlatform? { ImagePlatform.stated(os: os, architecture: architecture, variant: variant) }
    }
}

/// An image config (OCI or docker): the platform it is for and the digests of its uncompressed layers.
struct ImageConfig: Decodable {
    var os: String?
    var architecture: String?
    var variant: String?
    var rootfs: RootFS?

    struct RootFS: Decodable {
        var diffIDs: [String]?

        enum CodingKeys: String, CodingKey { case diffIDs = "diff_ids" }
    }

    var platform: ImagePlatform? { ImagePlatform.stated(os: os, architecture: architecture, variant: variant) }
}

/// One image of docker save's manifest.json.
struct DockerSaveEntry: Decodable {
    var layers: [String]?
    var repoTags: [String]?
    var config: String?

    enum CodingKeys: String, CodingKey {
        case layers = "Layers", repoTags = "RepoTags", config = "Config"
    }
}
