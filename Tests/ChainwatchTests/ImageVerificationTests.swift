import Foundation
import Testing
@testable import Engine

/// `--image` verified and applied as a runtime would (issue 21): every blob against its digest (SHA-256 and
/// SHA-512), docker save layers against the config's diff_ids, this host's platform chosen from an index, parent
/// symlinks resolved inside the image, unpack space checked, deep trees removed. Images are built by umoci, skopeo
/// and make-image.sh, then altered the way an attacker would (Tests/Fixtures/make-image-attacks.sh).
@Suite(.serialized) struct ImageVerificationTests {
    /// The chainwatch built beside this test bundle, whatever scratch path built both.
    static let binary: String = {
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let candidate = URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("chainwatch").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : Support.binary
    }()

    /// Builds a case of make-image-attacks.sh; returns its OUTDIR (remove `out + "/.."`).
    static func attack(_ name: String, _ options: [String] = []) throws -> String {
        try Support.fixture("make-image-attacks.sh", [name] + options)
    }

    /// info.txt of a case as key -> value.
    static func info(_ out: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for line in try String(contentsOfFile: out + "/info.txt", encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    /// A one-shot JSON scan with the shipped rules; `temporary` becomes its TMPDIR.
    static func scan(_ arguments: [String], temporary: String? = nil) throws -> (Support.Result, [String: Any]?) {
        var environment = ["PATH": "/usr/bin:/bin"]
        if let temporary { environment["TMPDIR"] = temporary }
        let result = try Support.run(binary, ["--scan-now", "--format", "json", "--rules", Support.rulesDirectory] + arguments,
                                     environment: environment)
        return (result, try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    static func findings(_ document: [String: Any]?) -> Set<String> {
        Set(Support.findings(document ?? [:]).map { finding in
            "\(finding["rule"] as? String ?? "") \((finding["evidence"] as? [String: Any])?["path"] as? String ?? "")"
        })
    }

    static func image(_ document: [String: Any]?) -> [String: Any] {
        ((document?["scan"] as? [String: Any])?["image"] as? [String: Any]) ?? [:]
    }

    static func skipped(_ document: [String: Any]?) -> [[String: Any]] {
        document?["skipped"] as? [[String: Any]] ?? []
    }

    static let signature = "xz-backdoor-sig-openwall-detect-sh"

    /// A refused image: exit 2, no report on stdout, the error naming `fragments`.
    static func expectRefused(_ result: Support.Result, _ fragments: [String], _ label: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 2, "\(label): exit \(result.status); \(result.stderr) \(result.stdout.prefix(300))", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(label): a report was printed for an image that was not scanned", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(result.stderr.contains(fragment), "\(label): '\(fragment)' not in: \(result.stderr)", sourceLocation: sourceLocation)
        }
    }
}

// MARK: every blob checked against its digest

extension ImageVerificationTests {
    /// The manifest blob rewritten in place to drop layer 1 (the one with the backdoor), its file name (the digest
    /// index.json names) kept: read unchecked, the image scans clean; checked, the scan stops and names the blob.
    @Test func aManifestThatIsNotItsDigestStopsTheScan() throws {
        let out = try Self.attack("tampered-manifest")
        defer { Support.remove(out + "/..") }
        let digest = try #require(try Self.info(out)["manifest"])
        let (result, _) = try Self.scan(["--image", out + "/oci"])
        Self.expectRefused(result, ["blob \(digest): the blob's SHA-256 is sha256:", "not its digest \(digest)"], "tampered manifest")
    }

    /// The config blob altered in place ("amd64" to "arm64", same size): it was never read; now it is checked.
    @Test func aConfigThatIsNotItsDigestStopsTheScan() throws {
        let out = try Self.attack("tampered-config")
        defer { Support.remove(out + "/..") }
        let digest = try #require(try Self.info(out)["config"])
        let (result, _) = try Self.scan(["--image", out + "/oci"])
        Self.expectRefused(result, ["the config of manifest", "blob \(digest)", "not its digest"], "tampered config")
    }

    /// index.json -> a nested index blob -> the manifest; the nested index altered in place.
    @Test func aNestedIndexThatIsNotItsDigestStopsTheScan() throws {
        let out = try Self.attack("tampered-index")
        defer { Support.remove(out + "/..") }
        let digest = try #require(try Self.info(out)["index"])
        let (result, _) = try Self.scan(["--image", out + "/oci"])
        Self.expectRefused(result, ["listed in index.json, blob \(digest)", "not its digest"], "tampered nested index")
    }

    /// Blobs addressed by SHA-512: the valid image is scanned (flagged); a layer replaced by a benign one (which
    /// an unchecked read scans as clean) and a manifest rewritten in place are refused, naming SHA-512.
    @Test func sha512BlobsAreChecked() throws {
        let out = try Self.attack("sha512")
        defer { Support.remove(out + "/..") }
        let info = try Self.info(out)
        let (good, document) = try Self.scan(["--image", out + "/oci"])
        #expect(good.status == 1, "\(good.stderr)")
        #expect(Self.findings(document).contains("\(Self.signature) /usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"), "\(Self.findings(document).sorted())")
        #expect(Self.image(document)["digest"] as? String == info["manifest"])

        let layer = try #require(info["layer1"])
        let (badLayer, _) = try Self.scan(["--image", out + "/oci-bad-layer"])
        Self.expectRefused(badLayer, ["layer 1 (\(layer)): the blob's SHA-512 is sha512:", "not its digest"], "sha512 layer")
        let (badManifest, _) = try Self.scan(["--image", out + "/oci-bad-manifest"])
        Self.expectRefused(badManifest, ["blob \(info["manifest"] ?? "?"): the blob's SHA-512 is sha512:"], "sha512 manifest")
    }
}

// MARK: docker save layers against diff_ids

extension ImageVerificationTests {
    /// skopeo's docker-archive with layer 1's `<diffid>.tar` replaced by a benign tar (name kept): no digest is in
    /// its path, so only the config's diff_ids can tell; and with the config's diff_id edited to match, the config
    /// is no longer the image ID its file name says.
    @Test func dockerSaveLayersAreCheckedAgainstTheConfigsDiffIDs() throws {
        let out = try Self.attack("docker-diffid")
        defer { Support.remove(out + "/..") }
        let info = try Self.info(out)
        let diffID = try #require(info["layer1_diff_id"])
        let (badLayer, _) = try Self.scan(["--image", out + "/bad-layer.tar"])
        Self.expectRefused(badLayer, ["layer 1 (/", "not its diff_id in the config \(diffID)"], "docker layer")
        let config = try #require(info["config"])
        let (badConfig, _) = try Self.scan(["--image", out + "/bad-config.tar"])
        Self.expectRefused(badConfig, ["config \(config): the blob's SHA-256 is", "not its digest sha256:\(config.dropLast(5))"], "docker config")
    }
}

// MARK: the platform a runtime here would run

extension ImageVerificationTests {
    /// A clean image listed first with no platform, the flagged linux/amd64 one second: the amd64 one is scanned,
    /// from a flat index.json and from a nested index alike.
    @Test(arguments: ["oci", "oci-nested"])
    func aPlatformlessDecoyListedFirstIsNotChosen(_ layout: String) throws {
        let out = try Self.attack("decoy")
        defer { Support.remove(out + "/..") }
        let info = try Self.info(out)
        let (result, document) = try Self.scan(["--image", out + "/" + layout])
        #expect(result.status == 1, "\(layout): \(result.stderr)")
        #expect(Self.findings(document).contains("\(Self.signature) /usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"), "\(layout)")
        #expect(Self.image(document)["digest"] as? String == info["real"], "\(layout): \(Self.image(document))")
        #expect(Self.image(document)["platform"] as? String == "linux/amd64")
    }

    /// An index for linux/arm64, linux/s390x and a platform named with an escape sequence: none is this host's, so
    /// the scan stops and lists them (escaped); `--platform linux/arm64` scans that one.
    @Test func noManifestForThisPlatformIsAnErrorListingThoseThereAre() throws {
        let out = try Self.attack("foreign")
        defer { Support.remove(out + "/..") }
        let (result, _) = try Self.scan(["--image", out + "/oci"])
        Self.expectRefused(result, ["no manifest for this host's platform, linux/amd64", "linux/arm64/v8", "linux/s390x",
                                    "linux/evil\\x1b[2j", "--platform"], "foreign")
        #expect(!result.stderr.contains("\u{1b}"), "an escape sequence from the image reached stderr")

        let (chosen, document) = try Self.scan(["--image", out + "/oci", "--platform", "linux/arm64"])
        #expect(chosen.status == 1, "\(chosen.stderr)")
        #expect(Self.image(document)["platform"] as? String == "linux/arm64/v8")
        #expect(Self.findings(document).contains("\(Self.signature) /usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"))

        let (missing, _) = try Self.scan(["--image", out + "/oci", "--platform", "linux/riscv64"])
        Self.expectRefused(missing, ["no manifest for linux/riscv64", "linux/arm64/v8"], "--platform linux/riscv64")
        let (malformed, _) = try Self.scan(["--image", out + "/oci", "--platform", "arm64"])
        #expect(malformed.status == 2 && malformed.stderr.contains("not OS/ARCH[/VARIANT]"), "\(malformed.stderr)")
        let (alone, _) = try Self.scan(["--platform", "linux/amd64"])
        #expect(alone.status == 2 && alone.stderr.contains("give --image too"), "\(alone.stderr)")
    }

    /// `uname -m` names map to the names indexes use (containerd's), and this host's platform is its own.
    @Test func machineNamesMapToOCIArchitectures() throws {
        let cases: [(String, String, String?)] = [
            ("x86_64", "amd64", nil), ("aarch64", "arm64", "v8"), ("armv7l", "arm", "v7"), ("armv6l", "arm", "v6"),
            ("i686", "386", nil), ("ppc64le", "ppc64le", nil), ("s390x", "s390x", nil), ("riscv64", "riscv64", nil),
        ]
        for (machine, architecture, variant) in cases {
            let platform = ImagePlatform(os: "linux", architecture: machine)
            #expect(platform.architecture == architecture && platform.variant == variant, "\(machine): \(platform)")
        }
        let machine = try Support.run("/usr/bin/uname", ["-m"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(ImagePlatform.host == ImagePlatform(os: "linux", architecture: machine))
        if machine == "x86_64" { #expect(ImagePlatform.host.description == "linux/amd64") }
        // arm/v7 runs v6 code, not v8; arm64 with no variant is v8.
        let arm7 = try #require(ImagePlatform("linux/arm/v7"))
        #expect(arm7.rank(try #require(ImagePlatform("linux/arm/v6"))) != nil)
        #expect(arm7.rank(try #require(ImagePlatform("linux/arm/v8"))) == nil)
        #expect(ImagePlatform("linux/arm64") == ImagePlatform("linux/arm64/v8"))
        #expect(ImagePlatform("linux") == nil && ImagePlatform("linux/amd64/v3/x") == nil && ImagePlatform("linux//v3") == nil)
    }
}

// MARK: layers applied as a runtime applies them

extension ImageVerificationTests {
    /// Layer 1 has `l -> usr/lib/x86_64-linux-gnu`, layer 2 writes `l/liblzma.so.5` (the signature liblzma): it
    /// lands in the loader's directory, where sshd's chain loads it, as under a runtime. Symlinks to a directory
    /// outside (absolute, and climbing with ..) are resolved inside the image: nothing is written outside.
    @Test func aLayerWritesThroughAnEarlierLayersSymlinkInsideTheImage() throws {
        let outside = try Support.temporaryDirectory("outside")
        defer { Support.remove(outside) }
        let out = try Self.attack("symlink-parent", ["--outside", outside])
        defer { Support.remove(out + "/..") }
        let (result, document) = try Self.scan(["--image", out + "/oci"])
        #expect(result.status == 1, "\(result.stderr)")
        let findings = Self.findings(document)
        #expect(findings.contains("\(Self.signature) /usr/lib/x86_64-linux-gnu/liblzma.so.5"), "\(findings.sorted())")
        #expect(!findings.contains { $0.contains(" /l/") }, "the symlink l was replaced by a directory: \(findings.sorted())")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "written through a symlink out of the image")
    }
}

// MARK: unpack space

extension ImageVerificationTests {
    /// A 2 MiB tmpfs as TMPDIR: layer 1's filler library fills it, so layer 2's signature liblzma cannot be
    /// unpacked. That is INCOMPLETE (exit 3) with a skip naming the library, not a note and exit 0; and the OCI
    /// archive of the same image (which must be extracted whole first) is refused before anything is written.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aFullTemporaryDirectoryLeavesTheScanIncomplete() throws {
        let out = try Self.attack("full-tmp")
        defer { Support.remove(out + "/..") }
        for (size, input) in [("2m", "oci"), ("1m", "image-oci.tar")] {
            let temporary = try Support.temporaryDirectory("tmpfs")
            defer { Support.remove(temporary) }
            let mount = try Support.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", temporary])
            try #require(mount.status == 0, "\(mount.stderr)")
            defer { _ = try? Support.run("/usr/bin/umount", [temporary]) }
            let (result, document) = try Self.scan(["--image", out + "/" + input], temporary: temporary)
            if input == "oci" {
                #expect(result.status == 3, "\(result.stderr) \(result.stdout.prefix(2000))")
                let verdict = document?["verdict"] as? [String: Any]
                #expect(verdict?["result"] as? String == "incomplete", "\(String(describing: verdict))")
                let lzma = Self.skipped(document).first { ($0["subject"] as? String)?.hasSuffix("usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1") == true }
                #expect(lzma?["code"] as? String == "limit", "\(Self.skipped(document))")
                #expect((lzma?["reason"] as? String)?.contains("has no room left") == true, "\(String(describing: lzma))")
                #expect((lzma?["subject"] as? String)?.hasPrefix("layer 2 (sha256:") == true, "\(String(describing: lzma))")
            } else {
                Self.expectRefused(result, ["needs 2088960 bytes in \(temporary), which has", "Set TMPDIR"], "archive in 1 MiB")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty, "\(input): the unpack directory is left")
        }
    }
}

// MARK: deep trees

extension ImageVerificationTests {
    /// A layer with 3,000 nested directories (6,000 bytes of path) and an ELF at the bottom: the image is scanned
    /// (its signature liblzma found), what lies past PATH_MAX is reported as not unpacked, and nothing of the
    /// unpack is left in TMPDIR.
    @Test func aThreeThousandDeepDirectoryLeavesNothingBehind() throws {
        let out = try Self.attack("deep")
        defer { Support.remove(out + "/..") }
        let temporary = try Support.temporaryDirectory("deep")
        defer { Support.remove(temporary) }
        let (result, document) = try Self.scan(["--image", out + "/oci"], temporary: temporary)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(Self.findings(document).contains("\(Self.signature) /usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"))
        let deep = Self.skipped(document).first { ($0["subject"] as? String)?.hasSuffix("/d/libdeep.so.1") == true }
        #expect((deep?["reason"] as? String)?.contains("longer than PATH_MAX") == true, "\(Self.skipped(document).map { $0["reason"] ?? "" })")
        let notes = document?["notes"] as? [String] ?? []
        #expect(notes.contains { $0.contains("directories and symlinks of the image were not created") }, "\(notes)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty, "the unpack directory is left in TMPDIR")
    }

    /// The removal itself, on a tree deeper than PATH_MAX built with openat (as libarchive can write one): 3,000
    /// levels, files at several depths, a symlink to a directory outside (removed, its target kept) and a directory
    /// without permissions: all gone.
    @Test func removalTakesATreeOfAnyDepth() throws {
        let parent = try Support.temporaryDirectory("removal")
        defer { Support.remove(parent) }
        let keep = parent + "/keep"
        try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: false)
        try Data("kept".utf8).write(to: URL(fileURLWithPath: keep + "/file"))
        let tree = parent + "/tree"
        let made = try Support.run("/usr/bin/python3", ["-c", """
            import os, sys
            tree, keep = sys.argv[1], sys.argv[2]
            os.mkdir(tree)
            fd = os.open(tree, os.O_RDONLY)
            for depth in range(3000):
                os.mkdir("d", dir_fd=fd)
                if depth % 500 == 0:
                    f = os.open("lib%d.so" % depth, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                    os.write(f, b"\\x7fELF"); os.close(f)
                    os.symlink(keep, "outside", dir_fd=fd)
                    os.mkdir("locked", 0o000, dir_fd=fd)
                child = os.open("d", os.O_RDONLY, dir_fd=fd)
                os.close(fd); fd = child
            """, tree, keep])
        try #require(made.status == 0, "\(made.stderr)")
        try ImageSyscall.removeTree(tree)
        #expect(!FileManager.default.fileExists(atPath: tree))
        #expect(try String(contentsOfFile: keep + "/file", encoding: .utf8) == "kept", "a symlink's target was removed")
    }
}
