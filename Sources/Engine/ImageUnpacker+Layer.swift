import Archive
import HostIO
import Probes

extension ImageUnpacker {
    /// One layer applied over the layers below it. Its blob is hashed with every algorithm it must be checked
    /// with as libarchive reads it (the same read that unpacks it, no second pass), then checked: its digest and
    /// size, and for docker save its diff_id. Until that check passes the scan has looked at none of it.
    mutating func apply(_ layer: ImageLayer, number: Int, layout: ConfinedRoot, tree: inout ImageTree, space: ImageUnpackSpace) throws {
        let label = "layer \(number) (\(layer.digest?.description ?? layer.path))"
        let file: OpenFile
        do { (_, file) = try layout.open(layer.path) } catch { throw Failure(.notAnImage, "\(label): \(error)") }
        var offset: Int64 = 0
        var hasher = BlobHasher(Set([layer.digest?.algorithm, layer.diffID?.algorithm].compactMap { $0 }))
        let reader = try ArchiveReader(label: label) {
            let block = try file.read(at: offset, count: 256 * 1024)
            offset += Int64(block.count)
            hasher.update(block)
            return block
        }
        let disk = try DiskWriter()
        // What this layer wrote (canonical paths inside the root): an opaque whiteout hides what lower layers put
        // in its directory, not these.
        var ours: Set<String> = []
        while let member = try reader.next() {
            try apply(member, label: label, reader: reader, disk: disk, tree: &tree, ours: &ours, space: space)
        }
        try reader.finish()
        let actual = hasher.finalize()
        if let digest = layer.digest {
            try digest.check(actual[digest.algorithm]!, label)
        }
        if let size = layer.size, size != hasher.count {
            throw Failure(.altered, "\(label): the blob is \(hasher.count) bytes, not the \(size) its descriptor says; the image is damaged or altered")
        }
        if let diffID = layer.diffID {
            let filters = reader.filterNames
            guard filters.isEmpty else {
                throw Failure(.unsupported, "\(label) is \(filters.joined(separator: "+"))-compressed: a docker save layer is an uncompressed tar whose digest is its diff_id \(diffID), and a compressed one cannot be checked against it in the read that unpacks it; not scanned")
            }
            try diffID.check(actual[diffID.algorithm]!, label, as: "diff_id in the config")
        }
    }

