import ELFReader
import HostIO

extension DependencyGraph {
    /// One object a running process has mapped: its file and ELF facts.
    public struct MappedObject: Sendable {
        public var identity: FileIdentity
        public var path: String
        public var elf: ELFInfo

        public init(identity: FileIdentity, path: String, elf: ELFInfo) {
            self.identity = identity
            self.path = path
            self.elf = elf
        }
    }

    /// The graph of what a running process really loaded: from its executable, each DT_NEEDED name is matched to
    /// the mapped object of that SONAME (or file name), breadth-first as ld.so loaded them. LD_LIBRARY_PATH, an
    /// RPATH or a library swapped on disk since the start all show here, where the on-disk walk shows what the next
    /// start would load. A name no mapped object answers to is `missing`.
    public static func mapped(program: String, executable: FileIdentity, objects: [MappedObject]) -> DependencyGraph? {
        guard let exe = objects.first(where: { $0.identity == executable }) else { return nil }
        var graph = DependencyGraph(program: program)
        graph.nodes.append(Node(name: program, path: exe.path, identity: exe.identity, elf: exe.elf, chain: [program]))
        var byName: [String: MappedObject] = [:]
        for object in objects where object.identity != executable {
            if let soname = object.elf.soname, byName[soname] == nil { byName[soname] = object }
        }
        for object in objects where object.identity != executable {
            let name = object.path.split(separator: "/").last.map(String.init) ?? object.path
            if byName[name] == nil { byName[name] = object }
        }
        var index: [FileIdentity: Int] = [executable: 0]
        var queue = [0]
        var head = 0
        while head < queue.count && graph.nodes.count < maximumNodes {
            let current = queue[head]
            head += 1
            for name in graph.nodes[current].elf.needed {
                guard let object = byName[name] else {
                    graph.missing.append(Missing(name: name, chain: graph.nodes[current].chain + [name]))
                    continue
                }
                let position: Int
                if let known = index[object.identity] {
                    position = known
                } else {
                    position = graph.nodes.count
                    index[object.identity] = position
                    graph.nodes.append(Node(name: name, path: object.path, identity: object.identity, elf: object.elf,
                                            chain: graph.nodes[current].chain + [name]))
                    queue.append(position)
                }
                if position != current && !graph.nodes[position].parents.contains(current) {
                    graph.nodes[position].parents.append(current)
                    graph.nodes[current].children.append(position)
                }
            }
        }
        return graph
    }
}
