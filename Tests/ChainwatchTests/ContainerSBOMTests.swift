import Foundation
@testable import Engine
import HostIO
@testable import Probes
@testable import Reporting
@testable import Rules
import Testing

/// The CycloneDX SBOM of a host with two running containers, built in process from a report (no container
/// needed): each container a `container` component with its `pkg:oci` purl and its operating system, packages and
/// files nested under it, linked in `dependencies`; every bom-ref unique; validated by cyclonedx-python-lib's strict
/// 1.6 validator and the purls parsed by packageurl-python (from the validator's venv).
@Suite struct ContainerSBOMTests {
    static let webID = String(repeating: "ab", count: 32)
    static let webImageID = "sha256:" + String(repeating: "0123456789abcdef", count: 4)
    static let strayID = "mnt-4026532999"
    /// A container name an attacker chose: a newline, quotes, a backslash and a right-to-left override.
    static let hostileName = "evil\n\"name\\\u{202E}gpj.exe"
    static let lzmaPurl = "pkg:deb/debian/liblzma5@5.4.1-1?arch=amd64&distro=debian-12"
    static let lzmaFile = "/usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1"
    static let debian12 = ["ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"]

    static func package(_ name: String, _ version: String) -> InstalledPackage {
        InstalledPackage(ecosystem: .debian, name: name, version: version, source: name, architecture: "amd64", state: "installed")
    }

    static func file(_ path: String, kind: ScannedFile.Kind, package: Int?, names: [String] = []) -> ScannedFile {
        ScannedFile(path: path, sha256: String(repeating: "5", count: 64), digests: [.md5: String(repeating: "d", count: 32)],
                    kind: kind, names: names, package: package, provenance: nil, pids: [4242], mappedBy: ["/usr/sbin/sshd"],
                    seenAs: ["mapped"])
    }

    /// liblzma5 5.4.1-1 in the host and both containers; sshd -> liblzma in the web container.
    static func report(findings: [Finding] = []) -> ScanReport {
        let host = ScanInventory(system: debian12, packages: [package("liblzma5", "5.4.1-1"), package("openssh-server", "1:9.2p1-2")],
                                 files: [file(lzmaFile, kind: .library, package: 0)], edges: [])
        let web = ScanInventory(
            system: debian12, packages: [package("liblzma5", "5.4.1-1"), package("openssh-server", "1:9.2p1-2"), package("libc6", "2.36-9")],
            files: [file(lzmaFile, kind: .library, package: 0, names: ["liblzma.so.5"]), file("/usr/sbin/sshd", kind: .program, package: 1)],
            edges: [.init(from: "/usr/sbin/sshd", to: lzmaFile)])
        // The stray container's package source and file carry hostile text too.
        var lzma = package("liblzma5", "5.4.1-1")
        lzma.source = "xz-utils\u{202E}\n\"x\""
        let stray = ScanInventory(system: debian12, packages: [lzma], files: [file("/tmp/\u{202E}os.so", kind: .library, package: nil)], edges: [])

        var webTarget = ScanTarget(kind: .container, id: webID, name: "web")
        webTarget.shortID = String(webID.prefix(12))
        webTarget.runtime = .docker
        webTarget.image = "debian:12"
        webTarget.imageID = webImageID
        webTarget.pod = "web-7d4b9c"
        webTarget.namespace = "shop"
        webTarget.containerName = "web"
        var strayTarget = ScanTarget(kind: .container, id: strayID, name: hostileName)
        strayTarget.shortID = strayID
        strayTarget.runtime = .unknown

        var webSummary = TargetSummary(target: webTarget, pids: [100], packages: 3, packageDatabases: ["/var/lib/dpkg/status"])
        webSummary.inventory = web
        var straySummary = TargetSummary(target: strayTarget, pids: [200], packages: 1, problems: ["no runtime state"])
        straySummary.inventory = stray
        var report = ScanReport(scanID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", root: "/", startedAt: 1_700_000_000,
                                findings: findings, skipped: [], notes: [], statistics: ScanStatistics(), programs: [])
        report.inventory = host
        report.targets = [TargetSummary(target: ScanTarget(kind: .host, name: "h")), webSummary, straySummary]
        return report
    }

