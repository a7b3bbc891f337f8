import Archive
import HostIO
import Probes

/// `--path`: the files and directories given, and the members of every archive among them (tar in any
/// compression, .deb, .rpm, zip, nested to a bounded depth), each read once: SHA-256, the byte search and, for an
/// ELF member, its ELF facts, all from that read. A member is named ARCHIVE!member (ARCHIVE!inner.tar.xz!member
/// when nested). Nothing is written and no member name is ever used as a path: hostile names, links, devices and
/// bombs are notes and skips.
struct PathScan {
    /// Bounds, per path given, so no archive can make a scan unbounded.
    struct Limits: Sendable {
        /// Archives within archives read, the outermost being 1.
        var depth = 4
        var members = 100_000
        /// Bytes decompressed from one path given, members of nested archives included (a bomb stops here).
        var expandedBytes: Int64 = 32 << 30
        var directoryDepth = 64
    }

    let plan: ScanPlan
    let inspector: FileInspector
    let limits: Limits
    private(set) var skipped: [Skip] = []
    private(set) var notes: [String] = []
    /// Members are no files of this host: they get identities of their own, on a device no file has.
    private var nextMember: UInt64 = 1
    private var members = 0
    private var expanded: Int64 = 0

    init(plan: ScanPlan, inspector: FileInspector, limits: Limits = Limits()) {
        self.plan = plan
        self.inspector = inspector
        self.limits = limits
    }

    /// The device number members are given: no mounted file system has it.
    static let memberDevice = UInt64.max

    mutating func scan(_ path: String, into index: inout FileIndex) {
        members = 0
        expanded = 0
        add(path, depth: 0, into: &index)
    }

    private mutating func add(_ path: String, depth: Int, into index: inout FileIndex) {
        let status: FileStatus
        do { status = try FileSystem.linkStatus(path) } catch {
            skipped.append(Skip(subject: path, reason: error.description))
            return
        }
        switch status.kind {
        case .directory:
            guard depth < limits.directoryDepth else {
                skipped.append(Skip(subject: path, reason: "directories nested deeper than \(limits.directoryDepth); not read"))
                return
            }
            do {
                for entry in try FileSystem.directoryEntries(path) {
                    add(path == "/" ? "/" + entry : path + "/" + entry, depth: depth + 1, into: &index)
                }
            } catch {
                skipped.append(Skip(subject: path, reason: error.description))
            }
        case .regular:
            addFile(path, status: status, into: &index)
        case .symlink:
            skipped.append(Skip(subject: path, reason: "symlink; not followed"))
        default:
            skipped.append(Skip(subject: path, reason: "\(status.kind.rawValue); not read"))
        }
    }

    /// A regular file: an archive is read through libarchive, hashed and searched in the same pass; any other
    /// file is left to the index's ordinary read.
    private mutating func addFile(_ path: String, status: FileStatus, into index: inout FileIndex) {
        let file: OpenFile
        do { file = try OpenFile(path: path) } catch {
            skipped.append(Skip(subject: path, reason: FileIndex.describe(error)))
            return
        }
        guard let head = try? file.read(at: 0, count: 512), ArchiveDetection.isArchive(head: head) else {
            index.addPath(path, status: status)
            return
        }
        if file.status.size > limits.expandedBytes {
            skipped.append(Skip(subject: path, reason: "\(file.status.size) bytes is over the \(limits.expandedBytes)-byte archive limit; not read"))
            return
        }
        var stream = MultiPatternSearch.Stream(plan.bytePatterns)
        var offset: Int64 = 0
        do {
            let facts = try inspector.inspect(member: file.status) { sinkParameter in
                // The reader keeps the block closure only while it lives, which ends inside this call.
                try withoutActuallyEscaping(sinkParameter) { sink in
                    let reader = try ArchiveReader(label: path) {
                        let block = try file.read(at: offset, count: 256 * 1024)
                        offset += Int64(block.count)
                        sink(block[...])
                        stream.feed(block[...])
                        return block
                    }
                    walk(reader, chain: [path], depth: 1, into: &index)
                    try reader.finish()
                }
            }
            try file.checkUnchanged()
            index.addRead(path: path, facts: facts, hits: stream.found, archive: nil, seenAs: "archive")
        } catch {
            // Damaged at its start (a truncated gzip fails as libarchive opens it): its members are not read, but
            // the file itself is still hashed and searched like any file.
            skipped.append(Skip(subject: path, reason: "archive not readable (\(error)); its members are not read, the file is read as a plain file"))
            index.addPath(path, status: status)
        }
    }

