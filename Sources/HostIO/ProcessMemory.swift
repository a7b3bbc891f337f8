#if canImport(Glibc)
import Glibc   // O_RDONLY, O_CLOEXEC
#endif

/// Another process's memory, read with pread(2) on /proc/PID/mem: no ptrace attach, the process never stops.
/// The kernel allows it with the ptrace-read check (CAP_SYS_PTRACE, or the same user and Yama permitting).
public final class ProcessMemory {
    public let pid: Int32
    private let path: String
    private let descriptor: Int32

    public init(pid: Int32, procPath: String = "/proc") throws(SystemError) {
        self.pid = pid
        path = procPath + "/\(pid)/mem"
        descriptor = try Syscall.open(path, O_RDONLY | O_CLOEXEC)
    }

    // Read-only: nothing is lost if close fails.
    deinit { Syscall.closeReadOnly(descriptor) }

    /// `count` bytes at `address`, or fewer where the range runs into unmapped memory (EIO there).
    public func read(at address: UInt64, count: Int) throws(SystemError) -> [UInt8] {
        guard address <= UInt64(Int64.max) else { throw SystemError(operation: "pread", path: path, errno: EINVAL) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try Syscall.pread(descriptor, path: path, into: &bytes, 0..<count, at: Int64(address))
        bytes.removeLast(count - n)
        return bytes
    }

    /// The 8-byte little-endian words at `addresses` (GOT slots), read in runs: slots a few bytes apart cost one
    /// pread together. An address whose word cannot be read is left out.
    public func words(at addresses: [UInt64]) -> [UInt64: UInt64] {
        var values: [UInt64: UInt64] = [:]
        let sorted = Set(addresses).sorted()
        var index = 0
        while index < sorted.count {
            // A run: addresses within 4 KiB of the run's start.
            let start = sorted[index]
            var end = index
            while end + 1 < sorted.count, sorted[end + 1] &- start < 4096 { end += 1 }
            let length = Int(sorted[end] - start) + 8
            if let bytes = try? read(at: start, count: length) {
                for address in sorted[index...end] {
                    let offset = Int(address - start)
                    guard offset + 8 <= bytes.count else { continue }
                    values[address] = bytes[offset..<(offset + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) }
                }
            }
            index = end + 1
        }
        return values
    }
}
