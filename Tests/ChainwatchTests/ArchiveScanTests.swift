import Foundation
import Testing

/// `--path` over build inputs and artifacts (source tarballs in every compression, nested; .deb by dpkg-deb; .rpm
/// by rpmbuild in every payload compression) and `--image` over OCI layouts, OCI archives and docker-save tars
/// (umoci and skopeo), all built at test time from benign fixtures.
@Suite struct ArchiveScanTests {
    /// Findings as (rule, path) pairs.
    static func hits(_ document: [String: Any]) -> Set<String> {
        Set(Support.findings(document).map { finding in
            "\(finding["rule"] as? String ?? "") \((finding["evidence"] as? [String: Any])?["path"] as? String ?? "")"
        })
    }

    @Test func buildInputsAndPackagesAreScannedMemberByMember() throws {
        let out = try Support.fixture("make-archives.sh")
        defer { Support.remove(out + "/..") }
        let (result, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--path", out])
        #expect(result.status == 1, "\(result.stderr)")
        let hits = Self.hits(document)
        let signature = "xz-backdoor-sig-openwall-detect-sh"
        for deb in ["liblzma5_5.6.1-1_amd64.deb!data.tar.xz", "liblzma5_5.6.1-1_amd64-gzip.deb!data.tar.gz",
                    "liblzma5_5.6.1-1_amd64-zstd.deb!data.tar.zst", "liblzma5_5.6.1-1_amd64-none.deb!data.tar"] {
            #expect(hits.contains("\(signature) \(out)/\(deb)!./usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"), "\(deb): \(hits.sorted())")
        }
        for rpm in ["", "-zstd", "-xz", "-bzip2"] {
            #expect(hits.contains("\(signature) \(out)/xz-libs-5.6.1-1.fc40.x86_64\(rpm).rpm!./usr/lib64/liblzma.so.5.6.1"), "rpm\(rpm)")
        }
        // The tarball's m4 and test file, in every compression and nested inside another archive: by name, and
        // renamed notes.txt (an archive is known by its first bytes).
        for tarball in ["xz-5.6.1.tar", "xz-5.6.1.tar.gz", "xz-5.6.1.tar.xz", "xz-5.6.1.tar.bz2", "xz-5.6.1.tar.zst",
                        "xz-5.6.1.zip", "xz-5.6.1-nested.tar.gz!dist/xz-5.6.1.tar.xz", "xz-5.6.1-renamed.tar!notes.txt"] {
            let members = hits.filter { $0.contains("\(out)/\(tarball)!") }
            #expect(members.contains { $0.hasSuffix("!xz-5.6.1/m4/build-to-host.m4") }, "\(tarball): \(members.sorted())")
            #expect(members.contains { $0.hasSuffix("!xz-5.6.1/configure") }, "\(tarball)")
            #expect(members.contains { $0.hasSuffix("!xz-5.6.1/tests/files/bad-3-corrupt_lzma2.xz") }, "\(tarball)")
        }
        #expect(!hits.contains { $0.contains("/clean/") }, "\(hits.filter { $0.contains("/clean/") }.sorted())")

        // The JSON archive chain of a nested member.
        let nested = try #require(Support.findings(document).first {
            (($0["evidence"] as? [String: Any])?["path"] as? String)?.hasSuffix("nested.tar.gz!dist/xz-5.6.1.tar.xz!xz-5.6.1/configure") == true
        })
        let chain = (nested["evidence"] as? [String: Any])?["archive"] as? [String]
        #expect(chain == [out + "/xz-5.6.1-nested.tar.gz", "dist/xz-5.6.1.tar.xz", "xz-5.6.1/configure"])

