import Rules

/// `file-hash` rules: a file whose SHA-256 is a published hash of a known-bad file.
struct FileHashMatcher: RuleKindMatcher {
    struct Compiled: Sendable {
        var rule: Rule
        var files: CompiledSelector
        var hashes: [String: KnownHash]
    }

    let rules: [Compiled]

    static func match(of rule: Rule) -> FileHashMatch? {
        if case .fileHash(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, FileHashMatch)]) {
        self.rules = rules.map { rule, match in
            Compiled(rule: rule, files: CompiledSelector(match.files),
                     hashes: Dictionary(match.hashes.map { ($0.sha256, $0) }, uniquingKeysWith: { first, _ in first }))
        }
    }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        rules.flatMap { compiled in
            facts.files.compactMap { file -> Finding? in
                guard let sha256 = file.facts?.sha256, let hash = compiled.hashes[sha256],
                      let selected = compiled.files.select(file) else { return nil }
                return Finding(rule: compiled.rule, evidence: facts.evidence(
                    for: file, matchedName: selected.matchedName, detail: "SHA-256 of \(hash.file), published at \(hash.source)"),
                    fileIdentity: file.facts?.identity)
            }
        }
    }
}
