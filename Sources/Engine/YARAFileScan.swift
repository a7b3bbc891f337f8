import HostIO
import Probes
import YARA

/// What a YARA scan of one file's bytes found, or why the file was not scanned: a fact of the file for this
/// plan's YARA rules, kept (and cached) with its byte-pattern hits.
enum YARAOutcome: Sendable, Hashable {
    case scanned([YARAMatch])
    /// Too large, or the rules ran out of time: a recorded skip, never a pass.
    case notScanned(reason: String, code: Skip.Code)
}

/// Bounds of the YARA scans (docs/yara.md).
public struct YARALimits: Sendable, Hashable {
    /// Largest file whose bytes are held for the YARA scan: libyara needs the whole file in memory (it does not
    /// match across blocks), and the scan reads each file once. A larger file is a `limit` skip.
    public var maximumFileSize: Int64 = 128 << 20
    /// Seconds libyara may spend on one file or one mapping.
    public var timeoutSeconds = 10
    /// Bytes of executable memory scanned per process (its anonymous and memfd code, mapping by mapping).
    public var maximumMemoryPerProcess: Int64 = 64 << 20
    /// Seconds of YARA scanning per process, whatever its number of mappings.
    public var memorySecondsPerProcess = 20
    /// Scan the code outside files of every process, not only of those the runtime checks look at (the programs
    /// got-integrity, loader-injection and dependency-chain rules name): `--yara-memory all`.
    public var memoryOfEveryProcess = false

    public init() {}
}

/// One file's bytes, held as they are read (the same chunks the hashes and the byte search see) for the YARA scan
/// at its end. A class: the read's chunk handler outlives one call.
final class YARAHeldBytes {
    private(set) var bytes: [UInt8] = []
    /// The file's size, when over the limit: nothing is held.
    private(set) var tooLarge: Int64?
    private let limit: Int64

    /// - Parameter size: the size the file is expected to have (an archive member may not say: 0).
    init(size: Int64, limit: Int64) {
        self.limit = limit
        if size > limit {
            tooLarge = size
        } else {
            bytes.reserveCapacity(Int(size))
        }
    }

    func append(_ chunk: ArraySlice<UInt8>) {
        if let seen = tooLarge {
            tooLarge = seen + Int64(chunk.count)
            return
        }
        // A file that grows past its stat (or a member whose size was not said) stops being held at the limit.
        guard Int64(bytes.count + chunk.count) <= limit else {
            tooLarge = Int64(bytes.count + chunk.count)
            bytes = []
            return
        }
        bytes.append(contentsOf: chunk)
    }
}

/// The variables LOKI and THOR set for each file (`filename`, `filepath` the directory, `extension` with its dot
/// and lower-cased, `filetype`, `owner`), so their rules behave as there.
struct YARAFileVariables {
    static func values(path: String, bytes: [UInt8], owner: UInt32, names: UserNames) -> [String: String] {
        let name = baseName(path)
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : ""
        var fileExtension = ""
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { fileExtension = String(name[dot...]).lowercased() }
        return ["filename": name, "filepath": directory.isEmpty && path.hasPrefix("/") ? "/" : directory,
                "extension": fileExtension, "filetype": fileType(bytes), "owner": names.name(of: owner)]
    }

    /// LOKI's names for the magic numbers it knows; UNKNOWN otherwise.
    static func fileType(_ bytes: [UInt8]) -> String {
        if bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46]) { return "ELF" }
        if bytes.starts(with: [0x4d, 0x5a]) { return "EXE" }
        return "UNKNOWN"
    }
}

/// User names by uid, from the host's /etc/passwd, read by chainwatch itself: getpwuid would load the NSS modules
/// nsswitch.conf names, code the scanned system controls.
struct UserNames: Sendable {
    private var names: [UInt32: String] = [:]

    static func read(_ path: String = "/etc/passwd") -> UserNames {
        var result = UserNames()
        guard let file = try? OpenFile(path: path), let bytes = try? file.readAll(limit: 4 << 20) else { return result }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count > 2, let uid = UInt32(fields[2]), result.names[uid] == nil else { continue }
            result.names[uid] = String(fields[0])
        }
        return result
    }

    /// The name, or the uid in decimal when /etc/passwd has none.
    func name(of uid: UInt32) -> String { names[uid] ?? String(uid) }
}
