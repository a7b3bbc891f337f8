import Archive
import HostIO

/// The date of the first (newest) entry of a Debian package's changelog, /usr/share/doc/PKG/changelog.Debian.gz:
/// dpkg records no build date, and this upload date is the nearest thing it ships. Read only for the packages a
/// package-age rule names, through the root's confinement, bounded in both the bytes read and the bytes inflated.
public enum DebianChangelog {
    /// Compressed bytes read from the start of the file: far more than any first entry needs.
    public static let compressedLimit = 1 << 20
    /// Bytes inflated: the first entry's trailer is within the first few KiB of every changelog in Debian; a bomb
    /// stops here.
    public static let contentLimit = 256 << 10

    /// The files tried, in order: a binNMU's own changelog (its entry is the rebuild's), the Debian changelog, then
    /// a native package's changelog.gz (which is its Debian changelog).
    public static func candidates(of package: InstalledPackage) -> [String] {
        let directory = "/usr/share/doc/" + package.name + "/"
        var names = ["changelog.Debian.gz", "changelog.gz"]
        if !package.architecture.isEmpty && package.architecture != "all" {
            names.insert("changelog.Debian.\(package.architecture).gz", at: 0)
        }
        return names.map { directory + $0 }
    }

    /// The package's dates in `root`: its changelog's first entry (or why it is unknown) and, from dpkg's info
    /// directory, when its file list was written (its install or last upgrade).
    public static func dates(of package: InstalledPackage, root: ConfinedRoot) -> PackageDates {
        var dates = PackageDates(origin: .debianChangelog, built: .unknown("no changelog.Debian.gz in /usr/share/doc/\(package.name)"),
                                 installed: DpkgDatabase.listWritten(of: package, root: root))
        for path in candidates(of: package) {
            let compressed: [UInt8]
            do {
                let (_, file) = try root.open(path)
                // Sized by the file (most are a few KiB), so a scan of 800 packages does not zero 800 MiB.
                compressed = try file.read(at: 0, count: Int(min(max(file.status.size, 0), Int64(compressedLimit))))
            } catch where error.isNotFound {
                continue
            } catch {
                dates.built = .unknown("\(path): \(error)")
                return dates
            }
            dates.file = path
            dates.built = firstEntryDate(gzipped: compressed, label: path)
            return dates
        }
        return dates
    }

    /// The first entry's date of a gzipped changelog (its first bytes, up to `compressedLimit`).
    public static func firstEntryDate(gzipped: [UInt8], label: String) -> PackageDates.Built {
        let text: [UInt8]
        // Inflating stops at the first complete trailer line: most changelogs need one 16 KiB block.
        do { text = try Gunzip.prefix(of: gzipped, limit: contentLimit, label: label, enough: hasCompleteTrailer) } catch {
            return .unknown("\(error)")
        }
        return firstEntryDate(text: text[...], label: label)
    }

    /// Whether the text holds a trailer line and its end.
    static func hasCompleteTrailer(_ text: [UInt8]) -> Bool {
        let marker = Array("\n -- ".utf8)
        var index = 0
        while index + marker.count <= text.count {
            if text[index] == 0x0A && text[index..<index + marker.count].elementsEqual(marker) {
                return text[(index + marker.count)...].contains(0x0A)
            }
            index += 1
        }
        return false
    }

    /// The date of the first trailer line, ` -- Name <email>  Thu, 29 Feb 2024 17:30:12 +0100`, in the text.
    public static func firstEntryDate(text: ArraySlice<UInt8>, label: String) -> PackageDates.Built {
        let trailer = Array(" -- ".utf8)
        guard let bytes = text.split(separator: 0x0A, omittingEmptySubsequences: false).first(where: { $0.starts(with: trailer) }) else {
            return .unknown("\(label): no entry trailer (' -- name <email>  date') in its first \(contentLimit / 1024) KiB")
        }
        let line = String(decoding: bytes, as: UTF8.self)
        guard let close = line.lastIndex(of: ">") else { return .unknown("\(label): first entry's trailer has no maintainer address") }
        let date = line[line.index(after: close)...].trimmingCharacters(in: " \t\r")
        guard let seconds = RFC2822.seconds(date) else {
            return .unknown("\(label): first entry's date '\(date.prefix(64))' is not an RFC 2822 date")
        }
        return .known(seconds)
    }
}
