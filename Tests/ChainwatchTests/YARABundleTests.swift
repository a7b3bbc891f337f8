import Archive
import Crypto
import Foundation
import Testing
@testable import Daemon
@testable import Rules

extension FleetTests {
    /// Signed rule bundles cover YARA files: they are signed and installed with the YAML files, a changed byte in
    /// one is refused, and a correctly signed YARA file that does not compile is refused too.
    @Test func signedBundlesCoverYARAFiles() throws {
        let publisher = try Publisher()
        defer { Support.remove(publisher.work) }
        let rules = try YARATests.rulesDirectory(publisher.work + "/source", copying: YARATests.publicFiles + [
            Support.rulesDirectory + "/cve-2024-3094/packages.yaml",
        ])
        let good = try publisher.sign(rules, version: "2026.12.2")
        let installed = try publisher.install(good)
        #expect(installed.status == 0, "\(installed.stderr)")
        let loaded = try RuleLoader.load(from: [publisher.state + "/rules"])
        #expect(loaded.rules(of: .yara).count == 4)
        #expect(loaded.yara != nil)

        // A flipped byte in a YARA file: not the file the manifest signs.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        let marker = Array("author = \"Florian Roth\"".utf8)
        let at = try #require((0..<(bytes.count - marker.count)).first { Array(bytes[$0..<$0 + marker.count]) == marker })
        bytes[at + 10] = UInt8(ascii: "X")
        let flipped = publisher.work + "/flipped.bundle"
        try Data(bytes).write(to: URL(fileURLWithPath: flipped))
        let refused = try publisher.install(flipped)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("is not the file the manifest signs"), "\(refused.stderr)")

        // Correctly signed, but the YARA file does not compile (made by hand: --sign-rules refuses it).
        let broken = "rule broken {\n  condition:\n    nope\n}\n"
        let manifest = "{\"chainwatch-bundle\": 1, \"version\": \"2026.12.4\", \"files\": {\"broken.yar\": \""
            + SHA256.hash(data: Array(broken.utf8)).map { String(format: "%02x", $0) }.joined() + "\"}}"
        let keyText = try String(contentsOfFile: publisher.key, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: try #require(Data(base64Encoded: keyText)))
        let signature = try key.signature(for: Array(manifest.utf8)).base64EncodedString()
        let handmade = publisher.work + "/broken.bundle"
        try Data(try TarWriter.archive([("manifest.json", Array(manifest.utf8)), ("manifest.json.sig", Array(signature.utf8)),
                                        ("broken.yar", Array(broken.utf8))])).write(to: URL(fileURLWithPath: handmade))
        let invalid = try publisher.install(handmade)
        #expect(invalid.status == 2)
        #expect(invalid.stderr.contains("the bundle's rules do not validate"), "\(invalid.stderr)")
        #expect(invalid.stderr.contains("broken.yar:3: YARA:"), "\(invalid.stderr)")
        #expect(publisher.installed == "2026.12.2")
    }
}
