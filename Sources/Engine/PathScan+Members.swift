import Archive
import HostIO
import Probes

/// The members of one archive: each read once (hashed, searched, ELF facts), nested archives opened by their first
/// bytes, hard links given their file's bytes, every decompressed byte spent from the input's one budget.
extension PathScan {
    /// The names of one archive a hard link can lead to. A tar hard link names an earlier member that carried the
    /// bytes; a cpio (and rpm payload) file with several names carries its bytes with the last, the earlier names
    /// having none: those wait here for it.
    struct HardLinks {
        /// Members read, by name: the identity of their record.
        var read: [String: FileIdentity] = [:]
        /// Members not read (a skip says why), by name: a link to one is not read either.
        var unread: [String: Skip.Code] = [:]
        /// A multiply-linked file's names seen so far, by its first name, until the name with the bytes comes.
        var waiting: [String: [ArchiveMember]] = [:]

        /// The name links use for a member: tar and cpio store "./a" and "a" alike.
        static func key(_ name: String) -> String {
            var key = Substring(name)
            while key.hasPrefix("./") { key = key.dropFirst(2) }
            return String(key)
        }
    }

    /// Every member of `reader`, an archive reached through `chain` (the file, then each enclosing member).
    mutating func walk(_ reader: ArchiveReader, chain: [String], depth: Int, into index: inout FileIndex) {
        let shown = chain.joined(separator: "!")
        var links = HardLinks()
        var count = 0
        while true {
            let member: ArchiveMember
            do {
                guard let next = try reader.next() else { break }
                member = next
            } catch {
                if budget.isSpent {
                    stop(shown, reason: budget.reason + "; the rest not read", code: .limit, links: links, chain: chain)
                } else if depth > 1 && count == 0 {
                    // Nothing of it decodes: its bytes were read as a plain member, and there is nothing more to read.
                    notes.append("\(shown): starts like an archive but no member of it could be read (\(Self.reason(error, of: shown))); read as a plain file")
                } else {
                    stop(shown, reason: "archive damaged or truncated after \(count) members: \(Self.reason(error, of: shown)); the rest not read", code: .damaged, links: links, chain: chain)
                }
                return
            }
            // Bytes libarchive found no archive in (the first bytes only looked like one): already read as a member.
            if count == 0 && reader.isRawData && reader.filterNames.isEmpty { return }
            count += 1
            members += 1
            guard members <= limits.members else {
                stop(shown, reason: "more than \(limits.members) members; the rest not read", code: .limit, links: links, chain: chain)
                return
            }
            let display = shown + "!" + member.name
            if Self.escapes(member.name) {
                notes.append("\(display): the member's name leads out of the archive (absolute or ..); read as data only, nothing is written")
            }
            switch member.kind {
            case .directory:
                continue
            case .symlink:
                if let target = member.linkTarget, target.hasPrefix("/") || Self.escapes(member.name + "/../" + target) {
                    notes.append("\(display): symlink to \(target), outside the archive; not followed")
                }
                continue
            case .hardlink where !member.hasData:
                link(member, display: display, chain: chain, links: &links, into: &index)
                continue
            case .characterDevice, .blockDevice, .fifo, .socket, .unknown:
                skipped.append(Skip(subject: display, reason: "\(member.kind.rawValue) member; not read", code: .notApplicable))
                continue
            case .regular where member.links > 1 && member.size == 0:
                // cpio's first name of a multiply-linked file: the bytes come with its last name.
                links.waiting[HardLinks.key(member.name), default: []].append(member)
                continue
            case .regular, .hardlink:
                break
            }
            if member.permissions & 0o6000 != 0 {
                notes.append("\(display): set-user-ID or set-group-ID member (mode \(String(member.permissions, radix: 8)))")
            }
            guard let identity = read(member, display: display, chain: chain + [member.name], from: reader, depth: depth, into: &index) else {
                links.unread[HardLinks.key(member.name)] = budget.isSpent ? .limit : .damaged
                if budget.isSpent {
                    stop(shown, reason: budget.reason + "; the rest not read", code: .limit, links: links, chain: chain)
                    return
                }
                // A lone compressed stream has one member: what failed it was said.
                if reader.isRawData { return }
                continue
            }
            links.read[HardLinks.key(member.name)] = identity
            if member.kind == .hardlink, let target = member.linkTarget {
                // The last name of a cpio file: its bytes are every earlier name's too.
                for earlier in links.waiting.removeValue(forKey: HardLinks.key(target)) ?? [] {
                    let display = shown + "!" + earlier.name
                    links.read[HardLinks.key(earlier.name)] = addLinked(earlier, display: display, chain: chain + [earlier.name], bytesOf: identity, into: &index)
                }
            }
        }
        // Names still waiting had no name with bytes: the archive says the file is empty.
        for member in links.waiting.values.joined() {
            let status = FileStatus(identity: newMemberIdentity(), kind: .regular, size: 0, permissions: member.permissions)
            if let facts = try? inspector.inspect(member: status, chunks: { _ in }) {
                index.addRead(path: shown + "!" + member.name, facts: facts, hits: [], archive: chain + [member.name], seenAs: "archive member")
            }
        }
    }

