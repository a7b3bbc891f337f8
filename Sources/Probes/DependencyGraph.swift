import ELFReader
import HostIO

/// The shared libraries a program loads, found by reading ELF dynamic sections breadth-first the way ld.so does.
public struct DependencyGraph: Sendable {
    public struct Node: Sendable {
        /// The name it was requested by (DT_NEEDED), or the program's path for the root node.
        public var name: String
        /// The file's canonical path inside the scanned root.
        public var path: String
        public var identity: FileIdentity
        public var elf: ELFInfo
        /// Indices of the nodes whose DT_NEEDED brought it in.
        public var parents: [Int] = []
        public var children: [Int] = []
        /// The first chain that reached it, program first: ["/usr/sbin/sshd", "libsystemd.so.0", "liblzma.so.5"].
        public var chain: [String]
    }

    public struct Missing: Sendable, Hashable {
        public var name: String
        public var chain: [String]
    }

    public var program: String
    public var nodes: [Node] = []
    public var missing: [Missing] = []

    /// A bound on nodes so a hostile graph cannot make the walk unbounded.
    public static let maximumNodes = 4096

    /// Walks the graph of `program` (a path inside the resolver's root).
    /// - Parameters:
    ///   - preload: the libraries /etc/ld.so.preload names: ld.so loads them into every program, right after it.
    ///   - inspect: reads a file (a canonical path in the root) once and returns its facts with ELF parsed.
    public static func walk(
        program: String, resolver: LibraryResolver, preload: [String] = [],
        inspect: (String) throws -> LoaderFacts
    ) throws -> DependencyGraph {
        let resolvedProgram = try resolver.root.resolve(program)
        let facts = try inspect(resolvedProgram)
        guard let elf = facts.elf else {
            throw GraphError.notELF(path: program, reason: facts.elfProblem ?? "not an ELF file")
        }
        var graph = DependencyGraph(program: program)
        graph.nodes.append(Node(name: program, path: resolvedProgram, identity: facts.identity, elf: elf, chain: [program]))
        var byName: [String: Int] = [:]
        var byIdentity: [FileIdentity: Int] = [facts.identity: 0]

        // The interpreter is mapped before anything else; libc's DT_NEEDED on it resolves to this object.
        if let interpreter = elf.interpreter,
           let resolved = try? resolver.root.resolve(interpreter),
           let facts = try? inspect(resolved), let interpreterELF = facts.elf {
            var node = Node(name: interpreter, path: resolved, identity: facts.identity, elf: interpreterELF, chain: [program, interpreter])
            node.parents = [0]
            graph.nodes.append(node)
            graph.nodes[0].children.append(1)
            byIdentity[facts.identity] = 1
            byName[interpreter] = 1
            if let soname = interpreterELF.soname { byName[soname] = 1 }
        }

        var directories = DirectoryMemo()
        var queue = [0]
        for name in preload where byName[name] == nil {
            guard let found = graph.locate(name, from: 0, resolver: resolver, directories: &directories, inspect: inspect) else {
                graph.missing.append(Missing(name: name, chain: [program, name]))
                continue
            }
            let index = byIdentity[found.facts.identity] ?? graph.nodes.count
            if index == graph.nodes.count {
                var node = Node(name: name, path: found.path, identity: found.facts.identity, elf: found.elf, chain: [program, name])
                node.parents = [0]
                graph.nodes.append(node)
                graph.nodes[0].children.append(index)
                byIdentity[found.facts.identity] = index
                queue.append(index)
            }
            byName[name] = index
        }
        var head = 0
        while head < queue.count {
            let current = queue[head]
            head += 1
            for name in graph.nodes[current].elf.needed {
                let index: Int
                if let known = byName[name] {
                    index = known
                } else if let found = graph.locate(name, from: current, resolver: resolver, directories: &directories, inspect: inspect) {
                    if let known = byIdentity[found.facts.identity] {
                        index = known
                    } else {
                        guard graph.nodes.count < maximumNodes else { throw GraphError.tooLarge(path: program) }
                        index = graph.nodes.count
                        graph.nodes.append(Node(
                            name: name, path: found.path, identity: found.facts.identity, elf: found.elf,
                            chain: graph.nodes[current].chain + [name]))
                        byIdentity[found.facts.identity] = index
                        queue.append(index)
                    }
                    byName[name] = index
                    if let soname = found.elf.soname, byName[soname] == nil { byName[soname] = index }
                } else {
                    graph.missing.append(Missing(name: name, chain: graph.nodes[current].chain + [name]))
                    continue
                }
                if !graph.nodes[index].parents.contains(current) && index != current {
                    graph.nodes[index].parents.append(current)
                    graph.nodes[current].children.append(index)
                }
            }
        }
        return graph
    }

