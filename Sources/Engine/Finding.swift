import HostIO
import Rules

/// A rule that matched, with the evidence that made it match.
public struct Finding: Sendable, Hashable, Codable {
    public var rule: String
    public var kind: RuleKind
    public var severity: Severity
    public var title: String
    public var messageID: String
    public var evidence: Evidence
    /// What the finding is about: the host, a container (named in every output), an offline root, an image.
    public var target: ScanTarget?
    /// The file a file rule matched, by identity: what a chain to that file is escalated by, whatever path or root
    /// each was seen through. Not part of the report.
    public var fileIdentity: FileIdentity?
    /// The rule's description, references and tags, for reports that say what to do (not kept in daemon state).
    public var description = ""
    public var references: [String] = []
    public var tags: [String] = []

    enum CodingKeys: String, CodingKey {
        case rule, kind, severity, title, messageID, evidence, target
    }

    public init(rule: Rule, severity: Severity? = nil, evidence: Evidence, fileIdentity: FileIdentity? = nil) {
        self.rule = rule.id
        kind = rule.kind
        self.severity = severity ?? rule.severity
        title = rule.title
        messageID = rule.messageID
        self.evidence = evidence
        self.fileIdentity = fileIdentity
        description = rule.description
        references = rule.references
        tags = rule.tags
    }

    /// What identifies "the same finding" across scans: the rule and the thing it is about, in its target (a
    /// container by name or image, never a pid or id that a restart changes). The host's keys are as they were
    /// before targets existed, so a daemon's remembered alerts carry over.
    public var key: String {
        let base = [rule, evidence.path ?? "", evidence.package ?? "", evidence.chain?.joined(separator: ">") ?? "", evidence.symbol ?? ""]
            .joined(separator: "|")
        guard let target, target.kind == .container else { return base }
        return target.stableKey + "|" + base
    }

    /// Highest severity first, then rule, then target, then path.
    public static func reportOrder(_ a: Finding, _ b: Finding) -> Bool {
        (a.severity.rank, b.rule, b.target?.stableKey ?? "", b.evidence.path ?? "")
            > (b.severity.rank, a.rule, a.target?.stableKey ?? "", a.evidence.path ?? "")
    }
}

/// The facts behind a finding. Fields that do not apply are nil and left out of JSON.
public struct Evidence: Sendable, Hashable, Codable {
    public var path: String?
    public var sha256: String?
    public var package: String?
    public var version: String?
    /// The lowest pid mapping the file; `pids` lists them all.
    public var pid: Int32?
    public var pids: [Int32]?
    /// Program first, then each DT_NEEDED name down to the library.
    public var chain: [String]?
    /// Where the file was seen: "mapped", "dependency", "library directory".
    public var seenAs: [String]?
    /// The name of the file a rule's `files:` glob matched (its base name, SONAME or a DT_NEEDED name); absent when
    /// the rule applies to every file of its type.
    public var matchedName: String?
    /// One line of rule-specific detail: the symbols found, the pattern matched, the hash's published source.
    public var detail: String?
    /// GOT integrity: the imported symbol, its slot's address in the process, the file or memory the slot points
    /// into, and the object that defines the symbol (where the slot should point).
    public var symbol: String?
    public var slotAddress: String?
    public var pointsTo: String?
    public var expected: String?
    /// Provenance: the file's content against its package (matches, modified, not-recorded, unowned...), the kind
    /// of place it lives in, and why a non-root user can change it.
    public var integrity: String?
    public var location: String?
    public var writableBy: String?
    /// For an archive member: the archive file, each enclosing archive member, then the member (`path` shows them
    /// joined by "!").
    public var archive: [String]?
    /// YARA: the rule's name and namespace (its file), and the first strings it found with their offsets in the
    /// file or mapping (`$a1 at 0x1040`).
    public var yaraRule: String?
    public var yaraNamespace: String?
    public var yaraStrings: [String]?
    /// Process memory: the mapping scanned (its address range, permissions and what backs it).
    public var mapping: String?
    /// Package age: the build date (ISO 8601, UTC) and where it came from (for dpkg, the changelog's upload date, a
    /// heuristic), the install date where the database records one, the age in whole days and the rule's minimum.
    public var built: String?
    public var builtFrom: String?
    public var installed: String?
    public var ageDays: Int?
    public var minimumDays: Int?
    /// Baseline drift: the baseline compared against, and what it approved (the versions of the package, the
    /// SHA-256s of the file at this path).
    public var baseline: String?
    public var approvedVersions: [String]?
    public var approvedSHA256: [String]?

    public init(path: String? = nil, sha256: String? = nil, package: String? = nil, version: String? = nil,
                pid: Int32? = nil, pids: [Int32]? = nil, chain: [String]? = nil, seenAs: [String]? = nil,
                detail: String? = nil) {
        self.path = path
        self.sha256 = sha256
        self.package = package
        self.version = version
        self.pid = pid
        self.pids = pids
        self.chain = chain
        self.seenAs = seenAs
        self.detail = detail
    }
}
