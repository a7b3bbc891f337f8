import HostIO
import YAML

/// Typed accessors over the YAML nodes of a rule file: each records a problem with its line and returns nil on a
/// wrong type, so one pass reports every mistake in a file.
extension RuleFileDecoder {
    mutating func mapping(_ node: Node, key: String?) -> Node.Mapping? {
        if case .mapping(let map) = node { return map }
        if case .alias = node {
            fail(node, key: key, "YAML aliases are not allowed in rule files")
            return nil
        }
        fail(node, key: key, "expected a mapping (key: value lines)")
        return nil
    }

    mutating func checkKeys(_ map: Node.Mapping, allowed: [String], required: [String], at node: Node) {
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

    mutating func string(_ map: Node.Mapping, _ key: String) -> String? {
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

    mutating func stringList(_ map: Node.Mapping, _ key: String) -> [String]? {
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

    mutating func nonEmptyList(_ map: Node.Mapping, _ key: String) -> [String]? {
        guard let values = stringList(map, key) else { return nil }
        if values.isEmpty {
            fail(map[key]!, key: key, "must list at least one item")
            return nil
        }
        return values
    }

    mutating func globs(_ map: Node.Mapping, _ key: String) -> [String]? {
        guard let values = nonEmptyList(map, key) else { return nil }
        for value in values where value.contains("/") {
            fail(map[key]!, key: key, "'\(value)' is matched against file names only; remove the directory part")
        }
        return values
    }

    mutating func bool(_ map: Node.Mapping, _ key: String) -> Bool? {
        guard let node = map[key] else { return nil }
        switch node.scalar?.string {
        case "true": return true
        case "false": return false
        default:
            fail(node, key: key, "expected true or false")
            return nil
        }
    }

    mutating func severityValue(_ map: Node.Mapping, _ key: String) -> Severity? {
        guard let text = string(map, key) else { return nil }
        guard let severity = Severity(rawValue: text) else {
            fail(map[key]!, key: key, "'\(text)' is not a severity; expected one of \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return severity
    }

    mutating func conditionValue(_ map: Node.Mapping) -> Condition? {
        guard map["condition"] != nil else { return .any }
        guard let text = string(map, "condition") else { return nil }
        guard let condition = Condition(rawValue: text) else {
            fail(map["condition"]!, key: "condition", "'\(text)' must be 'any' or 'all'")
            return nil
        }
        return condition
    }

    mutating func fail(_ node: Node, key: String?, _ message: String) {
        fail(line: node.line, key: key, message)
    }

    mutating func fail(line: Int?, key: String?, _ message: String) {
        problems.append(RuleError(file: file, line: line, key: key, message: message))
    }
}
