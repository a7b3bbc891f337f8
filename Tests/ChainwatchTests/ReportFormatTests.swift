import Foundation
import Testing

/// The reports people and pipelines read (issue 22): the text report says each thing once, grouped by what is
/// wrong, with what to do; the JSON report has a format version, ids, hosts and times a pipeline can rely on, and
/// validates against the schema in docs/schema (with the jsonschema validator from PyPI, formats checked).
@Suite(.serialized) struct ReportFormatTests {
    static var schema: String { Support.packageRoot + "/docs/schema/report.schema.json" }

    /// Validates JSON documents against the report schema; returns the validator's output on failure.
    static func validate(_ documents: [String]) throws -> (Bool, String) {
        let directory = try Support.temporaryDirectory("schema")
        defer { Support.remove(directory) }
        var files: [String] = []
        for (index, document) in documents.enumerated() {
            let file = directory + "/report-\(index).json"
            try document.write(toFile: file, atomically: true, encoding: .utf8)
            files.append(file)
        }
        let result = try Support.run(Support.fixtures + "/cyclonedx-validate.sh", ["--schema", schema] + files)
        return (result.status == 0, result.stdout + result.stderr)
    }

    @Test func textReportSaysEachThingOnceWithWhatToDo() throws {
        let root = try Support.makeRoot(["--signature", "--version", "5.6.1-1"])
        defer { Support.remove(root + "/..") }
        let result = try Support.chainwatch(["--scan-now", "--rules", Support.rulesDirectory, "--root", root])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first?.hasPrefix("Verdict: FOUND 1 thing wrong") == true, "\(lines.prefix(2))")
        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", root])
        let hashes = Set(Support.findings(document).compactMap { ($0["evidence"] as? [String: Any])?["sha256"] as? String })
        #expect(!hashes.isEmpty)
        for hash in hashes {
            #expect(result.stdout.components(separatedBy: hash).count - 1 == 1, "\(hash) is printed more than once")
        }
        #expect(result.stdout.contains("what to do:"))
        #expect(result.stdout.contains("restart sshd"), "the package rule's advice")
        // The two chain rules say the same about the same library: one line, the other named beside it.
        #expect(result.stdout.contains("also says so: [xz-backdoor-chain-sshd-libsystemd-liblzma] critical"), "\(result.stdout)")
        #expect(lines.count < 60, "\(lines.count) lines")
        // A byte match says where: the offset of the planted prologue, as a plain search of the file finds it.
        let library = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1")))
        let prologue: [UInt8] = [0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xf5, 0x4c, 0x89, 0xce, 0x53]
        let at = try #require((0...(library.count - prologue.count)).first { Array(library[$0..<($0 + prologue.count)]) == prologue })
        #expect(result.stdout.contains("at offset 0x" + String(at, radix: 16)), "\(result.stdout)")
    }

    @Test func jsonReportsValidateAndCarryIdsSubjectsHostAndTime() throws {
        let planted = try Support.makeRoot(["--signature", "--version", "5.6.1-1"])
        let clean = try Support.makeRoot(["--host-liblzma"])
        defer { Support.remove(planted + "/.."); Support.remove(clean + "/..") }
        let (plantedResult, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", planted])
        let (cleanResult, _) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", clean])
        let (pathResult, paths) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--path", planted + "/usr/lib"])
        // Roots written by the real dpkg and rpm, and an OCI image with two layers.
        let dpkg = try Support.fixture("make-dpkg-root.sh")
        let rpm = try Support.fixture("make-rpm-root.sh")
        let image = try Support.fixture("make-image.sh", ["--keep"])
        defer { Support.remove(dpkg + "/.."); Support.remove(rpm + "/.."); Support.remove(image + "/..") }
        let (dpkgResult, _) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", dpkg])
        let (rpmResult, _) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", rpm])
        let (imageResult, imageDocument) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--image", image + "/oci"])
        let (valid, output) = try Self.validate([plantedResult.stdout, cleanResult.stdout, pathResult.stdout,
                                                 dpkgResult.stdout, rpmResult.stdout, imageResult.stdout])
        #expect(valid, "\(output)")
        let imageInput = (imageDocument["scan"] as? [String: Any])?["input"] as? [String: Any]
        #expect(imageInput?["kind"] as? String == "image" && imageInput?["image"] as? String == image + "/oci")

        #expect(document["format_version"] as? Int == 2)
        let scan = try #require(document["scan"] as? [String: Any])
        let host = scan["host"] as? [String: Any]
        let hostname = try String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(host?["hostname"] as? String == hostname)
        #expect((host?["machine_id"] as? String)?.count == 32)
        let started = try #require(scan["started_at"] as? String)
        #expect(ISO8601DateFormatter().date(from: started.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)) != nil, "\(started)")
        #expect((scan["input"] as? [String: Any])?["kind"] as? String == "root")
        // A --path scan says what it was given, and has no root.
        let pathScan = try #require(paths["scan"] as? [String: Any])
        #expect((pathScan["input"] as? [String: Any])?["paths"] as? [String] == [planted + "/usr/lib"])
        #expect(pathScan["root"] == nil)

        // Every finding is in exactly one subject; the package finding joins its library's subject.
        let findings = Support.findings(document)
        let subjects = try #require(document["subjects"] as? [[String: Any]])
        var owner: [String: String] = [:]
        for subject in subjects {
            for id in (subject["findings"] as? [String] ?? []) + (subject["restating"] as? [String] ?? []) {
                #expect(owner[id] == nil, "finding \(id) in two subjects")
                owner[id] = subject["id"] as? String
            }
        }
        for finding in findings {
            let id = try #require(finding["id"] as? String)
            #expect(owner[id] == finding["subject"] as? String, "\(finding["rule"] ?? "")")
            #expect(!(finding["references"] as? [String] ?? []).isEmpty || finding["kind"] as? String == "dependency-chain")
        }
        let library = try #require(subjects.first { ($0["path"] as? String)?.hasSuffix("liblzma.so.5.6.1") == true })
        let packageFinding = try #require(findings.first { $0["kind"] as? String == "package-version" })
        #expect(packageFinding["subject"] as? String == library["id"] as? String)
        #expect(packageFinding["tags"] as? [String] != nil)

        // Ids are stable across scans.
        let (_, again) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", planted])
        #expect(Set(Support.findings(again).compactMap { $0["id"] as? String }) == Set(findings.compactMap { $0["id"] as? String }))
    }
}

extension LiveSystemTests {
    @Suite struct HostReportSchemaTests {
        /// This host's report, with its processes, containers (if any run) and skips, fits the schema.
        @Test func hostReportValidatesAgainstTheSchema() throws {
            let (result, _) = try Support.scanJSON(["--rules", Support.rulesDirectory])
            let (valid, output) = try ReportFormatTests.validate([result.stdout])
            #expect(valid, "\(output)")
        }
    }
}