        let clean = try Support.run(Support.builtBinary, ["--scan-now", "--rules", Support.rulesDirectory, "--path", out + "/clean"])
        #expect(clean.status == 0, "\(clean.stdout)")
    }

    /// A file with several names in a cpio (newc, by cpio), an rpm payload (rpmbuild) and a tar: cpio and rpm store
    /// the bytes with the last name only, tar with the first (the others are links to it). Every name is read with
    /// the file's bytes, so the signature library is found under each; the clean counterparts stay clean. Before,
    /// hard-link members were passed over: the rpm's liblzma.so.5.6.1 (its bytes) was never read at all.
    @Test func everyNameOfAHardLinkedMemberIsReadWithItsBytes() throws {
        let out = try Support.fixture("make-archives.sh")
        defer { Support.remove(out + "/..") }
        let signature = "xz-backdoor-sig-openwall-detect-sh"
        let directory = "usr/lib/x86_64-linux-gnu/"
        let expected: [(String, [String])] = [
            ("liblzma-hardlinks.cpio", [directory + "liblzma.so.5.6.1", directory + "liblzma.so.5", directory + "liblzma.so.5.6.1.bak"]),
            ("liblzma-hardlinks.tar", [directory + "liblzma.so.5.6.1", directory + "liblzma.so.5", directory + "liblzma.so.5.6.1.bak"]),
            ("xz-libs-5.6.1-1.fc40.x86_64-hardlink.rpm", ["./usr/lib64/liblzma.so.5.6.1", "./usr/lib64/liblzma.so.5"]),
        ]
        for (archive, names) in expected {
            let (result, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--path", out + "/" + archive])
            #expect(result.status == 1, "\(archive): \(result.stderr)")
            let hits = Self.hits(document)
            for name in names {
                #expect(hits.contains("\(signature) \(out)/\(archive)!\(name)"), "\(archive)!\(name): \(hits.sorted())")
            }
            #expect(Support.skips(document).isEmpty && (document["notes"] as? [String] ?? []).isEmpty,
                    "\(archive): \(Support.skips(document)) \(document["notes"] ?? [])")
        }
        let host = try #require(try FileManager.default.contentsOfDirectory(atPath: out + "/clean").first { $0.hasSuffix("-hardlink.rpm") })
        for archive in ["liblzma-hardlinks.cpio", "liblzma-hardlinks.tar", host] {
            let (result, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--path", out + "/clean/" + archive])
            #expect(result.status == 0, "clean/\(archive): \(Self.hits(document).sorted()) \(Support.skips(document))")
            let statistics = (document["scan"] as? [String: Any])?["statistics"] as? [String: Any]
            // The archive and each name of the library.
            #expect(statistics?["files_read"] as? Int == (archive == host ? 3 : 4), "clean/\(archive): \(String(describing: statistics))")
        }
    }

    /// Each image format and layering: a later layer that keeps the signature liblzma (found, with the package),
    /// whites it out or hides its directory (clean).
    @Test(arguments: ["--keep", "--whiteout", "--opaque"])
    func images(_ mode: String) throws {
        let out = try Support.fixture("make-image.sh", [mode])
        defer { Support.remove(out + "/..") }
        for (input, format) in [("oci", "oci-layout"), ("image-oci.tar", "oci-archive"), ("image-docker.tar", "docker-archive")] {
            let (result, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--image", out + "/" + input])
            let rules = Set(Support.findings(document).compactMap { $0["rule"] as? String })
            let image = (document["scan"] as? [String: Any])?["image"] as? [String: Any]
            #expect(image?["format"] as? String == format, "\(input): \(String(describing: image)) \(result.stderr)")
            #expect((image?["digest"] as? String)?.hasPrefix("sha256:") == true)
            #expect(image?["layers"] as? Int == 2)
            if mode == "--keep" {
                #expect(result.status == 1, "\(input): \(result.stderr)")
                #expect(rules.isSuperset(of: ["xz-backdoor-pkg-debian", "xz-backdoor-sig-openwall-detect-sh"]), "\(input): \(rules.sorted())")
                let paths = Support.findings(document).compactMap { ($0["evidence"] as? [String: Any])?["path"] as? String }
                #expect(paths.contains("/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1"), "paths inside the image: \(paths)")
            } else {
                #expect(result.status == 0, "\(input) \(mode): \(rules.sorted()) \(result.stderr)")
                #expect(!rules.contains("xz-backdoor-sig-openwall-detect-sh"))
            }
            if format == "docker-archive" {
                #expect((image?["name"] as? String)?.hasPrefix("docker.io/chainwatch/xz-fixture:") == true)
            }
        }
    }

    /// A layer whose blob does not match its digest is refused: an altered image is not scanned as if it were fine.
    @Test func alteredLayerIsRefused() throws {
        let out = try Support.fixture("make-image.sh", ["--keep"])
        defer { Support.remove(out + "/..") }
        let blobs = out + "/oci/blobs/sha256"
        let manifest = try #require(try FileManager.default.contentsOfDirectory(atPath: blobs).first { name in
            let text = (try? String(contentsOfFile: blobs + "/" + name, encoding: .utf8)) ?? ""
            return text.contains("\"layers\"")
        })
        let layers = try #require((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: blobs + "/" + manifest))) as? [String: Any])?["layers"] as? [[String: Any]])
        let digest = try #require(layers.last?["digest"] as? String)
        let path = blobs + "/" + digest.dropFirst("sha256:".count)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes.append(contentsOf: [0, 0, 0, 0])
        try FileManager.default.removeItem(atPath: path)
        try bytes.write(to: URL(fileURLWithPath: path))
        let result = try Support.run(Support.builtBinary, ["--scan-now", "--rules", Support.rulesDirectory, "--image", out + "/oci"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("not its digest"), "\(result.stderr)")
    }
}

