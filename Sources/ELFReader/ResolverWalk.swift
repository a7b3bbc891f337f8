import Disassembly

/// A static walk of IFUNC resolvers: from the resolver's address, every path is decoded, following conditional
/// branches both ways and direct calls and jumps into the object's own code, until a return. Nothing is run. The
/// walk is bounded per resolver and per file, so hostile code (a jump loop, a 100 MB .text) costs a bounded time.
public struct ResolverWalk {
    public struct Limits: Sendable, Hashable {
        /// Instructions decoded from one resolver. glibc's resolvers take tens; the xz backdoor's reach thousands.
        public var instructionsPerResolver: Int
        /// Instructions decoded for all the resolvers of one file.
        public var instructionsPerFile: Int
        /// Wall time for all the resolvers of one file.
        public var timePerFile: Duration

        public init(instructionsPerResolver: Int, instructionsPerFile: Int, timePerFile: Duration) {
            self.instructionsPerResolver = instructionsPerResolver
            self.instructionsPerFile = instructionsPerFile
            self.timePerFile = timePerFile
        }

        public static let standard = Limits(instructionsPerResolver: 20_000, instructionsPerFile: 200_000,
                                            timePerFile: .milliseconds(500))
    }

    /// The object's code and what its relocations name, by virtual address.
    public struct Code {
        /// Executable sections: virtual address range and the bytes' reader.
        var sections: [(range: Range<UInt64>, fileOffset: UInt64)]
        /// Reads `count` bytes at a file offset (fewer at the end of what is readable).
        var read: (_ offset: UInt64, _ count: Int) -> [UInt8]?
        /// GOT slots the loader fills with an imported symbol's address.
        var slots: [UInt64: ELFImportSlot]
        /// PLT stubs' address ranges.
        var plt: [Range<UInt64>]

        init(sections: [(range: Range<UInt64>, fileOffset: UInt64)], slots: [UInt64: ELFImportSlot],
             plt: [Range<UInt64>], read: @escaping (UInt64, Int) -> [UInt8]?) {
            self.sections = sections
            self.slots = slots
            self.plt = plt
            self.read = read
        }

        /// Up to 15 bytes (the longest x86 instruction) at `address`, within one executable section.
        func bytes(at address: UInt64) -> [UInt8]? {
            guard let section = sections.first(where: { $0.range.contains(address) }) else { return nil }
            let count = Int(min(15, section.range.upperBound - address))
            return read(section.fileOffset + (address - section.range.lowerBound), count)
        }

        func isCode(_ address: UInt64) -> Bool { sections.contains { $0.range.contains(address) } }
        func isPLT(_ address: UInt64) -> Bool { plt.contains { $0.contains(address) } }
    }

    /// Imported functions that never return: the bytes after a call to one are another function.
    static let noReturn: Set<String> = [
        "__stack_chk_fail", "abort", "exit", "_exit", "_Exit", "__assert_fail", "__fortify_fail", "__chk_fail",
        "__libc_fatal", "err", "errx", "verr", "verrx", "pthread_exit", "longjmp", "siglongjmp", "__longjmp_chk",
        "__cxa_throw", "_Unwind_Resume", "__cxa_rethrow", "quick_exit",
    ]

    let code: Code
    let decoder: X86Decoder
    let limits: Limits
    let started = ContinuousClock.now
    private(set) var decodedInFile = 0

    public init(code: Code, decoder: X86Decoder, limits: Limits = .standard) {
        self.code = code
        self.decoder = decoder
        self.limits = limits
    }

    /// The file's budget is spent: each later resolver is recorded as bounded without being walked.
    var budgetSpent: Bool {
        decodedInFile >= limits.instructionsPerFile || ContinuousClock.now - started > limits.timePerFile
    }

