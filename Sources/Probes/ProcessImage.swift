import ELFReader
import HostIO

/// A running process as its GOT is judged: where each of its files is mapped, and what its executable's import
/// slots hold right now (read from /proc/PID/mem, never by attaching to or stopping it).
public struct ProcessImage: Sendable {
    public var pid: Int32
    /// readlink /proc/PID/exe.
    public var executable: String
    public var executableIdentity: FileIdentity
    /// Every file-backed mapping.
    public var mappings: [MemoryMapping]
    /// The kernel's vDSO, which has no file.
    public var vdso: Range<UInt64>?
    /// The executable's load bias.
    public var bias: UInt64
    /// What each import slot holds, by slot offset (r_offset, before the bias); a slot that could not be read is
    /// absent.
    public var slots: [UInt64: UInt64]

    /// Reads the slots `executable` (its ELF facts) declares, in process `pid` with these mappings.
    public static func read(pid: Int32, executable: String, identity: FileIdentity, elf: ELFInfo,
                            mappings: [MemoryMapping], vdso: Range<UInt64>?, procPath: String = "/proc") throws(ProcessImageError) -> ProcessImage {
        guard let bias = loadBias(of: identity, segments: elf.loadSegments, in: mappings) else {
            throw .notMapped(pid: pid, executable: executable)
        }
        let memory: ProcessMemory
        do { memory = try ProcessMemory(pid: pid, procPath: procPath) } catch {
            throw .memoryNotReadable(pid: pid, error: error)
        }
        let addresses = elf.importSlots.map { bias &+ $0.offset }
        let words = memory.words(at: addresses)
        var slots: [UInt64: UInt64] = [:]
        for slot in elf.importSlots {
            if let value = words[bias &+ slot.offset] { slots[slot.offset] = value }
        }
        if !elf.importSlots.isEmpty && slots.isEmpty { throw .slotsNotReadable(pid: pid, count: elf.importSlots.count) }
        return ProcessImage(pid: pid, executable: executable, executableIdentity: identity, mappings: mappings,
                            vdso: vdso, bias: bias, slots: slots)
    }

    /// Where a file is loaded: the address its first PT_LOAD segment's file offset is mapped at, less that
    /// segment's virtual address (the same arithmetic as ld.so's l_addr, whatever the page size).
    public static func loadBias(of identity: FileIdentity, segments: [ELFInfo.Segment], in mappings: [MemoryMapping]) -> UInt64? {
        guard let first = segments.first else { return nil }
        for mapping in mappings where mapping.identity == identity
            && first.fileOffset >= mapping.offset && first.fileOffset - mapping.offset < mapping.end - mapping.start {
            return (mapping.start &+ (first.fileOffset - mapping.offset)) &- first.virtualAddress
        }
        return nil
    }

    /// The mapping holding `address`, if a file-backed one does.
    public func mapping(containing address: UInt64) -> MemoryMapping? {
        mappings.first { address >= $0.start && address < $0.end }
    }
}

public enum ProcessImageError: Error, CustomStringConvertible, Sendable {
    case notMapped(pid: Int32, executable: String)
    case memoryNotReadable(pid: Int32, error: SystemError)
    case slotsNotReadable(pid: Int32, count: Int)

    public var description: String {
        switch self {
        case .notMapped(_, let executable): return "\(executable) is not mapped where its ELF headers say; GOT not checked"
        case .memoryNotReadable(_, let error):
            return error.isNotFound ? "exited during the scan" : "memory not readable (\(error.reason)); GOT not checked"
        case .slotsNotReadable(_, let count): return "none of its \(count) GOT slots could be read; GOT not checked"
        }
    }
}
