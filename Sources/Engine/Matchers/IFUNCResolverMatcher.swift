import ELFReader
import HostIO
import Rules

/// `ifunc-resolver` rules: the shape of each IFUNC resolver's code, from the static walk the read made
/// (`IFUNCResolver`). One finding per file and rule, naming the resolvers that fit and their figures.
struct IFUNCResolverMatcher: RuleKindMatcher {
    struct Compiled: Sendable {
        var rule: Rule
        var match: IFUNCResolverMatch
        var files: CompiledSelector
        var allowedCalls: GlobSet?
        var loaderData: GlobSet?
    }

    let rules: [Compiled]

    static func match(of rule: Rule) -> IFUNCResolverMatch? {
        if case .ifuncResolver(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, IFUNCResolverMatch)]) {
        self.rules = rules.map {
            Compiled(rule: $0, match: $1, files: CompiledSelector($1.files), allowedCalls: $1.callsOutside.map(GlobSet.init),
                     loaderData: $1.dataReferences.map(GlobSet.init))
        }
    }

    var isEmpty: Bool { rules.isEmpty }

    /// Resolvers are walked in every ELF file read while a rule of this kind is loaded; their limits.
    var limits: ResolverWalk.Limits? { rules.isEmpty ? nil : .standard }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        rules.flatMap { compiled in
            facts.files.compactMap { file -> Finding? in
                guard let elf = file.facts?.elf, let scan = elf.resolvers, let selected = compiled.files.select(file),
                      !(compiled.match.exceptDynamicLinker && elf.isDynamicLinker) else { return nil }
                let fitting = scan.resolvers.compactMap { resolver in
                    Self.reasons(compiled, resolver).map { (resolver, $0) }
                }
                guard !fitting.isEmpty else { return nil }
                let detail = fitting.prefix(4).map { resolver, reasons in
                    "\(resolver.label): \(reasons.joined(separator: ", ")); \(Self.figures(resolver))"
                }.joined(separator: " | ") + (fitting.count > 4 ? " | and \(fitting.count - 4) more resolvers" : "")
                return Finding(rule: compiled.rule, evidence: facts.evidence(
                    for: file, matchedName: selected.matchedName, detail: detail), fileIdentity: file.facts?.identity)
            }
        }
    }

    /// Why `resolver` fits the rule (each test it passes), or nil when it does not meet the condition.
    static func reasons(_ compiled: Compiled, _ resolver: IFUNCResolver) -> [String]? {
        let match = compiled.match
        var tests = 0
        var passed: [String] = []
        if let limit = match.instructionsOver {
            tests += 1
            if resolver.instructions > limit { passed.append("\(resolver.instructions) instructions reached (rule: over \(limit))") }
        }
        if let allowed = compiled.allowedCalls {
            tests += 1
            let outside = resolver.calls.filter { !allowed.matches($0) }
            if !outside.isEmpty { passed.append("calls \(outside.prefix(6).joined(separator: ", "))") }
        }
        if let loader = compiled.loaderData {
            tests += 1
            let referenced = resolver.dataReferences.filter(loader.matches)
            if !referenced.isEmpty { passed.append("reads \(referenced.prefix(6).joined(separator: ", ")) through the GOT") }
        }
        if let limit = match.indirectCallsOver {
            tests += 1
            if resolver.indirectCalls > limit { passed.append("\(resolver.indirectCalls) calls through pointers no relocation names (rule: over \(limit))") }
        }
        if let limit = match.pointerWritesOver {
            tests += 1
            if resolver.pointerWrites > limit { passed.append("\(resolver.pointerWrites) stores through pointers (rule: over \(limit))") }
        }
        if match.systemCalls {
            tests += 1
            if resolver.systemCalls > 0 { passed.append("\(resolver.systemCalls) system call instructions") }
        }
        if match.boundReached {
            tests += 1
            if resolver.bound == .instructions { passed.append("the walk stopped at its bound of instructions") }
        }
        guard match.condition == .all ? passed.count == tests : !passed.isEmpty else { return nil }
        return passed
    }

    /// The resolver's figures, for evidence.
    static func figures(_ resolver: IFUNCResolver) -> String {
        var parts = ["\(resolver.instructions) instructions", "\(resolver.functions) functions"]
        if !resolver.localFunctions.isEmpty { parts.append("local functions \(resolver.localFunctions.joined(separator: ", "))") }
        if !resolver.calls.isEmpty { parts.append("imports called \(resolver.calls.prefix(8).joined(separator: ", "))") }
        if !resolver.dataReferences.isEmpty { parts.append("GOT data \(resolver.dataReferences.prefix(8).joined(separator: ", "))") }
        parts.append("\(resolver.pointerWrites) pointer stores, \(resolver.fixedWrites) fixed stores")
        if resolver.indirectCalls > 0 { parts.append("\(resolver.indirectCalls) calls through pointers") }
        if resolver.indirectJumps > 0 { parts.append("\(resolver.indirectJumps) jumps through pointers") }
        if resolver.systemCalls > 0 { parts.append("\(resolver.systemCalls) syscalls") }
        if resolver.cpuid > 0 { parts.append("\(resolver.cpuid) cpuid") }
        if let bound = resolver.bound { parts.append("walk bounded (\(bound.rawValue))") }
        return parts.joined(separator: ", ")
    }
}
