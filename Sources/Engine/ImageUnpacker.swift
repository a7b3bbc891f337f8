import Archive
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
    /// The platform of the manifest scanned (`os/architecture[/variant]`), as the index or config states it.
    public var platform: String?
}

/// `--image`: an OCI image layout, an OCI archive or a `docker save` tar, its layers applied in order into a
/// private temporary directory with whiteouts (`.wh.NAME` removes NAME of a lower layer, `.wh..wh..opq` empties
/// a directory of what lower layers put there), so the image's final filesystem can be scanned like `--root`.
///
/// Verified as a runtime pulling it would: every blob it uses is checked against the digest (SHA-256 or SHA-512)
/// and size that name it (`ImageManifestReader` for the documents; each layer hashed in the same read that applies
/// it, checked before the scan looks at anything), docker save layers against the config's rootfs.diff_ids, and
/// from an index the manifest for this host's platform (or `--platform`) is taken. A blob that does not match
/// stops the scan with an error naming it (exit 2), rather than a skip: the documents that say what to scan are
/// then not to be believed, and an altered image must never read as "nothing found".
///
/// Nothing from the image is executed; nothing is written outside that directory: member names are sanitized,
/// no `..`, parent symlinks resolved inside the root (`ImageTree`), no device node, no owner, no setuid bit. What
/// could not be written (no room, a path past PATH_MAX) is a skip that leaves the verdict incomplete.
struct ImageUnpacker {
    struct Limits {
        var members = 1_000_000
        var bytes: Int64 = 64 << 30
        var memberSize: Int64 = 4 << 30
        /// Skips recorded one by one; past this, one more says how many were left out.
        var skips = 1_000
    }

    /// Why an image was not scanned at all.
    struct Failure: Error, CustomStringConvertible {
        enum Code {
            /// Not an image layout, or a document in it that is not what the spec says.
            case notAnImage
            /// A blob whose digest or size is not the one that names it.
            case altered
            /// No manifest for the platform asked for.
            case platform
            /// No room to unpack it.
            case space
            /// Over a bound that keeps the scanner safe.
            case limit
            /// Valid, but not something this unpacker can check (a compressed docker save layer).
            case unsupported
        }

        var code: Code
        var description: String

        init(_ code: Code, _ description: String) {
            self.code = code
            self.description = description
        }
    }

    let limits = Limits()
    var notes: [String] = []
    private(set) var skipped: [Skip] = []
    /// Skips past `limits.skips`, counted.
    private var skipsLeftOut = 0
    private var members = 0
    private var written: Int64 = 0
    /// Regular files left unwritten: not ELF and in no place a root scan reads.
    var unwritten = 0
    /// Directories and symlinks not created because their path would be longer than PATH_MAX.
    var tooDeep = 0

    /// Unpacks `image` under `work` (a private directory the caller removes); returns the root to scan.
    mutating func unpack(_ image: String, work: String, platform: ImagePlatform?) throws -> (root: String, reference: ImageReference) {
        let status = try FileSystem.status(image)
        let space = ImageUnpackSpace(directory: work)
        var layout = image
        if status.kind != .directory {
            // An archive of the layout (OCI archive, docker save): its regular files only, into work/input.
            try space.require(status.size, for: "the image archive, extracted whole before its layers are applied,")
            layout = work + "/input"
            try FileSystem.makeDirectory(layout, permissions: 0o700)
            try extractLayout(image, into: layout, space: space)
        }
        let root = work + "/rootfs"
        try FileSystem.makeDirectory(root, permissions: 0o755)
        let confined = ConfinedRoot(layout)
        var reader = ImageManifestReader(layout: confined, wanted: platform)
        let plan = try reader.plan(archived: status.kind != .directory)
        notes += reader.notes
        var tree = ImageTree(root: root)
        for (index, layer) in plan.layers.enumerated() {
            try apply(layer, number: index + 1, layout: confined, tree: &tree, space: space)
        }
        if tooDeep > 0 {
            notes.append("\(tooDeep) directories and symlinks of the image were not created: their path would be longer than PATH_MAX (\(ImageTree.pathLimit) bytes) here, where nothing could read them")
        }
        if skipsLeftOut > 0 {
            skipped.append(Skip(subject: image, reason: "\(skipsLeftOut) more members not unpacked, not listed one by one", code: .limit))
        }
        let reference = ImageReference(path: image, format: plan.format, name: plan.name, digest: plan.digest,
                                       layers: plan.layers.count, platform: plan.platform?.description)
        return (root, reference)
    }

