import Engine
import FoundationEssentials
import HostIO
import Probes
import Rules

/// The scan as a CycloneDX 1.6 software bill of materials (JSON): the host or image as the subject, a component
/// per installed package (with its purl) and per file the scan read (SHA-256, its package, who maps it, its
/// provenance), each program's DT_NEEDED graph and file -> package as dependencies, and the findings that carry a
/// CVE as vulnerabilities. bom-refs are derived from purls and paths and every list is sorted, so two scans of the
/// same host differ only where the host did (and in the serial number and timestamp).
public struct CycloneDXReporter {
    public let rules: RuleSet

    public init(rules: RuleSet) {
        self.rules = rules
    }

    public func render(_ report: ScanReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(document(report))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    func document(_ report: ScanReport) -> BOM {
        let inventory = report.inventory ?? ScanInventory(system: [:], packages: [], files: [], edges: [])
        let system = inventory.system
        let packageRefs = inventory.packages.map { PackageURL.of($0, system: system) }

        var components: [Component] = []
        var seenRefs: Set<String> = []
        for (index, package) in inventory.packages.enumerated() where seenRefs.insert(packageRefs[index]).inserted {
            components.append(Component(
                type: "library", bomRef: packageRefs[index], name: package.name, version: package.version,
                purl: packageRefs[index], hashes: nil, evidence: nil,
                properties: Property.sorted([
                    ("chainwatch:package:ecosystem", package.ecosystem.rawValue),
                    ("chainwatch:package:source", package.source),
                    ("chainwatch:package:architecture", package.architecture),
                    ("chainwatch:package:state", package.state),
                ])))
        }

        var fileRefs: [String: String] = [:]
        var dependencies: [String: Set<String>] = [:]
        for file in inventory.files {
            // Two files seen at one path (a container's and the host's) keep apart by content.
            var ref = "file:" + file.path
            if seenRefs.contains(ref) { ref += "#sha256:" + file.sha256 }
            guard seenRefs.insert(ref).inserted else { continue }
            if fileRefs[file.path] == nil { fileRefs[file.path] = ref }
            var hashes = [Hash(alg: "SHA-256", content: file.sha256)]
            hashes += file.digests.sorted { $0.key < $1.key }.map { Hash(alg: Self.algorithmName($0.key), content: $0.value) }
            var properties: [(String, String)] = file.seenAs.map { ("chainwatch:seen-as", $0) }
            properties += file.pids.map { ("chainwatch:pid", String($0)) }
            properties += file.mappedBy.map { ("chainwatch:mapped-by", $0) }
            properties += file.names.map { ("chainwatch:name", $0) }
            if let provenance = file.provenance {
                properties.append(("chainwatch:integrity", provenance.integrity.rawValue))
                properties.append(("chainwatch:location", provenance.place.rawValue))
                if let writer = provenance.writableBy { properties.append(("chainwatch:writable-by", writer)) }
                if provenance.deleted { properties.append(("chainwatch:deleted", "true")) }
                if let detail = provenance.integrityDetail { properties.append(("chainwatch:integrity-detail", detail)) }
            }
            if let package = file.package {
                properties.append(("chainwatch:package", packageRefs[package]))
                dependencies[ref, default: []].insert(packageRefs[package])
            }
            components.append(Component(
                type: file.kind == .program ? "application" : file.kind == .library ? "library" : "file",
                bomRef: ref, name: baseName(file.path), version: nil, purl: nil,
                hashes: hashes.sorted { $0.alg < $1.alg },
                evidence: Evidence(occurrences: [Occurrence(location: file.path)]),
                properties: Property.sorted(properties)))
        }
        for edge in inventory.edges {
            guard let from = fileRefs[edge.from], let to = fileRefs[edge.to], from != to else { continue }
            dependencies[from, default: []].insert(to)
        }
        let host = "host"
        dependencies[host] = Set(packageRefs)

        return BOM(
            serialNumber: "urn:uuid:" + report.scanID,
            metadata: Metadata(
                timestamp: Self.timestamp(report.startedAt),
                tools: Tools(components: [Component(
                    type: "application", bomRef: "chainwatch", name: "chainwatch", version: ChainwatchVersion.current,
                    purl: nil, hashes: nil, evidence: nil, properties: nil)]),
                component: subject(report, system: system, ref: host)),
            components: components.sorted { $0.bomRef < $1.bomRef },
            dependencies: dependencies.keys.sorted().map { Dependency(ref: $0, dependsOn: dependencies[$0]!.sorted()) },
            vulnerabilities: vulnerabilities(report, inventory: inventory, packageRefs: packageRefs, fileRefs: fileRefs))
    }

    /// The host or image the scan was of, with its os-release facts.
    private func subject(_ report: ScanReport, system: [String: String], ref: String) -> Component {
        let name: String
        if report.root == "/" {
            name = (try? FileSystem.readText("/proc/sys/kernel/hostname", limit: 256))?.trimmingWhitespace() ?? "localhost"
        } else {
            name = report.root
        }
        var properties: [(String, String)] = [("chainwatch:root", report.root)]
        for key in ["ID", "ID_LIKE", "NAME", "PRETTY_NAME", "VERSION", "VERSION_ID", "VERSION_CODENAME", "BUILD_ID"] {
            if let value = system[key] { properties.append(("chainwatch:os-release:" + key, value)) }
        }
        return Component(
            type: "operating-system", bomRef: ref, name: name, version: system["VERSION_ID"], purl: nil, hashes: nil,
            evidence: nil, properties: Property.sorted(properties))
    }

    /// One vulnerability per CVE named by the tags of a rule that found something above info, affecting the files
    /// and packages of those findings, rated by the highest severity among them.
    private func vulnerabilities(_ report: ScanReport, inventory: ScanInventory, packageRefs: [String],
                                 fileRefs: [String: String]) -> [Vulnerability] {
        let rulesByID = Dictionary(rules.rules.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var byCVE: [String: (severity: Severity, affects: Set<String>, rules: Set<String>, advisories: Set<String>, titles: Set<String>)] = [:]
        for finding in report.findings where finding.severity > .info {
            guard let rule = rulesByID[finding.rule] else { continue }
            for cve in Self.cves(of: rule) {
                var entry = byCVE[cve] ?? (finding.severity, [], [], [], [])
                entry.severity = max(entry.severity, finding.severity)
                if let path = finding.evidence.path, let ref = fileRefs[path] { entry.affects.insert(ref) }
                if let name = finding.evidence.package,
                   let index = inventory.packages.firstIndex(where: { $0.name == name && (finding.evidence.version == nil || $0.version == finding.evidence.version) }) {
                    entry.affects.insert(packageRefs[index])
                }
                entry.rules.insert(rule.id)
                entry.titles.insert(rule.title)
                entry.advisories.formUnion(rule.references)
                byCVE[cve] = entry
            }
        }
        return byCVE.keys.sorted().map { cve in
            let entry = byCVE[cve]!
            return Vulnerability(
                bomRef: "vulnerability:" + cve, id: cve,
                source: Source(name: "NVD", url: "https://nvd.nist.gov/vuln/detail/" + cve),
                ratings: [Rating(source: Source(name: "chainwatch", url: nil), severity: entry.severity.rawValue, method: "other")],
                description: entry.titles.sorted().joined(separator: "; "),
                advisories: entry.advisories.sorted().map { Advisory(url: $0) },
                affects: entry.affects.sorted().map { Affect(ref: $0) },
                properties: Property.sorted(entry.rules.map { ("chainwatch:rule", $0) }))
        }
    }

    /// CVE ids in a rule's tags (`cve-2024-3094`), upper-cased as CVE lists write them.
    static func cves(of rule: Rule) -> [String] {
        rule.tags.compactMap { tag in
            let parts = tag.split(separator: "-")
            guard parts.count == 3, parts[0].lowercased() == "cve", parts[1].count == 4, parts[1].allSatisfy(\.isNumber),
                  parts[2].count >= 4, parts[2].allSatisfy(\.isNumber) else { return nil }
            return "CVE-\(parts[1])-\(parts[2])"
        }
    }

    /// CycloneDX's hash-alg names.
    static func algorithmName(_ algorithm: DigestAlgorithm) -> String {
        switch algorithm {
        case .md5: "MD5"
        case .sha1: "SHA-1"
        case .sha256: "SHA-256"
        case .sha384: "SHA-384"
        case .sha512: "SHA-512"
        }
    }

    static func timestamp(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds.rounded(.down)).formatted(Date.ISO8601FormatStyle())
    }

    // MARK: The document

    struct BOM: Encodable {
        var bomFormat = "CycloneDX"
        var specVersion = "1.6"
        var serialNumber: String
        var version = 1
        var metadata: Metadata
        var components: [Component]
        var dependencies: [Dependency]
        var vulnerabilities: [Vulnerability]
    }

    struct Metadata: Encodable {
        var timestamp: String
        var tools: Tools
        var component: Component
    }

    struct Tools: Encodable {
        var components: [Component]
    }

    struct Component: Encodable {
        var type: String
        var bomRef: String
        var name: String
        var version: String?
        var purl: String?
        var hashes: [Hash]?
        var evidence: Evidence?
        var properties: [Property]?

        enum CodingKeys: String, CodingKey {
            case type, bomRef = "bom-ref", name, version, purl, hashes, evidence, properties
        }
    }

    struct Hash: Encodable {
        var alg: String
        var content: String
    }

    struct Evidence: Encodable {
        var occurrences: [Occurrence]
    }

    struct Occurrence: Encodable {
        var location: String
    }

    struct Property: Encodable {
        var name: String
        var value: String

        static func sorted(_ pairs: [(String, String)]) -> [Property]? {
            pairs.isEmpty ? nil : pairs.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { Property(name: $0.0, value: $0.1) }
        }
    }

    struct Dependency: Encodable {
        var ref: String
        var dependsOn: [String]
    }

    struct Vulnerability: Encodable {
        var bomRef: String
        var id: String
        var source: Source
        var ratings: [Rating]
        var description: String
        var advisories: [Advisory]
        var affects: [Affect]
        var properties: [Property]?

        enum CodingKeys: String, CodingKey {
            case bomRef = "bom-ref", id, source, ratings, description, advisories, affects, properties
        }
    }

    struct Source: Encodable {
        var name: String
        var url: String?
    }

    struct Rating: Encodable {
        var source: Source
        var severity: String
        var method: String
    }

    struct Advisory: Encodable {
        var url: String
    }

    struct Affect: Encodable {
        var ref: String
    }
}

/// Package URLs (github.com/package-url/purl-spec) for the four package ecosystems chainwatch reads, with the
/// distribution from os-release: pkg:deb/debian/liblzma5@5.4.1-1?arch=amd64&distro=debian-12.
enum PackageURL {
    static func of(_ package: InstalledPackage, system: [String: String]) -> String {
        let id = system["ID"].map { $0.lowercased() }
        let versionID = system["VERSION_ID"]
        var version = package.version
        var qualifiers: [(String, String)] = []
        if !package.architecture.isEmpty { qualifiers.append(("arch", package.architecture)) }
        let type: String, namespace: String
        switch package.ecosystem {
        case .debian:
            (type, namespace) = ("deb", id ?? "debian")
            if let id, let versionID { qualifiers.append(("distro", "\(id)-\(versionID)")) }
        case .rpm:
            (type, namespace) = ("rpm", id ?? "redhat")
            // rpm purls carry the epoch as a qualifier, not in the version.
            if let colon = version.firstIndex(of: ":"), version[..<colon].allSatisfy(\.isNumber) {
                qualifiers.append(("epoch", String(version[..<colon])))
                version = String(version[version.index(after: colon)...])
            }
            if let id, let versionID { qualifiers.append(("distro", "\(id)-\(versionID)")) }
        case .alpine:
            (type, namespace) = ("apk", id ?? "alpine")
            if let versionID { qualifiers.append(("distro", versionID)) }
        case .arch:
            (type, namespace) = ("alpm", id ?? "arch")
        }
        let query = qualifiers.sorted { $0.0 < $1.0 }.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
        return "pkg:\(type)/\(encode(namespace))/\(encode(package.name))@\(encode(version))" + (query.isEmpty ? "" : "?" + query)
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters (so `+` and the epoch's `:` are encoded).
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += byte < 16 ? "%0" + hex : "%" + hex
            }
        }
        return out
    }
}
