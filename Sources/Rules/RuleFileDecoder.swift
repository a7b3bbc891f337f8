import HostIO
import YAML

/// Turns one rule file's YAML into rules, checking every key strictly and recording each problem with its line.
struct RuleFileDecoder {
    static let formatVersion = 1
    static let commonKeys = ["id", "title", "kind", "severity", "message-id", "description", "references", "tags", "match", "targets"]

    let file: String
    var problems: [RuleError] = []
    /// The file's `suppressions:` entries (their rule ids are checked once every file is loaded).
    var suppressions: [Suppression] = []

    init(file: String) { self.file = file }

    mutating func decode(_ text: String) -> [Rule] {
        let root: Node?
        do {
            root = try YAMLParser.compose(text)
        } catch {
            fail(line: error.line, key: nil, "not valid YAML: \(error.problem)")
            return []
        }
        guard let root, let top = mapping(root, key: nil) else {
            fail(line: 1, key: nil, "expected a mapping with 'chainwatch-rules: 1' and 'rules:'")
            return []
        }
        checkKeys(top, allowed: ["chainwatch-rules", "rules", "suppressions"], required: ["chainwatch-rules"], at: root)
        if top["rules"] == nil && top["suppressions"] == nil {
            fail(root, key: nil, "expected 'rules:' (detections) or 'suppressions:' (accepted findings), or both")
        }
        if let node = top["suppressions"] { decodeSuppressions(node) }
        if let versionNode = top["chainwatch-rules"] {
            if versionNode.scalar?.string != String(Self.formatVersion) {
                fail(versionNode, key: "chainwatch-rules",
                     "this chainwatch reads rule format \(Self.formatVersion); the file says '\(versionNode.scalar?.string ?? "?")'. Upgrade chainwatch or rewrite the file")
            }
        }
        guard let rulesNode = top["rules"] else { return [] }
        guard case .sequence(let sequence) = rulesNode else {
            fail(rulesNode, key: "rules", "expected a list of rules")
            return []
        }
        return sequence.compactMap { decodeRule($0) }
    }

    private mutating func decodeRule(_ node: Node) -> Rule? {
        guard let map = mapping(node, key: "rules") else { return nil }
        let before = problems.count
        checkKeys(map, allowed: Self.commonKeys, required: Self.commonKeys.filter { !["references", "tags", "targets"].contains($0) }, at: node)
        let id = string(map, "id")
        if let id, !Self.isValidID(id) {
            fail(map["id"]!, key: "id", "'\(id)' is not a valid id: use lowercase letters, digits, '.', '-' and '_', starting with a letter or digit")
        }
        let title = string(map, "title")
        let kindText = string(map, "kind")
        let kind = kindText.flatMap { RuleKind(rawValue: $0) }
        if let kindText, kind == nil {
            fail(map["kind"]!, key: "kind", "unknown kind '\(kindText)'; expected one of \(RuleKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let severity = severityValue(map, "severity")
        let messageID = string(map, "message-id")
        if let messageID, !(messageID.count == 32 && messageID.allSatisfy({ $0.isHexDigit && !$0.isUppercase })) {
            fail(map["message-id"]!, key: "message-id", "'\(messageID)' must be 32 lowercase hex digits (make one with: systemd-id128 new, or uuidgen | tr -d -)")
        }
        let description = string(map, "description")
        let references = stringList(map, "references") ?? []
        let tags = stringList(map, "tags") ?? []
        var targets: Set<RuleTargetScope>?
        if map["targets"] != nil, let names = nonEmptyList(map, "targets") {
            targets = []
            for name in names {
                if let scope = RuleTargetScope(rawValue: name) { targets!.insert(scope) } else {
                    fail(map["targets"]!, key: "targets", "unknown target '\(name)'; expected host, containers or both")
                }
            }
        }
        var match: RuleMatch?
        if let kind, let matchNode = map["match"] { match = decodeMatch(matchNode, kind: kind) }
        guard problems.count == before, let id, let title, let kind, let severity, let messageID, let description, let match else {
            return nil
        }
        return Rule(id: id, title: title, kind: kind, severity: severity, messageID: messageID, description: description,
                    references: references, tags: tags, match: match,
                    location: SourceLocation(file: file, line: node.line), targets: targets)
    }

    static let suppressionKeys = ["rule", "reason", "expires", "paths", "packages", "programs", "executables", "containers", "images"]

    private mutating func decodeSuppressions(_ node: Node) {
        guard case .sequence(let sequence) = node else {
            fail(node, key: "suppressions", "expected a list of {rule, reason, ...}")
            return
        }
        for item in sequence {
            guard let map = mapping(item, key: "suppressions") else { continue }
            let before = problems.count
            checkKeys(map, allowed: Self.suppressionKeys, required: ["rule", "reason"], at: item)
            let rule = string(map, "rule")
            let reason = string(map, "reason")
            if let reason, reason.trimmingWhitespace().count < 3 {
                fail(map["reason"]!, key: "reason", "say why this finding is accepted (who decided, a ticket): it is shown with every suppressed finding")
            }
            var expires: CalendarDay?
            if let text = string(map, "expires") {
                expires = CalendarDay(text)
                if expires == nil { fail(map["expires"]!, key: "expires", "'\(text)' is not a date; write YYYY-MM-DD (the last day it applies, UTC)") }
            } else if let node = map["expires"], node.scalar == nil {
                fail(node, key: "expires", "write the date as YYYY-MM-DD")
            }
            func list(_ key: String) -> [String]? { map[key] != nil ? nonEmptyList(map, key) : nil }
            let paths = list("paths"), packages = list("packages"), programs = list("programs"), executables = list("executables")
            let containers = list("containers"), images = list("images")
            guard problems.count == before, let rule, let reason else { continue }
            suppressions.append(Suppression(rule: rule, reason: reason, expires: expires, paths: paths, packages: packages,
                                            programs: programs, executables: executables,
                                            location: SourceLocation(file: file, line: item.line),
                                            containers: containers, images: images))
        }
    }

    // MARK: Helpers

    static func isValidID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, first.properties.isLowercase || ("0"..."9").contains(first) else { return false }
        return id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "-._".unicodeScalars.contains($0) }
    }

    /// The allowed key nearest to a typo (edit distance at most 2), for "did you mean".
    static func closest(to word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var previous = row[0]
                row[0] = i
                for j in stride(from: 1, through: b.count, by: 1) {
                    let current = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let scored = candidates.map { ($0, distance(Array(word), Array($0))) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }
}
