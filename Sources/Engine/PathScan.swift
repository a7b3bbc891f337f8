import Archive
import HostIO
import Probes

/// `--path`: the files and directories given, and the members of every archive among them (tar in any
/// compression, .deb, .rpm, cpio, zip, nested to a bounded depth; recognised by their first bytes, never by name),
/// each read once: SHA-256, the byte search and, for an ELF member, its ELF facts, all from that read. A member is
/// named ARCHIVE!member (ARCHIVE!inner.tar.xz!member when nested). Nothing is written and no member name is ever
/// used as a path: hostile names, links, devices and bombs are notes and skips.
///
/// What was asked for and not looked at is a skip that leaves the scan incomplete: an input that is missing or
/// unreadable, an archive libarchive refuses, a bound reached (members, nesting, expanded bytes).
struct PathScan {
    /// Bounds, per input given, so no archive can make a scan unbounded.
    struct Limits: Sendable {
        /// Archives within archives read, the outermost being 1.
        var depth = 4
        var members = 100_000
        /// Bytes decompressed from one input given, members of nested archives at every level included: a bomb
        /// of bombs stops here, with a skip naming the member it stopped in.
        var expandedBytes: Int64 = 32 << 30
        var directoryDepth = 64
    }

    let plan: ScanPlan
    let inspector: FileInspector
    let limits: Limits
    /// Written by the member walk too (PathScan+Members.swift).
    var skipped: [Skip] = []
    var notes: [String] = []
    /// Members are no files of this host: they get identities of their own, on a device no file has.
    var nextMember: UInt64 = 1
    /// Members of the current input so far, every nesting level together.
    var members = 0
    /// The decompressed bytes the current input may still expand to, shared by every archive nested in it.
    var budget: ExpansionBudget

    init(plan: ScanPlan, inspector: FileInspector, limits: Limits = Limits()) {
        self.plan = plan
        self.inspector = inspector
        self.limits = limits
        budget = ExpansionBudget(input: "", limit: limits.expandedBytes)
    }

    /// The device number members are given: no mounted file system has it.
    static let memberDevice = UInt64.max

    /// One input given on the command line, with a budget of its own.
    mutating func scan(_ path: String, into index: inout FileIndex) {
        members = 0
        budget = ExpansionBudget(input: path, limit: limits.expandedBytes)
        add(path, depth: 0, given: true, into: &index)
    }

    /// - Parameter given: named on the command line (or the file a symlink named there leads to): not finding it
    ///   leaves the scan incomplete, and a symlink is followed once.
    private mutating func add(_ path: String, depth: Int, given: Bool, into index: inout FileIndex) {
        let status: FileStatus
        do { status = try FileSystem.linkStatus(path) } catch {
            skipped.append(Self.skip(path, error, hidesContent: given))
            return
        }
        switch status.kind {
        case .directory:
            guard depth < limits.directoryDepth else {
                skipped.append(Skip(subject: path, reason: "directories nested deeper than \(limits.directoryDepth); not read", code: .limit))
                return
            }
            let entries: [String]
            do { entries = try FileSystem.directoryEntries(path) } catch {
                // A directory that cannot be listed hides every file in it, unless it was removed meanwhile.
                skipped.append(Self.skip(path, error, hidesContent: given || !error.isNotFound))
                return
            }
            for entry in entries {
                add(path == "/" ? "/" + entry : path + "/" + entry, depth: depth + 1, given: false, into: &index)
            }
        case .regular:
            addFile(path, status: status, into: &index)
        case .symlink where given && depth == 0:
            // Named by the user (liblzma.so.5): the file it leads to is what they asked about.
            do {
                let target = try ConfinedRoot.host.resolve(path)
                notes.append("\(path) is a symlink to \(target); \(target) is read")
                add(target, depth: 1, given: true, into: &index)
            } catch {
                skipped.append(Self.skip(path, error, hidesContent: true))
            }
        case .symlink:
            skipped.append(Skip(subject: path, reason: "symlink; not followed", code: .notApplicable))
        default:
            skipped.append(Skip(subject: path, reason: "\(status.kind.rawValue); not read", code: .notApplicable))
        }
    }