    private func locate(
        _ name: String, from requester: Int, resolver: LibraryResolver, directories: inout DirectoryMemo,
        inspect: (String) throws -> LoaderFacts
    ) -> (path: String, facts: LoaderFacts, elf: ELFInfo)? {
        let requesters = loaderChain(of: requester).map { (path: nodes[$0].path, elf: nodes[$0].elf) }
        let want = nodes[requester].elf
        for candidate in resolver.candidates(for: name, requesters: requesters) {
            guard let resolved = try? directories.resolve(candidate, in: resolver.root),
                  let facts = try? inspect(resolved), let elf = facts.elf else { continue }
            // ld.so skips files of another class or machine and keeps searching.
            if elf.fileClass == want.fileClass && elf.machine == want.machine && elf.type == 3 {
                return (resolved, facts, elf)
            }
        }
        return nil
    }

    /// The objects that caused `index` to be loaded, program first (glibc's l_loader chain, for DT_RPATH).
    private func loaderChain(of index: Int) -> [Int] {
        var chain = [index]
        var current = index
        while let parent = nodes[current].parents.first, !chain.contains(parent) {
            chain.append(parent)
            current = parent
        }
        return chain.reversed()
    }

    /// A chain from the program to `target` that passes through a node satisfying `through`, if one exists.
    public func chain(to target: Int, through: ((Node) -> Bool)? = nil) -> [Int]? {
        guard let through else { return path(from: 0, to: target) }
        for (index, node) in nodes.enumerated() where index != 0 && index != target && through(node) {
            if let first = path(from: 0, to: index), let second = path(from: index, to: target) {
                return first + second.dropFirst()
            }
        }
        return nil
    }

    /// Shortest path along DT_NEEDED edges (breadth-first).
    func path(from start: Int, to target: Int) -> [Int]? {
        var previous: [Int: Int] = [start: start]
        var queue = [start]
        var head = 0
        while head < queue.count {
            let current = queue[head]
            head += 1
            if current == target {
                var result = [target]
                var step = target
                while step != start { step = previous[step]!; result.append(step) }
                return result.reversed()
            }
            for child in nodes[current].children where previous[child] == nil {
                previous[child] = current
                queue.append(child)
            }
        }
        return nil
    }
}

public enum GraphError: Error, CustomStringConvertible {
    case notELF(path: String, reason: String)
    case tooLarge(path: String)

    public var description: String {
        switch self {
        case .notELF(let path, let reason): return "\(path): \(reason)"
        case .tooLarge(let path): return "\(path): more than \(DependencyGraph.maximumNodes) libraries; walk stopped"
        }
    }
}

/// Canonical forms of the directories library candidates live in, resolved once per walk: sshd's ~25 libraries
/// are looked for in the same few directories, and each full resolution costs an lstat per path component.
struct DirectoryMemo {
    private var canonical: [String: String?] = [:]

    mutating func resolve(_ path: String, in root: ConfinedRoot) throws -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return try root.resolve(path) }
        let directory = String(path[..<slash]), name = String(path[path.index(after: slash)...])
        guard !name.isEmpty, name != ".", name != ".." else { return try root.resolve(path) }
        let resolved: String?
        if let known = canonical[directory] {
            resolved = known
        } else {
            resolved = try? root.resolve(directory)
            canonical[directory] = resolved
        }
        // A directory that does not resolve (most glibc-hwcaps ones): its files do not either.
        guard let resolved else { throw SystemError.notFound("resolve", root.hostPath(directory)) }
        return try root.resolve(name, in: resolved)
    }
}