    /// A hard link that carries no bytes: the bytes of the member it names, read earlier, or of the name that
    /// will carry them (cpio); a link leading out of the archive is never followed.
    private mutating func link(_ member: ArchiveMember, display: String, chain: [String], links: inout HardLinks, into index: inout FileIndex) {
        guard let target = member.linkTarget else { return }
        let key = HardLinks.key(target)
        if let identity = links.read[key] {
            links.read[HardLinks.key(member.name)] = addLinked(member, display: display, chain: chain + [member.name], bytesOf: identity, into: &index)
        } else if links.waiting[key] != nil {
            links.waiting[key]!.append(member)
        } else if let code = links.unread[key] {
            links.unread[HardLinks.key(member.name)] = code
            skipped.append(Skip(subject: display, reason: "hard link to a member that was not read; not read", code: code))
        } else if Self.escapes(target) {
            notes.append("\(display): hardlink to \(target), outside the archive; not followed")
        } else {
            notes.append("\(display): hardlink to \(target), which is no earlier member; nothing to read")
        }
    }

    /// Records `member`, another name of the member read as `identity`, with that member's facts and byte hits:
    /// rules see each name with the file's bytes. Returns the new record's identity.
    private mutating func addLinked(_ member: ArchiveMember, display: String, chain: [String], bytesOf identity: FileIdentity,
                                    into index: inout FileIndex) -> FileIdentity? {
        guard let record = index.record(withIdentity: identity), var facts = record.facts else { return nil }
        let linked = newMemberIdentity()
        facts.identity = linked
        facts.status = FileStatus(identity: linked, kind: .regular, size: facts.status.size, permissions: member.permissions)
        index.addRead(path: display, facts: facts, hits: record.patternHits ?? [], archive: chain, seenAs: "archive member (hard link)",
                      yara: record.yara)
        return linked
    }

