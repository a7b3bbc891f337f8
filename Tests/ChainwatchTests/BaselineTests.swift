import Crypto
import Foundation
import Testing
@testable import Daemon
@testable import Engine
import HostIO
@testable import Rules

/// Baselines and drift (issue 24, parts 1-2): a baseline written from roots the real dpkg and rpm wrote, the roots
/// changed the way admins and attackers change them, and exactly the drift findings each change makes; baselines
/// that must be refused; another tool's SBOM as a package baseline.
@Suite struct BaselineTests {
    /// The drift findings of a scan of `root` against `baseline`, as (rule, package or path, version, approved).
    static func drift(_ root: String, baseline: String) throws -> [(rule: String, subject: String, evidence: [String: Any])] {
        let (result, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--root", root, "--baseline", baseline])
        #expect([0, 1].contains(result.status), "\(result.stderr)")
        let scan = try #require(document["scan"] as? [String: Any])
        #expect((scan["baseline"] as? [String: Any])?["file"] as? String == baseline)
        return Support.findings(document).compactMap { finding in
            guard let rule = finding["rule"] as? String, rule.hasPrefix("baseline-"),
                  let evidence = finding["evidence"] as? [String: Any] else { return nil }
            return (rule, (evidence["path"] as? String) ?? (evidence["package"] as? String) ?? "", evidence)
        }.sorted { ($0.rule, $0.subject) < ($1.rule, $1.subject) }
    }

    static func writeBaseline(_ root: String, to path: String, _ extra: [String] = []) throws {
        let result = try Support.run(Support.builtBinary, ["scan", "--rules", Support.rulesDirectory, "--root", root, "--write-baseline", path] + extra)
        try #require([0, 1].contains(result.status), "\(result.stderr)")
        #expect(result.stderr.contains("wrote baseline"), "\(result.stderr)")
    }

    /// A fixture root (no tampering), the drift packages for it, and a baseline written from it, which it matches.
    static func approvedRoot(_ script: String, packages format: String) throws -> (root: String, packages: String, baseline: String) {
        let root = try Support.fixture(script, ["--no-tamper"])
        let packages = root + "/../drift", baseline = root + "/../baseline.json"
        try #require(try Support.run(Support.fixtures + "/make-drift-packages.sh", [packages, format]).status == 0)
        try writeBaseline(root, to: baseline)
        #expect(try drift(root, baseline: baseline).isEmpty, "an unchanged root has no drift")
        return (root, packages, baseline)
    }

    static func sha256(_ path: String) throws -> String {
        Array(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path)))).hex
    }

    /// A root dpkg wrote, a baseline of it, then each change in turn: a library rebuilt behind its package's back,
    /// a package upgraded with dpkg -i, a package added, a package removed. Each gives its own finding with the
    /// versions and hashes involved, and nothing else does.
    @Test func dpkgRootDriftIsEachChangeAndNothingElse() throws {
        let (root, packages, baseline) = try Self.approvedRoot("make-dpkg-root.sh", packages: "deb")
        defer { Support.remove(root + "/..") }

        // A library replaced by a rebuilt one: same package, same version, other bytes.
        let library = root + "/usr/lib/x86_64-linux-gnu/libclean.so.1"
        let approved = try Self.sha256(library)
        try FileManager.default.removeItem(atPath: library)
        try FileManager.default.copyItem(atPath: packages + "/libclean.so.1.rebuilt", toPath: library)
        let rebuilt = try Self.sha256(library)
        var found = try Self.drift(root, baseline: baseline)
        // Its bytes are approved nowhere and sshd's graph reaches it: sshd's next start would load it.
        #expect(found.map(\.rule) == ["baseline-package-file-changed", "baseline-unapproved-code-next-start"], "\(found.map(\.rule))")
        #expect(Set(found.map(\.subject)) == ["/usr/lib/x86_64-linux-gnu/libclean.so.1"])
        #expect(found.last?.evidence["chain"] as? [String] == ["/usr/sbin/sshd", "libclean.so.1"])
        #expect(found.first?.evidence["sha256"] as? String == rebuilt)
        #expect(found.first?.evidence["approved_sha256"] as? [String] == [approved])
        #expect(found.first?.evidence["package"] as? String == "libclean1")
        #expect(found.first?.evidence["version"] as? String == "1.0-1")

        // The same rebuilt library as an upgrade through dpkg: a new version, so not a changed file.
        let dpkg = ["--root=" + root, "--force-unsafe-io", "--log=/dev/null", "--path-include=*"]
        try #require(try Support.run("/usr/bin/dpkg", dpkg + ["-i", packages + "/libclean1_1.0-2_amd64.deb"]).status == 0)
        found = try Self.drift(root, baseline: baseline)
        #expect(found.map(\.rule) == ["baseline-package-version-changed", "baseline-unapproved-code-next-start"], "\(found.map(\.rule))")
        #expect(found.first?.evidence["package"] as? String == "libclean1")
        #expect(found.first?.evidence["version"] as? String == "1.0-2")
        #expect(found.first?.evidence["approved_versions"] as? [String] == ["1.0-1"])

        // A package added, and one removed.
        try #require(try Support.run("/usr/bin/dpkg", dpkg + ["-i", packages + "/libextra1_1.0-1_amd64.deb"]).status == 0)
        try #require(try Support.run("/usr/bin/dpkg", dpkg + ["-r", "libnosums1"]).status == 0)
        found = try Self.drift(root, baseline: baseline)
        #expect(found.map(\.rule) == ["baseline-package-added", "baseline-package-removed", "baseline-package-version-changed",
                                      "baseline-unapproved-code-next-start"],
                "\(found.map(\.rule))")
        let added = found.first { $0.rule == "baseline-package-added" }
        #expect(added?.evidence["package"] as? String == "libextra1")
        #expect(added?.evidence["version"] as? String == "1.0-1")
        let removed = found.first { $0.rule == "baseline-package-removed" }
        #expect(removed?.evidence["package"] as? String == "libnosums1")
        #expect(removed?.evidence["approved_versions"] as? [String] == ["1.0-1"])
        // The report with drift, and the baseline itself, are what their schemas say.
        let (report, _) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--root", root, "--baseline", baseline])
        let (valid, output) = try ReportFormatTests.validate([report.stdout])
        #expect(valid, "\(output)")
        try ProvenanceTests.validate(try String(contentsOfFile: baseline, encoding: .utf8), label: "baseline")

        // A new baseline approves the new state: no drift again.
        try Self.writeBaseline(root, to: baseline)
        #expect(try Self.drift(root, baseline: baseline).isEmpty)
        // Re-approving an unchanged root writes the same components: a diff of two baselines is what was approved.
        try Self.writeBaseline(root, to: baseline + ".again")
        func components(_ path: String) throws -> NSArray {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            return try #require(object?["components"] as? NSArray)
        }
        #expect(try components(baseline) == components(baseline + ".again"))

        // A root whose dpkg database is gone cannot be compared: unknown (exit 3), not every package removed.
        try FileManager.default.removeItem(atPath: root + "/var/lib/dpkg")
        let (gone, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--root", root, "--baseline", baseline])
        #expect(gone.status == 3, "\(gone.stdout.prefix(600))")
        let packageDrift = Support.findings(document).filter { ($0["rule"] as? String)?.hasPrefix("baseline-package") == true }
        #expect(packageDrift.isEmpty, "\(packageDrift)")
        let skips = (document["skipped"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(skips.contains { $0.contains("no debian package database found") && $0.contains("were not compared") }, "\(skips)")
    }

    /// The same with a root rpm wrote (rpmdb.sqlite) and rpm -U / rpm -i.
    @Test func rpmRootDriftIsEachChangeAndNothingElse() throws {
        let (root, packages, baseline) = try Self.approvedRoot("make-rpm-root.sh", packages: "rpm")
        defer { Support.remove(root + "/..") }

        let library = root + "/usr/lib64/libclean.so.1"
        let approved = try Self.sha256(library)
        let original = root + "/../libclean.so.1.original"
        try FileManager.default.copyItem(atPath: library, toPath: original)
        try FileManager.default.removeItem(atPath: library)
        try FileManager.default.copyItem(atPath: packages + "/libclean.so.1.rebuilt", toPath: library)
        var found = try Self.drift(root, baseline: baseline)
        #expect(found.map(\.rule) == ["baseline-package-file-changed", "baseline-unapproved-code-next-start"], "\(found.map(\.rule))")
        #expect(found.first?.evidence["version"] as? String == "1.0-1.fc40")
        #expect(found.first?.evidence["approved_sha256"] as? [String] == [approved])
        #expect(found.first?.evidence["sha256"] as? String == (try Self.sha256(library)))
        try FileManager.default.removeItem(atPath: library)
        try FileManager.default.copyItem(atPath: original, toPath: library)
        #expect(try Self.drift(root, baseline: baseline).isEmpty, "the approved bytes back: no drift")

        let rpm = ["--root", root, "--dbpath", "/var/lib/rpm", "--nodeps", "--noscripts"]
        try #require(try Support.run("/usr/bin/rpm", rpm + ["-U", packages + "/libclean-1.0-2.fc40.x86_64.rpm"]).status == 0)
        try #require(try Support.run("/usr/bin/rpm", rpm + ["-i", packages + "/libextra-1.0-1.fc40.x86_64.rpm"]).status == 0)
        try #require(try Support.run("/usr/bin/rpm", ["--root", root, "--dbpath", "/var/lib/rpm", "--nodeps", "--noscripts", "-e", "liboldmd5"]).status == 0)
        found = try Self.drift(root, baseline: baseline)
        #expect(found.map(\.rule) == ["baseline-package-added", "baseline-package-removed", "baseline-package-version-changed",
                                      "baseline-unapproved-code-next-start"],
                "\(found.map(\.rule))")
        let changed = found.first { $0.rule == "baseline-package-version-changed" }
        #expect(changed?.evidence["package"] as? String == "libclean")
        #expect(changed?.evidence["version"] as? String == "1.0-2.fc40")
        #expect(changed?.evidence["approved_versions"] as? [String] == ["1.0-1.fc40"])
        #expect(found.first { $0.rule == "baseline-package-added" }?.evidence["package"] as? String == "libextra")
        #expect(found.first { $0.rule == "baseline-package-removed" }?.evidence["package"] as? String == "liboldmd5")
    }

    /// An image is compared as its root is: paths are those inside the root, so a baseline of a tree approves the
    /// same tree as an image (unpacked in a private directory of its own each scan), and the other way round.
    @Test func anImageIsComparedAsItsRootIs() throws {
        let root = try Support.fixture("make-dpkg-root.sh", ["--no-tamper"])
        defer { Support.remove(root + "/..") }
        let work = root + "/.."
        let image = try Support.ociImage(of: root, in: work, tag: "drift")
        let fromRoot = work + "/root-baseline.json", fromImage = work + "/image-baseline.json"
        try Self.writeBaseline(root, to: fromRoot)
        let written = try Support.run(Support.builtBinary, ["scan", "--rules", Support.rulesDirectory, "--image", image, "--write-baseline", fromImage])
        try #require(written.stderr.contains("wrote baseline"), "\(written.stderr)")
        let (imageScan, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--image", image, "--baseline", fromRoot])
        #expect([0, 1].contains(imageScan.status), "\(imageScan.stderr)")
        let imageDrift = Support.findings(document).filter { ($0["rule"] as? String)?.hasPrefix("baseline-") == true }
        #expect(imageDrift.isEmpty, "\(imageDrift)")
        #expect(try Self.drift(root, baseline: fromImage).isEmpty)
        // And the image's own baseline notices the tree changed under it.
        let library = root + "/usr/lib/x86_64-linux-gnu/libclean.so.1"
        try FileManager.default.removeItem(atPath: library)
        try FileManager.default.copyItem(atPath: root + "/usr/lib/x86_64-linux-gnu/libold.so.1", toPath: library)
        #expect(try Self.drift(root, baseline: fromImage).map(\.rule) == ["baseline-package-file-changed"])
    }

    /// Another tool's SBOM (Syft's shape: deb purls with the epoch in the version, one without arch=, an npm
    /// package) is a package baseline: packages are compared, other ecosystems are noted, running code is not
    /// judged, and the report says both.
    @Test func anotherToolsSBOMIsAPackageBaseline() throws {
        let root = try Support.fixture("make-dpkg-root.sh", ["--no-tamper"])
        defer { Support.remove(root + "/..") }
        let sbom = root + "/../syft.json"
        let purls = [
            "pkg:deb/debian/libclean1@1.0-1?arch=amd64&distro=debian-12",
            "pkg:deb/debian/libtampered1@1.0-1?arch=amd64&distro=debian-12",
            "pkg:deb/debian/libold1@1.0-1",
            "pkg:deb/debian/libdiv1@1.0-1?arch=amd64",
            "pkg:deb/debian/libdiv-override@1.0-1?arch=amd64",
            "pkg:deb/debian/openssh-server@1%3A9.2p1-2%2Bdeb12u6?arch=amd64",
            "pkg:deb/debian/libgone@2.0-1?arch=amd64",
            "pkg:npm/left-pad@1.3.0",
        ]
        let components = purls.enumerated().map { index, purl in
            "{\"type\": \"library\", \"bom-ref\": \"ref-\(index)\", \"name\": \"p\(index)\", \"purl\": \"\(purl)\"}"
        }
        try """
            {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
             "metadata": {"tools": {"components": [{"type": "application", "name": "syft", "version": "1.0.0"}]}},
             "components": [\(components.joined(separator: ", "))]}
            """.write(toFile: sbom, atomically: true, encoding: .utf8)
        let (_, document) = try Support.scanBuiltJSON(["--rules", Support.rulesDirectory, "--root", root, "--baseline", sbom])
        let drift = Support.findings(document).filter { ($0["rule"] as? String)?.hasPrefix("baseline-") == true }
            .map { "\($0["rule"]!) \((($0["evidence"] as? [String: Any])?["package"] as? String) ?? "")" }.sorted()
        #expect(drift == ["baseline-package-added libnosums1", "baseline-package-removed libgone"], "\(drift)")
        let notes = (document["notes"] as? [String]) ?? []
        #expect(notes.contains { $0.contains("1 packages of other ecosystems (npm) not compared") }, "\(notes)")
        #expect(notes.contains { $0.contains("approves no code by SHA-256") }, "\(notes)")
        let scan = try #require(document["scan"] as? [String: Any])
        #expect((scan["baseline"] as? [String: Any])?["approves_code"] as? Bool == false)
    }

    // MARK: Refused baselines

    static func refusal(_ text: String, _ expected: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        do {
            _ = try BaselineDocument.read(Array(text.utf8), file: "b.json")
            Issue.record("accepted: \(text.prefix(200))", sourceLocation: sourceLocation)
        } catch {
            #expect(error.description.contains(expected), "\(error.description)", sourceLocation: sourceLocation)
            #expect(!error.hint.isEmpty, sourceLocation: sourceLocation)
        }
    }

    static let sha = String(repeating: "ab", count: 32)

    @Test func documentsThatAreRefused() {
        Self.refusal("not json at all", "not a CycloneDX JSON document")
        Self.refusal("[1, 2, 3]", "not a CycloneDX JSON document")
        Self.refusal(#"{"bomFormat": "SPDX", "specVersion": "1.6", "components": []}"#, "bomFormat is 'SPDX'")
        Self.refusal(#"{"bomFormat": "CycloneDX", "specVersion": "9.9", "components": []}"#, "specVersion '9.9'")
        Self.refusal(#"{"bomFormat": "CycloneDX", "specVersion": "1.6"}"#, "lists no components")
        Self.refusal(#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "operating-system", "name": "debian"}]}"#,
                     "no component is a package")
        // Duplicate components: one bom-ref twice.
        Self.refusal("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
              {"type": "library", "bom-ref": "x", "name": "a", "purl": "pkg:deb/debian/a@1"},
              {"type": "container", "bom-ref": "c", "name": "web", "components": [
                {"type": "library", "bom-ref": "x", "name": "b", "purl": "pkg:deb/debian/b@1"}]}]}
            """, "components[1].components[0] and components[0] have the same bom-ref 'x'")
        // A file without a hash approves nothing, and is said to.
        Self.refusal("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
              {"type": "file", "bom-ref": "f", "name": "liblzma.so.5", "evidence": {"occurrences": [{"location": "/usr/lib/liblzma.so.5"}]}}]}
            """, "components[0] 'liblzma.so.5' (bom-ref f): a file with no SHA-256 hash")
        Self.refusal("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
              {"type": "library", "name": "x.so", "hashes": [{"alg": "SHA-256", "content": "abc"}], "evidence": {"occurrences": [{"location": "/x.so"}]}}]}
            """, "is not 64 hex digits")
        Self.refusal("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "a", "purl": "pkg:deb/debian/a"}]}
            """, "package a has no version")
        Self.refusal("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "a", "purl": "not-a-purl"}]}
            """, "is not a package URL")
        // Nesting deeper than the decoder goes is an error, not a crash.
        let deep = String(repeating: #"{"type": "library", "name": "n", "components": ["#, count: 2000) + String(repeating: "]}", count: 2000)
        Self.refusal(#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ["# + deep + "]}", "not a CycloneDX JSON document")
    }

    /// Package drift the daemon tracks is not cleared by a scan that could not read the target's package database:
    /// unknown is not "removed since".
    @Test func packageDriftIsNotClearedWhenPackagesAreUnknown() throws {
        let rule = try #require(try RuleLoader.load(from: [Support.rulesDirectory]).rules.first { $0.id == "baseline-package-added" })
        var finding = Finding(rule: rule, evidence: Evidence(package: "libextra1", version: "1.0-1"))
        finding.target = ScanTarget(kind: .host)
        var state = AlertState()
        #expect(AlertPlanner.plan(&state, findings: [finding], now: 0, reminder: 1000).map(\.name) == ["new"])
        var report = ScanReport(scanID: "s", root: "/", startedAt: 0, findings: [], skipped: [], notes: [],
                                statistics: ScanStatistics(), programs: [])
        report.packagesUnknown = ["host"]
        #expect(AlertPlanner.plan(&state, findings: [], unexamined: report.incompleteSubjects, now: 10, reminder: 1000).isEmpty)
        #expect(AlertPlanner.plan(&state, findings: [], now: 20, reminder: 1000).map(\.name) == ["cleared"])
    }

    /// Versions as the SBOMs of other tools write them: Trivy's deb purls carry the epoch as a qualifier; an empty
    /// qualifier is no qualifier.
    @Test func purlsAsOtherToolsWriteThem() throws {
        let trivy = try #require(PackageURLText("pkg:deb/debian/openssh-server@9.2p1-2%2Bdeb12u6?arch=amd64&distro=debian-12&epoch=1"))
        #expect(trivy.version(fallback: nil) == "1:9.2p1-2+deb12u6")
        let syft = try #require(PackageURLText("pkg:deb/debian/openssh-server@1%3A9.2p1-2%2Bdeb12u6?arch=amd64&epoch=1"))
        #expect(syft.version(fallback: nil) == "1:9.2p1-2+deb12u6")
        let empty = try #require(PackageURLText("pkg:rpm/fedora/bash@5.2-1?arch=&epoch=0"))
        #expect(empty.qualifiers["arch"] == nil && empty.version(fallback: nil) == "5.2-1")
        #expect(BaselineDriftMatcher.sameVersion("0:5.2-1", "5.2-1"))
        #expect(!BaselineDriftMatcher.sameVersion("1.0", "1.00"), "an approval is of one exact version")
    }

    @Test func aGoodDocumentReadsAsItsSections() throws {
        let text = """
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
              {"type": "library", "bom-ref": "p", "name": "liblzma5", "version": "5.4.1-1", "purl": "pkg:deb/debian/liblzma5@5.4.1-1?arch=amd64"},
              {"type": "library", "bom-ref": "k", "name": "kernel", "purl": "pkg:rpm/fedora/kernel@6.1-1?arch=x86_64&epoch=2"},
              {"type": "library", "bom-ref": "f", "name": "liblzma.so.5.4.1", "hashes": [{"alg": "SHA-256", "content": "\(Self.sha.uppercased())"}],
               "evidence": {"occurrences": [{"location": "/usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1"}]},
               "properties": [{"name": "chainwatch:package", "value": "p"}]},
              {"type": "container", "bom-ref": "c", "name": "web", "properties": [{"name": "chainwatch:container:key", "value": "container:name:web"}],
               "components": [{"type": "library", "bom-ref": "c/p", "name": "musl", "purl": "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"}]}]}
            """
        let baseline = try BaselineDocument.read(Array(text.utf8), file: "b.json")
        let xz = BaselinePackageKey(ecosystem: .debian, name: "liblzma5", architecture: "amd64")
        #expect(baseline.primary.packages[xz] == ["5.4.1-1"])
        #expect(baseline.primary.packages[BaselinePackageKey(ecosystem: .rpm, name: "kernel", architecture: "x86_64")] == ["2:6.1-1"])
        #expect(baseline.primary.files["/usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1"] == [Self.sha])
        #expect(baseline.primary.owners["/usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1"]?.key == xz)
        #expect(baseline.approvedHashes == [Self.sha])
        #expect(baseline.containers["container:name:web"]?.packages[BaselinePackageKey(ecosystem: .alpine, name: "musl", architecture: "x86_64")] == ["1.2.4-r2"])
        #expect(baseline.containers["container:name:web"]?.packages[xz] == nil, "a container's packages are its own")
        #expect(baseline.primary.packages.count == 2)
    }

    /// Signatures: one made with a trusted key verifies and names it; an untrusted key, bytes changed after
    /// signing, a signature that is not one, and no signature where one is required are refused; on the command
    /// line a refusal is exit 2 with the reason.
    @Test func signaturesAreVerifiedAgainstTrustedKeys() throws {
        let work = try Support.temporaryDirectory("baseline-keys")
        defer { Support.remove(work) }
        let keys = work + "/keys", other = work + "/other"
        for directory in [keys, other] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try RuleBundle.generateKey(at: directory + "/signer")
        }
        // Only keys' public key is trusted.
        try FileManager.default.moveItem(atPath: keys + "/signer.pub", toPath: keys + "/publisher.pub")
        let document = """
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "bom-ref": "a", "name": "a", "purl": "pkg:deb/debian/a@1"}]}

            """
        let path = work + "/baseline.json"
        try BaselineFile.write(document, to: path, signingKey: keys + "/signer")
        #expect(try BaselineFile.load(path, keysDirectory: keys).signer == "publisher.pub")
        // Unsigned: accepted unless a signature is required.
        try BaselineFile.write(document, to: path, signingKey: nil)
        #expect(!FileManager.default.fileExists(atPath: path + ".sig"), "an old signature is removed with the baseline it signed")
        #expect(try BaselineFile.load(path, keysDirectory: keys).signer == nil)
        #expect(throws: BaselineError.self) { try BaselineFile.load(path, keysDirectory: keys, requireSignature: true) }
        let unsigned = try Support.run(Support.builtBinary, ["scan", "--rules", Support.rulesDirectory, "--root", work,
                                                            "--baseline", path, "--keys", keys, "--require-signed-baseline"])
        #expect(unsigned.status == 2)
        #expect(unsigned.stderr.contains("has no signature"), "\(unsigned.stderr)")
        // Signed by a key nobody trusts.
        try BaselineFile.write(document, to: path, signingKey: other + "/signer")
        #expect(throws: BaselineError.self) { try BaselineFile.load(path, keysDirectory: keys) }
        let untrusted = try Support.run(Support.builtBinary, ["scan", "--rules", Support.rulesDirectory, "--root", work,
                                                              "--baseline", path, "--keys", keys])
        #expect(untrusted.status == 2)
        #expect(untrusted.stderr.contains("does not verify with any key in \(keys)"), "\(untrusted.stderr)")
        // Changed after signing.
        try BaselineFile.write(document, to: path, signingKey: keys + "/signer")
        try document.replacingOccurrences(of: "a@1", with: "a@2").write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: BaselineError.self) { try BaselineFile.load(path, keysDirectory: keys) }
        // Not a signature.
        try "bm90IGEgc2lnbmF0dXJl\n".write(toFile: path + ".sig", atomically: true, encoding: .utf8)
        do { _ = try BaselineFile.load(path, keysDirectory: keys); Issue.record("a garbage signature was accepted") } catch {
            #expect(error.description.contains("not a base64 Ed25519 signature"), "\(error)")
        }
    }

    /// The daemon's baseline: a signed baseline older than the one in force is a replay and is refused (the newer
    /// one stays); a newer one is taken, and the journal says so; an unchanged file is not read again.
    @Test func theDaemonRefusesAnOlderSignedBaseline() throws {
        let work = try Support.temporaryDirectory("baseline-replay")
        defer { Support.remove(work) }
        try RuleBundle.generateKey(at: work + "/signer")
        try FileManager.default.createDirectory(atPath: work + "/keys", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: work + "/signer.pub", toPath: work + "/keys/signer.pub")
        let path = work + "/baseline.json"
        func write(_ timestamp: String, version: String) throws {
            try BaselineFile.write("""
                {"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": {"timestamp": "\(timestamp)"},
                 "components": [{"type": "library", "bom-ref": "a", "name": "a", "purl": "pkg:deb/debian/a@\(version)"}]}

                """, to: path, signingKey: work + "/signer")
        }
        try write("2026-12-07T10:00:00Z", version: "2")
        var configuration = DaemonConfiguration()
        configuration.baseline = path
        configuration.keysDirectory = work + "/keys"
        var watch = BaselineWatch(configuration: configuration, initial: try BaselineFile.load(path, keysDirectory: work + "/keys"))
        #expect(watch.refresh().isEmpty, "the same baseline read again announces nothing")
        #expect(watch.refresh().isEmpty, "an unchanged file is not read again")

        try write("2026-11-01T10:00:00Z", version: "1")
        let refused = watch.refresh()
        #expect(refused.first?.contains { $0.name == "MESSAGE_ID" && $0.value == JournalEntries.baselineErrorMessageID } == true)
        #expect(refused.first?.contains { $0.name == "CHAINWATCH_BASELINE_ERROR" && $0.value.contains("before the baseline in force") } == true, "\(refused)")
        #expect(watch.current?.timestamp == "2026-12-07T10:00:00Z")
        #expect(watch.refresh().isEmpty, "a refused file is reported once")

        try write("2026-12-08T10:00:00Z", version: "3")
        let loaded = watch.refresh()
        #expect(loaded.first?.contains { $0.name == "CHAINWATCH_DAEMON" && $0.value == "baseline-loaded" } == true, "\(loaded)")
        #expect(watch.current?.timestamp == "2026-12-08T10:00:00Z")
    }

    /// Files a baseline must not be read from: too large (refused by its size, before a read), writable by others,
    /// missing.
    @Test func filesThatAreRefused() throws {
        let work = try Support.temporaryDirectory("baseline-files")
        defer { Support.remove(work) }
        let huge = work + "/huge.json"
        #expect(FileManager.default.createFile(atPath: huge, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: huge))
        try handle.truncate(atOffset: UInt64(BaselineDocument.maximumSize) + 1)   // sparse
        try handle.close()
        do { _ = try BaselineFile.load(huge); Issue.record("a huge baseline was read") } catch {
            #expect(error.description.contains("more than the 64 MiB"), "\(error)")
        }
        let writable = work + "/writable.json"
        try "{}".write(toFile: writable, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: writable)
        do { _ = try BaselineFile.load(writable); Issue.record("a world-writable baseline was read") } catch {
            #expect(error.description.contains("writable by group or others"), "\(error)")
        }
        let missing = try Support.run(Support.builtBinary, ["scan", "--rules", Support.rulesDirectory, "--root", work, "--baseline", work + "/none.json"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("none.json: could not be read"), "\(missing.stderr)")
        let notJSON = work + "/text.json"
        try "hello\n".write(toFile: notJSON, atomically: true, encoding: .utf8)
        let refused = try Support.run(Support.builtBinary, ["scan", "--rules", Support.rulesDirectory, "--root", work, "--baseline", notJSON])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("not a CycloneDX JSON document"), "\(refused.stderr)")
    }
}
