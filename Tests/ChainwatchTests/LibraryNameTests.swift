import Foundation
import Testing

/// A liblzma is recognised by what it is, not by what its file is called: installed under another file name, with
/// another SONAME, or saved at rest under an unrelated name (make-root.sh --lib-file / --lib-soname). The roots use
/// liblzma5 5.4.1-1, a version no package rule flags, so every severity seen here comes from the file itself.
@Suite struct LibraryNameTests {
    static let renamed = "libcrcaccel.so.1"
    static let signatureRule = "xz-backdoor-sig-openwall-detect-sh"
    static let ifuncRule = "xz-backdoor-elf-liblzma-ifunc"
    static let chainRule = "xz-backdoor-chain-sshd-libsystemd-liblzma"
    static let multiarch = "/usr/lib/x86_64-linux-gnu"

    /// Builds a root with `options`, lets `prepare` change it, scans it offline with the shipped rules.
    static func scan(_ options: [String], prepare: (String) throws -> Void = { _ in })
        throws -> (result: Support.Result, findings: [[String: Any]]) {
        let root = try Support.makeRoot(["--version", "5.4.1-1"] + options)
        defer { Support.remove(root + "/..") }
        try prepare(root)
        let (result, document) = try Support.scanJSON(["--root", root, "--rules", Support.rulesDirectory, "--no-processes"])
        return (result, Support.findings(document))
    }

    static func evidence(_ finding: [String: Any]) -> [String: Any] { finding["evidence"] as? [String: Any] ?? [:] }

    static func path(_ finding: [String: Any]) -> String { evidence(finding)["path"] as? String ?? "" }

    static func rule(_ finding: [String: Any]) -> String { finding["rule"] as? String ?? "" }

    static func first(_ findings: [[String: Any]], rule: String, pathSuffix: String) -> [String: Any]? {
        findings.first { Self.rule($0) == rule && path($0).hasSuffix(pathSuffix) }
    }

    /// One line per finding, for failure messages.
    static func describe(_ findings: [[String: Any]]) -> String {
        findings.map { "\(rule($0)) \($0["kind"] as? String ?? "?") \($0["severity"] as? String ?? "?") \(path($0))" }
            .joined(separator: "\n")
    }

    /// liblzma.so.5 -> libcrcaccel.so.1, whose SONAME is liblzma.so.5: the name rules see it by is liblzma.so.5.
    @Test func liblzmaUnderAnotherFileNameIsStillLiblzma() throws {
        let (result, findings) = try Self.scan(["--signature", "--lib-file", Self.renamed])
        #expect(result.status == 1, "\(result.stderr)")
        let suffix = "/" + Self.renamed

        let signature = try #require(Self.first(findings, rule: Self.signatureRule, pathSuffix: suffix),
                                     "no \(Self.signatureRule) for \(Self.renamed):\n\(Self.describe(findings))")
        #expect(signature["kind"] as? String == "byte-signature")
        #expect(signature["severity"] as? String == "critical")

