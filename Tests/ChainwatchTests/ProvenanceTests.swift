import Crypto
import Foundation
import HostIO
import Probes
import Testing

/// Package integrity and provenance on roots whose package databases the real dpkg and rpm wrote, and the
/// CycloneDX SBOM, validated by cyclonedx-python-lib's strict 1.6 validator.
@Suite struct ProvenanceTests {
    /// Findings by rule id, each as the path its evidence names.
    static func paths(_ document: [String: Any], rule: String) -> Set<String> {
        Set(Support.findings(document).filter { $0["rule"] as? String == rule }
            .compactMap { ($0["evidence"] as? [String: Any])?["path"] as? String })
    }

    static func sbom(_ arguments: [String], rules: String = Support.rulesDirectory) throws -> (Support.Result, [String: Any]) {
        let result = try Support.chainwatch(["--scan-now", "--format", "cyclonedx", "--rules", rules] + arguments)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (result, try #require(object, "not JSON: \(result.stdout.prefix(300)) / \(result.stderr)"))
    }

    /// Validates with the real CycloneDX library (a venv the script creates once, from PyPI).
    static func validate(_ document: String, label: String) throws {
        let path = try Support.temporaryDirectory("cdx") + "/\(label).cdx.json"
        defer { Support.remove((path as NSString).deletingLastPathComponent) }
        try document.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try Support.run(Support.fixtures + "/cyclonedx-validate.sh", [path])
        #expect(result.status == 0, "\(label): \(result.stdout)\(result.stderr)")
    }

    /// Each file component's path and its chainwatch:integrity property.
    static func integrity(_ bom: [String: Any]) -> [String: String] {
        var result: [String: String] = [:]
        for component in bom["components"] as? [[String: Any]] ?? [] {
            guard let ref = component["bom-ref"] as? String, ref.hasPrefix("file:") else { continue }
            let properties = component["properties"] as? [[String: String]] ?? []
            if let value = properties.first(where: { $0["name"] == "chainwatch:integrity" })?["value"] {
                result[String(ref.dropFirst(5))] = value
            }
        }
        return result
    }

    /// A real shared library of this host to copy into places (the file, not the libz.so.1 symlink).
    static let zlib = URL(fileURLWithPath: "/usr/lib/x86_64-linux-gnu/libz.so.1").resolvingSymlinksInPath().path

    static let sshdRule = "provenance-sshd-library-not-from-package"
    static let modifiedRule = "provenance-modified-package-file"

    /// dpkg: a library changed after install is modified; an unowned library sshd loads is found; diverted files,
    /// the /lib alias of a merged /usr and a package whose .deb had no md5sums are not.
    @Test func dpkgRootWrittenByDpkg() throws {
        let root = try Support.fixture("make-dpkg-root.sh")
        defer { Support.remove(root + "/..") }
        let lib = "/usr/lib/x86_64-linux-gnu/"
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(Self.paths(document, rule: Self.sshdRule) == [lib + "libtampered.so.1", lib + "libunowned.so.1"])
        #expect(Self.paths(document, rule: Self.modifiedRule) == [lib + "libtampered.so.1"])
        let tampered = try #require(Support.findings(document).first { $0["rule"] as? String == Self.modifiedRule })
        let evidence = try #require(tampered["evidence"] as? [String: Any])
        #expect(evidence["package"] as? String == "libtampered1")
        #expect(evidence["integrity"] as? String == "modified")
        #expect((evidence["detail"] as? String)?.contains("recorded md5") == true)

        let (_, bom) = try Self.sbom(["--root", root])
        let verdicts = Self.integrity(bom)
        #expect(verdicts[lib + "libtampered.so.1"] == "modified")
        #expect(verdicts[lib + "libunowned.so.1"] == "unowned")
        for name in ["libclean.so.1", "libold.so.1", "libdiv.so.1", "libnosums.so.1"] {
            #expect(verdicts[lib + name] == "matches", "\(name): \(verdicts[lib + name] ?? "not in the SBOM")")
        }
        #expect(verdicts["/usr/sbin/sshd"] == "matches")

        // The same files through the probes: ownership by the diverting package, the original package's file at
        // the diversion's target, the admin's file at a local diversion.
        let confined = ConfinedRoot(root)
        let inventory = PackageDatabases.read(root: confined)
        #expect(inventory.owner(of: lib + "libdiv.so.1")?.name == "libdiv-override")
        #expect(inventory.owner(of: lib + "libdiv.so.1.distrib")?.name == "libdiv1")
        #expect(inventory.owner(of: "/usr/lib/openssh/ssh-session-cleanup") == nil)
        #expect(inventory.owner(of: lib + "libold.so.1")?.name == "libold1", "merged /usr: dpkg lists /lib/x86_64-linux-gnu")
        let paths = [lib + "libdiv.so.1", lib + "libdiv.so.1.distrib", "/usr/lib/openssh/ssh-session-cleanup",
                     "/usr/lib/openssh/ssh-session-cleanup.distrib"]
        let (recorded, problems) = PackageIntegrity.recordedDigests(for: paths, inventory: inventory, root: confined)
        #expect(problems.isEmpty)
        #expect(recorded["/usr/lib/openssh/ssh-session-cleanup"] == .locallyDiverted(to: "/usr/lib/openssh/ssh-session-cleanup.distrib"))
        for path in [lib + "libdiv.so.1", lib + "libdiv.so.1.distrib", "/usr/lib/openssh/ssh-session-cleanup.distrib"] {
            guard case .recorded(.md5, let hex, _, _)? = recorded[path] else {
                Issue.record("\(path): \(String(describing: recorded[path]))")
                continue
            }
            #expect(hex == (try Self.md5(root + path)), "\(path)")
        }
        try Self.agreesWithDebsums(root: root, verdicts: verdicts)
    }

    @Test func untouchedDpkgRootHasNoIntegrityFinding() throws {
        let root = try Support.fixture("make-dpkg-root.sh", ["--no-tamper"])
        defer { Support.remove(root + "/..") }
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(Self.paths(document, rule: Self.modifiedRule).isEmpty)
        #expect(Self.paths(document, rule: Self.sshdRule) == ["/usr/lib/x86_64-linux-gnu/libunowned.so.1"])
    }

    /// rpm: SHA-256 digests from FILEDIGESTS, MD5 where the header has no FILEDIGESTALGO; the SBOM of the root
    /// validates, names the rpm purls, sshd's dependencies and CVE-2024-3094 for the backdoored xz-libs.
    @Test func rpmRootInstalledByRpm() throws {
        let root = try Support.fixture("make-rpm-root.sh")
        defer { Support.remove(root + "/..") }
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(Self.paths(document, rule: Self.sshdRule) == ["/usr/lib64/libtampered.so.1", "/usr/lib64/libunowned.so.1"])
        #expect(Self.paths(document, rule: Self.modifiedRule) == ["/usr/lib64/libtampered.so.1"])

        let (sbomResult, bom) = try Self.sbom(["--root", root])
        try Self.validate(sbomResult.stdout, label: "rpm-root")
        let verdicts = Self.integrity(bom)
        #expect(verdicts["/usr/lib64/liboldmd5.so.1"] == "matches", "an MD5-digest package")
        #expect(verdicts["/usr/lib64/libclean.so.1"] == "matches")
        #expect(verdicts["/usr/lib64/libtampered.so.1"] == "modified")
        let refs = Set((bom["components"] as? [[String: Any]] ?? []).compactMap { $0["bom-ref"] as? String })
        #expect(refs.contains("pkg:rpm/fedora/xz-libs@5.6.1-1.fc40?arch=x86_64&distro=fedora-40"), "\(refs.sorted())")
        let vulnerability = try #require((bom["vulnerabilities"] as? [[String: Any]])?.first { $0["id"] as? String == "CVE-2024-3094" })
        let affected = Set((vulnerability["affects"] as? [[String: String]] ?? []).compactMap { $0["ref"] })
        #expect(affected.contains("pkg:rpm/fedora/xz-libs@5.6.1-1.fc40?arch=x86_64&distro=fedora-40"), "\(affected)")
    }

    /// The SBOM of a planted Debian root: sshd -> libsystemd -> liblzma in `dependencies`, the file -> package
    /// edge, and CVE-2024-3094 rated critical on the liblzma file and package. Two scans differ only in serial
    /// number and timestamp.
    @Test func sbomOfPlantedRootHasTheChainAndTheVulnerability() throws {
        let root = try Support.makeRoot(["--version", "5.6.1-1", "--signature"])
        defer { Support.remove(root + "/..") }
        let (result, bom) = try Self.sbom(["--root", root])
        #expect(result.status == 1, "exit status as for text and json")
        try Self.validate(result.stdout, label: "planted")
        #expect(bom["specVersion"] as? String == "1.6")
        let metadata = try #require(bom["metadata"] as? [String: Any])
        #expect((metadata["component"] as? [String: Any])?["type"] as? String == "operating-system")

        var graph: [String: [String]] = [:]
        for entry in bom["dependencies"] as? [[String: Any]] ?? [] {
            graph[entry["ref"] as? String ?? ""] = entry["dependsOn"] as? [String] ?? []
        }
        let lzma = "file:/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"
        let systemd = try #require(graph["file:/usr/sbin/sshd"]?.first { $0.contains("libsystemd.so") }, "\(graph)")
        #expect(graph[systemd]?.contains(lzma) == true)
        // make-root.sh writes no os-release, so the purl has no distro qualifier.
        let package = "pkg:deb/debian/liblzma5@5.6.1-1?arch=amd64&upstream=xz-utils"
        #expect(graph[lzma]?.contains(package) == true, "\(graph[lzma] ?? [])")

        let vulnerability = try #require((bom["vulnerabilities"] as? [[String: Any]])?.first { $0["id"] as? String == "CVE-2024-3094" })
        #expect((vulnerability["ratings"] as? [[String: Any]])?.first?["severity"] as? String == "critical")
        let affected = Set((vulnerability["affects"] as? [[String: String]] ?? []).compactMap { $0["ref"] })
        #expect(affected.isSuperset(of: [lzma, package]), "\(affected)")

        let (again, _) = try Self.sbom(["--root", root])
        let differing = zip(result.stdout.split(separator: "\n"), again.stdout.split(separator: "\n"))
            .filter { $0 != $1 }.map { String($0.0) }
        #expect(differing.allSatisfy { $0.contains("serialNumber") || $0.contains("timestamp") }, "\(differing)")
    }

    /// apk: `Z:Q1` + base64 SHA-1 per file, checked the same way.
    @Test(arguments: [false, true])
    func apkDigests(_ tamper: Bool) throws {
        let root = try Support.temporaryDirectory("apk")
        defer { Support.remove(root) }
        try FileManager.default.createDirectory(atPath: root + "/lib/apk/db", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/usr/lib", withIntermediateDirectories: true)
        let library = root + "/usr/lib/libexample.so.1"
        try FileManager.default.copyItem(atPath: ProvenanceTests.zlib, toPath: library)
        let base64 = Data(Insecure.SHA1.hash(data: try Data(contentsOf: URL(fileURLWithPath: library)))).base64EncodedString()
        try """
            C:Q1\(base64)
            P:example
            V:1.0-r0
            A:x86_64
            o:example
            F:usr/lib
            R:libexample.so.1
            Z:Q1\(base64)

            """.write(toFile: root + "/lib/apk/db/installed", atomically: true, encoding: .utf8)
        if tamper {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: library))
            try handle.seek(toOffset: 1000)
            try handle.write(contentsOf: Data([0x5a]))
            try handle.close()
        }
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        #expect(Self.paths(document, rule: Self.modifiedRule) == (tamper ? ["/usr/lib/libexample.so.1"] : []), "\(Support.findings(document))")
    }