    static func render(_ report: ScanReport, rules: RuleSet = RuleSet(rules: [], files: [])) throws -> (String, [String: Any]) {
        let text = CycloneDXReporter(rules: rules).render(report)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return (text, try #require(object, "not a JSON object: \(text.prefix(300))"))
    }

    /// Every component at any depth, with the bom-ref of the component it is nested in (nil at the top).
    static func allComponents(_ bom: [String: Any]) -> [(component: [String: Any], parent: String?)] {
        var out: [([String: Any], String?)] = []
        func walk(_ list: [[String: Any]], parent: String?) {
            for component in list {
                out.append((component, parent))
                walk(component["components"] as? [[String: Any]] ?? [], parent: component["bom-ref"] as? String)
            }
        }
        walk(bom["components"] as? [[String: Any]] ?? [], parent: nil)
        return out
    }

    static func dependencies(_ bom: [String: Any]) -> [String: [String]] {
        var graph: [String: [String]] = [:]
        for entry in bom["dependencies"] as? [[String: Any]] ?? [] {
            graph[entry["ref"] as? String ?? ""] = entry["dependsOn"] as? [String] ?? []
        }
        return graph
    }

    static func properties(_ component: [String: Any]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for property in component["properties"] as? [[String: String]] ?? [] {
            out[property["name"] ?? "", default: []].append(property["value"] ?? "")
        }
        return out
    }

    static func container(_ bom: [String: Any], _ id: String) throws -> [String: Any] {
        try #require((bom["components"] as? [[String: Any]] ?? []).first { $0["bom-ref"] as? String == "container:" + id },
                     "no component container:\(id)")
    }

    @Test func validatesWithTheStrictValidator() throws {
        let (text, _) = try Self.render(Self.report())
        try ProvenanceTests.validate(text, label: "containers")
    }

