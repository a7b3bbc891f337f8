import ELFReader
import HostIO
import Probes
import Rules

/// `got-integrity` rules: each GOT slot of a running program must hold what ld.so would have put there, the
/// address of the symbol in an object that defines it. The xz backdoor's lasting trace was sshd's slot for
/// RSA_public_decrypt pointing into liblzma's code.
struct GOTIntegrityMatcher: RuleKindMatcher {
    struct Compiled: Sendable {
        var rule: Rule
        var programs: ProgramSelector
        var symbols: Set<String>?

        func applies(to executable: String) -> Bool { programs.selects(executable) }
    }

    let rules: [Compiled]

    static func match(of rule: Rule) -> GOTIntegrityMatch? {
        if case .gotIntegrity(let match) = rule.match { return match }
        return nil
    }

    init(_ rules: [(Rule, GOTIntegrityMatch)]) {
        self.rules = rules.map { rule, match in
            Compiled(rule: rule, programs: ProgramSelector(match.programs), symbols: match.symbols.map(Set.init))
        }
    }

    /// Whether some rule checks the process running `executable` (its mappings and files are then read for it).
    func checks(_ executable: String?) -> Bool {
        guard let executable else { return false }
        return rules.contains { $0.applies(to: executable) }
    }

    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding] {
        // One finding per rule, program, symbol and target: sshd's listener and its children share it, by pid.
        var grouped: [String: Finding] = [:]
        var order: [String] = []
        for image in facts.processes {
            let checking = rules.filter { $0.applies(to: image.executable) }
            guard !checking.isEmpty, let exe = facts.file(withIdentity: image.executableIdentity)?.facts?.elf,
                  exe.symbolsRead else { continue }
            let objects = LoadedObjects(image, facts: facts)
            for slot in exe.importSlots {
                let wanted = checking.filter { $0.symbols?.contains(slot.symbol) ?? true }
                guard !wanted.isEmpty, let value = image.slots[slot.offset],
                      let wrong = objects.misbound(slot, value: value, executable: exe) else { continue }
                for compiled in wanted {
                    let key = [compiled.rule.id, image.executable, slot.symbol, wrong.pointsTo].joined(separator: "|")
                    if var known = grouped[key] {
                        known.evidence.pids = ((known.evidence.pids ?? []) + [image.pid]).sorted()
                        known.evidence.pid = known.evidence.pids?.first
                        grouped[key] = known
                        continue
                    }
                    var evidence = Evidence(path: image.executable, pid: image.pid, pids: [image.pid],
                                            detail: "\(slot.kind.rawValue) slot for \(slot.symbol) holds 0x\(String(value, radix: 16)): \(wrong.why)")
                    evidence.symbol = slot.symbol
                    evidence.slotAddress = "0x" + String(image.bias &+ slot.offset, radix: 16)
                    evidence.pointsTo = wrong.pointsTo
                    evidence.expected = wrong.expected
                    grouped[key] = Finding(rule: compiled.rule, evidence: evidence, fileIdentity: wrong.target.map { facts.aliases[$0] ?? $0 })
                    order.append(key)
                }
            }
        }
        return order.compactMap { grouped[$0] }
    }
}

/// The ELF objects one process has mapped, with their load bias and exported definitions, judged slot by slot.
struct LoadedObjects {
    struct Object {
        var identity: FileIdentity
        var path: String
        var bias: UInt64
        var definitions: [String: [ELFSymbol]]
    }

    /// A slot that holds what the loader would not have put there.
    struct Misbinding {
        /// The file the slot points into, if any: a chain that reaches it is escalated by this finding.
        var target: FileIdentity?
        var pointsTo: String
        var expected: String
        var why: String
    }

    let image: ProcessImage
    let objects: [Object]
    /// Mapped files whose ELF facts with symbols are known.
    let judged: Set<FileIdentity>

    init(_ image: ProcessImage, facts: ScanFacts) {
        self.image = image
        var objects: [Object] = []
        for identity in Set(image.mappings.map(\.identity)) {
            guard let record = facts.file(withIdentity: identity), let elf = record.facts?.elf, elf.symbolsRead,
                  let bias = ProcessImage.loadBias(of: identity, segments: elf.loadSegments, in: image.mappings) else { continue }
            objects.append(Object(identity: identity, path: record.displayPath, bias: bias, definitions: elf.exportedDefinitions))
        }
        self.objects = objects.sorted { $0.path < $1.path }
        judged = Set(objects.map(\.identity))
    }

    /// Whether `value` in `slot` is wrong, and how. Right: 0 (a weak import nothing defines), the program's own PLT
    /// (lazy binding, not yet called), the address at which some loaded object defines the symbol (interposition,
    /// symbol versions and copy relocations included), or for an IFUNC definition anywhere in that object's code
    /// or in the vDSO.
    /// Code in memfd memory is never right, whatever it defines.
    func misbound(_ slot: ELFImportSlot, value: UInt64, executable: ELFInfo) -> Misbinding? {
        if value == 0 { return nil }
        if executable.pltRanges.contains(where: { $0.contains(value &- image.bias) }) { return nil }
        let target = image.mapping(containing: value)
        let inMemfd = target?.path.hasPrefix("/memfd:") == true
        let definers = objects.filter { $0.definitions[slot.symbol] != nil }
        if !inMemfd {
            for object in definers {
                for symbol in object.definitions[slot.symbol] ?? [] {
                    if symbol.type == ELFSymbol.ifuncType {
                        // The resolver's choice: the object's own code, or the kernel's vDSO (libc's time).
                        if let target, target.identity == object.identity, target.isExecutable { return nil }
                        if image.vdso?.contains(value) == true { return nil }
                    } else if object.bias &+ symbol.value == value {
                        return nil
                    }
                }
            }
        }
        let pointsTo: String
        if let target {
            // A file whose symbols could not be read cannot be judged: no finding on a guess.
            if !inMemfd && !target.isDeleted && !judged.contains(target.identity) { return nil }
            pointsTo = target.path + (target.isDeleted ? " (deleted)" : "")
        } else {
            pointsTo = "anonymous or unmapped memory"
        }
        let expected = definers.first?.path ?? "no loaded object defines \(slot.symbol)"
        let why = definers.isEmpty ? "points into \(pointsTo), and no loaded object defines the symbol"
            : "points into \(pointsTo), not at \(slot.symbol) in \(expected)"
        return Misbinding(target: target?.identity, pointsTo: pointsTo, expected: expected, why: why)
    }
}