extension ArchiveScanTests {
    /// strace of an image scan: every file created, written, renamed or removed is inside the private temporary
    /// directory under $TMPDIR, which is gone afterwards, and nothing is executed.
    @Test func imageScanWritesOnlyItsTemporaryDirectory() throws {
        let out = try Support.fixture("make-image.sh", ["--whiteout"])
        defer { Support.remove(out + "/..") }
        let temporary = try Support.temporaryDirectory("imgtmp")
        defer { Support.remove(temporary) }
        let log = temporary + ".strace"
        defer { Support.remove(log) }
        let result = try Support.run("/usr/bin/strace", [
            "-f", "-qq", "-o", log, "-e", "trace=execve,open,openat,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,symlink,symlinkat,link,linkat,chmod,fchmodat",
            Support.builtBinary, "--scan-now", "--rules", Support.rulesDirectory, "--image", out + "/image-docker.tar",
        ], environment: ["TMPDIR": temporary, "PATH": "/usr/bin:/bin"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.filter { $0.contains("execve(") }.count == 1, "only chainwatch itself is executed")
        let writing = lines.filter { line in
            (line.contains("open") && (line.contains("O_WRONLY") || line.contains("O_RDWR") || line.contains("O_CREAT")))
                || ["rename", "unlink", "mkdir", "symlink", "link(", "linkat(", "chmod"].contains { line.contains($0 + (($0.hasSuffix("(")) ? "" : "")) }
        }.filter { !$0.contains("= -1 ENOENT") || $0.contains("O_CREAT") }
        #expect(!writing.isEmpty, "the image was unpacked somewhere")
        for line in writing {
            let quoted = line.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            for path in quoted where path.hasPrefix("/") {
                #expect(path.hasPrefix(temporary + "/chainwatch-image."), "\(line)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty, "the unpacked image is removed")
    }
}

extension ArchiveScanTests {
    /// `--path` relative to the working directory, as a person types it: the file is read and its finding named by
    /// its absolute path (it was reported "gone before it could be read" before files were opened by absolute path).
    @Test func aRelativePathIsReadFromTheWorkingDirectory() throws {
        let root = try Support.makeRoot(["--signature"])
        defer { Support.remove(root) }
        // The file itself, not the liblzma.so.5 symlink (--path follows none).
        let directory = "usr/lib/x86_64-linux-gnu"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: root + "/" + directory).first {
            $0.hasPrefix("liblzma.so.") && (try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/" + directory + "/" + $0)) == nil
        })
        let library = directory + "/" + name
        let result = try Support.run("/bin/sh", ["-c", "cd \"$1\" && exec \"$2\" --scan-now --format json --rules \"$3\" --path \"$4\"",
                                                 "sh", root, Support.builtBinary, Support.rulesDirectory, library])
        #expect(result.status == 1, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let paths = Set(Support.findings(document).compactMap { ($0["evidence"] as? [String: Any])?["path"] as? String })
        #expect(paths.contains(root + "/" + library), "\(paths.sorted())")
        #expect((document["skipped"] as? [Any])?.isEmpty == true, "\(document["skipped"] ?? [])")
    }
}
