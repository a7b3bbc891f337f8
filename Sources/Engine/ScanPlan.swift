import ELFReader
import HostIO
import Rules

/// A rule set compiled once per load into what a scan reads: the programs whose graphs to walk, which names need
/// ELF symbol tables, the byte patterns to search every file for, and one matcher per rule kind. The scanner and
/// the matchers read it; nothing else derives views of the rules.
public struct ScanPlan: Sendable {
    public let rules: RuleSet
    let packages: PackageVersionMatcher
    let hashes: FileHashMatcher
    let bytes: ByteSignatureMatcher
    let elf: ELFFeatureMatcher
    let resolvers: IFUNCResolverMatcher
    let chains: DependencyChainMatcher
    let got: GOTIntegrityMatcher
    let injection: LoaderInjectionMatcher
    let provenance: ProvenanceMatcher
    let ages: PackageAgeMatcher
    let drift: BaselineDriftMatcher
    /// `var`: a scan sets its YARA limits from its options (`ScanRun.init`).
    var yara: YARAMatcher
    let suppressions: SuppressionMatcher
    /// Programs whose graphs the scan walks: those chain and provenance rules name, each once.
    let programs: [String]
    /// Rules that say where they apply.
    let scopes: [String: Set<RuleTargetScope>]

    public init(_ rules: RuleSet) {
        self.rules = rules
        packages = PackageVersionMatcher(from: rules.rules)
        hashes = FileHashMatcher(from: rules.rules)
        bytes = ByteSignatureMatcher(from: rules.rules)
        elf = ELFFeatureMatcher(from: rules.rules)
        resolvers = IFUNCResolverMatcher(from: rules.rules)
        chains = DependencyChainMatcher(from: rules.rules)
        got = GOTIntegrityMatcher(from: rules.rules)
        injection = LoaderInjectionMatcher(from: rules.rules)
        provenance = ProvenanceMatcher(from: rules.rules)
        ages = PackageAgeMatcher(from: rules.rules)
        drift = BaselineDriftMatcher(from: rules.rules)
        yara = YARAMatcher(rules.rules.compactMap { rule in YARAMatcher.match(of: rule).map { (rule, $0) } },
                           compiled: rules.yara, sources: rules.yara?.sources ?? [])
        suppressions = SuppressionMatcher(rules.suppressions)
        scopes = Dictionary(rules.rules.compactMap { rule in rule.targets.map { (rule.id, $0) } }, uniquingKeysWith: { first, _ in first })
        var programs = chains.programs
        for name in provenance.programs + drift.programs where !programs.contains(name) { programs.append(name) }
        self.programs = programs
    }

    /// Whether files are checked against their packages' digests (a provenance rule needs it).
    var checksIntegrity: Bool { !provenance.isEmpty }

    /// Every distinct byte pattern, searched in every file as it is read.
    var bytePatterns: MultiPatternSearch { bytes.search }

    /// What cached pattern hits (and YARA outcomes) must have been found with to be used.
    public var bytePatternDigest: String { yara.isActive ? bytes.digest + "+yara:" + yara.digest : bytes.digest }

    /// Whether a file's read must search its content at all (byte patterns or YARA rules).
    var searchesContent: Bool { bytePatterns.count > 0 || yara.isActive }

    func wantsSymbols(_ names: [String]) -> Bool { elf.wantsSymbols(names) }

    /// The limits every ELF file's IFUNC resolvers are walked with, when an ifunc-resolver rule is loaded.
    var resolverLimits: ResolverWalk.Limits? { resolvers.limits }
    var walksResolvers: Bool { resolverLimits != nil }

    /// Whether a process running `executable` has all its mappings (and its LD_* variables) kept: a got-integrity
    /// rule names it (its GOT is read), a loader-injection rule does, or a dependency-chain rule does (its chains are
    /// also taken from what it really mapped).
    func checksRuntime(of executable: String?) -> Bool {
        yara.scansMemoryOfEveryProcess || got.checks(executable) || injection.checks(executable)
            || executable.map { programs.contains(baseName(Self.trimmingDeleted($0))) } == true
    }

    static func trimmingDeleted(_ path: String) -> String {
        path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
    }

    func elfRuleNames(_ names: [String]) -> Bool { elf.names(names) }

    /// Every rule matched against the facts of one scan: file, GOT and provenance rules first, then chains (they
    /// escalate on the findings of the library they reach, a GOT slot pointing into it included), sorted by severity, then
    /// rule, then path.
    func findings(_ facts: ScanFacts) -> [Finding] {
        var findings: [Finding] = []
        findings += packages.findings(facts, earlier: findings)
        findings += ages.findings(facts, earlier: findings)
        findings += drift.findings(facts, earlier: findings)
        findings += hashes.findings(facts, earlier: findings)
        findings += bytes.findings(facts, earlier: findings)
        findings += elf.findings(facts, earlier: findings)
        findings += resolvers.findings(facts, earlier: findings)
        findings += got.findings(facts, earlier: findings)
        findings += provenance.findings(facts, earlier: findings)
        findings += chains.findings(facts, earlier: findings)
        findings += injection.findings(facts, earlier: findings)
        findings += yara.findings(facts, earlier: findings)
        return findings.sorted(by: Finding.reportOrder)
    }

    /// Whether rule `id` applies to a target of this kind (a rule's `targets:`; every kind when it says nothing).
    func applies(_ id: String, to kind: ScanTarget.Kind) -> Bool {
        guard let scope = scopes[id] else { return true }
        return scope.contains(kind == .container ? .containers : .host)
    }
}
