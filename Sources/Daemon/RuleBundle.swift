import Archive
import Crypto
import FoundationEssentials
import HostIO
import Rules

/// Signed rule bundles: a tar of rule files, a manifest naming each file's SHA-256 and the bundle's version, and
/// an Ed25519 signature of the manifest. Installing one changes the rules in force only if the signature verifies
/// against a trusted key, every file is the one the manifest names, every rule validates and the version is not
/// older than the installed one; then in one rename. Anything else leaves the installed rules as they were.
public enum RuleBundle {
    public static let manifestName = "manifest.json"
    public static let signatureName = "manifest.json.sig"
    /// Trusted public keys: one base64 Ed25519 public key (32 bytes) per *.pub file.
    public static let defaultKeysDirectory = "/etc/chainwatch/keys"
    static let maximumBundleSize = 32 << 20
    static let maximumFiles = 10_000

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// What an install did.
    public struct Installed: Sendable {
        public var version: String
        public var files: Int
        public var rules: Int
        public var directory: String
        public var previousVersion: String?
    }

    struct Manifest: Codable {
        var chainwatchBundle: Int
        var version: String
        var files: [String: String]

        enum CodingKeys: String, CodingKey {
            case chainwatchBundle = "chainwatch-bundle", version, files
        }
    }

    // MARK: Keys

    /// A new signing key: the private key (base64, mode 0600) at `path` and its public key at `path.pub`.
    public static func generateKey(at path: String) throws {
        let key = Curve25519.Signing.PrivateKey()
        try OwnFiles.write(Array((key.rawRepresentation.base64EncodedString() + "\n").utf8), to: path, permissions: 0o600)
        try OwnFiles.write(Array((key.publicKey.rawRepresentation.base64EncodedString() + "\n").utf8), to: path + ".pub", permissions: 0o644)
    }

    static func decodeKey(_ text: String, file: String) throws -> Data {
        guard let data = Data(base64Encoded: text.trimmingWhitespace()), data.count == 32 else {
            throw Failure("\(file): not a base64 Ed25519 key (32 bytes)")
        }
        return data
    }

    // MARK: Signing

    /// A bundle of the rule files under `directory` (*.yaml, *.yml, *.yar, *.yara, *.md), signed with the private key at
    /// `keyPath`. The rules must validate first: a bundle is never made of rules that would not load.
    public static func sign(directory: String, keyPath: String, version: String) throws -> [UInt8] {
        guard Version(version) != nil else { throw Failure("version '\(version)' must be numbers separated by dots, e.g. 2026.12.1") }
        do { _ = try RuleLoader.load(from: [directory]) } catch {
            throw Failure("the rules in \(directory) do not validate:\n\(error)")
        }
        let key = try Curve25519.Signing.PrivateKey(
            rawRepresentation: try decodeKey(try FileSystem.readText(keyPath, limit: 4096), file: keyPath))
        var files: [(name: String, bytes: [UInt8])] = []
        func collect(_ relative: String) throws {
            let path = relative.isEmpty ? directory : directory + "/" + relative
            for entry in try FileSystem.directoryEntries(path) where !entry.hasPrefix(".") {
                let name = relative.isEmpty ? entry : relative + "/" + entry
                let status = try FileSystem.linkStatus(directory + "/" + name)
                if status.kind == .directory { try collect(name); continue }
                guard status.isRegular, [".yaml", ".yml", ".yar", ".yara", ".md"].contains(where: entry.hasSuffix) else { continue }
                files.append((name, try FileSystem.readBytes(directory + "/" + name, limit: Int64(maximumBundleSize))))
            }
        }
        try collect("")
        let manifest = Manifest(chainwatchBundle: 1, version: version, files: Dictionary(uniqueKeysWithValues: files.map {
            ($0.name, SHA256.hash(data: $0.bytes).hex)
        }))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let manifestBytes = [UInt8](try encoder.encode(manifest))
        let signature = try key.signature(for: manifestBytes)
        return try TarWriter.archive([(manifestName, manifestBytes), (signatureName, Array((signature.base64EncodedString() + "\n").utf8))] + files)
    }

    // MARK: Installing

