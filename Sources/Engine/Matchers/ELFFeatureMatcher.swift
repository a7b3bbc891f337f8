import ELFReader
import Rules

/// `elf-feature` rules: IFUNC symbols, IRELATIVE relocations and named symbols of an ELF file.
struct ELFFeatureMatcher: RuleKindMatcher {
    struct Compiled: Sendable {
        var rule: Rule
        var match: ELFFeatureMatch
        var files: CompiledSelector
    }

    let rules: [Compiled]

    static func match(of rule: Rule) -> ELFFeatureMatch? {
        if case .elfFeature(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, ELFFeatureMatch)]) {
        self.rules = rules.map { Compiled(rule: $0, match: $1, files: CompiledSelector($1.files)) }
    }

    /// Whether some rule's `files:` names a file known by `names`: then it must parse, or it is reported.
    func names(_ names: [String]) -> Bool {
        rules.contains { $0.files.names(names) }
    }

    /// Whether a file known by `names` needs its symbol tables read: a rule names it, or a rule takes every ELF.
    func wantsSymbols(_ names: [String]) -> Bool {
        rules.contains { $0.files.globs == nil || $0.files.names(names) }
    }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        rules.flatMap { compiled in
            facts.files.compactMap { file -> Finding? in
                guard let elf = file.facts?.elf, let selected = compiled.files.select(file),
                      let present = Self.present(compiled.match, in: elf) else { return nil }
                return Finding(rule: compiled.rule, evidence: facts.evidence(
                    for: file, matchedName: selected.matchedName, detail: present), fileIdentity: file.facts?.identity)
            }
        }
    }

    /// What of the rule's features the file has, when that is enough for its condition.
    static func present(_ match: ELFFeatureMatch, in elf: ELFInfo) -> String? {
        // Each listed feature is present or not: the IFUNC test, the IRELATIVE test, and each symbol name.
        var wanted = match.symbols.count
        var found = 0
        var present: [String] = []
        if match.ifuncSymbols {
            wanted += 1
            let names = Set(elf.ifuncSymbols.map(\.name)).sorted()
            if !names.isEmpty {
                found += 1
                present.append("IFUNC symbols: \(names.prefix(8).joined(separator: ", "))")
            }
        }
        if match.irelativeRelocations {
            wanted += 1
            if elf.irelativeRelocations > 0 {
                found += 1
                present.append("\(elf.irelativeRelocations) IRELATIVE relocations")
            }
        }
        let symbols = match.symbols.filter { elf.hasSymbol(named: $0) }
        if !symbols.isEmpty {
            found += symbols.count
            let tables = Set(elf.symbols.filter { symbols.contains($0.name) }.map(\.table.rawValue)).sorted()
            present.append("symbols: \(symbols.joined(separator: ", ")) (in \(tables.joined(separator: ", ")))")
        }
        guard match.condition == .all ? found == wanted : found > 0 else { return nil }
        return present.joined(separator: "; ")
    }
}