    /// Each container is a top-level `container` component: the web container with its image's purl, digest and
    /// identity; the stray one (no runtime, no image) without a purl and a property saying why.
    @Test func eachContainerIsAContainerComponentWithItsPurl() throws {
        let (text, bom) = try Self.render(Self.report())
        let web = try Self.container(bom, Self.webID)
        #expect(web["type"] as? String == "container")
        #expect(web["name"] as? String == "web")
        #expect(web["version"] as? String == Self.webImageID)
        let hex = Self.webImageID.dropFirst("sha256:".count)
        #expect(web["purl"] as? String == "pkg:oci/debian@sha256%3A\(hex)?repository_url=docker.io/library/debian&tag=12")
        let webProperties = Self.properties(web)
        #expect(webProperties["chainwatch:container:id"] == [Self.webID])
        #expect(webProperties["chainwatch:container:runtime"] == ["docker"])
        #expect(webProperties["chainwatch:container:image"] == ["debian:12"])
        #expect(webProperties["chainwatch:container:pod"] == ["web-7d4b9c"])
        #expect(webProperties["chainwatch:container:namespace"] == ["shop"])
        #expect(webProperties["chainwatch:container:no-purl"] == nil)

        let stray = try Self.container(bom, Self.strayID)
        #expect(stray["type"] as? String == "container")
        #expect(stray["name"] as? String == Self.hostileName)
        #expect(stray["purl"] == nil && stray["version"] == nil)
        let strayProperties = Self.properties(stray)
        #expect(strayProperties["chainwatch:container:runtime"] == ["unknown"])
        #expect(strayProperties["chainwatch:container:no-purl"]?.first?.contains("no image name") == true, "\(strayProperties)")
        #expect(strayProperties["chainwatch:container:problem"] == ["no runtime state"])

        // The purls as a purl library reads them (the validator's run makes its venv).
        try ProvenanceTests.validate(text, label: "purls")
        let parsed = try Self.parsePurls([try #require(web["purl"] as? String)])
        let oci = try #require(parsed.first)
        #expect(oci["type"] as? String == "oci" && oci["name"] as? String == "debian")
        #expect(oci["version"] as? String == Self.webImageID)
        #expect(oci["qualifiers"] as? [String: String] == ["repository_url": "docker.io/library/debian", "tag": "12"])
    }

    /// A container's operating system, packages and files are nested under it, and `dependencies` says the
    /// container depends on its os and packages, its file on its package, sshd on liblzma; the host runs both.
    @Test func packagesAreUnderTheirContainerAndLinked() throws {
        let (_, bom) = try Self.render(Self.report())
        let web = try Self.container(bom, Self.webID)
        let prefix = "container:\(Self.webID)/"
        let children = web["components"] as? [[String: Any]] ?? []
        let refs = Set(children.compactMap { $0["bom-ref"] as? String })
        let lzma = prefix + Self.lzmaPurl
        let os = prefix + "os"
        let libc = prefix + "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12"
        let sshd = prefix + "file:/usr/sbin/sshd"
        let lzmaFile = prefix + "file:" + Self.lzmaFile
        #expect(refs.isSuperset(of: [lzma, os, libc, sshd, lzmaFile]), "\(refs.sorted())")
        #expect(refs.allSatisfy { $0.hasPrefix(prefix) }, "\(refs.sorted())")
        let system = try #require(children.first { $0["bom-ref"] as? String == os })
        #expect(system["type"] as? String == "operating-system" && system["name"] as? String == "debian" && system["version"] as? String == "12")
        let lzmaComponent = try #require(children.first { $0["bom-ref"] as? String == lzma })
        #expect(lzmaComponent["purl"] as? String == Self.lzmaPurl, "the purl stays the package's own")

        let graph = Self.dependencies(bom)
        #expect(Set(graph["container:" + Self.webID] ?? []) == [os, lzma, libc, prefix + "pkg:deb/debian/openssh-server@1%3A9.2p1-2?arch=amd64&distro=debian-12"])
        #expect(graph[lzmaFile] == [lzma])
        #expect(Set(graph[sshd] ?? []).isSuperset(of: [lzmaFile, prefix + "pkg:deb/debian/openssh-server@1%3A9.2p1-2?arch=amd64&distro=debian-12"]))
        #expect(Set(graph["host"] ?? []).isSuperset(of: ["container:" + Self.webID, "container:" + Self.strayID, Self.lzmaPurl]))
        // Nothing of a container is a top-level component or hangs off the host directly.
        let topLevel = Set((bom["components"] as? [[String: Any]] ?? []).compactMap { $0["bom-ref"] as? String })
        #expect(topLevel.isDisjoint(with: refs))
        #expect(!(graph["host"] ?? []).contains(lzma))
    }

    /// No bom-ref twice anywhere in the document, and every ref `dependencies` names is one.
    @Test func bomRefsAreUnique() throws {
        let (_, bom) = try Self.render(Self.report())
        var refs = Self.allComponents(bom).compactMap { $0.component["bom-ref"] as? String }
        let metadata = bom["metadata"] as? [String: Any] ?? [:]
        refs.append(try #require((metadata["component"] as? [String: Any])?["bom-ref"] as? String))
        refs += ((metadata["tools"] as? [String: Any])?["components"] as? [[String: Any]] ?? []).compactMap { $0["bom-ref"] as? String }
        let counts = Dictionary(refs.map { ($0, 1) }, uniquingKeysWith: +)
        #expect(counts.filter { $0.value > 1 }.isEmpty, "\(counts.filter { $0.value > 1 })")
        let graph = Self.dependencies(bom)
        let named = Set(graph.keys).union(graph.values.joined())
        #expect(named.subtracting(refs).isEmpty, "\(named.subtracting(refs).sorted())")
    }

    /// liblzma5 5.4.1-1 is in the host and in both containers: three components with one purl and three
    /// bom-refs, one at the top (the host's, as before containers) and one under each container.
    @Test func aPackageInTwoContainersIsTwoComponents() throws {
        let (_, bom) = try Self.render(Self.report())
        // The stray container's copy names its (hostile) source package in the upstream qualifier, percent-encoded.
        let strayPurl = Self.lzmaPurl + "&upstream=xz-utils%E2%80%AE%0A%22x%22"
        let copies = Self.allComponents(bom).filter { ($0.component["purl"] as? String)?.hasPrefix(Self.lzmaPurl) == true }
        #expect(copies.count == 3)
        #expect(Set(copies.compactMap { $0.component["bom-ref"] as? String })
                == [Self.lzmaPurl, "container:\(Self.webID)/" + Self.lzmaPurl, "container:\(Self.strayID)/" + strayPurl])
        #expect(Set(copies.map { $0.parent ?? "top" }) == ["top", "container:" + Self.webID, "container:" + Self.strayID])
        let graph = Self.dependencies(bom)
        #expect(graph["container:" + Self.strayID]?.contains("container:\(Self.strayID)/" + strayPurl) == true)
        #expect(graph["container:" + Self.strayID]?.contains("container:\(Self.webID)/" + Self.lzmaPurl) == false)
    }

    /// A newline, quotes, a backslash and U+202E in a container name, a package's source and a file name are
    /// written escaped (U+202E as \u202E, never raw) and read back as they were.
    @Test func hostileValuesAreEscaped() throws {
        let (text, bom) = try Self.render(Self.report())
        #expect(!text.unicodeScalars.contains("\u{202E}"))
        #expect(text.contains(#""name" : "evil\n\"name\\\u202Egpj.exe""#), "\(text.split(separator: "\n").filter { $0.contains("evil") })")
        #expect(text.contains(#"xz-utils\u202E\n\"x\""#))
        // Every line is one JSON line: no value broke out of its string.
        #expect(text.split(separator: "\n").allSatisfy { !$0.hasPrefix("gpj") && !$0.hasPrefix("\"x") })
        let stray = try Self.container(bom, Self.strayID)
        #expect(stray["name"] as? String == Self.hostileName)
        let names = Set(Self.allComponents(bom).compactMap { $0.component["name"] as? String })
        #expect(names.contains("\u{202E}os.so"))
        let source = Self.allComponents(bom).compactMap { Self.properties($0.component)["chainwatch:package:source"] }.joined()
        #expect(source.contains("xz-utils\u{202E}\n\"x\""))
        try ProvenanceTests.validate(text, label: "hostile")
    }

    /// A CVE found in a container's package affects that container's package, not the host's or the other
    /// container's copy of it.
    @Test func aContainerFindingAffectsThatContainersPackage() throws {
        let yaml = """
            chainwatch-rules: 1
            rules:
              - {id: test-lzma, title: t, kind: package-version, severity: critical, message-id: 0123456789abcdef0123456789abcdef, description: d, tags: [cve-2024-3094], match: {ecosystem: debian, packages: [liblzma5], versions: ["5.4.1-1"]}}
            """
        let (decoded, problems) = RuleLoader.decode(yaml, file: "test.yaml")
        try #require(problems.isEmpty, "\(problems)")
        let rule = try #require(decoded.first)
        var finding = Finding(rule: rule, evidence: Evidence(package: "liblzma5", version: "5.4.1-1"))
        var webTarget = ScanTarget(kind: .container, id: Self.webID, name: "web")
        webTarget.runtime = .docker
        finding.target = webTarget
        let (text, bom) = try Self.render(Self.report(findings: [finding]), rules: RuleSet(rules: decoded, files: ["test.yaml"]))
        let vulnerability = try #require((bom["vulnerabilities"] as? [[String: Any]])?.first)
        #expect(vulnerability["id"] as? String == "CVE-2024-3094")
        let affects = (vulnerability["affects"] as? [[String: String]] ?? []).compactMap { $0["ref"] }
        #expect(affects == ["container:\(Self.webID)/" + Self.lzmaPurl])
        try ProvenanceTests.validate(text, label: "container-finding")
    }

    /// The OCI purl's parts from the references runtimes record.
    @Test(arguments: [
        ("docker.io/library/debian:12", "sha256:" + String(repeating: "a", count: 64),
         "pkg:oci/debian@sha256%3A\(String(repeating: "a", count: 64))?repository_url=docker.io/library/debian&tag=12"),
        // podman: a local image, the bare hex id.
        ("localhost/chainwatch-xz:latest", String(repeating: "b", count: 64),
         "pkg:oci/chainwatch-xz@sha256%3A\(String(repeating: "b", count: 64))?repository_url=localhost/chainwatch-xz&tag=latest"),
        // A registry with a port, an upper-case name, no tag; CRI-O's image ref with the repository in front.
        ("registry.example:5000/Team/App", "registry.example:5000/team/app@sha256:" + String(repeating: "c", count: 64),
         "pkg:oci/app@sha256%3A\(String(repeating: "c", count: 64))?repository_url=registry.example%3A5000/Team/App"),
        // Docker Hub user image named by digest, no image id recorded.
        ("alice/tool@sha256:" + String(repeating: "d", count: 64), nil,
         "pkg:oci/tool@sha256%3A\(String(repeating: "d", count: 64))?repository_url=docker.io/alice/tool"),
    ] as [(String, String?, String)])
    func ociPurl(_ image: String, _ imageID: String?, _ expected: String) throws {
        let oci = OCIImage(image: image, imageID: imageID)
        #expect(oci.purl == expected)
        #expect(oci.purlMissing == nil)
    }

    /// No purl without an image name or without a digest (the oci type requires one), each with its reason.
    @Test func noPurlWithoutNameOrDigest() {
        #expect(OCIImage(image: nil, imageID: Self.webImageID).purl == nil)
        #expect(OCIImage(image: nil, imageID: Self.webImageID).purlMissing?.contains("no image name") == true)
        #expect(OCIImage(image: Self.webImageID, imageID: nil).purlMissing?.contains("no image name") == true)
        #expect(OCIImage(image: "debian:12", imageID: nil).purl == nil)
        #expect(OCIImage(image: "debian:12", imageID: "not-a-digest").purlMissing?.contains("no image digest") == true)
    }

    /// packageurl-python (in the validator's venv) reads each purl; returns its parts as a dictionary each.
    static func parsePurls(_ purls: [String]) throws -> [[String: Any]] {
        let venv = ProcessInfo.processInfo.environment["CHAINWATCH_VENV"] ?? "/var/tmp/chainwatch-cyclonedx-venv"
        let script = "import json,sys\nfrom packageurl import PackageURL\nprint(json.dumps([PackageURL.from_string(p).to_dict() for p in sys.argv[1:]]))"
        let result = try Support.run(venv + "/bin/python", ["-c", script] + purls)
        try #require(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    }
}
