import HostIO

/// The directories /etc/ld.so.conf names, with `include` globs followed, confined to a root.
public struct LoaderConfiguration: Sendable {
    public var directories: [String] = []
    /// Unreadable include files, include loops and similar: recorded, never fatal.
    public var problems: [String] = []

    /// glibc's ldconfig stops at this depth too; it also ends include loops.
    static let maximumIncludeDepth = 16

    public static func read(root: ConfinedRoot, path: String = "/etc/ld.so.conf") -> LoaderConfiguration {
        var configuration = LoaderConfiguration()
        var visited: Set<String> = []
        configuration.readFile(path, root: root, depth: 0, visited: &visited)
        return configuration
    }

    private mutating func readFile(_ path: String, root: ConfinedRoot, depth: Int, visited: inout Set<String>) {
        guard depth <= Self.maximumIncludeDepth else {
            problems.append("\(path): includes nested deeper than \(Self.maximumIncludeDepth); not read")
            return
        }
        let resolved: String
        let text: String
        do {
            resolved = try root.resolve(path)
            guard visited.insert(resolved).inserted else {
                problems.append("\(path): included again (include loop); not read twice")
                return
            }
            text = try root.readText(resolved, limit: 1 << 20)
        } catch let error as SystemError {
            if depth == 0 && error.isNotFound { return }
            problems.append("\(path): \(error.reason)")
            return
        } catch {
            problems.append("\(path): \(error)")
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
                if !directories.contains(argument) { directories.append(argument) }
            case .hwcap:
                break
            }
        }
    }

    public enum Directive: Equatable, Sendable { case include, directory, hwcap }

    /// The directives of one ld.so.conf file: comments removed, one directory or `include PATTERN` per line
    /// (ldconfig also splits directory lines on spaces, tabs, commas and colons).
    public static func parse(_ text: String) -> [(Directive, String)] {
        var result: [(Directive, String)] = []
        for rawLine in text.split(whereSeparator: { $0 == "\n" }) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { " \t\r,:=".contains($0) }).map(String.init)
            guard let first = words.first else { continue }
            if first == "include" {
                for pattern in words.dropFirst() { result.append((.include, pattern)) }
            } else if first == "hwcap" {
                result.append((.hwcap, ""))
            } else {
                for word in words where word.hasPrefix("/") {
                    var directory = word
                    while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
                    result.append((.directory, directory))
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