    /// The skip for a path that could not be looked at. One the user named, or a directory that could not be
    /// listed, hides what was asked about: incomplete. An entry removed while its directory was walked left nothing.
    static func skip(_ path: String, _ error: SystemError, hidesContent: Bool) -> Skip {
        let code: Skip.Code
        if error.isPermissionDenied {
            code = effectiveUserID() == 0 ? .unreadable : .notPermitted
        } else if error.isNotFound {
            code = hidesContent ? .unreadable : .gone
        } else {
            code = .unreadable
        }
        let reason = error.isNotFound && hidesContent ? "no such file or directory; nothing read" : error.description
        return Skip(subject: path, reason: reason, code: code)
    }

    /// A regular file: an archive (by its first bytes) is read through libarchive, hashed and searched in the same
    /// pass; any other file is left to the index's ordinary read.
    private mutating func addFile(_ path: String, status: FileStatus, into index: inout FileIndex) {
        let file: OpenFile
        do { file = try OpenFile(path: path) } catch {
            skipped.append(FileIndex.skip(path, error))
            return
        }
        guard let head = try? file.read(at: 0, count: ArchiveDetection.headSize), ArchiveDetection.isArchive(head: head) else {
            index.addPath(path, status: status)
            return
        }
        if file.status.size > limits.expandedBytes {
            skipped.append(Skip(subject: path, reason: "\(file.status.size) bytes is over the \(limits.expandedBytes)-byte archive limit; its members are not read, the file is read as a plain file", code: .limit))
            index.addPath(path, status: status)
            return
        }
        var stream = MultiPatternSearch.Stream(plan.bytePatterns)
        let held = plan.yara.isActive ? YARAHeldBytes(size: file.status.size, limit: plan.yara.limits.maximumFileSize) : nil
        var offset: Int64 = 0
        var opened = false
        do {
            let facts = try inspector.inspect(member: file.status) { sinkParameter in
                // The reader keeps the block closure only while it lives, which ends inside this call.
                try withoutActuallyEscaping(sinkParameter) { sink in
                    let reader = try ArchiveReader(label: path) {
                        let block = try file.read(at: offset, count: 256 * 1024)
                        offset += Int64(block.count)
                        sink(block[...])
                        stream.feed(block[...])
                        held?.append(block[...])
                        return block
                    }
                    opened = true
                    walk(reader, chain: [path], depth: 1, into: &index)
                    try reader.finish()
                }
            }
            try file.checkUnchanged()
            let yara = held.map { plan.yara.scanFile($0, path: path, owner: file.status.owner, names: index.userNames) }
            index.addRead(path: path, facts: facts, hits: stream.found, archive: nil, seenAs: "archive", yara: yara)
        } catch {
            // libarchive refused it (a truncated gzip fails as it opens): its members are not read, but the file
            // itself is still hashed and searched like any file.
            skipped.append(opened ? FileIndex.skip(path, error)
                : Skip(subject: path, reason: "not readable as an archive (\(Self.reason(error, of: path))); its members are not read, the file is read as a plain file", code: .damaged))
            index.addPath(path, status: status)
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

extension PathScan {
    /// The decompressed bytes one input may expand to, counted across every archive nested in it (a reference,
    /// so a nested walk spends the same budget as the level that opened it).
    final class ExpansionBudget {
        let input: String
        let limit: Int64
        private(set) var used: Int64 = 0

        init(input: String, limit: Int64) {
            self.input = input
            self.limit = limit
        }

        /// Thrown by the read that goes over.
        struct Spent: Error, CustomStringConvertible {
            var description: String { "the expansion budget is spent" }
        }

        /// Counts `count` more bytes; throws once they are over the limit.
        func spend(_ count: Int) throws(Spent) {
            used += Int64(count)
            if used > limit { throw Spent() }
        }

        var isSpent: Bool { used > limit }

        var reason: String { "more than \(limit) bytes decompressed from \(input), nested archives included (a decompression bomb?)" }
    }
}
