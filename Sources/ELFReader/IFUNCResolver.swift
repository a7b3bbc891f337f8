/// What the static walk of one IFUNC resolver found: the code the loader would run inside every process that
/// binds the symbol, before the process's own code runs. Facts only; rules decide what is suspicious.
public struct IFUNCResolver: Sendable, Hashable {
    /// Why the walk did not see all the code it could reach.
    public enum Bound: String, Sendable, Hashable {
        /// More instructions than `ResolverWalk.Limits.instructionsPerResolver`.
        case instructions
        /// The file's instruction or time budget ran out (shared by all its resolvers).
        case fileBudget = "file-budget"
    }

    /// Something in the code that is not how a compiler lays code out.
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// A branch or the resolver's address leads outside the code the loader maps executable.
        case outsideCode(UInt64)
        /// Bytes Capstone does not decode as an instruction.
        case invalidInstruction(UInt64)
        /// A branch lands inside an instruction already decoded (overlapping instructions).
        case intoInstruction(UInt64)

        public var description: String {
            switch self {
            case .outsideCode(let address): return "branch to 0x\(String(address, radix: 16)), outside the executable segments"
            case .invalidInstruction(let address): return "no valid instruction at 0x\(String(address, radix: 16))"
            case .intoInstruction(let address): return "branch into the middle of an instruction at 0x\(String(address, radix: 16))"
            }
        }
    }

    /// The resolver's address (relative to the load bias for a shared object).
    public var address: UInt64
    /// The IFUNC symbols whose resolver this is (empty for one named only by IRELATIVE relocations).
    public var symbols: [String] = []
    /// A function symbol at the resolver's address (`crc64_resolve`), when the file keeps one.
    public var name: String?
    /// IRELATIVE relocations naming this resolver.
    public var irelativeRelocations = 0

    /// Instructions decoded along every path from the resolver, direct calls and jumps followed.
    public var instructions = 0
    /// Functions reached: the resolver and each local function it calls directly, transitively.
    public var functions = 1
    /// Imported functions called or tail-jumped to, through the PLT or the GOT (sorted, unique).
    public var calls: [String] = []
    /// Names of local functions reached (when the symbol tables name them; a few, sorted).
    public var localFunctions: [String] = []
    /// Calls through a register or memory no relocation names (a function pointer): code the walk cannot follow,
    /// and the way the xz backdoor's resolver reached its second stage.
    public var indirectCalls = 0
    /// Jumps through a register or memory no relocation names (switch tables, mostly).
    public var indirectJumps = 0
    /// Imported data read through the GOT (GLOB_DAT slots not called), sorted, unique: `_rtld_global_ro` is
    /// glibc's CPU feature data, `_r_debug` the loader's list of loaded objects.
    public var dataReferences: [String] = []
    public var systemCalls = 0
    public var cpuid = 0
    /// Stores through a pointer held in a register (not the stack, not a fixed address of the object).
    public var pointerWrites = 0
    /// Stores to fixed addresses (rip-relative): the object's own variables.
    public var fixedWrites = 0
    public var bound: Bound?
    public var problems: [Problem] = []

    public init(address: UInt64) {
        self.address = address
    }

    /// How the resolver is named in evidence: its IFUNC symbols, its own name, or its address.
    public var label: String {
        var parts: [String] = []
        if !symbols.isEmpty { parts.append(symbols.prefix(3).joined(separator: ", ")) }
        if let name, !symbols.contains(name) { parts.append("resolver \(name)") }
        parts.append("at 0x\(String(address, radix: 16))")
        return parts.joined(separator: " ")
    }
}

/// The resolvers of one ELF file, or why they were not walked.
public enum ResolverScan: Sendable, Hashable {
    /// Every resolver, walked (possibly none: a file without IFUNC).
    case walked([IFUNCResolver])
    /// The file has resolvers for a machine the walk does not decode (only x86-64 is).
    case unsupportedMachine(UInt16, resolvers: Int)
    /// The disassembler could not start.
    case failed(String)

    public var resolvers: [IFUNCResolver] {
        if case .walked(let resolvers) = self { return resolvers }
        return []
    }
}
