import ELFReader
import Probes
import Rules
import XZ

/// The parsers of attacker-controlled input, each as a function of bytes. A target must return for every input:
/// errors are expected, crashes and hangs are bugs.
enum FuzzTargets {
    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "elf": { _ = try? ELFParser.parse($0) },
        "xz": { _ = try? XZ.decompress($0, limit: 8 << 20) },
        "maps": { _ = MemoryMapParser.parse(String(decoding: $0, as: UTF8.self)) },
        "dpkg": { _ = DpkgDatabase.parseStatus(String(decoding: $0, as: UTF8.self)) },
        "rpmdb": { _ = try? RPMDatabase.parse($0) },
        "ldconf": { _ = LoaderConfiguration.parse(String(decoding: $0, as: UTF8.self)) },
        "ldcache": { _ = try? LoaderCache.parse($0) },
        "rules": { _ = RuleLoader.decode(String(decoding: $0, as: UTF8.self), file: "fuzz.yaml") },
    ]
}
