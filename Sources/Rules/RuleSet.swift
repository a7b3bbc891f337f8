import HostIO
import YARA

/// The rules in force: every valid rule from every rule file loaded.
public struct RuleSet: Sendable {
    public var rules: [Rule]
    /// The rule files read, in load order.
    public var files: [String]
    /// Accepted findings and switched-off rules, each with its reason.
    public var suppressions: [Suppression]
    /// The YARA files' rules compiled together (each of them also in `rules`, kind `yara`); nil without YARA files.
    public var yara: YARARules?

    public init(rules: [Rule], files: [String], suppressions: [Suppression] = [], yara: YARARules? = nil) {
        self.rules = rules
        self.files = files
        self.suppressions = suppressions
        self.yara = yara
    }

    public func rules(of kind: RuleKind) -> [Rule] { rules.filter { $0.kind == kind } }
}

/// Loads rule files from directories (or single files), strictly: any problem in any file fails the load,
/// and every problem is reported together with its file and line.
public enum RuleLoader {
    /// Where an installed chainwatch finds rules when no `--rules` is given.
    public static let defaultDirectories = ["/usr/share/chainwatch/rules", "/etc/chainwatch/rules.d"]

    /// The directories loaded when none is given, those that exist: an installed signed bundle
    /// (STATE/rules, see `chainwatch --install-rules`) in place of the packaged rules, then the admin's rules.d.
    public static func defaultDirectories(stateDirectory: String) -> [String] {
        let bundle = stateDirectory + "/rules"
        let base = (try? FileSystem.status(bundle))?.kind == .directory ? bundle : defaultDirectories[0]
        return [base, defaultDirectories[1]].filter { (try? FileSystem.status($0)) != nil }
    }
    /// Bounds so a rules directory cannot make loading or matching unbounded.
    public static let maximumFileSize: Int64 = 4 << 20
    public static let maximumRules = 10_000

    public static func load(from paths: [String]) throws(RuleLoadError) -> RuleSet {
        var problems: [RuleError] = []
        var files: [String] = []
        for path in paths {
            // The way to the rules is checked before anything under it is read: a directory above them that another
            // user can write lets that user swap in rules of their own, whatever the rule files' own modes.
            if let problem = pathTrustProblem(path) {
                problems.append(RuleError(file: path, line: nil, key: nil, message: problem))
                continue
            }
            files += ruleFiles(in: path, problems: &problems)
        }
        var rules: [Rule] = []
        var suppressions: [Suppression] = []
        var ids: [String: SourceLocation] = [:]
        var messageIDs: [String: SourceLocation] = [:]
        var yaraSources: [YARASource] = []
        for file in files {
            let text: String
            do {
                let handle = try OpenFile(path: file)
                if let problem = trustProblem(handle.status) {
                    problems.append(RuleError(file: file, line: nil, key: nil, message: problem))
                    continue
                }
                text = String(decoding: try handle.readAll(limit: maximumFileSize), as: UTF8.self)
            } catch {
                problems.append(RuleError(file: file, line: nil, key: nil, message: "cannot read: \(error)"))
                continue
            }
            if isYARAFile(file) {
                yaraSources.append(YARASource(file: file, namespace: yaraNamespace(for: file, taken: yaraSources), text: text))
                continue
            }
            var decoder = RuleFileDecoder(file: file)
            for rule in decoder.decode(text) {
                if let first = ids[rule.id] {
                    decoder.problems.append(RuleError(file: file, line: rule.location.line, key: "id",
                                                      message: "'\(rule.id)' is already defined at \(first)"))
                } else if let first = messageIDs[rule.messageID] {
                    decoder.problems.append(RuleError(file: file, line: rule.location.line, key: "message-id",
                                                      message: "\(rule.messageID) is already used by the rule at \(first); each rule needs its own"))
                } else {
                    ids[rule.id] = rule.location
                    messageIDs[rule.messageID] = rule.location
                    rules.append(rule)
                }
            }
            problems += decoder.problems
            suppressions += decoder.suppressions
            if rules.count > maximumRules {
                problems.append(RuleError(file: file, line: nil, key: nil,
                                          message: "more than \(maximumRules) rules loaded; split detections or raise the limit in a new release"))
                break
            }
        }
        let yara = compileYARA(yaraSources, ids: &ids, rules: &rules, problems: &problems)
        // The YARA files' rules count too (the YAML loop above stops at the bound on its own).
        if yara != nil && rules.count > maximumRules {
            problems.append(RuleError(file: paths.joined(separator: ", "), line: nil, key: nil,
                                      message: "more than \(maximumRules) rules loaded; split detections or raise the limit in a new release"))
        }
        if files.isEmpty && problems.isEmpty {
            problems.append(RuleError(file: paths.joined(separator: ", "), line: nil, key: nil,
                                      message: "no rule files (*.yaml, *.yml, *.yar, *.yara) found; pass --rules DIR"))
        }
        // A suppression of a rule that is not loaded is a typo or a stale entry: either would hide nothing today
        // and something else tomorrow.
        for suppression in suppressions where ids[suppression.rule] == nil {
            let hint = RuleFileDecoder.closest(to: suppression.rule, in: Array(ids.keys)).map { "; did you mean '\($0)'?" } ?? ""
            problems.append(RuleError(file: suppression.location.file, line: suppression.location.line, key: "rule",
                                      message: "no loaded rule has the id '\(suppression.rule)'\(hint)"))
        }
        guard problems.isEmpty else { throw RuleLoadError(problems: problems) }
        return RuleSet(rules: rules, files: files, suppressions: suppressions, yara: yara)
    }

    /// Decodes one rule file's text without touching the filesystem: the rules and every problem found.
    public static func decode(_ text: String, file: String) -> (rules: [Rule], problems: [RuleError]) {
        var decoder = RuleFileDecoder(file: file)
        let rules = decoder.decode(text)
        return (rules, decoder.problems)
    }

    /// The rule files under `path`: the file itself, or the *.yaml / *.yml / *.yar / *.yara files of a directory
    /// tree, sorted.
    static func ruleFiles(in path: String, problems: inout [RuleError]) -> [String] {
        let status: FileStatus
        do { status = try FileSystem.status(path) } catch {
            problems.append(RuleError(file: path, line: nil, key: nil, message: "cannot read rules: \(error.reason)"))
            return []
        }
        if status.isRegular { return [path] }
        guard status.kind == .directory else {
            problems.append(RuleError(file: path, line: nil, key: nil, message: "not a rule file or directory"))
            return []
        }
        if let problem = trustProblem(status) {
            problems.append(RuleError(file: path, line: nil, key: nil, message: problem))
            return []
        }
        var files: [String] = []
        let entries: [String]
        // A rules directory given as a symlink (an installed bundle: STATE/rules -> bundles/VERSION.XXXXXX) is
        // listed at its target; below it no symlink is followed.
        var listed = path
        if let target = try? FileSystem.readLink(path) {
            listed = target.hasPrefix("/") ? target : (path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/") + "/" + target)
        }
        do { entries = try FileSystem.directoryEntries(listed) } catch {
            problems.append(RuleError(file: path, line: nil, key: nil, message: "cannot list: \(error.reason)"))
            return []
        }
        for entry in entries where !entry.hasPrefix(".") {
            let child = listed + "/" + entry
            guard let childStatus = try? FileSystem.linkStatus(child) else { continue }
            if childStatus.kind == .directory {
                files += ruleFiles(in: child, problems: &problems)
            } else if entry.hasSuffix(".yaml") || entry.hasSuffix(".yml") || isYARAFile(entry) {
                files.append(child)
            }
        }
        return files
    }
}
