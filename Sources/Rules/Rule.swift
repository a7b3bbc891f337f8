import Probes

/// One detection, loaded from a rule file: what to look for and what it means.
public struct Rule: Sendable, Hashable {
    public var id: String
    public var title: String
    public var kind: RuleKind
    public var severity: Severity
    /// The journal MESSAGE_ID: 32 lowercase hex digits, stable for the life of the rule.
    public var messageID: String
    public var description: String
    public var references: [String]
    public var tags: [String]
    public var match: RuleMatch
    /// Where the rule was defined, for messages that point back at it.
    public var location: SourceLocation
    /// Where it applies (`targets: [host]`, `[containers]`); nil: everywhere.
    public var targets: Set<RuleTargetScope>? = nil
}

/// The targets a rule may be limited to.
public enum RuleTargetScope: String, Sendable, Hashable, CaseIterable {
    /// This host, and the offline roots, images and paths scanned in its place.
    case host
    /// Each container running on the host.
    case containers
}

public enum RuleKind: String, Sendable, Hashable, CaseIterable, Codable {
    case packageVersion = "package-version"
    case fileHash = "file-hash"
    case byteSignature = "byte-signature"
    case elfFeature = "elf-feature"
    case ifuncResolver = "ifunc-resolver"
    case dependencyChain = "dependency-chain"
    case gotIntegrity = "got-integrity"
    case loaderInjection = "loader-injection"
    case provenance
    case packageAge = "package-age"
    case baselineDrift = "baseline-drift"
    /// A rule of a YARA file, matched by libyara (docs/yara.md).
    case yara
}

/// A file and line in a rule file.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// The kind-specific part of a rule.
public enum RuleMatch: Sendable, Hashable {
    case packageVersion(PackageVersionMatch)
    case fileHash(FileHashMatch)
    case byteSignature(ByteSignatureMatch)
    case elfFeature(ELFFeatureMatch)
    case ifuncResolver(IFUNCResolverMatch)
    case dependencyChain(DependencyChainMatch)
    case gotIntegrity(GOTIntegrityMatch)
    case loaderInjection(LoaderInjectionMatch)
    case provenance(ProvenanceMatch)
    case packageAge(PackageAgeMatch)
    case baselineDrift(BaselineDriftMatch)
    case yara(YARARuleMatch)
}

/// `any`: one is enough; `all`: every listed item must be present.
public enum Condition: String, Sendable, Hashable { case any, all }

public struct PackageVersionMatch: Sendable, Hashable {
    /// Which database's packages and which version ordering.
    public var ecosystem: PackageEcosystem
    public var packages: [String]
    public var versions: [String]
    public var ranges: [VersionRange]
}

/// OSV-style range: `introduced` inclusive; `fixed` exclusive or `lastAffected` inclusive.
public struct VersionRange: Sendable, Hashable {
    public var introduced: String?
    public var fixed: String?
    public var lastAffected: String?
}

public struct KnownHash: Sendable, Hashable {
    public var sha256: String
    public var file: String
    public var source: String
}

/// Which files a file rule (file-hash, byte-signature, elf-feature) applies to.
public struct FileSelector: Sendable, Hashable {
    public enum FileType: String, Sendable, Hashable, CaseIterable {
        /// Every file the scan reads.
        case any
        /// Files that start with the ELF magic: executables, shared libraries, object files.
        case elf
    }

    /// Globs (fnmatch) on every name the file goes by: its path's base name, its SONAME and the DT_NEEDED names
    /// it was reached by. nil: every file of `type`, whatever its name.
    public var names: [String]?
    public var type: FileType

    public init(names: [String]?, type: FileType) {
        self.names = names
        self.type = type
    }

    public static let everyFile = FileSelector(names: nil, type: .any)
}

public struct FileHashMatch: Sendable, Hashable {
    public var files: FileSelector
    public var hashes: [KnownHash]

    public init(files: FileSelector = .everyFile, hashes: [KnownHash]) {
        self.files = files
        self.hashes = hashes
    }
}

public struct ByteSignatureMatch: Sendable, Hashable {
    public var files: FileSelector
    public var condition: Condition
    public var patterns: [BytePattern]
}

public struct ELFFeatureMatch: Sendable, Hashable {
    public var files: FileSelector
    public var condition: Condition
    public var ifuncSymbols: Bool
    public var irelativeRelocations: Bool
    public var symbols: [String]
}

