import HostIO
import Probes
import YARA

/// What the YARA rules found in one executable mapping of a process that is in no file on disk: anonymous
/// executable memory, or a memfd mapped executable. A fact for `YARAMatcher`.
struct ProcessMemoryScan: Sendable {
    struct Mapping: Sendable, Hashable {
        var range: Range<UInt64>
        /// The memfd's name as maps shows it (`/memfd:payload (deleted)`), nil for anonymous memory.
        var memfd: String?
        /// The memfd's identity: the file the scan also read, whose findings name it already.
        var fileIdentity: FileIdentity?
        var executable: String?

        /// What a finding's path says: stable across restarts of the process (no address, no pid).
        var label: String {
            memfd ?? "[anonymous executable memory of \(executable ?? "?")]"
        }

        /// The mapping as maps shows it: its addresses and what backs it.
        var description: String {
            "\(String(range.lowerBound, radix: 16))-\(String(range.upperBound, radix: 16)) r-x " + (memfd ?? "(anonymous)")
        }
    }

    var pid: Int32
    var mapping: Mapping
    var matches: [YARAMatch]
}

extension YARAMatcher {
    /// The YARA rules over each executable mapping of `process` that is in no file, read with pread on
    /// /proc/PID/mem (never a ptrace attach), each on its own: never joined with its neighbours, so no match
    /// spans two. Bounded per process in bytes and time; what is left out is a skip naming the pid and mapping.
    func scanMemory(of process: Probes.ProcessInfo, procPath: String) -> (scans: [ProcessMemoryScan], skips: [Skip]) {
        guard let compiled, rules.values.contains(where: { $0.match.appliesToMemory }) else { return ([], []) }
        var targets = process.anonymousExecutable.map {
            ProcessMemoryScan.Mapping(range: $0, memfd: nil, fileIdentity: nil, executable: process.executable)
        }
        for mapping in process.mappings ?? [] where mapping.isExecutable && mapping.path.hasPrefix("/memfd:") {
            targets.append(ProcessMemoryScan.Mapping(range: mapping.start..<mapping.end,
                                                     memfd: mapping.path + (mapping.isDeleted ? " (deleted)" : ""),
                                                     fileIdentity: mapping.identity, executable: process.executable))
        }
        guard !targets.isEmpty else { return ([], []) }
        let subject = "pid \(process.pid) (\(process.executable ?? "?"))"
        let memory: ProcessMemory
        do { memory = try ProcessMemory(pid: process.pid, procPath: procPath) } catch {
            return ([], [Skip(subject: subject, reason: "memory not readable (\(error)); YARA rules not run on its code outside files",
                              code: error.isNotFound ? .exited : .unreadable)])
        }
        var scans: [ProcessMemoryScan] = [], skips: [Skip] = []
        var budget = limits.maximumMemoryPerProcess
        let deadline = ContinuousClock.now + .seconds(limits.memorySecondsPerProcess)
        for target in targets {
            let size = Int64(target.range.upperBound - target.range.lowerBound)
            let left = deadline - ContinuousClock.now
            guard size <= budget, left > .zero else {
                skips.append(Skip(subject: "\(subject) mapping \(target.description)",
                                  reason: size > budget ? "over the \(limits.maximumMemoryPerProcess >> 20) MiB of memory scanned per process; YARA rules not run on it"
                                                        : "the \(limits.memorySecondsPerProcess) s of YARA scanning per process ran out; YARA rules not run on it",
                                  code: .limit))
                continue
            }
            budget -= size
            let bytes: [UInt8]
            do { bytes = try memory.read(at: target.range.lowerBound, count: Int(size)) } catch {
                skips.append(Skip(subject: "\(subject) mapping \(target.description)", reason: "not readable (\(error))",
                                  code: error.isNotFound ? .exited : .unreadable))
                continue
            }
            let seconds = max(1, min(limits.timeoutSeconds, Int(left.components.seconds)))
            switch outcome(compiled, bytes[...], variables: ["filetype": YARAFileVariables.fileType(Array(bytes.prefix(4)))], timeout: seconds) {
            case .scanned(let matches):
                let kept = matches.filter { rules[$0.rule]?.match.appliesToMemory == true }
                if !kept.isEmpty { scans.append(ProcessMemoryScan(pid: process.pid, mapping: target, matches: kept)) }
            case .notScanned(let reason, let code):
                skips.append(Skip(subject: "\(subject) mapping \(target.description)", reason: reason, code: code))
            }
        }
        return (scans, skips)
    }
}
