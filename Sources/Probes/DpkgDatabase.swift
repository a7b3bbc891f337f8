import Dispatch
import HostIO
import Synchronization

/// dpkg's database: /var/lib/dpkg/status (deb822 stanzas) and the per-package file lists in info/.
public enum DpkgDatabase {
    public static let statusPath = "/var/lib/dpkg/status"
    public static let infoDirectory = "/var/lib/dpkg/info"
    public static let diversionsPath = "/var/lib/dpkg/diversions"

    /// Reads the installed packages of `root` with their file lists into `inventory`.
    /// A root without dpkg adds nothing; unreadable parts are recorded as problems.
    public static func read(root: ConfinedRoot, into inventory: inout PackageInventory) {
        let text: String
        do {
            text = try root.readText(statusPath, limit: 256 << 20)
        } catch {
            if !error.isNotFound {
                inventory.databases.append(PackageDatabaseStatus(path: statusPath, format: "dpkg", packages: 0, problem: "\(error)"))
            }
            return
        }
        // Resolved once: each of ~1000 file lists is then one lstat away instead of five.
        let info: String?
        do { info = try root.resolve(infoDirectory) } catch {
            info = nil
            if !error.isNotFound { inventory.problems.append("dpkg \(infoDirectory): \(error.reason); file owners unknown") }
        }
        do {
            inventory.setDiversions(parseDiversions(try root.readText(diversionsPath, limit: 16 << 20)))
        } catch where error.isNotFound {
        } catch {
            inventory.problems.append("dpkg diversions: \(error); diverted files may be reported as modified")
        }
        let packages = parseStatus(text)
        if let info { prefetchFileLists(of: packages, root: root, info: info) }
        for package in packages {
            let files = info.map { fileList(of: package, root: root, info: $0, problems: &inventory.problems) } ?? []
            inventory.add(package, fileList: files)
        }
        inventory.databases.append(PackageDatabaseStatus(path: statusPath, format: "dpkg", packages: packages.count))
    }

    /// The installed packages in a status file's text. Stanzas not in an installed state are left out.
    public static func parseStatus(_ text: String) -> [InstalledPackage] {
        var work = ParseWork()
        return parseStatus(text, work: &work)
    }

    /// `parseStatus`, adding to `work` what `forEachStanza` examined.
    static func parseStatus(_ text: String, work: inout ParseWork) -> [InstalledPackage] {
        var packages: [InstalledPackage] = []
        forEachStanza(text, fields: ["package", "version", "status", "source", "architecture"], work: &work) { stanza in
            guard let name = stanza["package"], let version = stanza["version"],
                  let status = stanza["status"] else { return }
            // "install ok installed", or half-configured/triggers-pending states whose files are on disk.
            let state = status.split(separator: " ").last.map(String.init) ?? ""
            guard ["installed", "half-configured", "unpacked", "triggers-awaited", "triggers-pending"].contains(state) else { return }
            // "Source: xz-utils (5.6.1-1)" names the source version when it differs; the name is what matters.
            let source = stanza["source"].flatMap { $0.split(separator: " ").first.map(String.init) } ?? name
            packages.append(InstalledPackage(
                ecosystem: .debian, name: name, version: version, source: source,
                architecture: stanza["architecture"] ?? "", state: status))
        }
        return packages
    }