    /// Every member of `reader`, an archive reached through `chain` (the file, then each enclosing member).
    private mutating func walk(_ reader: ArchiveReader, chain: [String], depth: Int, into index: inout FileIndex) {
        let shown = chain.joined(separator: "!")
        var count = 0
        while true {
            let member: ArchiveMember
            do {
                guard let next = try reader.next() else { return }
                member = next
            } catch {
                skipped.append(Skip(subject: shown, reason: "archive damaged or truncated after \(count) members: \(error); the rest not read"))
                return
            }
            count += 1
            members += 1
            guard members <= limits.members else {
                skipped.append(Skip(subject: shown, reason: "more than \(limits.members) members; the rest not read"))
                return
            }
            let name = member.name
            let display = shown + "!" + name
            if Self.escapes(name) {
                notes.append("\(display): the member's name leads out of the archive (absolute or ..); read as data only, nothing is written")
            }
            switch member.kind {
            case .directory:
                continue
            case .symlink, .hardlink:
                if let target = member.linkTarget, member.kind == .symlink ? target.hasPrefix("/") || Self.escapes(name + "/../" + target) : Self.escapes(target) {
                    notes.append("\(display): \(member.kind.rawValue) to \(target), outside the archive; not followed")
                }
                continue
            case .characterDevice, .blockDevice, .fifo, .socket, .unknown:
                skipped.append(Skip(subject: display, reason: "\(member.kind.rawValue) member; not read"))
                continue
            case .regular:
                break
            }
            if member.permissions & 0o6000 != 0 {
                notes.append("\(display): set-user-ID or set-group-ID member (mode \(String(member.permissions, radix: 8)))")
            }
            if let size = member.size, size > inspector.maximumSize {
                skipped.append(Skip(subject: display, reason: "\(size) bytes is over the \(inspector.maximumSize)-byte read limit; not read"))
                continue
            }
            let nested = ArchiveDetection.isArchive(name: name)
            if nested && depth >= limits.depth {
                notes.append("\(display): an archive nested deeper than \(limits.depth) levels; read as a plain file, its members are not")
            }
            let identity = FileIdentity(device: Self.memberDevice, inode: nextMember)
            nextMember += 1
            let status = FileStatus(identity: identity, kind: .regular, size: member.size ?? 0, permissions: member.permissions)
            var stream = MultiPatternSearch.Stream(plan.bytePatterns)
            var over = false
            let limit = limits.expandedBytes
            var expanded = self.expanded
            do {
                let facts = try inspector.inspect(member: status) { sinkParameter in
                    try withoutActuallyEscaping(sinkParameter) { sink in
                        var failure: Error?
                        let take: (ArraySlice<UInt8>) -> Void = { block in
                            guard failure == nil else { return }
                            expanded += Int64(block.count)
                            if expanded > limit {
                                over = true
                                failure = ArchiveError(message: "more than \(limit) bytes decompressed from \(chain[0]) (a decompression bomb?)")
                                return
                            }
                            sink(block)
                            stream.feed(block)
                        }
                        if nested && depth < limits.depth {
                            // Its own bytes are hashed and searched as they pass into the nested reader; what a
                            // damaged one leaves unread is read below.
                            do {
                                let inner = try ArchiveReader(member: reader, label: display, observe: take)
                                walk(inner, chain: chain + [name], depth: depth + 1, into: &index)
                                try inner.finish()
                            } catch {
                                notes.append("\(display): named like an archive but not readable as one (\(error)); read as a plain file")
                            }
                        }
                        while failure == nil {
                            let block = try reader.readBlock()
                            if block.isEmpty { break }
                            take(block[...])
                        }
                        if let failure { throw failure }
                    }
                }
                self.expanded = expanded
                index.addRead(path: display, facts: facts, hits: stream.found, archive: chain + [name],
                              seenAs: nested ? "archive member (archive)" : "archive member")
            } catch {
                self.expanded = expanded
                skipped.append(Skip(subject: display, reason: "not read: \(error)"))
                if over { return }
            }
        }
    }

    /// A member name that is absolute or climbs above the archive's top with `..`.
    static func escapes(_ name: String) -> Bool {
        if name.hasPrefix("/") { return true }
        var level = 0
        for component in name.split(separator: "/") {
            if component == ".." { level -= 1 } else if component != "." { level += 1 }
            if level < 0 { return true }
        }
        return false
    }
}

/// Which files are archives: by their first bytes for files given, by name for members (a member is streamed,
/// and its first bytes are only seen once the decision is made). libarchive itself then finds the format.
enum ArchiveDetection {
    private static let magics: [(offset: Int, bytes: [UInt8])] = [
        (0, [0x1f, 0x8b]),                          // gzip
        (0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),  // xz
        (0, [0x42, 0x5a, 0x68]),                    // bzip2
        (0, [0x28, 0xb5, 0x2f, 0xfd]),              // zstd
        (0, Array("!<arch>\n".utf8)),               // ar (.deb)
        (0, [0xed, 0xab, 0xee, 0xdb]),              // rpm lead
        (0, [0x50, 0x4b, 0x03, 0x04]),              // zip
        (257, Array("ustar".utf8)),                 // tar
    ]

    static func isArchive(head: [UInt8]) -> Bool {
        magics.contains { head.count >= $0.offset + $0.bytes.count && Array(head[$0.offset..<$0.offset + $0.bytes.count]) == $0.bytes }
    }

    private static let suffixes = [
        ".tar", ".tgz", ".tar.gz", ".txz", ".tar.xz", ".tbz2", ".tar.bz2", ".tzst", ".tar.zst", ".deb", ".udeb", ".ddeb",
        ".rpm", ".zip", ".jar", ".whl", ".apk", ".gz", ".xz", ".bz2", ".zst", ".crate", ".gem",
    ]

    static func isArchive(name: String) -> Bool {
        let lower = name.lowercased()
        return suffixes.contains { lower.hasSuffix($0) }
    }
}
