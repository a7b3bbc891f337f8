import CYara

/// One YARA rule file to compile: its text and the namespace its rules get.
public struct YARASource: Sendable, Hashable {
    /// Where it was read from, for messages.
    public var file: String
    public var namespace: String
    public var text: String

    public init(file: String, namespace: String, text: String) {
        self.file = file
        self.namespace = namespace
        self.text = text
    }
}

/// An error (or warning) libyara's compiler reported, with the file and line it names.
public struct YARACompileProblem: Sendable, Hashable {
    public var file: String
    public var line: Int?
    public var message: String
    public var isWarning: Bool
}

/// Every compile error of a set of sources, each naming its file and line.
public struct YARACompileFailure: Error, Sendable {
    public var problems: [YARACompileProblem]
}

/// Compiles YARA sources with libyara (yr_compiler_create, yr_compiler_add_string, yr_compiler_get_rules).
public enum YARACompiler {
    /// Compiles every source into one rule set, scanned in one pass per file. libyara's compiler cannot be used
    /// again after an error, so when one source fails the others are each compiled alone, to report every
    /// file's errors in one run rather than one per run.
    /// - Parameter variables: external string variables the rules may use (defined as "" until a scan sets them).
    public static func compile(_ sources: [YARASource], variables: [String]) throws(YARACompileFailure) -> YARARules {
        do throws(YARAError) {
            try YARALibrary.ensureInitialized()
        } catch {
            throw YARACompileFailure(problems: [YARACompileProblem(file: sources.first?.file ?? "", line: nil, message: "libyara: \(error)", isWarning: false)])
        }
        switch compileOnce(sources, variables: variables) {
        case .success(let rules):
            return rules
        case .failure(let failure):
            var problems = failure.problems
            for source in sources.dropFirst(failure.failedAt + 1) {
                if case .failure(let other) = compileOnce([source], variables: variables) { problems += other.problems }
            }
            throw YARACompileFailure(problems: problems.filter { !$0.isWarning })
        }
    }

    private struct Failure: Error {
        var problems: [YARACompileProblem]
        /// The source at which compiling stopped.
        var failedAt: Int
    }

    /// What the compiler callback collects: the problems, and the file being added (yr_compiler_add_string has no
    /// file name of its own).
    private final class Collector {
        var file = ""
        var problems: [YARACompileProblem] = []
    }

    private static func compileOnce(_ sources: [YARASource], variables: [String]) -> Result<YARARules, Failure> {
        var compiler: UnsafeMutablePointer<YR_COMPILER>?
        guard yr_compiler_create(&compiler) == 0, let compiler else {
            return .failure(Failure(problems: [YARACompileProblem(file: sources.first?.file ?? "", line: nil,
                                                                   message: "libyara could not create a compiler (out of memory)", isWarning: false)], failedAt: 0))
        }
        defer { yr_compiler_destroy(compiler) }
        let collector = Collector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        yr_compiler_set_callback(compiler, { level, _, line, _, message, user in
            let collector = Unmanaged<Collector>.fromOpaque(user!).takeUnretainedValue()
            collector.problems.append(YARACompileProblem(file: collector.file, line: line > 0 ? Int(line) : nil,
                                                         message: message.map { String(cString: $0) } ?? "unknown error",
                                                         isWarning: level == Int32(cw_yr_error_level_warning)))
        }, context)
        // No `include`: a rule file may only bring in what a trusted, signed rules directory holds, and an include
        // could name any file on the scanned system. libyara refuses includes when the callback is NULL.
        yr_compiler_set_include_callback(compiler, nil, nil, nil)
        for name in variables {
            guard yr_compiler_define_string_variable(compiler, name, "") == 0 else {
                return .failure(Failure(problems: [YARACompileProblem(file: sources.first?.file ?? "", line: nil,
                                                                       message: "could not define the variable '\(name)'", isWarning: false)], failedAt: 0))
            }
        }
        for (position, source) in sources.enumerated() {
            collector.file = source.file
            let errors = yr_compiler_add_string(compiler, source.text, source.namespace)
            if errors > 0 {
                if !collector.problems.contains(where: { !$0.isWarning }) {
                    collector.problems.append(YARACompileProblem(file: source.file, line: nil, message: "did not compile", isWarning: false))
                }
                return .failure(Failure(problems: collector.problems, failedAt: position))
            }
        }
        var rules: UnsafeMutablePointer<YR_RULES>?
        guard yr_compiler_get_rules(compiler, &rules) == 0, let rules else {
            return .failure(Failure(problems: [YARACompileProblem(file: sources.last?.file ?? "", line: nil,
                                                                   message: "libyara could not build the rule set (out of memory)", isWarning: false)],
                                    failedAt: sources.count))
        }
        return .success(YARARules(rules, variables: variables, sources: sources))
    }
}
