import Foundation
@testable import Engine
@testable import Probes
@testable import Reporting
import Testing

/// What nothing uses (issue 24, part 4): which packages ship code and whether anything in the target runs it, in
/// the text, JSON and CycloneDX reports, per target, and unknown when it cannot be known.
@Suite(.serialized) struct CodeInUseTests {
    static let lib = "/usr/lib/x86_64-linux-gnu/"

    @Test func codePathsAreSharedObjectsAndWhatLiesInBinDirectories() {
        let code = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/liblzma.so.5.4.1", "/usr/lib/libfoo.so",
                    "/usr/lib/python3/dist-packages/_cffi_backend.cpython-311-x86_64-linux-gnu.so",
                    "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", "/usr/bin/python3", "/sbin/ldconfig",
                    "/usr/libexec/git-core", "/usr/local/sbin/tool"]
        let notCode = ["/usr/share/gdb/auto-load/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30-gdb.py", "/usr/lib/foo.so.",
                       "/usr/lib/foo.sort", "/usr/lib/foo.so..1", "/usr/lib/foo.so1", "/usr/bin", "/usr/lib/bin/x/y",
                       "/usr/lib/openssh/sftp-server", "/etc/ld.so.conf", "/usr/share/doc/libc6/copyright", ".so", "/.so"]
        for path in code { #expect(CodePath.isCode(ArraySlice(path.utf8)), "\(path)") }
        for path in notCode { #expect(!CodePath.isCode(ArraySlice(path.utf8)), "\(path)") }
    }

    /// The packages of make-dpkg-root.sh's root by what sshd's graph reaches there: its NEEDED libclean,
    /// libtampered, libold (listed under /lib) and libdiv.so.1, which is libdiv-override's (the diverter); libdiv1's
    /// own library was diverted to libdiv.so.1.distrib, which nothing loads, and nothing loads libnosums.
    static let reached: Set<String> = ["openssh-server", "libclean1", "libtampered1", "libold1", "libdiv-override"]
    static let unreached: Set<String> = ["libdiv1", "libnosums1"]

    static func names(_ list: Any?) -> Set<String> {
        Set((list as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
    }

    static func codeInUse(_ document: [String: Any], target: Int = 0) throws -> [String: Any] {
        let targets = try #require(document["targets"] as? [[String: Any]])
        return try #require(targets[target]["code_in_use"] as? [String: Any], "\(targets[target])")
    }

    /// Each package component's chainwatch:code-in-use ("true", "false", or nil when absent), by name.
    static func sbomUse(_ components: [[String: Any]]) -> [String: String?] {
        var use: [String: String?] = [:]
        for component in components where (component["purl"] as? String)?.hasPrefix("pkg:deb/") == true {
            let properties = component["properties"] as? [[String: String]] ?? []
            use.updateValue(properties.first { $0["name"] == "chainwatch:code-in-use" }?["value"], forKey: component["name"] as? String ?? "")
        }
        return use
    }

    @Test func dpkgRootSaysWhatTheWalkedGraphReaches() throws {
        let root = try Support.fixture("make-dpkg-root.sh", ["--no-tamper"])
        defer { Support.remove(root + "/..") }
        let (result, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        let (valid, output) = try ReportFormatTests.validate([result.stdout])
        #expect(valid, "\(output)")
        let use = try Self.codeInUse(document)
        #expect(use["basis"] as? String == "graphs-only")
        #expect((use["notes"] as? [String])?.first?.contains("offline root runs nothing") == true, "\(use)")
        #expect(Self.names(use["in_use"]) == Self.reached)
        #expect(Self.names(use["unused"]) == Self.unreached)
        #expect(use["ship_code"] as? Int == 7)
        #expect(use["not_judged"] as? Int == 0)

        let text = try Support.chainwatch(["--scan-now", "--rules", Support.rulesDirectory, "--root", root])
        #expect(text.stdout.contains("code nothing uses: 2 of 7 packages that ship code: no walked program graph reaches their code"), "\(text.stdout)")
        #expect(text.stdout.contains("--verbose lists them"))
        #expect(!text.stdout.contains("libnosums1 1.0-1"))
        let verbose = try Support.chainwatch(["--scan-now", "--verbose", "--rules", Support.rulesDirectory, "--root", root])
        #expect(verbose.stdout.contains("\n      libdiv1 1.0-1\n      libnosums1 1.0-1\n"), "\(verbose.stdout)")

        let (sbomResult, bom) = try ProvenanceTests.sbom(["--root", root])
        try ProvenanceTests.validate(sbomResult.stdout, label: "code-in-use")
        let sbom = Self.sbomUse(bom["components"] as? [[String: Any]] ?? [])
        #expect(Set(sbom.filter { $0.value == "true" }.keys) == Self.reached)
        #expect(Set(sbom.filter { $0.value == "false" }.keys) == Self.unreached)
        let subject = ((bom["metadata"] as? [String: Any])?["component"] as? [String: Any])?["properties"] as? [[String: String]] ?? []
        #expect(subject.contains { $0["name"] == "chainwatch:code-in-use:basis" && $0["value"] == "graphs-only" })

        // The same root as an image (a docker-save archive of it): the same answer for the --image target.
        let archive = root + "/../image.tar"
        let packed = try Support.run("/usr/bin/python3", ["-c", Self.dockerArchive, root, archive])
        try #require(packed.status == 0, "\(packed.stderr)")
        let (_, image) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--image", archive])
        let imageUse = try Self.codeInUse(image)
        #expect((try #require(image["targets"] as? [[String: Any]]))[0]["label"] as? String == "image " + archive)
        #expect(imageUse["basis"] as? String == "graphs-only")
        #expect(Self.names(imageUse["in_use"]) == Self.reached)
        #expect(Self.names(imageUse["unused"]) == Self.unreached)

        // Without file lists nothing says which package ships which file: unknown, and no package called unused.
        for list in try FileManager.default.contentsOfDirectory(atPath: root + "/var/lib/dpkg/info") where list.hasSuffix(".list") {
            try FileManager.default.removeItem(atPath: root + "/var/lib/dpkg/info/" + list)
        }
        let (unknownResult, unknown) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        let (validUnknown, unknownOutput) = try ReportFormatTests.validate([unknownResult.stdout])
        #expect(validUnknown, "\(unknownOutput)")
        let unknownUse = try Self.codeInUse(unknown)
        #expect(unknownUse["basis"] as? String == "unknown")
        #expect(Self.names(unknownUse["unused"]).isEmpty && unknownUse["ship_code"] == nil)
        #expect((unknownUse["notes"] as? [String])?.first?.contains("no file lists") == true, "\(unknownUse)")
        let unknownText = try Support.chainwatch(["--scan-now", "--rules", Support.rulesDirectory, "--root", root])
        #expect(unknownText.stdout.contains("code nothing uses: unknown, no package is called unused here"), "\(unknownText.stdout)")
        let (_, unknownBOM) = try ProvenanceTests.sbom(["--root", root])
        #expect(Self.sbomUse(unknownBOM["components"] as? [[String: Any]] ?? []).values.allSatisfy { $0 == nil })
    }

    /// A docker-save archive of one layer holding the directory argv[1], written to argv[2].
    static let dockerArchive = """
        import hashlib, io, json, os, sys, tarfile
        root, out = sys.argv[1], sys.argv[2]
        layer = io.BytesIO()
        with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
            for name in sorted(os.listdir(root)):
                t.add(os.path.join(root, name), arcname=name)
        data = layer.getvalue()
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(data).hexdigest()]}}).encode()
        name = hashlib.sha256(config).hexdigest() + ".json"
        manifest = json.dumps([{"Config": name, "RepoTags": ["localhost/cw-code-in-use:test"], "Layers": ["layer.tar"]}]).encode()
        with tarfile.open(out, "w") as t:
            for member, content in [("layer.tar", data), (name, config), ("manifest.json", manifest)]:
                info = tarfile.TarInfo(member)
                info.size = len(content)
                t.addfile(info, io.BytesIO(content))
        """

    /// A container's packages are marked in its own nested components, and its component says on what basis.
    @Test func sbomMarksContainerPackagesToo() throws {
        var report = ContainerSBOMTests.report()
        let lzma = ContainerSBOMTests.package("liblzma5", "5.4.1-1"), ssh = ContainerSBOMTests.package("openssh-server", "1:9.2p1-2")
        report.targets[0].codeInUse = CodeInUse(basis: .processesAndGraphs, inUse: [lzma], unused: [ssh])
        report.targets[1].codeInUse = CodeInUse(basis: .processesAndGraphs, inUse: [ssh, lzma], unused: [])
        report.targets[2].codeInUse = CodeInUse(basis: .unknown, notes: ["its root could not be read"])
        let (_, bom) = try ContainerSBOMTests.render(report)
        let top = bom["components"] as? [[String: Any]] ?? []
        #expect(Self.sbomUse(top) == ["liblzma5": "true", "openssh-server": "false"])
        let web = try #require(top.first { $0["name"] as? String == "web" })
        #expect(Self.sbomUse(web["components"] as? [[String: Any]] ?? []) == ["liblzma5": "true", "openssh-server": "true", "libc6": nil])
        let stray = try #require(top.first { $0["bom-ref"] as? String == "container:" + ContainerSBOMTests.strayID })
        #expect(Self.sbomUse(stray["components"] as? [[String: Any]] ?? []) == ["liblzma5": nil])
        let strayProperties = stray["properties"] as? [[String: String]] ?? []
        #expect(strayProperties.contains { $0["name"] == "chainwatch:code-in-use:basis" && $0["value"] == "unknown" })
        #expect(strayProperties.contains { $0["name"] == "chainwatch:code-in-use:note" && $0["value"] == "its root could not be read" })
    }
}