    /// Installs the bundle at `path` into `stateDirectory/rules` (a symlink to `bundles/VERSION.XXXXXX`, replaced
    /// by one rename), after every check. `alongside` are the other rule directories loaded with it (the admin's
    /// rules.d, whose suppressions name its rule ids): the new rules must validate together with them.
    public static func install(_ path: String, keysDirectory: String = defaultKeysDirectory, stateDirectory: String,
                               alongside: [String] = []) throws -> Installed {
        let members = try read(path)
        guard let manifestBytes = members[manifestName] else { throw Failure("\(path): no \(manifestName) in the bundle") }
        guard let signatureText = members[signatureName].map({ String(decoding: $0, as: UTF8.self) }),
              let signature = Data(base64Encoded: signatureText.trimmingWhitespace()) else {
            throw Failure("\(path): no readable \(signatureName) in the bundle")
        }
        let signer = try trustedKey(signing: manifestBytes, signature: signature, keysDirectory: keysDirectory, bundle: path)
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: Data(manifestBytes)) } catch {
            throw Failure("\(path): \(manifestName) is not a bundle manifest: \(error)")
        }
        guard manifest.chainwatchBundle == 1 else { throw Failure("\(path): bundle format \(manifest.chainwatchBundle); this chainwatch reads format 1") }
        guard let version = Version(manifest.version) else { throw Failure("\(path): version '\(manifest.version)' is not numbers separated by dots") }
        let files = members.filter { $0.key != manifestName && $0.key != signatureName }
        guard Set(files.keys) == Set(manifest.files.keys) else {
            let extra = Set(files.keys).subtracting(manifest.files.keys).sorted(), missing = Set(manifest.files.keys).subtracting(files.keys).sorted()
            throw Failure("\(path): the files differ from the signed manifest (not in it: \(extra); missing: \(missing))")
        }
        for (name, bytes) in files {
            let digest = SHA256.hash(data: bytes).hex
            guard digest == manifest.files[name] else { throw Failure("\(path): \(name) is not the file the manifest signs (SHA-256 \(digest))") }
        }

        let current = stateDirectory + "/rules"
        let previous = installedVersion(stateDirectory: stateDirectory)
        if let previous, let installed = Version(previous), version < installed {
            throw Failure("\(path): version \(manifest.version) is older than the installed \(previous); not installed")
        }

        // Written in full to a new directory, validated there, then put in place by one rename of a symlink.
        let bundles = stateDirectory + "/bundles"
        if (try? FileSystem.linkStatus(bundles)) == nil { try FileSystem.makeDirectories(bundles, permissions: 0o755) }
        let directory = try FileSystem.makeTemporaryDirectory(in: bundles, prefix: manifest.version)
        var placed = false
        defer { if !placed { try? FileSystem.removeTree(directory) } }
        try FileSystem.setPermissions(directory, 0o755)
        for (name, bytes) in files.sorted(by: { $0.key < $1.key }) {
            let components = name.split(separator: "/").map(String.init)
            var parent = directory
            for component in components.dropLast() {
                parent += "/" + component
                if (try? FileSystem.linkStatus(parent)) == nil { try FileSystem.makeDirectory(parent, permissions: 0o755) }
            }
            try OwnFiles.write(bytes, to: directory + "/" + name, permissions: 0o644)
        }
        try OwnFiles.write(manifestBytes, to: directory + "/.bundle-manifest.json", permissions: 0o644)
        let set: RuleSet
        do { set = try RuleLoader.load(from: [directory] + alongside.filter { (try? FileSystem.status($0)) != nil }) } catch {
            throw Failure("\(path): the bundle's rules do not validate (signed by \(signer)):\n\(error)")
        }
        let link = stateDirectory + "/rules.new"
        try? FileSystem.remove(link)
        try FileSystem.makeSymlink(at: link, to: "bundles/" + String(directory.split(separator: "/").last!))
        try FileSystem.rename(link, to: current)
        placed = true
        // The bundle replaced, and any an interrupted install left behind: only the one in force stays.
        let kept = String(directory.split(separator: "/").last!)
        for entry in (try? FileSystem.directoryEntries(bundles)) ?? [] where entry != kept {
            try? FileSystem.removeTree(bundles + "/" + entry)
        }
        return Installed(version: manifest.version, files: files.count, rules: set.rules.count, directory: current, previousVersion: previous)
    }

    /// The version of the bundle in force, if one is installed.
    public static func installedVersion(stateDirectory: String) -> String? {
        guard let bytes = try? FileSystem.readBytes(stateDirectory + "/rules/.bundle-manifest.json", limit: 1 << 20),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: Data(bytes)) else { return nil }
        return manifest.version
    }

    /// The bundle's members, bounded: regular files with plain relative names, each once.
    static func read(_ path: String) throws -> [String: [UInt8]] {
        let file = try OpenFile(path: path)
        guard file.status.size <= maximumBundleSize else { throw Failure("\(path): \(file.status.size) bytes; a bundle is at most \(maximumBundleSize)") }
        var offset: Int64 = 0
        var members: [String: [UInt8]] = [:]
        do {
            let reader = try ArchiveReader(label: path) {
                let block = try file.read(at: offset, count: 256 * 1024)
                offset += Int64(block.count)
                return block
            }
            while let member = try reader.next() {
                guard member.kind == .regular else {
                    if member.kind == .directory { continue }
                    throw Failure("\(path)!\(member.name): a \(member.kind.rawValue) member; a bundle holds regular files only")
                }
                let name = member.name.hasPrefix("./") ? String(member.name.dropFirst(2)) : member.name
                guard Self.isPlainName(name) else {
                    throw Failure("\(path)!\(member.name): not a plain relative file name")
                }
                guard members[name] == nil else { throw Failure("\(path)!\(name): in the bundle twice") }
                guard members.count < maximumFiles else { throw Failure("\(path): more than \(maximumFiles) files") }
                var bytes: [UInt8] = []
                while true {
                    let block = try reader.readBlock()
                    if block.isEmpty { break }
                    bytes += block
                    if bytes.count > maximumBundleSize { throw Failure("\(path)!\(name): larger than a bundle may be") }
                }
                members[name] = bytes
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure("\(path): not a readable bundle (tar): \(error)")
        }
        return members
    }

    /// Relative names of [A-Za-z0-9._-] components, none empty, "." or ".." or hidden: nothing a bundle names can
    /// land outside its directory or hide in it.
    static func isPlainName(_ name: String) -> Bool {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        return !components.isEmpty && components.allSatisfy { component in
            !component.isEmpty && !component.hasPrefix(".")
                && component.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0) }
        }
    }

    /// The name of the trusted key whose signature of `manifest` this is; an error when none is.
    static func trustedKey(signing manifest: [UInt8], signature: Data, keysDirectory: String, bundle: String,
                           refused: String = "not installed") throws -> String {
        let names: [String]
        do { names = try FileSystem.directoryEntries(keysDirectory).filter { $0.hasSuffix(".pub") } } catch {
            throw Failure("no trusted keys: \(keysDirectory): \(error); put the publisher's public key there (*.pub)")
        }
        guard !names.isEmpty else { throw Failure("no trusted keys in \(keysDirectory) (*.pub); put the publisher's public key there") }
        for name in names {
            let file = keysDirectory + "/" + name
            let handle = try OpenFile(path: file)
            // A key anyone can replace trusts anyone: the same rule as for rule files.
            if let problem = RuleLoader.trustProblem(handle.status) { throw Failure("\(file): \(problem)") }
            let key = try Curve25519.Signing.PublicKey(rawRepresentation: try decodeKey(String(decoding: try handle.readAll(limit: 4096), as: UTF8.self), file: file))
            if key.isValidSignature(signature, for: manifest) { return name }
        }
        throw Failure("\(bundle): the signature does not verify with any key in \(keysDirectory) (\(names.joined(separator: ", "))); \(refused)")
    }

    /// Dotted numeric versions, compared number by number (2026.12.10 > 2026.12.9).
    struct Version: Comparable {
        let parts: [Int]

        init?(_ text: String) {
            let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
            guard !pieces.isEmpty, pieces.allSatisfy({ !$0.isEmpty && $0.count <= 9 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return nil }
            parts = pieces.map { Int($0)! }
        }

        static func < (lhs: Version, rhs: Version) -> Bool {
            for index in 0..<max(lhs.parts.count, rhs.parts.count) {
                let a = index < lhs.parts.count ? lhs.parts[index] : 0, b = index < rhs.parts.count ? rhs.parts[index] : 0
                if a != b { return a < b }
            }
            return false
        }
    }
}
