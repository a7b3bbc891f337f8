import Crypto
import HostIO

/// The per-file digests package managers record: dpkg MD5 (md5sums), apk SHA-1 (`Z:Q1`), rpm whatever its
/// FILEDIGESTALGO says (SHA-256 on current distributions, MD5 when the tag is absent).
public enum DigestAlgorithm: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case md5, sha1, sha256, sha384, sha512

    /// rpm's PGPHASHALGO numbering, the values of RPMTAG_FILEDIGESTALGO. SHA-224 (11) is not computed here.
    init?(rpm value: UInt32) {
        switch value {
        case 1: self = .md5
        case 2: self = .sha1
        case 8: self = .sha256
        case 9: self = .sha384
        case 10: self = .sha512
        default: return nil
        }
    }

    public var byteCount: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.byteCount < rhs.byteCount }
}

/// The extra digests one read computes besides SHA-256, fed the same chunks, so a package's recorded digest is
/// checked without a second pass over the file.
struct ContentDigests {
    private enum Running {
        case sha1(Insecure.SHA1)
        case sha384(SHA384)
        case sha512(SHA512)
    }

    private var running: [(DigestAlgorithm, Running)] = []

    /// SHA-256 and MD5 are the inspection's own (MD5 so it can advance in lanes with other files') and are not
    /// computed here.
    init(_ algorithms: Set<DigestAlgorithm>) {
        for algorithm in algorithms.sorted() {
            switch algorithm {
            case .sha1: running.append((algorithm, .sha1(Insecure.SHA1())))
            case .sha384: running.append((algorithm, .sha384(SHA384())))
            case .sha512: running.append((algorithm, .sha512(SHA512())))
            case .sha256, .md5: continue
            }
        }
    }

    mutating func update(_ chunk: ArraySlice<UInt8>) {
        for index in running.indices {
            switch running[index].1 {
            case .sha1(var hash): hash.update(data: chunk); running[index].1 = .sha1(hash)
            case .sha384(var hash): hash.update(data: chunk); running[index].1 = .sha384(hash)
            case .sha512(var hash): hash.update(data: chunk); running[index].1 = .sha512(hash)
            }
        }
    }

    /// Lowercase hex of each digest.
    func finalize() -> [DigestAlgorithm: String] {
        var result: [DigestAlgorithm: String] = [:]
        for (algorithm, state) in running {
            switch state {
            case .sha1(let hash): result[algorithm] = hash.finalize().hex
            case .sha384(let hash): result[algorithm] = hash.finalize().hex
            case .sha512(let hash): result[algorithm] = hash.finalize().hex
            }
        }
        return result
    }
}
