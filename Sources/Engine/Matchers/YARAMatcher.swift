import Crypto
import HostIO
import Probes
import Rules
import YARA

/// `yara` rules: the YARA files' rules, compiled together once per load (`RuleSet.yara`), run by libyara over
/// each file's bytes as it is read and over the executable memory of the processes the runtime checks look at.
/// The scans record which YARA rules matched (facts, cached like byte-pattern hits); the findings are made here.
struct YARAMatcher: RuleKindMatcher {
    /// The chainwatch rule of each compiled YARA rule, by its index in the set.
    let rules: [Int: (rule: Rule, match: YARARuleMatch)]
    let compiled: YARARules?
    var limits = YARALimits()
    /// SHA-256 of the YARA files' texts: what cached YARA outcomes are valid for.
    let digest: String
    /// The YARA files, named in skips (a scan that timed out names the rule files it ran).
    let files: [String]

    static func match(of rule: Rule) -> YARARuleMatch? {
        if case .yara(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, YARARuleMatch)]) {
        self.init(rules, compiled: nil, sources: [])
    }

    init(_ rules: [(Rule, YARARuleMatch)], compiled: YARARules?, sources: [YARASource]) {
        self.rules = Dictionary(rules.map { ($0.1.index, (rule: $0.0, match: $0.1)) }, uniquingKeysWith: { first, _ in first })
        self.compiled = rules.isEmpty ? nil : compiled
        files = sources.map(\.file)
        let text = sources.map { $0.file + "\u{0}" + $0.namespace + "\u{0}" + $0.text }.joined(separator: "\u{1}")
        digest = self.compiled == nil ? "" : SHA256.hash(data: Array(text.utf8)).hex
    }

    var isActive: Bool { compiled != nil }

    /// Whether every process's mappings are read, for its code outside files.
    var scansMemoryOfEveryProcess: Bool {
        limits.memoryOfEveryProcess && rules.values.contains { $0.match.appliesToMemory }
    }

    /// Runs the rules over one file's bytes (the read's own, held while it was read).
    func scanFile(_ held: YARAHeldBytes, path: String, owner: UInt32, names: UserNames) -> YARAOutcome {
        guard let compiled else { return .scanned([]) }
        if let size = held.tooLarge {
            return .notScanned(reason: "\(size) bytes, over the \(limits.maximumFileSize >> 20) MiB YARA limit: the YARA rules of \(namedFiles) were not run on it",
                               code: .limit)
        }
        let variables = YARAFileVariables.values(path: path, bytes: Array(held.bytes.prefix(4)), owner: owner, names: names)
        return outcome(compiled, held.bytes[...], variables: variables, timeout: limits.timeoutSeconds)
    }

    func outcome(_ compiled: YARARules, _ bytes: ArraySlice<UInt8>, variables: [String: String], timeout: Int) -> YARAOutcome {
        do {
            return .scanned(try compiled.scan(bytes, variables: variables, timeout: timeout))
        } catch {
            switch error.code {
            case .timeout:
                return .notScanned(reason: "the YARA rules of \(namedFiles) took more than \(timeout) s on it and were stopped: what they would find is unknown; narrow the slow rule (a regex, a loop) or raise the timeout",
                                   code: .limit)
            default:
                return .notScanned(reason: "YARA scan failed (\(error)); the YARA rules of \(namedFiles) were not run on it", code: .unreadable)
            }
        }
    }

    /// The rule files, as a skip names them: at most three, then how many more.
    var namedFiles: String {
        let shown = files.prefix(3).joined(separator: ", ")
        return files.count > 3 ? shown + " and \(files.count - 3) more" : shown
    }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        guard isActive else { return [] }
        var findings: [Finding] = []
        for file in facts.files {
            guard case .scanned(let matches)? = file.yara else { continue }
            for found in matches {
                guard let (rule, match) = rules[found.rule], match.appliesToFiles else { continue }
                var evidence = facts.evidence(for: file, detail: Self.detail(match, found))
                Self.add(match, found, to: &evidence)
                findings.append(Finding(rule: rule, evidence: evidence, fileIdentity: file.facts?.identity))
            }
        }
        for scan in facts.memory {
            for found in scan.matches {
                guard let (rule, match) = rules[found.rule], match.appliesToMemory else { continue }
                // A memfd's code is also read as a file; where the rule found it there, that finding names it.
                if let identity = scan.mapping.fileIdentity, let file = facts.file(withIdentity: identity),
                   case .scanned(let fileMatches)? = file.yara, fileMatches.contains(where: { $0.rule == found.rule }) {
                    continue
                }
                var evidence = Evidence(path: scan.mapping.label, pid: scan.pid, pids: [scan.pid], detail: Self.detail(match, found))
                evidence.seenAs = ["process memory"]
                evidence.mapping = scan.mapping.description
                Self.add(match, found, to: &evidence)
                findings.append(Finding(rule: rule, evidence: evidence))
            }
        }
        return findings
    }

    private static func add(_ match: YARARuleMatch, _ found: YARAMatch, to evidence: inout Evidence) {
        evidence.yaraRule = match.name
        evidence.yaraNamespace = match.namespace
        evidence.yaraStrings = found.strings.map { "\($0.identifier) at 0x\(String($0.offset, radix: 16))" }
    }

    static func detail(_ match: YARARuleMatch, _ found: YARAMatch) -> String {
        var text = "YARA rule \(match.name) (\(match.namespace))"
        if let author = match.author { text += " by \(author)" }
        guard !found.strings.isEmpty else { return text + " matched on its condition alone" }
        let shown = found.strings.map { "\($0.identifier) at 0x\(String($0.offset, radix: 16))" }.joined(separator: ", ")
        let more = found.stringMatchCount > found.strings.count ? " and \(found.stringMatchCount - found.strings.count) more" : ""
        return text + " matched: " + shown + more
    }
}
