import Crypto
import HostIO

/// A blob's content address as image documents write it: "sha256:<64 hex>" or "sha512:<128 hex>", the two
/// algorithms the OCI image spec registers. Anything else is refused: a digest that cannot be checked is not one,
/// and a digest is never used as a path before it is parsed here.
struct ImageDigest: Hashable, CustomStringConvertible {
    enum Algorithm: String, CaseIterable {
        case sha256, sha512

        var hexCount: Int { self == .sha256 ? 64 : 128 }
        /// How the algorithm is named in messages.
        var shown: String { self == .sha256 ? "SHA-256" : "SHA-512" }
    }

    let algorithm: Algorithm
    /// Lowercase hex, as the spec requires (an uppercase digest is refused, not folded).
    let hex: String

    init(_ text: String) throws(ImageUnpacker.Failure) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let algorithm = Algorithm(rawValue: String(parts[0])),
              parts[1].utf8.count == algorithm.hexCount,
              parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw ImageUnpacker.Failure(.notAnImage, "digest '\(text)' is not sha256:<64 hex digits> or sha512:<128 hex digits>")
        }
        self.algorithm = algorithm
        hex = String(parts[1])
    }

    init(algorithm: Algorithm, hex: String) {
        self.algorithm = algorithm
        self.hex = hex
    }

    var description: String { "\(algorithm.rawValue):\(hex)" }

    /// Where an OCI layout keeps the blob: blobs/<algorithm>/<hex>.
    var blobPath: String { "/blobs/\(algorithm.rawValue)/\(hex)" }

    /// The digest a layout path of that form names (docker save of Docker 25+ names layers and the config so);
    /// nil for any other path.
    init?(blobPath path: String) {
        let parts = path.split(separator: "/")
        guard parts.count == 3, parts[0] == "blobs", let digest = try? ImageDigest("\(parts[1]):\(parts[2])") else { return nil }
        self = digest
    }
}

/// Hashes a blob with one or more algorithms as its bytes go by, so the read that applies a layer also checks it
/// (no second pass), and counts them for the descriptor's size.
struct BlobHasher {
    private enum Running {
        case sha256(SHA256)
        case sha512(SHA512)
    }

    private var running: [(ImageDigest.Algorithm, Running)] = []
    private(set) var count: Int64 = 0

    init(_ algorithms: Set<ImageDigest.Algorithm>) {
        for algorithm in ImageDigest.Algorithm.allCases where algorithms.contains(algorithm) {
            running.append((algorithm, algorithm == .sha256 ? .sha256(SHA256()) : .sha512(SHA512())))
        }
    }

    mutating func update(_ bytes: [UInt8]) {
        count += Int64(bytes.count)
        for index in running.indices {
            switch running[index].1 {
            case .sha256(var hash): hash.update(data: bytes); running[index].1 = .sha256(hash)
            case .sha512(var hash): hash.update(data: bytes); running[index].1 = .sha512(hash)
            }
        }
    }

    /// The digest of everything seen, with each algorithm it was set up for.
    func finalize() -> [ImageDigest.Algorithm: ImageDigest] {
        var result: [ImageDigest.Algorithm: ImageDigest] = [:]
        for (algorithm, state) in running {
            switch state {
            case .sha256(let hash): result[algorithm] = ImageDigest(algorithm: algorithm, hex: hash.finalize().hex)
            case .sha512(let hash): result[algorithm] = ImageDigest(algorithm: algorithm, hex: hash.finalize().hex)
            }
        }
        return result
    }

    /// The digest of `bytes` with `algorithm`.
    static func digest(_ bytes: [UInt8], _ algorithm: ImageDigest.Algorithm) -> ImageDigest {
        var hasher = BlobHasher([algorithm])
        hasher.update(bytes)
        return hasher.finalize()[algorithm]!
    }
}

extension ImageDigest {
    /// Throws unless `actual` is this digest: the blob is then not what the document that names it says, and
    /// nothing it contains is used. `what` names the blob for the person reading the error.
    func check(_ actual: ImageDigest, _ what: String, as named: String = "digest") throws(ImageUnpacker.Failure) {
        guard actual != self else { return }
        throw ImageUnpacker.Failure(.altered, "\(what): the blob's \(algorithm.shown) is \(actual), not its \(named) \(self); the image is damaged or altered, so none of it is scanned")
    }
}
