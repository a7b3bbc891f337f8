import HostIO

/// os-release(5) of a root: /etc/os-release, or /usr/lib/os-release where /etc has none.
public enum OSRelease {
    public static func read(root: ConfinedRoot) -> [String: String] {
        for path in ["/etc/os-release", "/usr/lib/os-release"] {
            if let text = try? root.readText(path, limit: 64 << 10) { return parse(text) }
        }
        return [:]
    }

    /// KEY=value lines; values may be quoted with " or ' (backslash escapes inside double quotes).
    public static func parse(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: " \t\r")
            guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            let key = String(trimmed[..<equals])
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            var value = Substring(trimmed[trimmed.index(after: equals)...])
            if let quote = value.first, quote == "\"" || quote == "'", value.count >= 2, value.last == quote {
                value = value.dropFirst().dropLast()
                if quote == "\"" {
                    var unescaped = ""
                    var escaping = false
                    for character in value {
                        if escaping || character != "\\" { unescaped.append(character); escaping = false } else { escaping = true }
                    }
                    value = Substring(unescaped)
                }
            }
            result[key] = String(value)
        }
        return result
    }
}
