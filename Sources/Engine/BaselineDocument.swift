import Crypto
import FoundationEssentials
import HostIO
import Probes

/// Why a baseline was refused: what was wrong, where in the document, and what to do. A refused baseline approves
/// nothing: the scan stops (exit 2) and the daemon keeps the one it had.
public struct BaselineError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var problem: String
    public var hint: String

    public init(file: String, problem: String, hint: String) {
        self.file = file
        self.problem = problem
        self.hint = hint
    }

    public var description: String { "baseline \(file): \(problem); \(hint)" }
}

/// Reads a CycloneDX JSON document as a baseline. chainwatch's own (from `--write-baseline`) approves packages and
/// code files; another tool's approves the packages it lists by purl. The document is hostile input like any
/// other: bounded in size and components, every SHA-256 checked, every bom-ref unique, and nothing approved that
/// it does not name explicitly.
public enum BaselineDocument {
    /// Ten times a large host's SBOM (this Debian host's full SBOM is 1.4 MB, its baseline 0.9 MB); a bigger file is
    /// refused, not parsed. The decoder holds ~14 bytes per byte of the document, so this bounds a hostile one's
    /// memory to about 1 GB.
    public static let maximumSize: Int64 = 64 << 20
    public static let maximumComponents = 2_000_000

    public static func read(_ bytes: [UInt8], file: String) throws(BaselineError) -> Baseline {
        func fail(_ problem: String, _ hint: String) -> BaselineError { BaselineError(file: file, problem: problem, hint: hint) }
        guard Int64(bytes.count) <= maximumSize else {
            throw fail("\(bytes.count) bytes, more than the \(maximumSize >> 20) MiB a baseline may be",
                       "write it with chainwatch scan --write-baseline, which keeps only packages and the code files a scan read")
        }
        let document: Document
        do { document = try JSONDecoder().decode(Document.self, from: Data(bytes)) } catch {
            throw fail("not a CycloneDX JSON document (\(describe(error)))",
                       "give a CycloneDX 1.2-1.6 JSON SBOM, such as chainwatch scan --write-baseline FILE writes")
        }
        guard document.bomFormat == "CycloneDX" else {
            throw fail("bomFormat is \(document.bomFormat.map { "'\($0)'" } ?? "missing"), not 'CycloneDX'", "give a CycloneDX JSON SBOM")
        }
        guard let spec = document.specVersion, ["1.2", "1.3", "1.4", "1.5", "1.6"].contains(spec) else {
            throw fail("specVersion \(document.specVersion.map { "'\($0)'" } ?? "missing") is not one this reader knows (1.2 to 1.6)",
                       "write the SBOM as CycloneDX 1.6 JSON")
        }
        var reader = Reader(file: file)
        try reader.walk(document.components ?? [], path: "components", section: nil)
        guard reader.count > 0 else {
            throw fail("it lists no components: it would approve nothing", "write one with chainwatch scan --write-baseline FILE")
        }
        var primary = reader.sections[nil] ?? BaselineSection()
        var containers: [String: BaselineSection] = [:]
        for (key, section) in reader.sections { if let key { containers[key] = section } }
        // A file's owner is a package bom-ref, which may come after the file in the document.
        for (section, path, ref) in reader.fileOwners {
            guard let package = reader.packagesByRef[ref] else { continue }
            if let section { containers[section]?.owners[path] = package } else { primary.owners[path] = package }
        }
        guard primary.packageCount + primary.files.count + containers.count > 0 || !reader.hashes.isEmpty else {
            throw fail("no component is a package with a purl of a package system chainwatch reads (deb, rpm, apk, alpm) or a file with a SHA-256",
                       "a baseline approves packages by purl and code by SHA-256; write one with chainwatch scan --write-baseline FILE")
        }
        var baseline = Baseline(file: file, sha256: Array(SHA256.hash(data: bytes)).hex,
                                primary: primary, containers: containers, approvedHashes: reader.hashes)
        baseline.writtenBy = document.metadata?.tools?.first.map { [$0.name, $0.version].compactMap { $0 }.joined(separator: " ") }
        baseline.timestamp = document.metadata?.timestamp
        baseline.ignored = reader.ignoredSummary
        return baseline
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): return context.debugDescription
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.keyNotFound(_, let context):
            let at = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return (at.isEmpty ? "" : "at \(at.hasPrefix(".") ? String(at.dropFirst()) : at): ") + context.debugDescription
        default: return "\(error)"
        }
    }

    /// One walk over the components, nested ones included, into sections.
    private struct Reader {
        let file: String
        var sections: [String?: BaselineSection] = [:]
        var hashes: Set<String> = []
        var refs: [String: String] = [:]
        var packagesByRef: [String: BaselinePackage] = [:]
        var fileOwners: [(String?, String, String)] = []
        var ignored: [String: Int] = [:]
        var count = 0

        init(file: String) { self.file = file }

        mutating func walk(_ components: [Component], path: String, section: String?) throws(BaselineError) {
            for (index, component) in components.enumerated() {
                let at = "\(path)[\(index)]"
                count += 1
                guard count <= maximumComponents else {
                    throw BaselineError(file: file, problem: "more than \(maximumComponents) components", hint: "a baseline lists one host's packages and code files")
                }
                let name = component.name ?? ""
                let described = "\(at) '\(name)'" + (component.bomRef.map { " (bom-ref \($0))" } ?? "")
                if let ref = component.bomRef {
                    if let first = refs[ref] {
                        throw BaselineError(file: file, problem: "\(at) and \(first) have the same bom-ref '\(ref)'",
                                            hint: "each component of a CycloneDX document has its own bom-ref; write the baseline again")
                    }
                    refs[ref] = at
                }
                var inner = section
                if component.type == "container" {
                    let key = component.property("chainwatch:container:key") ?? "container:name:" + name
                    inner = key
                    if sections[key] == nil { sections[key] = BaselineSection() }
                } else {
                    try take(component, described: described, section: section)
                }
                if let children = component.components { try walk(children, path: at + ".components", section: inner) }
            }
        }

        private mutating func take(_ component: Component, described: String, section: String?) throws(BaselineError) {
            let sha256 = component.hashes?.first { $0.alg?.uppercased() == "SHA-256" }
            if let purl = component.purl {
                guard let parsed = PackageURLText(purl) else {
                    throw BaselineError(file: file, problem: "\(described): purl '\(purl)' is not a package URL",
                                        hint: "a purl reads pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS")
                }
                guard let ecosystem = parsed.ecosystem else {
                    ignored["packages of other ecosystems (\(parsed.type))", default: 0] += 1
                    return
                }
                guard let version = parsed.version(fallback: component.version) else {
                    throw BaselineError(file: file, problem: "\(described): package \(parsed.name) has no version",
                                        hint: "a baseline approves a package at a version; give it in the purl or the component's version")
                }
                let package = BaselinePackage(key: BaselinePackageKey(ecosystem: ecosystem, name: parsed.name, architecture: parsed.qualifiers["arch"]),
                                              version: version)
                sections[section, default: BaselineSection()].packages[package.key, default: []].insert(version)
                if let ref = component.bomRef { packagesByRef[ref] = package }
                return
            }
            let location = component.evidence?.occurrences?.first?.location ?? (component.name?.hasPrefix("/") == true ? component.name : nil)
            guard let sha256 else {
                if component.type == "file" || location != nil {
                    throw BaselineError(file: file, problem: "\(described): a file with no SHA-256 hash",
                                        hint: "a baseline approves code by its SHA-256; write it with chainwatch scan --write-baseline, or give the tool's SHA-256 option")
                }
                ignored["components with neither a purl nor a SHA-256 (\(component.type ?? "no type"))", default: 0] += 1
                return
            }
            let hex = (sha256.content ?? "").lowercased()
            guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw BaselineError(file: file, problem: "\(described): SHA-256 '\(sha256.content ?? "")' is not 64 hex digits",
                                    hint: "write the baseline again")
            }
            hashes.insert(hex)
            guard let location else { return }
            sections[section, default: BaselineSection()].files[location, default: []].insert(hex)
            if let owner = component.property("chainwatch:package") { fileOwners.append((section, location, owner)) }
        }

        var ignoredSummary: [String] {
            ignored.keys.sorted().map { "\(ignored[$0]!) \($0) not compared" }
        }
    }

    // MARK: The document, as far as a baseline reads it

    struct Document: Decodable {
        var bomFormat: String?
        var specVersion: String?
        var metadata: Metadata?
        var components: [Component]?
    }

    struct Metadata: Decodable {
        var timestamp: String?
        var tools: [Tool]?

        enum CodingKeys: String, CodingKey { case timestamp, tools }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            timestamp = try container.decodeIfPresent(String.self, forKey: .timestamp)
            // 1.5+ writes {components: [...]}, 1.4 and older a list of tools.
            if let list = try? container.decodeIfPresent([Tool].self, forKey: .tools) {
                tools = list
            } else {
                tools = try container.decodeIfPresent(ToolList.self, forKey: .tools)?.components
            }
        }
    }

    struct ToolList: Decodable { var components: [Tool]? }

    struct Tool: Decodable {
        var name: String?
        var version: String?
    }

    struct Component: Decodable {
        var type: String?
        var bomRef: String?
        var name: String?
        var version: String?
        var purl: String?
        var hashes: [Hash]?
        var evidence: Evidence?
        var properties: [Property]?
        var components: [Component]?

        enum CodingKeys: String, CodingKey {
            case type, bomRef = "bom-ref", name, version, purl, hashes, evidence, properties, components
        }

        /// Only what a baseline reads: a package's hashes, evidence and properties are never decoded (each value
        /// decoded costs; an SBOM carries many a baseline has no use for), nor a file's properties but the two
        /// it names.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try container.decodeIfPresent(String.self, forKey: .type)
            bomRef = try container.decodeIfPresent(String.self, forKey: .bomRef)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            version = try container.decodeIfPresent(String.self, forKey: .version)
            purl = try container.decodeIfPresent(String.self, forKey: .purl)
            components = try container.decodeIfPresent([Component].self, forKey: .components)
            guard purl == nil || type == "container" else { return }
            hashes = try container.decodeIfPresent([Hash].self, forKey: .hashes)
            evidence = try container.decodeIfPresent(Evidence.self, forKey: .evidence)
            properties = try container.decodeIfPresent(Properties.self, forKey: .properties)?.kept
        }

        func property(_ name: String) -> String? { properties?.first { $0.name == name }?.value }
    }

    struct Hash: Decodable {
        var alg: String?
        var content: String?
    }

    struct Evidence: Decodable {
        var occurrences: [Occurrence]?
    }

    struct Occurrence: Decodable {
        var location: String?
    }

    struct Property: Decodable {
        var name: String?
        var value: String?
    }

    /// A component's properties, keeping only those a baseline reads (a value is decoded only for them).
    struct Properties: Decodable {
        static let read: Set<String> = ["chainwatch:package", "chainwatch:container:key"]
        var kept: [Property] = []

        init(from decoder: any Decoder) throws {
            var list = try decoder.unkeyedContainer()
            while !list.isAtEnd {
                let entry = try list.nestedContainer(keyedBy: Key.self)
                guard let name = try entry.decodeIfPresent(String.self, forKey: .name), Self.read.contains(name) else { continue }
                kept.append(Property(name: name, value: try entry.decodeIfPresent(String.self, forKey: .value)))
            }
        }

        enum Key: String, CodingKey { case name, value }
    }
}
