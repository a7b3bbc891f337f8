import HostIO
import YARA

/// YARA files in a rules directory: read with the same trust checks as YAML files, compiled together with libyara
/// once per load, each of their rules a chainwatch rule of kind `yara`.
extension RuleLoader {
    static let yaraExtensions = [".yar", ".yara"]

    static func isYARAFile(_ name: String) -> Bool { yaraExtensions.contains(where: name.hasSuffix) }

    /// Compiles the YARA files read (`sources`, in load order) and adds their rules, checking their ids against
    /// those already loaded. Every compile error is a problem naming the file and line.
    static func compileYARA(_ sources: [YARASource], ids: inout [String: SourceLocation], rules: inout [Rule],
                            problems: inout [RuleError]) -> YARARules? {
        guard !sources.isEmpty else { return nil }
        let compiled: YARARules
        do {
            compiled = try YARACompiler.compile(sources, variables: YARAConventions.variables)
        } catch {
            problems += error.problems.map {
                RuleError(file: $0.file, line: $0.line, key: nil,
                          message: "YARA: \($0.message); fix the rule or move the file out of the rules directory (the other rules are not loaded until it compiles)")
            }
            return nil
        }
        let files = Dictionary(sources.map { ($0.namespace, $0) }, uniquingKeysWith: { first, _ in first })
        for info in compiled.rules where !info.isPrivate {
            guard let source = files[info.namespace] else { continue }
            var rule = YARAConventions.rule(info, file: source.file)
            rule.location.line = line(of: info.name, in: source.text)
            if let first = ids[rule.id] {
                problems.append(RuleError(file: source.file, line: rule.location.line, key: nil,
                                          message: "YARA rule \(info.name) gets the id '\(rule.id)', already defined at \(first); rename the rule or the file"))
                continue
            }
            ids[rule.id] = rule.location
            rules.append(rule)
        }
        return compiled
    }

    /// The namespace a YARA file's rules are compiled in: its file name, so two files may both define a rule
    /// of the same name (as two vendors' files do); a second file of the same name gets its position appended.
    static func yaraNamespace(for file: String, taken: [YARASource]) -> String {
        let name = String(file.split(separator: "/").last ?? "")
        return taken.contains { $0.namespace == name } ? "\(name)#\(taken.count + 1)" : name
    }

    /// The line of `rule NAME` in the text (libyara keeps no line per rule), or 1.
    static func line(of rule: String, in text: String) -> Int {
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "{" || $0 == ":" })
            if let index = words.firstIndex(of: "rule"), words.index(after: index) < words.endIndex, words[words.index(after: index)] == rule {
                return number + 1
            }
        }
        return 1
    }
}
