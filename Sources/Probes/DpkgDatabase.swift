import HostIO

/// dpkg's database: /var/lib/dpkg/status (deb822 stanzas) and the per-package file lists in info/.
public enum DpkgDatabase {
    public static let statusPath = "/var/lib/dpkg/status"
    public static let infoDirectory = "/var/lib/dpkg/info"

    /// Reads the installed packages of `root` with their file lists into `inventory`.
    /// A root without dpkg adds nothing; unreadable parts are recorded as problems.
    public static func read(root: ConfinedRoot, into inventory: inout PackageInventory) {
        let text: String
        do {
            text = try root.readText(statusPath, limit: 256 << 20)
        } catch {
            if !error.isNotFound { inventory.problems.append("dpkg status: \(error)") }
            return
        }
        for package in parseStatus(text) {
            let files = fileList(of: package, root: root, problems: &inventory.problems)
            inventory.add(package, files: files)
        }
    }

    /// The installed packages in a status file's text. Stanzas not in an installed state are left out.
    public static func parseStatus(_ text: String) -> [InstalledPackage] {
        var packages: [InstalledPackage] = []
        for stanza in stanzas(text) {
            guard let name = stanza["package"], let version = stanza["version"],
                  let status = stanza["status"] else { continue }
            // "install ok installed", or half-configured/triggers-pending states whose files are on disk.
            let state = status.split(separator: " ").last.map(String.init) ?? ""
            guard ["installed", "half-configured", "unpacked", "triggers-awaited", "triggers-pending"].contains(state) else { continue }
            // "Source: xz-utils (5.6.1-1)" names the source version when it differs; the name is what matters.
            let source = stanza["source"].flatMap { $0.split(separator: " ").first.map(String.init) } ?? name
            packages.append(InstalledPackage(
                ecosystem: .debian, name: name, version: version, source: source,
                architecture: stanza["architecture"] ?? "", state: status))
        }
        return packages
    }

    /// deb822 stanzas as lowercased-field dictionaries; continuation lines are dropped (no field we use has them).
    static func stanzas(_ text: String) -> [[String: String]] {
        var result: [[String: String]] = []
        var current: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) {
                if !current.isEmpty { result.append(current) }
                current = [:]
                continue
            }
            guard let first = line.first, first != " ", first != "\t", first != "#",
                  let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t\r")
            if current[key] == nil { current[key] = value }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    private static func fileList(of package: InstalledPackage, root: ConfinedRoot, problems: inout [String]) -> [String] {
        // Multi-Arch: same packages have "name:arch.list"; others plain "name.list".
        let candidates = ["\(package.name):\(package.architecture).list", "\(package.name).list"]
        for candidate in candidates {
            do {
                let text = try root.readText(infoDirectory + "/" + candidate, limit: 64 << 20)
                return text.split(separator: "\n").map(String.init)
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
