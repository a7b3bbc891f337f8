import HostIO

/// The directories /etc/ld.so.conf names, with `include` globs followed, confined to a root.
public struct LoaderConfiguration: Sendable {
    public var directories: [String] = []
    /// Unreadable include files, include loops and similar: recorded, never fatal.
    public var problems: [String] = []

    /// glibc's ldconfig stops at this depth too; it also ends include loops.
    static let maximumIncludeDepth = 16
    /// Each directory is searched for every library of every graph: a hostile ld.so.conf cannot make that unbounded.
    static let maximumDirectories = 4096
    /// Problems kept; past that they are counted (50 000 includes of missing files are one story, not 50 000).
    static let maximumProblems = 64

    private var known: Set<String> = []
    private var problemsDropped = 0

    public static func read(root: ConfinedRoot, path: String = "/etc/ld.so.conf") -> LoaderConfiguration {
        var configuration = LoaderConfiguration()
        var visited: Set<String> = []
        configuration.readFile(path, root: root, depth: 0, visited: &visited)
        if configuration.problemsDropped > 0 {
            configuration.problems.append("\(configuration.problemsDropped) more problems in the ld.so.conf files not listed")
        }
        return configuration
    }

    private mutating func readFile(_ path: String, root: ConfinedRoot, depth: Int, visited: inout Set<String>) {
        guard depth <= Self.maximumIncludeDepth else {
            report("\(path): includes nested deeper than \(Self.maximumIncludeDepth); not read")
            return
        }
        let resolved: String
        let text: String
        do {
            resolved = try root.resolve(path)
            guard visited.insert(resolved).inserted else {
                report("\(path): included again (include loop); not read twice")
                return
            }
            text = try root.readText(resolved, limit: 1 << 20)
        } catch let error as SystemError {
            if depth == 0 && error.isNotFound { return }
            report("\(path): \(error.reason)")
            return
        } catch {
            report("\(path): \(error)")
            return
        }
        for (directive, argument) in Self.parse(text) {
            switch directive {
            case .include:
                let pattern = argument.hasPrefix("/") ? argument : Self.directory(of: path) + "/" + argument
                for included in Self.expand(pattern, root: root) {
                    readFile(included, root: root, depth: depth + 1, visited: &visited)
                }
            case .directory:
                guard known.insert(argument).inserted else { continue }
                guard directories.count < Self.maximumDirectories else {
                    report("\(path): more than \(Self.maximumDirectories) library directories; \(argument) and later ones not searched")
                    continue
                }
                directories.append(argument)
            case .hwcap:
                break
            }
        }
    }

    private mutating func report(_ problem: String) {
        if problems.count < Self.maximumProblems { problems.append(problem) } else { problemsDropped += 1 }
    }

    public enum Directive: Equatable, Sendable { case include, directory, hwcap }

    /// The libraries /etc/ld.so.preload names (split on whitespace and ':', as ld.so does), or nil when the root
    /// has no such file. ld.so loads them into every dynamically linked program.
    public static func preload(root: ConfinedRoot) -> [String]? {
        guard let text = try? root.readText("/etc/ld.so.preload", limit: 1 << 20) else { return nil }
        var names: [String] = []
        for line in text.split(separator: "\n") {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for word in content.split(whereSeparator: { " \t\r:".contains($0) }) where !names.contains(String(word)) {
                names.append(String(word))
            }
        }
        return names
    }

    /// The directives of one ld.so.conf file: comments removed, one directory or `include PATTERN` per line
    /// (ldconfig also splits directory lines on spaces, tabs, commas and colons).
    public static func parse(_ text: String) -> [(Directive, String)] {
        var work = ParseWork()
        return parse(text, work: &work)
    }

    /// `parse`, adding to `work` each non-empty line and, as examined, each word of a line and each character the
    /// trailing-slash trim of a directory looks at (the tests bound these: a parse is linear in its input).
    static func parse(_ text: String, work: inout ParseWork) -> [(Directive, String)] {
        var result: [(Directive, String)] = []
        for rawLine in text.split(whereSeparator: { $0 == "\n" }) {
            work.lines += 1
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { " \t\r,:=".contains($0) }).map(String.init)
            work.examined += words.count
            guard let first = words.first else { continue }
            if first == "include" {
                for pattern in words.dropFirst() { result.append((.include, pattern)) }
            } else if first == "hwcap" {
                result.append((.hwcap, ""))
            } else {
                for word in words where word.hasPrefix("/") {
                    // Trailing slashes go ("/usr/lib/" is "/usr/lib", "///" is "/"), in one pass from the end: a
                    // loop on String.count, which walks the whole word each time, made a word of slashes quadratic.
                    let last = word.lastIndex(where: { character in
                        work.examined += 1
                        return character != "/"
                    })
                    let end = word.index(after: last ?? word.startIndex)
                    result.append((.directory, String(word[..<end])))
                }
            }
        }
        return result
    }

    /// Expands a glob in the last path component (what ld.so.conf.d includes use), inside the root, sorted.
    static func expand(_ pattern: String, root: ConfinedRoot) -> [String] {
        let directory = Self.directory(of: pattern)
        let name = String(pattern.split(separator: "/").last ?? "")
        guard name.contains(where: { "*?[".contains($0) }) else { return [pattern] }
        guard let entries = try? root.entries(directory) else { return [] }
        return entries.filter { Glob.matches(name, $0) }.map { directory + "/" + $0 }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }
}
