import HostIO

/// Alpine's apk database, /lib/apk/db/installed: blank-line separated records of `X:value` lines
/// (P name, V version, A architecture, o origin, t build time, F directory, R file in the preceding F directory).
public enum AlpineDatabase {
    public static let path = "/lib/apk/db/installed"

    public static func read(root: ConfinedRoot, into inventory: inout PackageInventory) {
        let text: String
        do { text = try root.readText(path, limit: 256 << 20) } catch {
            if !error.isNotFound { inventory.databases.append(PackageDatabaseStatus(path: path, format: "apk", packages: 0, problem: "\(error)")) }
            return
        }
        let entries = parse(text)
        for entry in entries {
            inventory.add(entry.package, files: entry.files, digests: entry.digests, algorithm: .sha1, dates: entry.dates)
        }
        inventory.databases.append(PackageDatabaseStatus(path: path, format: "apk", packages: entries.count))
    }

    /// A package record: the package, its files, and each file's SHA-1 from its `Z:Q1` line (nil when absent).
    public struct Entry: Sendable {
        public var package: InstalledPackage
        public var files: [String]
        public var digests: [[UInt8]?]
        /// Its `t:` line, the build time; apk records no install time.
        public var dates: PackageDates
    }

    public static func parse(_ text: String) -> [Entry] {
        var result: [Entry] = []
        var fields: [Character: String] = [:]
        var files: [String] = []
        var digests: [[UInt8]?] = []
        var directory = ""
        func finish() {
            if let name = fields["P"], let version = fields["V"] {
                result.append(Entry(package: InstalledPackage(ecosystem: .alpine, name: name, version: version, source: fields["o"] ?? name,
                                                              architecture: fields["A"] ?? "", state: "installed"),
                                    files: files, digests: digests,
                                    dates: PackageDates(origin: .apkBuildTime, built: PackageDates.Built(seconds: fields["t"], field: "t:"))))
            }
            fields = [:]
            files = []
            digests = []
            directory = ""
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { finish(); continue }
            guard line.count >= 2, line[line.index(after: line.startIndex)] == ":", let key = line.first else { continue }
            let value = String(line.dropFirst(2))
            switch key {
            case "F": directory = value
            case "R":
                files.append("/" + (directory.isEmpty ? value : directory + "/" + value))
                digests.append(nil)
            // The file's checksum, after its R line: "Q1" and the base64 of its SHA-1.
            case "Z" where !files.isEmpty && value.hasPrefix("Q1"):
                digests[digests.count - 1] = Base64.decode(value.dropFirst(2))
            default: if fields[key] == nil { fields[key] = value }
            }
        }
        finish()
        return result
    }
}

/// Arch's pacman database: /var/lib/pacman/local/NAME-VERSION/desc (%NAME%, %VERSION%, %BASE%, %ARCH%, %BUILDDATE%,
/// %INSTALLDATE% sections)
/// and files (%FILES%, paths relative to /).
public enum PacmanDatabase {
    public static let directory = "/var/lib/pacman/local"

    public static func read(root: ConfinedRoot, into inventory: inout PackageInventory) {
        let entries: [String]
        do { entries = try root.entries(directory) } catch {
            if !error.isNotFound {
                inventory.databases.append(PackageDatabaseStatus(path: directory, format: "pacman", packages: 0, problem: error.reason))
            }
            return
        }
        var count = 0
        defer { inventory.databases.append(PackageDatabaseStatus(path: directory, format: "pacman", packages: count)) }
        for entry in entries {
            guard let desc = try? root.readText(directory + "/" + entry + "/desc", limit: 4 << 20) else { continue }
            let sections = parse(desc)
            guard let name = sections["NAME"]?.first, let version = sections["VERSION"]?.first else { continue }
            let fileText = (try? root.readText(directory + "/" + entry + "/files", limit: 64 << 20)) ?? ""
            let files = (parse(fileText)["FILES"] ?? []).filter { !$0.hasSuffix("/") }.map { "/" + $0 }
            count += 1
            let dates = PackageDates(origin: .pacmanBuildDate, built: PackageDates.Built(seconds: sections["BUILDDATE"]?.first, field: "%BUILDDATE%"),
                                     installed: sections["INSTALLDATE"]?.first.flatMap { Int64($0) })
            inventory.add(InstalledPackage(ecosystem: .arch, name: name, version: version,
                                           source: sections["BASE"]?.first ?? name,
                                           architecture: sections["ARCH"]?.first ?? "", state: "installed"), files: files, dates: dates)
        }
    }

    /// `%SECTION%` headers each followed by value lines up to a blank line.
    public static func parse(_ text: String) -> [String: [String]] {
        var result: [String: [String]] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("%") && line.hasSuffix("%") && line.count > 2 {
                current = String(line.dropFirst().dropLast())
                result[current!] = []
            } else if line.isEmpty {
                current = nil
            } else if let current {
                result[current, default: []].append(String(line))
            }
        }
        return result
    }
}

/// Standard base64 (RFC 4648, with or without padding), for apk's checksums.
enum Base64 {
    static func decode(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var accumulator: UInt32 = 0, bits = 0
        for character in text.utf8 {
            let value: UInt32
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(character - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(character - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(character - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return bytes
    }
}