    /// Walks the resolver at `address`, filling in its figures.
    mutating func walk(_ resolver: inout IFUNCResolver, names: (Set<UInt64>) -> [String]) {
        var starts: [UInt64: Int] = [:]
        var entries: Set<UInt64> = [resolver.address]
        var pending: [UInt64] = [resolver.address]
        var calls: Set<String> = []
        var data: Set<String> = []
        var problems: [IFUNCResolver.Problem] = []
        var jumpTargets: Set<UInt64> = []
        var count = 0
        if !code.isCode(resolver.address) { problems.append(.outsideCode(resolver.address)) }

        walking: while let start = pending.popLast() {
            var pc = start
            while true {
                if starts[pc] != nil { break }
                if let covering = instruction(covering: pc, in: starts) {
                    problems.append(.intoInstruction(covering))
                    break
                }
                if count >= limits.instructionsPerResolver { resolver.bound = .instructions; break walking }
                if count & 255 == 0 && budgetSpent { resolver.bound = .fileBudget; break walking }
                guard let bytes = code.bytes(at: pc) else {
                    if pc != resolver.address { problems.append(.outsideCode(pc)) }
                    break
                }
                guard let instruction = decoder.decode(bytes, at: pc) else {
                    problems.append(.invalidInstruction(pc))
                    break
                }
                starts[pc] = instruction.size
                count += 1
                decodedInFile += 1

                var slotUse: ELFImportSlot?
                for operand in instruction.memory {
                    switch operand.base {
                    case .absolute(let target):
                        if let slot = code.slots[target] { slotUse = slot }
                        if operand.isWrite { resolver.fixedWrites += 1 }
                    case .register:
                        if operand.isWrite { resolver.pointerWrites += 1 }
                    case .stack:
                        break
                    }
                }
                if instruction.isSystemCall { resolver.systemCalls += 1 }
                if instruction.isCPUID { resolver.cpuid += 1 }

                switch instruction.flow {
                case .next:
                    if let slotUse { data.insert(slotUse.symbol) }
                    pc = instruction.end
                case .call(let target):
                    if let callee = callee(target: target, slot: slotUse) {
                        calls.insert(callee)
                        if Self.noReturn.contains(callee) { break }
                    } else if let target, code.isCode(target) {
                        if entries.insert(target).inserted { pending.append(target) }
                    } else if let target {
                        problems.append(.outsideCode(target))
                    } else {
                        resolver.indirectCalls += 1
                    }
                    pc = instruction.end
                    continue
                case .jump(let target, let conditional):
                    if let callee = callee(target: target, slot: slotUse) {
                        calls.insert(callee)
                    } else if let target, code.isCode(target) {
                        pending.append(target)
                        jumpTargets.insert(target)
                    } else if let target {
                        problems.append(.outsideCode(target))
                    } else {
                        resolver.indirectJumps += 1
                    }
                    if conditional {
                        pc = instruction.end
                        continue
                    }
                case .ret, .halt:
                    break
                }
                if case .next = instruction.flow { continue }
                break
            }
        }
        if let into = branchIntoInstruction(from: resolver.address, targets: jumpTargets), !problems.contains(.intoInstruction(into)) {
            problems.append(.intoInstruction(into))
        }
        resolver.instructions = count
        resolver.functions = entries.count
        resolver.calls = calls.sorted()
        resolver.dataReferences = data.sorted()
        resolver.problems = Array(problems.prefix(8))
        resolver.localFunctions = Array(names(entries.subtracting([resolver.address])).sorted().prefix(8))
    }

    /// The imported function a call or jump reaches: through a GOT slot (`call [rip+slot]`), or through a PLT stub
    /// whose first jump goes through a slot.
    private func callee(target: UInt64?, slot: ELFImportSlot?) -> String? {
        if let slot { return slot.symbol }
        guard let target, code.isPLT(target) else { return nil }
        var pc = target
        // A stub is `[endbr64] [bnd] jmp [rip+slot]`, or .plt's lazy form whose first instruction is that jump.
        for _ in 0..<3 {
            guard let bytes = code.bytes(at: pc), let instruction = decoder.decode(bytes, at: pc) else { return nil }
            for operand in instruction.memory {
                if case .absolute(let address) = operand.base, let slot = code.slots[address] { return slot.symbol }
            }
            if case .jump = instruction.flow { return nil }
            pc = instruction.end
        }
        return nil
    }

    /// A jump target a straight decode of the resolver from its entry steps over: a branch into the middle of one of
    /// its instructions (code that decodes two ways), which a compiler never emits. Only targets within 4 KiB after
    /// the entry are checked, the resolver's own body.
    private func branchIntoInstruction(from entry: UInt64, targets: Set<UInt64>) -> UInt64? {
        let near = targets.filter { $0 > entry && $0 - entry < 4096 }
        guard let last = near.max() else { return nil }
        var starts: Set<UInt64> = []
        var pc = entry
        while pc <= last {
            guard let bytes = code.bytes(at: pc), let instruction = decoder.decode(bytes, at: pc) else { return nil }
            starts.insert(pc)
            pc = instruction.end
        }
        return near.sorted().first { !starts.contains($0) }
    }

    /// The start of an instruction already decoded that covers `address` without starting there.
    private func instruction(covering address: UInt64, in starts: [UInt64: Int]) -> UInt64? {
        for back in 1...14 where address >= UInt64(back) {
            if let size = starts[address - UInt64(back)], size > back { return address - UInt64(back) }
        }
        return nil
    }
}
