import Engine
import HostIO
import Probes

/// Where a SARIF log's locations are relative to, and each finding's path inside the scanned input.
/// `%SRCROOT%` is the `--root` directory, the `--image`'s filesystem (a temporary directory gone after the scan, so it
/// has a description and no URI), the smallest directory holding every `--path` (a directory given is a directory;
/// a file's is its parent), or `/` for a host scan. A container's paths are relative to its own root, under a base
/// id of its own. Nothing run-specific (a temporary directory, a pid) goes into a path or a fingerprint.
struct SARIFBase {
    static let sourceRoot = "%SRCROOT%"

    /// The directory `%SRCROOT%` names, when it is one on this machine; nil for an image.
    let directory: String?
    let description: String
    let kind: ScanTarget.Kind
    /// Each target's first package database (by stable key): where a package finding, which has no file, points.
    let packageDatabases: [String: String]

    init(_ report: ScanReport) {
        packageDatabases = Dictionary(report.targets.compactMap { summary in
            summary.packageDatabases.first.map { (summary.target.stableKey, $0) }
        }, uniquingKeysWith: { first, _ in first })
        let first = report.targets.first?.target
        kind = first?.kind ?? (report.scannedPaths.isEmpty ? (report.image == nil ? .host : .image) : .paths)
        switch kind {
        case .image:
            directory = nil
            let image = report.image
            description = "the filesystem of image " + (image?.name ?? image?.path ?? "")
                + (image?.digest.map { " (\($0))" } ?? "")
        case .paths:
            let dirs = report.scannedPaths.map { path in
                (try? FileSystem.status(path))?.kind == .directory ? path : Self.parent(of: path)
            }
            directory = Self.commonAncestor(dirs)
            description = "the directory holding the scanned paths"
        case .root:
            directory = first?.id ?? report.root
            description = "the offline root scanned"
        case .host, .container:
            directory = "/"
            description = "this host's root"
        }
    }

    var sourceRootLocation: SARIFReporter.ArtifactLocation {
        SARIFReporter.ArtifactLocation(uri: directory.map { Self.fileURI(directory: $0) }, uriBaseId: nil,
                                       description: SARIFReporter.Message(text: description))
    }

    /// A base id per container with findings: paths there are inside the container.
    func containerBases(_ report: ScanReport) -> [(String, String)] {
        var seen: [String: String] = [:]
        for finding in report.findings {
            if let target = finding.target, target.kind == .container { seen[Self.containerBase(target)] = target.label }
        }
        return seen.sorted { $0.key < $1.key }
    }

    /// "CONTAINER:name:web", "CONTAINER:k8s:ns/pod/app": the container's stable key, never its id or a pid.
    static func containerBase(_ target: ScanTarget) -> String {
        let key = target.stableKey
        return "CONTAINER:" + (key.hasPrefix("container:") ? String(key.dropFirst("container:".count)) : key)
    }

    struct Place {
        var location: SARIFReporter.ArtifactLocation?
        /// The path relative to the input, archive members included: what the fingerprint hashes.
        var pathInInput: String?
        var member: String?
        var targetKey: String
    }

    func place(of finding: Finding) -> Place {
        let isContainer = finding.target?.kind == .container
        let targetKey = isContainer ? finding.target!.stableKey : kind.rawValue
        // A package finding has no file: its package database is where it is.
        let database = finding.evidence.package == nil ? nil : packageDatabases[finding.target?.stableKey ?? ""]
        guard let shown = finding.evidence.path ?? database else {
            return Place(location: nil, pathInInput: nil, member: nil, targetKey: targetKey)
        }
        // An archive member is shown as ARCHIVE!member: the file is the archive; the member stays in the message.
        let file = finding.evidence.archive?.first ?? shown
        let member = finding.evidence.archive.map { Array($0.dropFirst()).joined(separator: "!") }
        let relative: String
        if isContainer || kind != .paths {
            relative = String(file.drop { $0 == "/" })
        } else if let directory, directory == "/" {
            relative = String(file.drop { $0 == "/" })
        } else if let directory, file.hasPrefix(directory + "/") {
            relative = String(file.dropFirst(directory.count + 1))
        } else {
            relative = String(file.drop { $0 == "/" })
        }
        let base = isContainer ? Self.containerBase(finding.target!) : Self.sourceRoot
        let inInput = relative + (member.map { "!" + $0 } ?? "")
        return Place(location: SARIFReporter.ArtifactLocation(uri: Self.percentEncoded(relative), uriBaseId: base, description: nil),
                     pathInInput: inInput, member: member, targetKey: targetKey)
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func commonAncestor(_ directories: [String]) -> String {
        guard var common = directories.first else { return "/" }
        for directory in directories.dropFirst() {
            while common != "/" && directory != common && !directory.hasPrefix(common + "/") { common = parent(of: common) }
        }
        return common
    }

    /// `file:///DIR/`, percent-encoded: SARIF wants the base to end with a slash.
    static func fileURI(directory: String) -> String {
        let path = percentEncoded(directory)
        return "file://" + (path.hasPrefix("/") ? "" : "/") + path + (path.hasSuffix("/") ? "" : "/")
    }

    /// RFC 3986: a path's unreserved characters, sub-delimiters, ':', '@' and '/' as they are, every other byte of
    /// its UTF-8 as %XX, so a file name with a space, '#', '%', a newline or non-ASCII is a valid URI reference.
    static func percentEncoded(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"),
                 UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
                 UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "@"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