    /// Reads the current member of `reader` in one pass: every byte spent from the budget, hashed, searched and,
    /// for an ELF member, parsed; opened as an archive itself when its first bytes are one. Returns the identity of
    /// its record, or nil with a skip when it was not read to its end.
    private mutating func read(_ member: ArchiveMember, display: String, chain: [String], from reader: ArchiveReader,
                               depth: Int, into index: inout FileIndex) -> FileIdentity? {
        let identity = newMemberIdentity()
        let status = FileStatus(identity: identity, kind: .regular, size: member.size ?? 0, permissions: member.permissions)
        var stream = MultiPatternSearch.Stream(plan.bytePatterns)
        // A member's bytes are held for the YARA rules as they stream, like a file's (bounded by the same limit).
        let held = plan.yara.isActive ? YARAHeldBytes(size: member.size ?? 0, limit: plan.yara.limits.maximumFileSize) : nil
        let budget = self.budget
        var format: ArchiveDetection.Format?
        do {
            let facts = try inspector.inspect(member: status) { sinkParameter in
                try withoutActuallyEscaping(sinkParameter) { sink in
                    // Every byte of the member passes here once, whether a nested reader or this loop pulls it.
                    let take: ([UInt8]) throws -> Void = { block in
                        try budget.spend(block.count)
                        sink(block[...])
                        stream.feed(block[...])
                        held?.append(block[...])
                    }
                    let head = try reader.readBlock()
                    try take(head)
                    format = ArchiveDetection.format(of: Array(head.prefix(ArchiveDetection.headSize)))
                    if let format {
                        try readNested(format, head: head, display: display, chain: chain, from: reader, depth: depth, take: take, into: &index)
                    }
                    while true {
                        let block = try reader.readBlock()
                        if block.isEmpty { break }
                        try take(block)
                    }
                }
            }
            let yara = held.map { plan.yara.scanFile($0, path: display, owner: status.owner, names: index.userNames) }
            index.addRead(path: display, facts: facts, hits: stream.found, archive: chain,
                          seenAs: format == nil ? "archive member" : "archive member (archive)", yara: yara)
            return identity
        } catch {
            if budget.isSpent {
                skipped.append(Skip(subject: display, reason: "not read to its end: " + budget.reason, code: .limit))
            } else if depth > 1 && reader.isRawData {
                // A nested lone compressed stream that does not decode (a test suite's corrupt .xz): its bytes
                // were read as the member that holds them.
                notes.append("\(display): compressed data that does not decode (\(Self.reason(error, of: shown(chain)))); read as a plain file")
            } else {
                skipped.append(Skip(subject: display, reason: "not read: \(Self.reason(error, of: shown(chain)))", code: .damaged))
            }
            return nil
        }
    }

    /// The members of a member whose first bytes are an archive's, streamed from `reader` (nothing is written):
    /// `head` first, then the rest, each block through `take` once. Past the depth bound, or refused by libarchive,
    /// its members are not read (a skip); its bytes still are, as a plain member's.
    private mutating func readNested(_ format: ArchiveDetection.Format, head: [UInt8], display: String, chain: [String],
                                     from reader: ArchiveReader, depth: Int, take: @escaping ([UInt8]) throws -> Void,
                                     into index: inout FileIndex) throws {
        guard depth < limits.depth else {
            skipped.append(Skip(subject: display, reason: "an archive (\(format.rawValue)) nested deeper than \(limits.depth) levels; read as a plain file, its members are not", code: .limit))
            return
        }
        var first: [UInt8]? = head
        let inner: ArchiveReader
        do {
            inner = try ArchiveReader(label: display) {
                if let block = first {
                    first = nil
                    return block
                }
                let block = try reader.readBlock()
                try take(block)
                return block
            }
        } catch {
            // Nothing of it decodes (a test suite's corrupt .xz): its bytes are read as this member's, no less.
            if budget.isSpent { throw error }
            notes.append("\(display): starts like \(format.rawValue) but is not readable as an archive (\(Self.reason(error, of: display))); read as a plain file")
            return
        }
        walk(inner, chain: chain, depth: depth + 1, into: &index)
        // The rest of the member's bytes (a walk that stopped early), through `take` like the others.
        try inner.finish()
    }

    /// Ends the walk of an archive early: why, and the names still waiting for their bytes, which are not read.
    private mutating func stop(_ shown: String, reason: String, code: Skip.Code, links: HardLinks, chain: [String]) {
        skipped.append(Skip(subject: shown, reason: reason, code: code))
        for member in links.waiting.values.joined() {
            skipped.append(Skip(subject: shown + "!" + member.name, reason: "hard-linked member whose bytes come with a later name; not read", code: code))
        }
    }

    /// What went wrong, without the archive's name in front when it is the subject already (libarchive's errors
    /// are labelled with the archive they are about).
    static func reason(_ error: Error, of label: String) -> String {
        let text = "\(error)"
        return text.hasPrefix(label + ": ") ? String(text.dropFirst(label.count + 2)) : text
    }

    private func shown(_ chain: [String]) -> String { chain.dropLast().joined(separator: "!") }

    mutating func newMemberIdentity() -> FileIdentity {
        defer { nextMember += 1 }
        return FileIdentity(device: Self.memberDevice, inode: nextMember)
    }
}