    /// One member of a layer: a whiteout applied, or the member written at its place in the tree (parents
    /// resolved inside the root, whatever is there replaced), or recorded as not written and why.
    private mutating func apply(_ member: ArchiveMember, label: String, reader: ArchiveReader, disk: DiskWriter,
                                tree: inout ImageTree, ours: inout Set<String>, space: ImageUnpackSpace) throws {
        let shown = label + "!" + member.name
        guard var components = sanitized(member.name, shown: label), let base = components.last else { return }
        if base.hasPrefix(".wh.") {
            components.removeLast()
            if base == ".wh..wh..opq" {
                try tree.makeOpaque(components[...], keep: ours)
                return
            }
            let hidden = String(base.dropFirst(4))
            guard !hidden.isEmpty, hidden != ".", hidden != "..", !hidden.contains("/") else {
                notes.append("\(shown): a whiteout naming '\(hidden)', outside its directory; ignored")
                return
            }
            // Hiding what no lower layer has changes nothing.
            _ = try tree.whiteOut(hidden, in: components[...])
            return
        }
        switch member.kind {
        case .characterDevice, .blockDevice, .fifo, .socket, .unknown:
            skip(shown, "\(member.kind.rawValue) member; not created", .notApplicable)
            return
        case .regular where (member.size ?? 0) > limits.memberSize:
            skip(shown, "\(member.size ?? 0) bytes is over the \(limits.memberSize)-byte member limit; not unpacked", .limit)
            return
        default:
            break
        }
        if member.permissions & 0o6000 != 0 {
            notes.append("\(shown): set-user-ID or set-group-ID file (mode \(String(member.permissions, radix: 8))); unpacked without those bits")
        }
        try count(member, shown: shown)
        let place: ImageTree.Place
        do { place = try tree.place(components) } catch {
            refused(member, components: components, shown: shown, reader: reader, disk: disk, why: error)
            return
        }
        var linkPath: String?
        if member.kind == .hardlink, let target = member.linkTarget {
            guard let targetComponents = sanitized(target, shown: shown), !targetComponents.isEmpty,
                  let targetPlace = try? tree.place(targetComponents), (try? FileSystem.linkStatus(targetPlace.host)) != nil else {
                // Its target is a file this unpack left out (neither ELF nor where a scan reads) or not in the image.
                notes.append("\(shown): a hard link to \(target), which is not unpacked; not created")
                return
            }
            linkPath = targetPlace.host
        }
        // Only what a root scan can read is written: a file that is neither ELF nor in a place the scan looks
        // (package databases, /etc, *.so* names, bin and sbin directories) is not, which spares the disk most of
        // an image's bytes (documentation, data, interpreters' libraries). Where it lands decides, not its name
        // in the layer (l/sshd below a symlink l -> usr/sbin is a program).
        let readable = Self.scanMayRead(place.inside.split(separator: "/").map(String.init))
        let decision = WriteDecision()
        let size = member.size ?? 0
        do {
            try tree.clear(place, forDirectory: member.kind == .directory)
            if member.kind == .symlink || member.kind == .directory {
                guard space.reserve(0) else {
                    if member.kind == .symlink { skip(shown, space.reason, .limit) } else { notes.append("\(shown): \(space.reason)") }
                    return
                }
            }
            let keep: ([UInt8]) -> Bool = { head in
                decision.wanted = readable || head.starts(with: [0x7f, 0x45, 0x4c, 0x46])
                guard decision.wanted else { return false }
                decision.fits = space.reserve(size)
                return decision.fits
            }
            guard try reader.extractCurrent(to: disk, path: place.host, linkPath: linkPath, keep: keep) else {
                if decision.wanted { skip(shown, space.reason, .limit) } else { unwritten += 1 }
                return
            }
        } catch {
            // A member half written is not left for the scan to read as if it were whole.
            if member.kind == .regular { try? FileSystem.remove(place.host) }
            if member.kind == .directory {
                notes.append("\(shown): directory not created (\(error))")
            } else if space.isExhausted(needing: size) {
                skip(shown, space.reason, .limit)
            } else {
                skip(shown, "not unpacked: \(error)", .unreadable)
            }
            return
        }
        if member.kind == .directory { tree.remember(directory: components, at: place) }
        if member.kind == .symlink { tree.symlinkCreated() }
        // The path and its ancestors, deepest first, until one is already there (its own are then too).
        var path = Substring(place.inside)
        while ours.insert(String(path)).inserted, let slash = path.lastIndex(of: "/") {
            path = path[..<slash]
        }
    }

    /// A member with no place in the tree (a path past PATH_MAX, a parent that is a file): a directory or symlink
    /// is counted in a note; a file the scan would have read (ELF, or where a scan reads) is a skip.
    private mutating func refused(_ member: ArchiveMember, components: [String], shown: String, reader: ArchiveReader, disk: DiskWriter,
                                  why: ImageTree.Refusal) {
        let reason: String
        let code: Skip.Code
        switch why {
        case .tooLong:
            if member.kind == .directory || member.kind == .symlink {
                tooDeep += 1
                return
            }
            reason = "its path would be longer than PATH_MAX (\(ImageTree.pathLimit) bytes) here; not unpacked"
            code = .limit
        case .badParent(let problem):
            if member.kind == .directory {
                notes.append("\(shown): not created: \(problem)")
                return
            }
            reason = "not unpacked: \(problem)"
            code = .damaged
        }
        var isELF = false
        if member.kind == .regular {
            // The first bytes say whether it is ELF; nothing is written (`keep` says no).
            _ = try? reader.extractCurrent(to: disk, path: "/", keep: { head in
                isELF = head.starts(with: [0x7f, 0x45, 0x4c, 0x46])
                return false
            })
        }
        if member.kind == .regular && !isELF && !Self.scanMayRead(components) {
            unwritten += 1
        } else {
            skip(shown, reason, code)
        }
    }
}

/// What the `keep` callback decided for a file: whether the scan wants it, and whether it found room.
private final class WriteDecision {
    var wanted = false
    var fits = true
}