    static func md5(_ path: String) throws -> String {
        String(try Support.run("/usr/bin/md5sum", [path]).stdout.prefix(32))
    }

    /// debsums, reading the same records, agrees with every verdict chainwatch gave a dpkg-owned file.
    static func agreesWithDebsums(root: String?, verdicts: [String: String]) throws {
        let checked = verdicts.filter { $0.value == "matches" || $0.value == "modified" }
        var arguments = ["-a"]
        if let root { arguments.append("--root=" + root) }
        let prefix = root ?? ""
        var debsums: [String: String] = [:]
        let listing = try Support.run("/usr/bin/debsums", arguments + Self.owners(root: root, paths: Array(checked.keys)))
        for line in listing.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2 else { continue }
            var path = String(fields[0])
            if !prefix.isEmpty, path.hasPrefix(prefix) { path = String(path.dropFirst(prefix.count)) }
            debsums[path] = String(fields.last!)
            // debsums prints the listed name; chainwatch the file's (merged /usr).
            if path.hasPrefix("/lib") || path.hasPrefix("/bin") || path.hasPrefix("/sbin") { debsums["/usr" + path] = String(fields.last!) }
        }
        for (path, verdict) in checked {
            guard let theirs = debsums[path] else {
                Issue.record("debsums did not check \(path)")
                continue
            }
            #expect((theirs == "OK") == (verdict == "matches"), "\(path): chainwatch \(verdict), debsums \(theirs)")
        }
    }

    /// The packages owning `paths`, by dpkg-query's database in `root`.
    static func owners(root: String?, paths: [String]) throws -> [String] {
        let inventory = PackageDatabases.read(root: ConfinedRoot(root ?? "/"))
        return Set(paths.compactMap { inventory.owner(of: $0).map { "\($0.name)" } }).sorted()
    }
}

