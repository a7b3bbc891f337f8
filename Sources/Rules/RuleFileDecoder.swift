import Yams

/// Turns one rule file's YAML into rules, checking every key strictly and recording each problem with its line.
struct RuleFileDecoder {
    static let formatVersion = 1
    static let commonKeys = ["id", "title", "kind", "severity", "message-id", "description", "references", "tags", "match"]
    static let matchKeys: [RuleKind: [String]] = [
        .packageVersion: ["ecosystem", "packages", "versions", "ranges"],
        .fileHash: ["hashes"],
        .byteSignature: ["files", "condition", "patterns"],
        .elfFeature: ["files", "condition", "ifunc-symbols", "irelative-relocations", "symbols"],
        .dependencyChain: ["binary", "library", "through", "escalate-to"],
    ]
    static let ecosystems = ["debian", "rpm", "alpine", "arch"]

    let file: String
    var problems: [RuleError] = []

    init(file: String) { self.file = file }

    mutating func decode(_ text: String) -> [Rule] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            fail(line: Self.line(of: error), key: nil, "not valid YAML: \(Self.problem(of: error))")
            return []
        } catch {
            fail(line: nil, key: nil, "not valid YAML: \(error)")
            return []
        }
        guard let root, let top = mapping(root, key: nil) else {
            fail(line: 1, key: nil, "expected a mapping with 'chainwatch-rules: 1' and 'rules:'")
            return []
        }
        checkKeys(top, allowed: ["chainwatch-rules", "rules"], required: ["chainwatch-rules", "rules"], at: root)
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
        checkKeys(map, allowed: Self.commonKeys, required: Self.commonKeys.filter { $0 != "references" && $0 != "tags" }, at: node)
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
        var match: RuleMatch?
        if let kind, let matchNode = map["match"] { match = decodeMatch(matchNode, kind: kind) }
        guard problems.count == before, let id, let title, let kind, let severity, let messageID, let description, let match else {
            return nil
        }
        return Rule(id: id, title: title, kind: kind, severity: severity, messageID: messageID, description: description,
                    references: references, tags: tags, match: match,
                    location: SourceLocation(file: file, line: node.mark?.line ?? 0))
    }

    private mutating func decodeMatch(_ node: Node, kind: RuleKind) -> RuleMatch? {
        guard let map = mapping(node, key: "match") else { return nil }
        let allowed = Self.matchKeys[kind]!
        switch kind {
        case .packageVersion:
            checkKeys(map, allowed: allowed, required: ["ecosystem", "packages"], at: node)
            let ecosystem = string(map, "ecosystem")
            if let ecosystem, !Self.ecosystems.contains(ecosystem) {
                fail(map["ecosystem"]!, key: "ecosystem", "unknown ecosystem '\(ecosystem)'; expected one of \(Self.ecosystems.joined(separator: ", "))")
            }
            let packages = nonEmptyList(map, "packages")
            let versions = stringList(map, "versions") ?? []
            let ranges = map["ranges"].map { decodeRanges($0) } ?? []
            if versions.isEmpty && ranges.isEmpty {
                fail(node, key: "match", "a package-version rule needs 'versions' or 'ranges'")
            }
            guard let ecosystem, let packages else { return nil }
            return .packageVersion(PackageVersionMatch(ecosystem: ecosystem, packages: packages, versions: versions, ranges: ranges))

        case .fileHash:
            checkKeys(map, allowed: allowed, required: ["hashes"], at: node)
            guard let hashesNode = map["hashes"], case .sequence(let list) = hashesNode, !list.isEmpty else {
                if let hashesNode = map["hashes"] { fail(hashesNode, key: "hashes", "expected a non-empty list of {sha256, file, source}") }
                return nil
            }
            var hashes: [KnownHash] = []
            for entry in list {
                guard let item = mapping(entry, key: "hashes") else { continue }
                checkKeys(item, allowed: ["sha256", "file", "source"], required: ["sha256", "file", "source"], at: entry)
                guard let hash = string(item, "sha256"), let fileName = string(item, "file"), let source = string(item, "source") else { continue }
                guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit }) else {
                    fail(item["sha256"]!, key: "sha256", "'\(hash)' is not a SHA-256 (64 hex digits)")
                    continue
                }
                hashes.append(KnownHash(sha256: hash.lowercased(), file: fileName, source: source))
            }
            return .fileHash(FileHashMatch(hashes: hashes))

        case .byteSignature:
            checkKeys(map, allowed: allowed, required: ["files", "patterns"], at: node)
            let files = globs(map, "files")
            let condition = conditionValue(map)
            var patterns: [BytePattern] = []
            if let patternsNode = map["patterns"] {
                if case .sequence(let list) = patternsNode, !list.isEmpty {
                    for entry in list {
                        guard let text = entry.scalar?.string else {
                            fail(entry, key: "patterns", "expected a hex string")
                            continue
                        }
                        do { patterns.append(try BytePattern(text)) } catch {
                            fail(entry, key: "patterns", "bad hex pattern: \(error)")
                        }
                    }
                } else {
                    fail(patternsNode, key: "patterns", "expected a non-empty list of hex strings")
                }
            }
            guard let files, let condition else { return nil }
            return .byteSignature(ByteSignatureMatch(files: files, condition: condition, patterns: patterns))

        case .elfFeature:
            checkKeys(map, allowed: allowed, required: ["files"], at: node)
            let files = globs(map, "files")
            let condition = conditionValue(map)
            let ifunc = bool(map, "ifunc-symbols") ?? false
            let irelative = bool(map, "irelative-relocations") ?? false
            let symbols = stringList(map, "symbols") ?? []
            if !ifunc && !irelative && symbols.isEmpty {
                fail(node, key: "match", "an elf-feature rule needs at least one of ifunc-symbols: true, irelative-relocations: true, symbols")
            }
            guard let files, let condition else { return nil }
            return .elfFeature(ELFFeatureMatch(files: files, condition: condition, ifuncSymbols: ifunc,
                                               irelativeRelocations: irelative, symbols: symbols))

        case .dependencyChain:
            checkKeys(map, allowed: allowed, required: ["binary", "library"], at: node)
            let binary = string(map, "binary")
            if let binary, binary.contains("/") {
                fail(map["binary"]!, key: "binary", "give the program's file name (e.g. sshd), not a path: it is looked up in package lists, standard directories and running processes")
            }
            let library = string(map, "library")
            let through = string(map, "through")
            let escalate = map["escalate-to"] != nil ? severityValue(map, "escalate-to") : nil
            guard let binary, let library else { return nil }
            return .dependencyChain(DependencyChainMatch(binary: binary, library: library, through: through, escalateTo: escalate))
        }
    }

    private mutating func decodeRanges(_ node: Node) -> [VersionRange] {
        guard case .sequence(let list) = node else {
            fail(node, key: "ranges", "expected a list of {introduced, fixed | last-affected}")
            return []
        }
        var ranges: [VersionRange] = []
        for entry in list {
            guard let item = mapping(entry, key: "ranges") else { continue }
            checkKeys(item, allowed: ["introduced", "fixed", "last-affected"], required: ["introduced"], at: entry)
            let range = VersionRange(introduced: string(item, "introduced"), fixed: string(item, "fixed"),
                                     lastAffected: string(item, "last-affected"))
            if (range.fixed == nil) == (range.lastAffected == nil) {
                fail(entry, key: "ranges", "give exactly one of 'fixed' (first good version) or 'last-affected' (last bad version)")
            }
            ranges.append(range)
        }
        return ranges
    }

    // MARK: Typed accessors that record a problem and return nil on a wrong type.

    private mutating func mapping(_ node: Node, key: String?) -> Node.Mapping? {
        if case .mapping(let map) = node { return map }
        if case .alias = node {
            fail(node, key: key, "YAML aliases are not allowed in rule files")
            return nil
        }
        fail(node, key: key, "expected a mapping (key: value lines)")
        return nil
    }

    private mutating func checkKeys(_ map: Node.Mapping, allowed: [String], required: [String], at node: Node) {
        for key in map.keys {
            guard let name = key.scalar?.string else {
                fail(key, key: nil, "keys must be plain strings")
                continue
            }
            if !allowed.contains(name) {
                let hint = Self.closest(to: name, in: allowed).map { "did you mean '\($0)'? " } ?? ""
                fail(key, key: name, "unknown key; \(hint)expected one of: \(allowed.joined(separator: ", "))")
            }
        }
        for name in required where map[name] == nil {
            fail(node, key: name, "required key is missing")
        }
    }

    private mutating func string(_ map: Node.Mapping, _ key: String) -> String? {
        guard let node = map[key] else { return nil }
        guard case .scalar(let scalar) = node else {
            fail(node, key: key, "expected a single value, not a list or mapping")
            return nil
        }
        let value = scalar.string.trimmingWhitespace()
        if value.isEmpty {
            fail(node, key: key, "must not be empty")
            return nil
        }
        return value
    }

    private mutating func stringList(_ map: Node.Mapping, _ key: String) -> [String]? {
        guard let node = map[key] else { return nil }
        guard case .sequence(let sequence) = node else {
            fail(node, key: key, "expected a list, e.g. [a, b]")
            return nil
        }
        var values: [String] = []
        for item in sequence {
            guard let value = item.scalar?.string, !value.isEmpty else {
                fail(item, key: key, "list items must be non-empty strings")
                continue
            }
            values.append(value)
        }
        return values
    }

    private mutating func nonEmptyList(_ map: Node.Mapping, _ key: String) -> [String]? {
        guard let values = stringList(map, key) else { return nil }
        if values.isEmpty {
            fail(map[key]!, key: key, "must list at least one item")
            return nil
        }
        return values
    }

    private mutating func globs(_ map: Node.Mapping, _ key: String) -> [String]? {
        guard let values = nonEmptyList(map, key) else { return nil }
        for value in values where value.contains("/") {
            fail(map[key]!, key: key, "'\(value)' is matched against file names only; remove the directory part")
        }
        return values
    }

    private mutating func bool(_ map: Node.Mapping, _ key: String) -> Bool? {
        guard let node = map[key] else { return nil }
        switch node.scalar?.string {
        case "true": return true
        case "false": return false
        default:
            fail(node, key: key, "expected true or false")
            return nil
        }
    }

    private mutating func severityValue(_ map: Node.Mapping, _ key: String) -> Severity? {
        guard let text = string(map, key) else { return nil }
        guard let severity = Severity(rawValue: text) else {
            fail(map[key]!, key: key, "'\(text)' is not a severity; expected one of \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return severity
    }

    private mutating func conditionValue(_ map: Node.Mapping) -> Condition? {
        guard map["condition"] != nil else { return .any }
        guard let text = string(map, "condition") else { return nil }
        guard let condition = Condition(rawValue: text) else {
            fail(map["condition"]!, key: "condition", "'\(text)' must be 'any' or 'all'")
            return nil
        }
        return condition
    }

    private mutating func fail(_ node: Node, key: String?, _ message: String) {
        fail(line: node.mark?.line, key: key, message)
    }

    private mutating func fail(line: Int?, key: String?, _ message: String) {
        problems.append(RuleError(file: file, line: line, key: key, message: message))
    }

    // MARK: Helpers

    static func isValidID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, first.properties.isLowercase || ("0"..."9").contains(first) else { return false }
        return id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "-._".unicodeScalars.contains($0) }
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        case .duplicatedKeysInMapping(_, let context): return context.mark.line
        default: return nil
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        case .duplicatedKeysInMapping(let duplicates, _): return "duplicate key \(duplicates.joined(separator: ", "))"
        default: return "\(error)"
        }
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

extension String {
    func trimmingWhitespace() -> String {
        var slice = self[...]
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}
