import ELFReader
import Engine
import HostIO
import Probes
import Rules
import XZ

/// The parsers of attacker-controlled input, each as a function of bytes. A target must return for every input:
/// errors are expected, crashes and hangs are bugs.
enum FuzzTargets {
    /// The file the elf-file target writes each input to (one per fuzzing process).
    static let elfFile = "/tmp/chainwatch-fuzz-elf-file"
    /// Bytes per chunk the rpm database targets read (a file's reader uses 64 KiB).
    static let fuzzChunkSize = 509

    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "elf": { _ = try? ELFParser.parse($0) },
        // IFUNC resolvers walked with Capstone over whatever code the input's executable segments hold.
        "ifunc": { _ = try? ELFParser.parse($0, readSymbols: false, resolvers: .standard) },
        // The scan's own path: the bytes as a file, streamed and hashed, then parsed by libelf's reads of the file.
        "elf-file": { bytes in
            try? FileSystem.writeAtomically(bytes, to: elfFile)
            guard let file = try? OpenFile(path: elfFile) else { return }
            _ = try? FileInspector(resolvers: .standard).inspect(file, readSymbols: true)
        },
        "xz": { _ = try? XZ.decompress($0, limit: 8 << 20) },
        "maps": { _ = MemoryMapParser.parse(String(decoding: $0, as: UTF8.self)) },
        "dpkg": { _ = DpkgDatabase.parseStatus(String(decoding: $0, as: UTF8.self)) },
        // The database readers read a file a chunk at a time (DatabasePages); a small chunk of an odd size makes
        // reads cross chunk boundaries and evict cached chunks even for small inputs.
        "rpmdb": { _ = try? RPMDatabase.parse($0, format: .sqlite, chunkSize: fuzzChunkSize) },
        "rpm-bdb": { _ = try? RPMDatabase.parse($0, format: .berkeleyDB, chunkSize: fuzzChunkSize) },
        "rpm-ndb": { _ = try? RPMDatabase.parse($0, format: .ndb, chunkSize: fuzzChunkSize) },
        "ldconf": { _ = LoaderConfiguration.parse(String(decoding: $0, as: UTF8.self)) },
        "ldcache": { _ = try? LoaderCache.parse($0) },
        "rules": { _ = RuleLoader.decode(String(decoding: $0, as: UTF8.self), file: "fuzz.yaml") },
        // A package's changelog.Debian.gz (package-age rules): bounded gunzip through libarchive, then the trailer's date.
        "changelog": { _ = DebianChangelog.firstEntryDate(gzipped: $0, label: "fuzz") },
        "apk": { _ = AlpineDatabase.parse(String(decoding: $0, as: UTF8.self)) },
        // A baseline (a CycloneDX JSON SBOM), as --baseline and the daemon read it.
        "baseline": { _ = try? BaselineDocument.read($0, file: "fuzz.json") },
    ]
}