    /// Records a skip, up to `limits.skips` of them.
    mutating func skip(_ subject: String, _ reason: String, _ code: Skip.Code) {
        guard skipped.count < limits.skips else {
            skipsLeftOut += 1
            return
        }
        skipped.append(Skip(subject: subject, reason: reason, code: code))
    }

    /// The regular files and directories of an image archive, securely, into `directory`.
    private mutating func extractLayout(_ archive: String, into directory: String, space: ImageUnpackSpace) throws {
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
            do {
                try reader.extractCurrent(to: disk, path: directory + "/" + components.joined(separator: "/"))
            } catch {
                guard space.isExhausted(needing: member.size ?? 0) else { throw error }
                throw Failure(.space, "\(archive)!\(member.name): \(space.reason)")
            }
        }
    }

    /// The member name as path components inside the root, or nil (with a note) when it leads out of it.
    mutating func sanitized(_ name: String, shown: String) -> [String]? {
        let components = name.split(separator: "/").map(String.init).filter { $0 != "." }
        if components.contains("..") {
            notes.append("\(shown)!\(name): the member's name leads out of the image; not written")
            return nil
        }
        return components
    }

    mutating func count(_ member: ArchiveMember, shown: String) throws {
        members += 1
        written += member.size ?? 0
        if members > limits.members { throw Failure(.limit, "\(shown): more than \(limits.members) members; image not scanned") }
        if written > limits.bytes { throw Failure(.limit, "\(shown): more than \(limits.bytes) bytes unpacked; image not scanned") }
    }

    /// Places a root scan reads files from whatever they contain: the package databases, /etc, os-release, files
    /// named like shared objects (libc.so is a linker script, ld.so.cache lists names) and programs' directories.
    static func scanMayRead(_ components: [String]) -> Bool {
        guard let name = components.last else { return true }
        if name.contains(".so") { return true }
        let path = components.joined(separator: "/")
        if ["etc/", "var/lib/dpkg/", "var/lib/rpm/", "usr/lib/sysimage/", "lib/apk/", "usr/lib/apk/", "var/lib/pacman/"]
            .contains(where: path.hasPrefix) || path == "usr/lib/os-release" { return true }
        // A dpkg package's build date is its changelog's first entry (package-age rules): a few KiB per package.
        if path.hasPrefix("usr/share/doc/") && components.count == 5 && name.hasPrefix("changelog") && name.hasSuffix(".gz") { return true }
        return components.dropLast().contains { ["bin", "sbin", "libexec"].contains($0) }
    }
}

extension Scanner {
    /// Scans an image (`--image`): unpacked into a private temporary directory (under $TMPDIR), scanned as an
    /// offline root, the directory removed afterwards. The report names the image, its reference and digest, and
    /// shows paths inside the image.
    /// - Throws: when the image cannot be unpacked (not an image, a damaged or altered layer, over a limit).
    public func scanImage(_ image: String) throws -> ScanReport {
        let work = try FileSystem.makeTemporaryDirectory(prefix: "chainwatch-image")
        // However the unpack ends (an altered blob, no room), its directory goes; removal is by descriptor, so a
        // tree of any depth goes too.
        defer { try? ImageSyscall.removeTree(work) }
        var unpacker = ImageUnpacker()
        let (root, reference) = try unpacker.unpack(image, work: work, platform: options.imagePlatform)
        var options = self.options
        options.root = root
        options.scanProcesses = false
        var target = ScanTarget(kind: .image, id: image)
        target.image = reference.name
        target.imageID = reference.digest
        options.target = target
        var report = Scanner(plan: plan, options: options).run()
        report.root = image
        report.image = reference
        report.notes = unpacker.notes + report.notes.map { $0.replacing(root, with: image) }
        report.coverageGaps = report.coverageGaps.map { $0.replacing(root, with: image) }
        if unpacker.unwritten > 0 {
            report.notes.append("\(unpacker.unwritten) files of the image are neither ELF nor in a place a root scan reads (package databases, /etc, *.so*, bin/sbin); they were not unpacked")
        }
        report.skipped = unpacker.skipped + report.skipped
        do { try ImageSyscall.removeTree(work) } catch {
            report.notes.append("the unpack directory \(work) could not be removed (\(error)); remove it by hand")
        }
        return report
    }
}
