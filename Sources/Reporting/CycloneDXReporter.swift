import Engine
import FoundationEssentials
import HostIO
import Probes
import Rules

/// The scan as a CycloneDX 1.6 software bill of materials (JSON): the host or image as the subject, a component
/// per installed package (with its purl) and per file the scan read (SHA-256, its package, who maps it, its
/// provenance), each program's DT_NEEDED graph and file -> package as dependencies, and the findings that carry a
/// CVE as vulnerabilities. Each running container whose inventory the scan kept is a `container` component of its
/// own (a `pkg:oci` purl for its image) with its operating system, packages and files nested under it.
/// bom-refs are derived from purls and paths (a container's under its own prefix) and every list is sorted, so two
/// scans of the same host differ only where the host did (and in the serial number and timestamp).
public struct CycloneDXReporter {
    public let rules: RuleSet

    public init(rules: RuleSet) {
        self.rules = rules
    }

    public func render(_ report: ScanReport) -> String {
        encode(document(report))
    }

    func encode(_ bom: BOM) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let text = String(decoding: try encoder.encode(bom), as: UTF8.self)
            return Self.escapingInvisibleCharacters(text) + "\n"
        } catch {
            // Never an empty "{}" a pipeline would read as a bill of materials with nothing in it.
            preconditionFailure("the CycloneDX document could not be encoded: \(error)")
        }
    }

    func document(_ report: ScanReport) -> BOM {
        let host = InventoryComponents(report.inventory ?? ScanInventory(system: [:], packages: [], files: [], edges: []),
                                       prefix: "", codeInUse: report.targets.first?.codeInUse)
        let hostRef = "host"
        var components = host.components
        var dependencies = host.dependencies
        dependencies[hostRef] = Set(host.packageRefs)

        // Each container is a top-level `container` component with its operating system, packages and files as
        // its nested `components` (CycloneDX's assembly: "included in the parent component"), and every bom-ref
        // under the container's own prefix, since the spec wants each bom-ref unique in the whole BOM. Nested, not
        // top-level, because consumers read it so: syft/grype's decoder walks nested components into packages (one
        // per bom-ref, so the same package in two containers is matched twice) but takes the distribution for
        // *all* packages from the first top-level operating-system component, which a container's Alpine or
        // Fedora must not become; Dependency-Track flattens nested components into the project and keeps
        // `dependencies` by bom-ref, so "container -> its os and packages" still says which package is where even
        // where it merges equal purls into one component. Top level, not under the host's metadata component:
        // older Dependency-Track releases read no components there. The host lists each container in its
        // dependencies (it runs them), so a consumer walking the graph from the subject reaches every container.
        var containers: [String: InventoryComponents] = [:]
        var usedRefs: Set<String> = []
        for summary in report.targets.dropFirst() where summary.target.kind == .container {
            guard let inventory = summary.inventory else { continue }
            var ref = "container:" + (summary.target.id ?? summary.target.shortID ?? summary.target.name ?? "unidentified")
            if usedRefs.contains(ref) {
                var number = 2
                while usedRefs.contains(ref + "#\(number)") { number += 1 }
                ref += "#\(number)"
            }
            usedRefs.insert(ref)
            let container = containerComponent(summary, inventory: inventory, ref: ref)
            components.append(container.component)
            dependencies.merge(container.contents.dependencies) { $0.union($1) }
            dependencies[ref] = container.dependsOn
            dependencies[hostRef, default: []].insert(ref)
            if let id = summary.target.id { containers[id] = container.contents }
        }

        return BOM(
            serialNumber: "urn:uuid:" + report.scanID,
            metadata: Metadata(
                timestamp: Self.timestamp(report.startedAt),
                tools: Tools(components: [Component(
                    type: "application", bomRef: "chainwatch", name: "chainwatch", version: ChainwatchVersion.current,
                    purl: nil, hashes: nil, evidence: nil, properties: nil)]),
                component: subject(report, system: host.inventory.system, ref: hostRef)),
            components: components.sorted { $0.bomRef < $1.bomRef },
            dependencies: dependencies.keys.sorted().map { Dependency(ref: $0, dependsOn: dependencies[$0]!.sorted()) },
            vulnerabilities: vulnerabilities(report) { finding in
                // A container's finding is about its files and packages, never the host's at the same path.
                guard let target = finding.target, target.kind == .container else { return host }
                return target.id.flatMap { containers[$0] }
            })
    }

    /// One root's packages and files as components, with the file -> package and DT_NEEDED dependencies among
    /// them. bom-refs are `prefix` + the purl or "file:" + the path: the host's prefix is empty (its refs are as
    /// they always were), a container's is its own ref and "/", so the same package in two containers is two
    /// components.
    struct InventoryComponents {
        let inventory: ScanInventory
        var components: [Component] = []
        /// bom-ref of each package, by its index in `inventory.packages`.
        let packageRefs: [String]
        /// bom-ref of the first file read at each path.
        var fileRefs: [String: String] = [:]
        var dependencies: [String: Set<String>] = [:]

        init(_ inventory: ScanInventory, prefix: String, codeInUse: CodeInUse? = nil) {
            self.inventory = inventory
            let codeUse = CodeUseProperties(codeInUse)
            let system = inventory.system
            let purls = inventory.packages.map { PackageURL.of($0, system: system) }
            packageRefs = purls.map { prefix + $0 }

            var seenRefs: Set<String> = []
            for (index, package) in inventory.packages.enumerated() where seenRefs.insert(packageRefs[index]).inserted {
                components.append(Component(
                    type: "library", bomRef: packageRefs[index], name: package.name, version: package.version,
                    purl: purls[index], hashes: nil, evidence: nil,
                    properties: Property.sorted([
                        ("chainwatch:package:ecosystem", package.ecosystem.rawValue),
                        ("chainwatch:package:source", package.source),
                        ("chainwatch:package:architecture", package.architecture),
                        ("chainwatch:package:state", package.state),
                    ] + codeUse.properties(of: package))))
            }

            for file in inventory.files {
                // Two files seen at one path (a container's and the host's) keep apart by content.
                var ref = prefix + "file:" + file.path
                if seenRefs.contains(ref) { ref += "#sha256:" + file.sha256 }
                guard seenRefs.insert(ref).inserted else { continue }
                if fileRefs[file.path] == nil { fileRefs[file.path] = ref }
                var hashes = [Hash(alg: "SHA-256", content: file.sha256)]
                hashes += file.digests.sorted { $0.key < $1.key }.map { Hash(alg: CycloneDXReporter.algorithmName($0.key), content: $0.value) }
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
        }

        /// The bom-refs a finding's evidence names: the file at its path, the package of its name and version.
        func refs(of evidence: Engine.Evidence) -> [String] {
            var refs: [String] = []
            if let path = evidence.path, let ref = fileRefs[path] { refs.append(ref) }
            if let name = evidence.package,
               let index = inventory.packages.firstIndex(where: { $0.name == name && (evidence.version == nil || $0.version == evidence.version) }) {
                refs.append(packageRefs[index])
            }
            return refs
        }
    }

    /// A container with its contents: the component, what goes under it, and what it depends on.
    struct ContainerComponents {
        var component: Component
        var contents: InventoryComponents
        var dependsOn: Set<String>
    }

    /// The `container` component of one running container: named as its runtime names it (else by its short
    /// id), its image's purl and digest, its identity as properties, and its operating system, packages and
    /// files nested under it; it depends on its operating system and its packages.
    private func containerComponent(_ summary: TargetSummary, inventory: ScanInventory, ref: String) -> ContainerComponents {
        let target = summary.target
        let contents = InventoryComponents(inventory, prefix: ref + "/", codeInUse: summary.codeInUse)
        var children = contents.components
        var dependsOn = Set(contents.packageRefs)
        if let system = operatingSystem(inventory.system, ref: ref + "/os") {
            children.append(system)
            dependsOn.insert(system.bomRef)
        }
        let image = OCIImage(image: target.image, imageID: target.imageID)
        var properties: [(String, String)] = []
        if let id = target.id { properties.append(("chainwatch:container:id", id)) }
        // What a baseline written from this SBOM matches the container by in a later scan (its id changes on restart).
        properties.append(("chainwatch:container:key", target.stableKey))
        if let runtime = target.runtime { properties.append(("chainwatch:container:runtime", runtime.rawValue)) }
        if let name = target.image { properties.append(("chainwatch:container:image", name)) }
        if let imageID = target.imageID { properties.append(("chainwatch:container:image-id", imageID)) }
        if let pod = target.pod { properties.append(("chainwatch:container:pod", pod)) }
        if let namespace = target.namespace { properties.append(("chainwatch:container:namespace", namespace)) }
        if let name = target.containerName { properties.append(("chainwatch:container:pod-container", name)) }
        if let reason = image.purlMissing { properties.append(("chainwatch:container:no-purl", reason)) }
        properties += summary.packageDatabases.map { ("chainwatch:container:package-database", $0) }
        properties += summary.problems.map { ("chainwatch:container:problem", $0) }
        properties += CodeUseProperties.target(summary.codeInUse)
        let component = Component(
            type: "container", bomRef: ref, name: target.name ?? target.shortID ?? target.id ?? "unidentified container",
            version: image.digest, purl: image.purl, hashes: nil, evidence: nil, properties: Property.sorted(properties),
            components: children.sorted { $0.bomRef < $1.bomRef })
        return ContainerComponents(component: component, contents: contents, dependsOn: dependsOn)
    }

    /// A container's operating system from its os-release, named by its ID as syft names one (nil without
    /// os-release).
    private func operatingSystem(_ system: [String: String], ref: String) -> Component? {
        guard let name = system["ID"] ?? system["NAME"] else { return nil }
        return Component(
            type: "operating-system", bomRef: ref, name: name, version: system["VERSION_ID"], purl: nil, hashes: nil,
            evidence: nil, properties: Property.sorted(Self.osReleaseProperties(system)))
    }

    /// The host or image the scan was of, with its os-release facts.
    private func subject(_ report: ScanReport, system: [String: String], ref: String) -> Component {
        let name: String
        if report.root == "/" {
            name = (try? FileSystem.readText("/proc/sys/kernel/hostname", limit: 256))?.trimmingWhitespace() ?? "localhost"
        } else {
            name = report.root
        }
        let properties: [(String, String)] = [("chainwatch:root", report.root)] + Self.osReleaseProperties(system)
            + CodeUseProperties.target(report.targets.first?.codeInUse)
        return Component(
            type: "operating-system", bomRef: ref, name: name, version: system["VERSION_ID"], purl: nil, hashes: nil,
            evidence: nil, properties: Property.sorted(properties))
    }

    static func osReleaseProperties(_ system: [String: String]) -> [(String, String)] {
        ["ID", "ID_LIKE", "NAME", "PRETTY_NAME", "VERSION", "VERSION_ID", "VERSION_CODENAME", "BUILD_ID"].compactMap { key in
            system[key].map { ("chainwatch:os-release:" + key, $0) }
        }
    }

    /// One vulnerability per CVE named by the tags of a rule that found something above info, affecting the files
    /// and packages of those findings (in the finding's own target: `components` gives the host's or a
    /// container's), rated by the highest severity among them.
    private func vulnerabilities(_ report: ScanReport, components: (Finding) -> InventoryComponents?) -> [Vulnerability] {
        let rulesByID = Dictionary(rules.rules.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var byCVE: [String: (severity: Severity, affects: Set<String>, rules: Set<String>, advisories: Set<String>, titles: Set<String>)] = [:]
        for finding in report.findings where finding.severity > .info {
            guard let rule = rulesByID[finding.rule] else { continue }
            for cve in Self.cves(of: rule) {
                var entry = byCVE[cve] ?? (finding.severity, [], [], [], [])
                entry.severity = max(entry.severity, finding.severity)
                entry.affects.formUnion(components(finding)?.refs(of: finding.evidence) ?? [])
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

    static func escapingInvisibleCharacters(_ json: String) -> String { TerminalText.escapingInvisibleInJSON(json) }

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
        /// What the component is made of (a container's operating system, packages and files); left out when nil.
        var components: [Component]? = nil

        enum CodingKeys: String, CodingKey {
            case type, bomRef = "bom-ref", name, version, purl, hashes, evidence, properties, components
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
            // The source package, as Syft writes it: CVE feeds (Debian's tracker, hence Grype and Trivy) file
            // liblzma5's CVEs under xz-utils.
            if !package.source.isEmpty && package.source != package.name { qualifiers.append(("upstream", package.source)) }
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

    /// Percent-encodes everything but RFC 3986's unreserved characters (so `+` and the epoch's `:` are encoded)
    /// and the bytes in `keeping`.
    static func encode(_ text: String, keeping: Set<UInt8> = []) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            case _ where keeping.contains(byte):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += byte < 16 ? "%0" + hex : "%" + hex
            }
        }
        return out
    }
}

/// A container's image as a `pkg:oci` purl (purl-spec PURL-TYPES, oci): no namespace; the name is the last path
/// component of the repository, lower-cased; the version is the image's digest, which the type requires; the
/// repository (where it may be fetched) and tag are qualifiers:
/// pkg:oci/debian@sha256%3A244f...?repository_url=docker.io/library/debian&tag=12.
/// The digest is the image id the runtime records (the image configuration's digest: what a running container
/// was made from), else a digest the image reference itself names (`repo@sha256:...`).
struct OCIImage {
    /// "docker.io/library/debian": Docker's short names completed as Docker resolves them.
    var repository: String?
    var tag: String?
    var digest: String?

    init(image: String?, imageID: String?) {
        var reference = image?.trimmingWhitespace() ?? ""
        var referenceDigest: String?
        if let at = reference.lastIndex(of: "@") {
            referenceDigest = Self.digest(String(reference[reference.index(after: at)...]))
            reference = String(reference[..<at])
        }
        if Self.digest(reference) != nil {
            // The runtime names the image only by its id (a container created from an image id).
            referenceDigest = referenceDigest ?? Self.digest(reference)
            reference = ""
        }
        if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
            tag = String(reference[reference.index(after: colon)...])
            reference = String(reference[..<colon])
        }
        if !reference.isEmpty, !reference.hasPrefix("/"), !reference.hasSuffix("/") {
            let first = reference.prefix { $0 != "/" }
            if first.count == reference.count {
                repository = "docker.io/library/" + reference
            } else if !first.contains("."), !first.contains(":"), first != "localhost" {
                repository = "docker.io/" + reference
            } else {
                repository = reference
            }
        }
        var id = imageID ?? ""
        if let at = id.lastIndex(of: "@") { id = String(id[id.index(after: at)...]) }
        digest = Self.digest(id) ?? referenceDigest
    }

    /// "sha256:<hex>" from an OCI digest ("algorithm:hex") or podman's and CRI-O's bare 64-digit id; nil for
    /// anything else.
    static func digest(_ text: String) -> String? {
        let text = text.lowercased()
        let isHex = { (part: Substring) in !part.isEmpty && part.allSatisfy { $0.isHexDigit && $0.isASCII } }
        if text.count == 64, isHex(Substring(text)) { return "sha256:" + text }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
              parts[1].count >= 32, isHex(parts[1]) else { return nil }
        return text
    }

    var name: String? {
        repository.map { String($0.split(separator: "/").last ?? Substring($0)).lowercased() }
    }

    var purl: String? {
        guard let name, let digest else { return nil }
        var qualifiers = [("repository_url", PackageURL.encode(repository ?? "", keeping: [UInt8(ascii: "/")]))]
        if let tag { qualifiers.append(("tag", PackageURL.encode(tag))) }
        return "pkg:oci/\(PackageURL.encode(name))@\(PackageURL.encode(digest))?"
            + qualifiers.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Why there is no purl, for a property saying so.
    var purlMissing: String? {
        if repository == nil { return "the runtime records no image name for this container" }
        if digest == nil { return "the runtime records no image digest for this container (a pkg:oci purl requires one)" }
        return nil
    }
}
