import HostIO
import YARA

/// How a YARA rule becomes a chainwatch rule: its id, title, severity and references, from the conventions its
/// authors write their `meta:` in (docs/yara.md).
public enum YARAConventions {
    /// The journal MESSAGE_ID every YARA finding carries (one catalog entry, systemd/chainwatch.catalog): a YARA
    /// rule has no message id of its own; CHAINWATCH_RULE names the rule.
    public static let messageID = "9ce8ca506314403bb3402230ddfb94a4"

    /// The variables LOKI and THOR define, so rules written for them compile; set for each file scanned.
    public static let variables = ["filename", "filepath", "extension", "filetype", "owner"]

    /// `yara.FILE.RULE`: the file's name without its extension and the rule's name, lower-cased, every character
    /// an id may not hold replaced by '-'. Stable while neither is renamed.
    public static func id(file: String, rule: String) -> String {
        var stem = Substring(file.split(separator: "/").last ?? "")
        if let dot = stem.lastIndex(of: ".") { stem = stem[..<dot] }
        func clean<S: StringProtocol>(_ text: S) -> String {
            String(text.lowercased().unicodeScalars.map { scalar -> Character in
                ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar) ? Character(scalar) : "-"
            })
        }
        return "yara." + clean(stem) + "." + clean(rule)
    }

    /// The severity the rule's authors gave it: a numeric `score` (LOKI, THOR, signature-base) or `severity`
    /// (Elastic, 0-100) on one scale, or a `severity` word; high when it says nothing.
    public static func severity(_ rule: YARARuleInfo) -> Severity {
        for key in ["score", "severity"] {
            guard let value = rule.meta(key) else { continue }
            if let number = number(value) { return severity(score: number) }
            if case .string(let text) = value, let word = severity(word: text) { return word }
        }
        return .high
    }

    /// 90 and above critical, 70 high, 40 medium, 20 low, below info.
    static func severity(score: Int64) -> Severity {
        switch score {
        case 90...: return .critical
        case 70..<90: return .high
        case 40..<70: return .medium
        case 20..<40: return .low
        default: return .info
        }
    }

    static func severity(word: String) -> Severity? {
        switch word.lowercased().trimmingWhitespace() {
        case "critical": return .critical
        case "high", "alert": return .high
        case "medium", "warning", "moderate": return .medium
        case "low", "notice": return .low
        case "info", "informational": return .info
        default: return nil
        }
    }

    private static func number(_ value: YARAMetaValue) -> Int64? {
        switch value {
        case .integer(let number): return number
        case .string(let text): return Int64(text.trimmingWhitespace())
        case .boolean: return nil
        }
    }

    /// The chainwatch rule a compiled YARA rule stands for, defined in `file`.
    public static func rule(_ info: YARARuleInfo, file: String) -> Rule {
        let description = info.meta("description")?.text.trimmingWhitespace() ?? ""
        let author = info.meta("author")?.text
        // Only URLs: signature-base writes several `reference` entries, some of them plain words.
        let references = info.metas.filter { $0.key.hasPrefix("reference") && ($0.value.text.hasPrefix("https://") || $0.value.text.hasPrefix("http://")) }
            .map(\.value.text)
        let contexts = info.meta("scan_context")?.text.lowercased()
        let match = YARARuleMatch(name: info.name, namespace: info.namespace, index: info.index,
                                  appliesToFiles: contexts.map { $0.contains("file") } ?? true,
                                  appliesToMemory: contexts.map { $0.contains("memory") } ?? true, author: author)
        var text = "YARA rule \(info.name) (\(info.namespace))"
        if let author { text += " by \(author)" }
        text += " matched." + (description.isEmpty ? "" : " " + description)
        return Rule(id: id(file: file, rule: info.name),
                    title: description.isEmpty ? "YARA rule \(info.name) matched" : singleLine(description),
                    kind: .yara, severity: severity(info), messageID: messageID, description: text,
                    references: references, tags: ["yara"] + info.tags.map { $0.lowercased() } + cves(in: info.name + " " + description),
                    match: .yara(match), location: SourceLocation(file: file, line: 1))
    }

    /// CVE ids named in the rule's name or description (`CVE_2024_3094`, `CVE-2024-3094`), as `cve-2024-3094`
    /// tags: the SBOM's vulnerabilities come from such tags.
    static func cves(in text: String) -> [String] {
        let words = text.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        var found: [String] = []
        for word in words {
            let parts = word.split(whereSeparator: { $0 == "_" || $0 == "-" })
            for i in parts.indices.dropLast(2) where parts[i] == "cve" {
                let year = parts[i + 1], number = parts[i + 2]
                guard year.count == 4, year.allSatisfy(\.isNumber), number.count >= 4, number.allSatisfy(\.isNumber) else { continue }
                let tag = "cve-\(year)-\(number)"
                if !found.contains(tag) { found.append(tag) }
            }
        }
        return found
    }

    private static func singleLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace() }.joined(separator: " ")
    }
}
