/// A problem in a rule file: which file and line, which key, what is wrong and what to do.
public struct RuleError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public init(file: String, line: Int?, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "'\(key)': " }
        return text + message
    }
}

/// Every problem found while loading rules: loading reports them all at once, not one per run.
public struct RuleLoadError: Error, Sendable, CustomStringConvertible {
    public var problems: [RuleError]

    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