extension LiveSystemTests {
/// Provenance on this host: every package file the scan reads matches its md5sums as debsums says, the SBOM of
/// the host validates, and a root process mapping code from /tmp is found where a user's process is not.
@Suite(.serialized) struct HostProvenanceTests {
    @Test func hostFilesMatchTheirPackagesAndTheSBOMValidates() throws {
        let (result, bom) = try ProvenanceTests.sbom([], rules: Support.hostRulesDirectory)
        #expect(result.status == 0, "\(result.stderr)")
        try ProvenanceTests.validate(result.stdout, label: "host")
        let verdicts = ProvenanceTests.integrity(bom)
        let modified = verdicts.filter { $0.value == "modified" }
        #expect(modified.isEmpty, "\(modified)")
        #expect(verdicts.values.filter { $0 == "matches" }.count > 50, "\(verdicts.count) files")
        try ProvenanceTests.agreesWithDebsums(root: nil, verdicts: verdicts)
        let refs = Set((bom["components"] as? [[String: Any]] ?? []).compactMap { $0["bom-ref"] as? String })
        // liblzma5 is built from xz-utils: the purl names the source package, as CVE feeds file it.
        #expect(refs.contains { $0.hasPrefix("pkg:deb/debian/liblzma5@") && $0.hasSuffix("?arch=amd64&distro=debian-12&upstream=xz-utils") })
    }

