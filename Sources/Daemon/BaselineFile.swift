import Crypto
import Engine
import FoundationEssentials
import HostIO
import Rules

/// Baselines on disk: a CycloneDX JSON SBOM, optionally with a detached Ed25519 signature beside it (FILE.sig, the
/// base64 signature of the file's bytes) made with the key rule bundles are signed with. A signature that is there
/// must verify against a trusted key, or the baseline is refused: a baseline decides what is approved, so one an
/// attacker swapped in must never be read as approved.
public enum BaselineFile {
    public static let signatureSuffix = ".sig"

    /// Reads, checks and decodes the baseline at `path`. Refused (an error saying what to do): a file root does not
    /// own or others can write (when running as root), a signature that does not verify with a key in
    /// `keysDirectory`, no signature when `requireSignature`, and anything `BaselineDocument` refuses.
    public static func load(_ path: String, keysDirectory: String = RuleBundle.defaultKeysDirectory,
                            requireSignature: Bool = false) throws(BaselineError) -> Baseline {
        func fail(_ problem: String, _ hint: String) -> BaselineError { BaselineError(file: path, problem: problem, hint: hint) }
        let bytes: [UInt8]
        do {
            let file = try OpenFile(path: path)
            if let problem = RuleLoader.trustProblem(file.status, because: "whoever can change a baseline decides what is approved") {
                throw fail(problem, "a baseline is root's, as rule files are")
            }
            // Refused by its size before a byte is read: a huge file must not cost the daemon its memory.
            if file.status.size > BaselineDocument.maximumSize {
                throw fail("\(file.status.size) bytes, more than the \(BaselineDocument.maximumSize >> 20) MiB a baseline may be",
                           "write it with chainwatch scan --write-baseline, which keeps only packages and the code files a scan read")
            }
            bytes = try file.readAll(limit: BaselineDocument.maximumSize + 1)
        } catch let error as BaselineError {
            throw error
        } catch {
            throw fail("could not be read: \(error)", "give the path of a CycloneDX JSON file (chainwatch scan --write-baseline FILE writes one)")
        }
        let signer = try verify(bytes, path: path, keysDirectory: keysDirectory, required: requireSignature)
        var baseline = try BaselineDocument.read(bytes, file: path)
        baseline.signer = signer
        return baseline
    }

    /// The trusted key that signed the baseline, nil when it has no signature (and none is required).
    static func verify(_ bytes: [UInt8], path: String, keysDirectory: String, required: Bool) throws(BaselineError) -> String? {
        let signaturePath = path + signatureSuffix
        let text: String
        do { text = try FileSystem.readText(signaturePath, limit: 4096) } catch {
            if error.isNotFound && !required { return nil }
            throw BaselineError(file: path, problem: error.isNotFound ? "it has no signature (\(signaturePath)) and a signed baseline is required"
                                    : "its signature \(signaturePath) could not be read: \(error)",
                                hint: "sign it: chainwatch scan --write-baseline \(path) --signing-key KEY")
        }
        guard let signature = Data(base64Encoded: text.trimmingWhitespace()), signature.count == 64 else {
            throw BaselineError(file: path, problem: "\(signaturePath) is not a base64 Ed25519 signature (64 bytes); refused",
                                hint: "write and sign the baseline again")
        }
        do {
            return try RuleBundle.trustedKey(signing: bytes, signature: signature, keysDirectory: keysDirectory, bundle: path,
                                             refused: "refused")
        } catch {
            throw BaselineError(file: path, problem: { let text = "\(error)"; return text.hasPrefix(path + ": ") ? String(text.dropFirst(path.count + 2)) : text }(),
                                hint: "sign it with a key whose public key is in \(keysDirectory), or remove a signature that is not meant to be there")
        }
    }

    /// Writes `document` (a CycloneDX SBOM) as the baseline at `path`, mode 0644, atomically; with `signingKey`, also
    /// its signature at `path.sig`. Without one, a signature left from an earlier baseline is removed: it would not
    /// verify, and the new baseline would be refused.
    public static func write(_ document: String, to path: String, signingKey: String?) throws(BaselineError) {
        let bytes = Array(document.utf8)
        var signature: String?
        if let signingKey {
            do {
                let key = try Curve25519.Signing.PrivateKey(
                    rawRepresentation: try RuleBundle.decodeKey(try FileSystem.readText(signingKey, limit: 4096), file: signingKey))
                signature = try key.signature(for: bytes).base64EncodedString() + "\n"
            } catch {
                throw BaselineError(file: path, problem: "could not sign it with \(signingKey): \(error)",
                                    hint: "give the private key chainwatch rules keygen made")
            }
        }
        do {
            try FileSystem.writeAtomically(bytes, to: path, permissions: 0o644)
            if let signature {
                try FileSystem.writeAtomically(Array(signature.utf8), to: path + signatureSuffix, permissions: 0o644)
            } else if (try? FileSystem.linkStatus(path + signatureSuffix)) != nil {
                try FileSystem.remove(path + signatureSuffix)
            }
        } catch {
            throw BaselineError(file: path, problem: "could not be written: \(error)", hint: "check the directory exists and root may write it")
        }
    }

    /// What the daemon compares to notice a baseline replaced (or signed anew) between scans.
    public static func stamp(_ path: String) -> String {
        [path, path + signatureSuffix].map { file in
            guard let status = try? FileSystem.status(file) else { return "-" }
            return "\(status.identity):\(status.size):\(status.modified):\(status.changed)"
        }.joined(separator: "|")
    }
}
