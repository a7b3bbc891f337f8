import CCapstone

/// Why Capstone could not be used.
public struct DisassemblerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Capstone's cs_err code.
    public let code: UInt32
    public let message: String

    public var description: String { "capstone: \(message) (cs_err \(code))" }

    static func from(_ code: cs_err) -> DisassemblerError {
        let text = cs_strerror(code).map { String(cString: $0) } ?? "unknown error"
        return DisassemblerError(code: code.rawValue, message: text)
    }
}

/// One decoded x86-64 instruction, reduced to what a control-flow walk and its facts need. A plain value: nothing
/// in it points into Capstone.
public struct Instruction: Sendable, Hashable {
    public enum Flow: Sendable, Hashable {
        /// Falls through to the next instruction.
        case next
        /// A call: `target` for a direct call, `memory` for one through memory (`call [rip+X]`), neither for a call
        /// through a register.
        case call(target: UInt64?)
        /// A jump: `conditional` also falls through.
        case jump(target: UInt64?, conditional: Bool)
        case ret
        /// Stops the flow: hlt, ud2, int3 and the like.
        case halt
    }

    /// Where a memory operand's address comes from.
    public enum Base: Sendable, Hashable {
        /// rip-relative: the absolute address it names.
        case absolute(UInt64)
        /// rsp-relative: the stack.
        case stack
        /// Any other register (or an index): a pointer held in a register.
        case register
    }

    public struct MemoryOperand: Sendable, Hashable {
        public var base: Base
        public var isWrite: Bool
        public var isRead: Bool
    }

    public var address: UInt64
    public var size: Int
    public var flow: Flow
    /// Memory operands (explicit ones; an instruction's implicit stack use, push or call, is not listed).
    public var memory: [MemoryOperand]
    /// syscall, sysenter, int.
    public var isSystemCall: Bool
    public var isCPUID: Bool
    /// Mnemonic and operands as Capstone prints them, for evidence.
    public var text: String

    /// The address right after this instruction.
    public var end: UInt64 { address &+ UInt64(size) }
}

/// Capstone in x86-64 mode with operand details. One per thread: a Capstone handle is not thread-safe.
public final class X86Decoder {
    private var handle: csh = 0
    private let insn: UnsafeMutablePointer<cs_insn>

    public init() throws(DisassemblerError) {
        var handle: csh = 0
        let opened = cs_open(CS_ARCH_X86, CS_MODE_64, &handle)
        guard opened == CS_ERR_OK else { throw .from(opened) }
        let detail = cs_option(handle, CS_OPT_DETAIL, Int(CS_OPT_ON.rawValue))
        guard detail == CS_ERR_OK, let insn = cs_malloc(handle) else {
            cs_close(&handle)
            throw .from(detail == CS_ERR_OK ? CS_ERR_MEM : detail)
        }
        self.handle = handle
        self.insn = insn
    }

    deinit {
        cs_free(insn, 1)
        cs_close(&handle)
    }

    /// Instructions that only read their memory operand, which Capstone 4 marks as written for some forms
    /// (`test byte ptr [rdx + 0x9d], 0x10` reads READ|WRITE).
    static let neverWrites: Set<UInt32> = Set([
        X86_INS_TEST, X86_INS_CMP, X86_INS_BT, X86_INS_NOP, X86_INS_PUSH, X86_INS_CALL, X86_INS_JMP, X86_INS_UCOMISS,
        X86_INS_UCOMISD, X86_INS_COMISS, X86_INS_COMISD, X86_INS_PTEST, X86_INS_VPTEST, X86_INS_PREFETCH,
        X86_INS_PREFETCHNTA, X86_INS_PREFETCHT0, X86_INS_PREFETCHT1, X86_INS_PREFETCHT2, X86_INS_PREFETCHW,
    ].map(\.rawValue))