    /// A library in /tmp mapped by a process running as root is high; the same mapping in a process of
    /// `nobody` is not a finding of that rule.
    @Test func rootProcessMappingCodeFromTmp() throws {
        let work = try Support.temporaryDirectory("tmpcode")
        defer { Support.remove(work) }
        try #require(try Support.run(Support.fixtures + "/make-root.sh", ["--maps-lib", work + "/maps-lib"]).status == 0)
        let library = work + "/libdropped.so.1"
        try FileManager.default.copyItem(atPath: ProvenanceTests.zlib, toPath: library)
        let asRoot = try Support.Background(work + "/maps-lib", [library])
        defer { asRoot.stop() }
        #expect(asRoot.waitForLine() == "ready")
        let asNobody = try Support.Background("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                                                   work + "/maps-lib", library])
        defer { asNobody.stop() }
        #expect(asNobody.waitForLine() == "ready")

        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--no-library-dirs"])
        #expect(result.status == 1)
        let hits = Support.findings(document).filter {
            $0["rule"] as? String == "provenance-root-process-code-from-writable-place"
                && ($0["evidence"] as? [String: Any])?["path"] as? String == library
        }
        #expect(hits.count == 1, "\(Support.findings(document))")
        let evidence = try #require(hits.first?["evidence"] as? [String: Any])
        #expect(evidence["location"] as? String == "temporary")
        #expect(evidence["integrity"] as? String == "unowned")
        let detail = evidence["detail"] as? String ?? ""
        #expect(detail.contains("root's pid \(asRoot.pid)") && !detail.contains("\(asNobody.pid)"), "\(detail)")
    }
}
}

extension ProvenanceTests {
    /// A provenance rule's mistakes are errors naming the file, line and key, like every other kind's.
    @Test(arguments: [
        ("programs: [/usr/sbin/sshd]\n      owner: none", "rules.yaml:12: 'programs': '/usr/sbin/sshd': give program file names"),
        ("processes: everyone\n      owner: none", "rules.yaml:12: 'processes': 'everyone' must be one of root, all"),
        ("processes: root\n      integrity: [tampered]", "rules.yaml:13: 'integrity': 'tampered' must be one of matches, modified"),
        ("processes: root\n      location: [tmp]", "rules.yaml:13: 'location': 'tmp' must be one of system, usr-local"),
        ("processes: root\n      owner: nobody", "rules.yaml:13: 'owner': 'nobody': the only value is none"),
        ("owner: none", "'match': a provenance rule needs programs, processes (root or all) or library-directories"),
        ("processes: all", "'match': a provenance rule needs at least one of owner: none, integrity, location"),
        ("processes: all\n      deleted: true\n      owners: none", "rules.yaml:14: 'owners': unknown key"),
    ])
    func ruleErrors(_ match: String, _ expected: String) throws {
        let text = """
            chainwatch-rules: 1
            rules:
              - id: test-provenance
                title: t
                kind: provenance
                severity: high
                message-id: 00112233445566778899aabbccddeeff
                description: test
                references: []
                tags: []
                match:
                  \(match)
            """
        let (set, error) = try RuleLoaderTests.load(text)
        #expect(set == nil)
        #expect(error?.description.contains(expected) == true, "\(error?.description ?? "loaded")")
    }
}