/// The shape of an ELF file's IFUNC resolvers, from a static walk of their code (`IFUNCResolver` facts): each test
/// is about one resolver, and the condition combines the tests one resolver passes.
public struct IFUNCResolverMatch: Sendable, Hashable {
    public var files: FileSelector
    public var condition: Condition
    /// More instructions reached than this.
    public var instructionsOver: Int?
    /// A call to an imported function no glob of this list matches (feature probes: getauxval, __cpu_indicator_init).
    public var callsOutside: [String]?
    /// Imported data read through the GOT that a glob of this list matches (the loader's: _r_debug, _rtld_global).
    public var dataReferences: [String]?
    /// More stores through pointers held in registers than this.
    public var pointerWritesOver: Int?
    /// More calls through function pointers no relocation names than this.
    public var indirectCallsOver: Int?
    /// A system call instruction.
    public var systemCalls: Bool
    /// The walk stopped at its instruction bound: more code than any resolver the rule was calibrated on.
    public var boundReached: Bool
    /// Leave out the dynamic linker's own resolver (ld.so's CPU set-up: thousands of instructions, stores through
    /// pointers, system calls), which is what a loader is for.
    public var exceptDynamicLinker: Bool

    public init(files: FileSelector, condition: Condition, instructionsOver: Int? = nil, callsOutside: [String]? = nil,
                dataReferences: [String]? = nil, pointerWritesOver: Int? = nil, indirectCallsOver: Int? = nil, systemCalls: Bool = false,
                boundReached: Bool = false, exceptDynamicLinker: Bool = false) {
        self.files = files
        self.condition = condition
        self.instructionsOver = instructionsOver
        self.callsOutside = callsOutside
        self.dataReferences = dataReferences
        self.pointerWritesOver = pointerWritesOver
        self.indirectCallsOver = indirectCallsOver
        self.systemCalls = systemCalls
        self.boundReached = boundReached
        self.exceptDynamicLinker = exceptDynamicLinker
    }
}

public struct DependencyChainMatch: Sendable, Hashable {
    public var binary: String
    public var library: String
    public var through: String?
    public var escalateTo: Severity?
}

/// Running programs whose GOT slots must point where the loader would have bound them.
public struct GOTIntegrityMatch: Sendable, Hashable {
    /// Globs on the executable (`/proc/PID/exe`): on its base name, or on its whole path when the glob has a `/`.
    /// `*` is every process.
    public var programs: [String]
    /// The imported symbols to check; nil for every import.
    public var symbols: [String]?
}

/// Ways code gets into a program without being one of its libraries: ld.so.preload, LD_* variables, rtld-audit
/// entries, executable memory backed by no file.
public struct LoaderInjectionMatch: Sendable, Hashable {
    /// The programs the per-process checks apply to (as in got-integrity); empty when only `preloadFile` is set.
    public var programs: [String]
    /// /etc/ld.so.preload exists and names a library.
    public var preloadFile: Bool
    /// Loader variables in the environment the named programs started with (LD_PRELOAD, LD_AUDIT...).
    public var environment: [String]
    /// DT_AUDIT or DT_DEPAUDIT in a named program's library graph.
    public var auditEntries: Bool
    /// Executable memfd or anonymous mappings in a named program.
    public var codeOutsideFiles: Bool
}

/// Where the code in programs came from: files of the named programs' graphs, of processes of a uid, or at rest in
/// the loader's directories, whose package, integrity or place make them a finding.
public struct ProvenanceMatch: Sendable, Hashable {
    /// Which processes' mapped files are looked at, by who runs them.
    public enum Processes: String, Sendable, Hashable, CaseIterable {
        /// Processes with effective uid 0.
        case root
        case all
    }

    /// Program file names (sshd): every file of their library graph on disk and of each running process of them.
    public var programs: [String]
    public var processes: Processes?
    /// Libraries at rest in the loader's directories.
    public var libraryDirectories: Bool
    /// Optional globs on the file's names (as for file rules).
    public var files: [String]?
    public var condition: Condition
    /// No package owns the file.
    public var unowned: Bool
    public var integrity: [Provenance.Integrity]
    public var places: [Provenance.Place]
    /// The file or a directory above it can be changed by a user other than root.
    public var writableByNonRoot: Bool
    /// Deleted from disk while mapped.
    public var deleted: Bool
}