    /// Decodes the one instruction at the start of `bytes`, which sit at `address`; nil for bytes that are no valid
    /// instruction (or too few of them).
    public func decode(_ bytes: [UInt8], at address: UInt64) -> Instruction? {
        bytes.withUnsafeBufferPointer { buffer -> Instruction? in
            guard let base = buffer.baseAddress else { return nil }
            var code: UnsafePointer<UInt8>? = base
            var remaining = buffer.count
            var pc = address
            guard cs_disasm_iter(handle, &code, &remaining, &pc, insn) else { return nil }
            return instruction(insn.pointee)
        }
    }

    private func instruction(_ raw: cs_insn) -> Instruction {
        let address = raw.address
        let size = Int(raw.size)
        let end = address &+ UInt64(size)
        var memory: [Instruction.MemoryOperand] = []
        var immediateTarget: UInt64?
        var groups: Set<Int> = []
        if let detail = raw.detail {
            let d = detail.pointee
            withUnsafeBytes(of: d.groups) { bytes in
                for index in 0..<Int(d.groups_count) { groups.insert(Int(bytes[index])) }
            }
            var x86 = d.x86
            let count = Int(x86.op_count)
            withUnsafePointer(to: &x86.operands) { tuple in
                tuple.withMemoryRebound(to: cs_x86_op.self, capacity: 8) { operands in
                    for index in 0..<min(count, 8) {
                        let op = operands.advanced(by: index)
                        switch op.pointee.type {
                        case X86_OP_IMM:
                            immediateTarget = UInt64(bitPattern: cw_x86_op_imm(op))
                        case X86_OP_MEM:
                            let mem = cw_x86_op_mem(op)
                            let access = op.pointee.access
                            let base: Instruction.Base
                            if mem.base == X86_REG_RIP {
                                base = .absolute(end &+ UInt64(bitPattern: mem.disp))
                            } else if mem.base == X86_REG_RSP || mem.base == X86_REG_ESP {
                                base = .stack
                            } else if mem.base == X86_REG_INVALID && mem.index == X86_REG_INVALID {
                                base = .absolute(UInt64(bitPattern: mem.disp))
                            } else {
                                base = .register
                            }
                            // lea computes an address and touches no memory.
                            if raw.id != X86_INS_LEA.rawValue {
                                let writes = access & UInt8(CS_AC_WRITE.rawValue) != 0 && !Self.neverWrites.contains(raw.id)
                                memory.append(.init(base: base, isWrite: writes, isRead: access & UInt8(CS_AC_READ.rawValue) != 0))
                            } else if case .absolute = base {
                                memory.append(.init(base: base, isWrite: false, isRead: false))
                            }
                        default:
                            break
                        }
                    }
                }
            }
        }
        let id = raw.id
        let flow: Instruction.Flow
        if groups.contains(Int(CS_GRP_CALL.rawValue)) {
            flow = .call(target: immediateTarget)
        } else if groups.contains(Int(CS_GRP_RET.rawValue)) || groups.contains(Int(CS_GRP_IRET.rawValue)) {
            flow = .ret
        } else if groups.contains(Int(CS_GRP_JUMP.rawValue)) {
            let unconditional = id == X86_INS_JMP.rawValue || id == X86_INS_LJMP.rawValue
            flow = .jump(target: immediateTarget, conditional: !unconditional)
        } else if id == X86_INS_HLT.rawValue || id == X86_INS_UD2.rawValue || id == X86_INS_INT3.rawValue
                    || id == X86_INS_SYSRET.rawValue {
            flow = .halt
        } else {
            flow = .next
        }
        let isSystemCall = id == X86_INS_SYSCALL.rawValue || id == X86_INS_SYSENTER.rawValue || id == X86_INS_INT.rawValue
        var text = withUnsafeBytes(of: raw.mnemonic) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let operands = withUnsafeBytes(of: raw.op_str) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if !operands.isEmpty { text += " " + operands }
        return Instruction(address: address, size: size, flow: flow, memory: memory, isSystemCall: isSystemCall,
                           isCPUID: id == X86_INS_CPUID.rawValue, text: text)
    }
}