        let ifunc = try #require(Self.first(findings, rule: Self.ifuncRule, pathSuffix: suffix),
                                 "no \(Self.ifuncRule) for \(Self.renamed):\n\(Self.describe(findings))")
        #expect(ifunc["kind"] as? String == "elf-feature")
        #expect(Self.evidence(ifunc)["matched_name"] as? String == "liblzma.so.5", "\(Self.evidence(ifunc))")

        // sshd -> libsystemd.so.0 -> liblzma.so.5 reaches the renamed file, and its signature raises the chain.
        let chain = try #require(findings.first { Self.rule($0) == Self.chainRule },
                                 "no \(Self.chainRule):\n\(Self.describe(findings))")
        #expect(chain["kind"] as? String == "dependency-chain")
        #expect(chain["severity"] as? String == "critical", "the chain to a library with a signature is escalated")
        #expect(Self.path(chain).hasSuffix(suffix), "\(Self.evidence(chain))")
        #expect(Self.evidence(chain)["chain"] as? [String] == ["/usr/sbin/sshd", "libsystemd.so.0", "liblzma.so.5"])
    }

    /// SONAME, file name and libsystemd's DT_NEEDED are all libcrcaccel.so.1: no name says liblzma, the bytes do.
    @Test func liblzmaWithAnotherSonameIsFoundByItsBytes() throws {
        let (result, findings) = try Self.scan(["--signature", "--lib-soname", Self.renamed])
        #expect(result.status == 1, "the signature is above info:\n\(Self.describe(findings))\n\(result.stderr)")
        let suffix = "/" + Self.renamed

        let signature = try #require(Self.first(findings, rule: Self.signatureRule, pathSuffix: suffix),
                                     "no \(Self.signatureRule) for \(Self.renamed):\n\(Self.describe(findings))")
        #expect(signature["kind"] as? String == "byte-signature")
        #expect(signature["severity"] as? String == "critical")
        #expect((Self.evidence(signature)["sha256"] as? String)?.count == 64)

        // Name-based rules keep to their names: none of this file's names matches liblzma.so*.
        let byName = findings.filter { $0["kind"] as? String == "elf-feature" && Self.path($0).hasSuffix(suffix) }
        #expect(byName.isEmpty, "\(Self.describe(byName))")
    }

    /// Signatures run on every ELF file whatever its name; without the pattern in the root, none may fire.
    @Test(arguments: ["--lib-file", "--lib-soname"])
    func noSignatureNoByteFindingWhateverTheName(_ option: String) throws {
        let (result, findings) = try Self.scan([option, Self.renamed])
        let bytes = findings.filter { $0["kind"] as? String == "byte-signature" }
        #expect(bytes.isEmpty, "false positive:\n\(Self.describe(bytes))")
        if option == "--lib-file" {
            // The IFUNC finding (medium) is still there, and alone it does not raise the chain: the escalation in
            // liblzmaUnderAnotherFileNameIsStillLiblzma comes from the signature.
            #expect(Self.first(findings, rule: Self.ifuncRule, pathSuffix: "/" + Self.renamed) != nil,
                    "\(Self.describe(findings))")
            let chain = try #require(findings.first { Self.rule($0) == Self.chainRule }, "\(Self.describe(findings))")
            #expect(chain["severity"] as? String == "info")
            #expect(result.status == 1, "the IFUNC finding is medium")
        } else {
            #expect(result.status == 0, "nothing above info expected:\n\(Self.describe(findings))\n\(result.stderr)")
        }
    }

    /// A copy of the backdoored library saved at rest as libfoo.so.2 (its SONAME still liblzma.so.5, nothing
    /// links to it): found by its bytes, besides the original.
    @Test func signatureCopyAtRestUnderAnUnrelatedName() throws {
        let (result, findings) = try Self.scan(["--signature"]) { root in
            try FileManager.default.copyItem(atPath: root + Self.multiarch + "/liblzma.so.5.6.1",
                                             toPath: root + Self.multiarch + "/libfoo.so.2")
        }
        #expect(result.status == 1, "\(result.stderr)")
        let copy = try #require(Self.first(findings, rule: Self.signatureRule, pathSuffix: "/libfoo.so.2"),
                                "the copy was not flagged:\n\(Self.describe(findings))")
        #expect(copy["kind"] as? String == "byte-signature")
        // Its SONAME, read from the file, is one of its names: the liblzma.so* IFUNC rule applies to it too.
        let ifunc = try #require(Self.first(findings, rule: Self.ifuncRule, pathSuffix: "/libfoo.so.2"),
                                 "the copy's SONAME was not matched:\n\(Self.describe(findings))")
        #expect(Self.evidence(ifunc)["matched_name"] as? String == "liblzma.so.5")
        #expect(Self.first(findings, rule: Self.signatureRule, pathSuffix: "/liblzma.so.5.6.1") != nil,
                "the original is still flagged:\n\(Self.describe(findings))")
    }
}
