import Crypto
import HostIO
import Rules

/// `byte-signature` rules: byte patterns (with wildcards) found in a file's content.
///
/// Every distinct pattern of every byte rule is compiled into one `MultiPatternSearch`, run over every file the
/// scan reads as it is read. Which rule applies to which file is decided here, at match time, once all of the
/// file's names are known; the read only records which patterns occur.
struct ByteSignatureMatcher: RuleKindMatcher {
    struct Compiled: Sendable {
        var rule: Rule
        var match: ByteSignatureMatch
        var files: CompiledSelector
        /// Index in `search` of each of the rule's patterns, in the rule's order.
        var patternIndices: [Int]
    }

    let rules: [Compiled]
    let search: MultiPatternSearch
    /// SHA-256 of the distinct patterns in search order: what cached pattern hits are valid for.
    let digest: String

    static func match(of rule: Rule) -> ByteSignatureMatch? {
        if case .byteSignature(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, ByteSignatureMatch)]) {
        var distinct: [[UInt8?]] = []
        var indexOf: [[UInt8?]: Int] = [:]
        self.rules = rules.map { rule, match in
            let indices = match.patterns.map { pattern -> Int in
                if let known = indexOf[pattern.bytes] { return known }
                indexOf[pattern.bytes] = distinct.count
                distinct.append(pattern.bytes)
                return distinct.count - 1
            }
            return Compiled(rule: rule, match: match, files: CompiledSelector(match.files), patternIndices: indices)
        }
        search = MultiPatternSearch(distinct.map(MultiPatternSearch.Pattern.init))
        let canonical = distinct.map { $0.map { $0.map { String($0, radix: 16) } ?? "??" }.joined(separator: " ") }
        digest = SHA256.hash(data: Array(canonical.joined(separator: "\n").utf8)).hex
    }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        rules.flatMap { compiled in
            facts.files.compactMap { file -> Finding? in
                guard let hits = file.patternHits, !hits.isEmpty, let selected = compiled.files.select(file) else { return nil }
                let patterns = compiled.match.patterns
                let found = patterns.indices.filter { hits.contains(compiled.patternIndices[$0]) }
                let hit = compiled.match.condition == .all ? found.count == patterns.count : !found.isEmpty
                guard hit else { return nil }
                // With the file offset of an occurrence (the first the search met), so the bytes can be looked at.
                let shown = found.map { index in
                    "#\(index + 1) \(Self.abbreviate(patterns[index].text))"
                        + (hits.offset(of: compiled.patternIndices[index]).map { " at offset 0x" + String($0, radix: 16) } ?? "")
                }.joined(separator: ", ")
                return Finding(rule: compiled.rule, evidence: facts.evidence(
                    for: file, matchedName: selected.matchedName,
                    detail: "\(found.count) of \(patterns.count) byte patterns found: \(shown)"), fileIdentity: file.facts?.identity)
            }
        }
    }

    static func abbreviate(_ text: String) -> String {
        let compact = text.filter { !$0.isWhitespace }
        return compact.count > 24 ? String(compact.prefix(24)) + "..." : compact
    }
}