    /// dpkg-divert's database: three lines per diversion (the path, where the package's file goes instead, and
    /// the diverting package or ":" for a local diversion). An incomplete last entry is ignored.
    public static func parseDiversions(_ text: String) -> [PackageInventory.Diversion] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return stride(from: 0, to: lines.count - 2, by: 3).compactMap { start in
            let (from, to, package) = (lines[start], lines[start + 1], lines[start + 2])
            guard from.hasPrefix("/"), to.hasPrefix("/"), !package.isEmpty else { return nil }
            return PackageInventory.Diversion(from: from, to: to, package: package == ":" ? nil : package)
        }
    }

    /// The MD5 digests a package's md5sums file records, for the wanted listed paths only: lines of 32 hex
    /// digits, two spaces and the path without its leading slash. nil when the package has no md5sums file.
    public static func md5sums(of package: InstalledPackage, root: ConfinedRoot, wanted: Set<String>) throws(FileReadError) -> [String: String]? {
        for candidate in ["\(package.name):\(package.architecture).md5sums", "\(package.name).md5sums"] {
            let bytes: [UInt8]
            do {
                bytes = try root.readBytes(infoDirectory + "/" + candidate, limit: 64 << 20)
            } catch where error.isNotFound {
                continue
            }
            return parseMD5Sums(bytes, wanted: wanted)
        }
        return nil
    }

    static func parseMD5Sums(_ bytes: [UInt8], wanted: Set<String>) -> [String: String] {
        var result: [String: String] = [:]
        ByteSearch.forEachLine(in: bytes) { range in
            let line = bytes[range]
            guard line.count > 34, line[line.startIndex + 32] == UInt8(ascii: " ") else { return }
            let digest = line.prefix(32)
            guard digest.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return }
            // "  path" (text mode) or " *path" (binary mode, from md5sum -b).
            var path = line.dropFirst(33)
            if let first = path.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "*") { path = path.dropFirst() }
            let name = "/" + String(decoding: path, as: UTF8.self)
            if wanted.contains(name) { result[name] = String(decoding: digest, as: UTF8.self) }
        }
        return result
    }

    /// Calls `body` with each deb822 stanza's `fields` (lowercased names; others are never copied out of the
    /// text). Continuation lines are dropped: no field we use has them.
    static func forEachStanza(_ text: String, fields: Set<String>, _ body: ([String: String]) -> Void) {
        var work = ParseWork()
        forEachStanza(text, fields: fields, work: &work, body)
    }

    /// `forEachStanza`, adding to `work` each line and, as examined, each byte the blank-line test and the
    /// search for the colon look at and the UTF-8 bytes of each value kept (the tests bound these: a parse is
    /// linear in its input).
    static func forEachStanza(_ text: String, fields: Set<String>, work: inout ParseWork, _ body: ([String: String]) -> Void) {
        // Bytes, not Characters: a status file of a few MB is parsed in a few ms (grapheme breaking cost ~10x that).
        let bytes = Array(text.utf8)
        var current: [String: String] = [:]
        var inStanza = false
        var start = 0
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            defer { start = end + 1 }
            let line = bytes[start..<end]
            work.lines += 1
            if line.allSatisfy({ work.examined += 1; return Self.isBlank($0) }) {
                if inStanza { body(current) }
                current = [:]
                inStanza = false
                continue
            }
            guard let first = line.first, first != UInt8(ascii: " "), first != UInt8(ascii: "\t"), first != UInt8(ascii: "#"),
                  let colon = line.firstIndex(where: { work.examined += 1; return $0 == UInt8(ascii: ":") }) else { continue }
            inStanza = true
            let key = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            guard fields.contains(key), current[key] == nil else { continue }
            var value = line[(colon + 1)...]
            work.examined += value.count
            while let byte = value.first, isBlank(byte) { value = value.dropFirst() }
            while let byte = value.last, isBlank(byte) { value = value.dropLast() }
            current[key] = String(decoding: value, as: UTF8.self)
        }
        if inStanza { body(current) }
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }

    /// Starts the disk reads of every package's file list from a few threads: ~1000 small files, which on a cold
    /// page cache cost a disk round trip each when read one after another. The lists are then read in order (the
    /// first package to list a path owns it) from the page cache, one at a time, so memory stays flat.
    private static func prefetchFileLists(of packages: [InstalledPackage], root: ConfinedRoot, info: String) {
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: min(4, max(1, packages.count))) { _ in
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < packages.count else { return }
                for candidate in listNames(of: packages[index]) {
                    guard let (_, file) = try? root.open(candidate, in: info) else { continue }
                    file.prefetch()
                    break
                }
            }
        }
    }

    /// Multi-Arch: same packages have "name:arch.list"; others plain "name.list".
    static func listNames(of package: InstalledPackage) -> [String] {
        ["\(package.name):\(package.architecture).list", "\(package.name).list"]
    }

    /// The package's info/NAME.list as read: one path per line.
    private static func fileList(of package: InstalledPackage, root: ConfinedRoot, info: String, problems: inout [String]) -> [UInt8] {
        for candidate in listNames(of: package) {
            do {
                return try root.readBytes(candidate, limit: 64 << 20, in: info)
            } catch where error.isNotFound {
                continue
            } catch {
                problems.append("dpkg file list \(candidate): \(error)")
                return []
            }
        }
        return []
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
