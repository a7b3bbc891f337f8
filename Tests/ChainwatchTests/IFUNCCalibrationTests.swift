import Foundation
import Testing
import ELFReader
import HostIO

/// The measurement behind the shipped ifunc-resolver rule's thresholds: every IFUNC resolver of every ELF file in
/// this host's system directories (and of the IFUNC-using Debian packages bench/ifunc-corpus.sh extracts, when
/// present), walked as a scan walks them. Writes one line per resolver to `IFUNCCalibration.table` and checks that
/// the shipped rule finds none of them (a scan of the same directories with rules/ifunc).
@Suite(.serialized) struct IFUNCCalibrationTests {
    static let directories = ["/usr/lib", "/usr/lib64", "/usr/bin", "/usr/sbin", "/usr/libexec", "/usr/local/lib",
                              "/opt"]
    static var corpus: String { ProcessInfo.processInfo.environment["CHAINWATCH_IFUNC_CORPUS"] ?? "/var/tmp/chainwatch-ifunc-corpus/root" }

    struct Row {
        var file: String
        var resolver: IFUNCResolver
    }

    /// Every regular ELF file under `directory` (symlinks not followed), with its walked resolvers.
    static func survey(_ directories: [String]) -> (rows: [Row], files: Int, problems: [String]) {
        var rows: [Row] = [], files = 0, problems: [String] = []
        for directory in directories {
            guard let walker = FileManager.default.enumerator(atPath: directory) else { continue }
            while let relative = walker.nextObject() as? String {
                let path = directory + "/" + relative
                guard let attributes = walker.fileAttributes, attributes[.type] as? FileAttributeType == .typeRegular,
                      let file = try? OpenFile(path: path), let head = try? file.read(at: 0, count: 4),
                      head == [0x7f, 0x45, 0x4c, 0x46] else { continue }
                files += 1
                let elf = try? file.withDescriptor { (fd) throws(ELFError) in
                    try ELFParser.parse(descriptor: fd, size: Int(file.status.size), readSymbols: false, resolvers: .standard)
                }
                switch elf?.resolvers {
                case .walked(let resolvers)?: rows += resolvers.map { Row(file: path, resolver: $0) }
                case .unsupportedMachine(let machine, let count)?: problems.append("\(path): \(count) resolvers of machine \(machine)")
                case .failed(let message)?: problems.append("\(path): \(message)")
                case nil: break
                }
            }
        }
        return (rows, files, problems)
    }

    static func table(_ rows: [Row]) -> String {
        var lines = ["file\tresolver\tinstructions\tfunctions\tpointer_writes\tfixed_writes\tindirect_calls\tindirect_jumps\tsyscalls\tcpuid\tcalls\tdata\tbound\tproblems"]
        for row in rows {
            let r = row.resolver
            lines.append([row.file, r.label, "\(r.instructions)", "\(r.functions)", "\(r.pointerWrites)", "\(r.fixedWrites)",
                          "\(r.indirectCalls)", "\(r.indirectJumps)", "\(r.systemCalls)", "\(r.cpuid)", r.calls.joined(separator: ","),
                          r.dataReferences.joined(separator: ","), r.bound?.rawValue ?? "-",
                          r.problems.map(\.description).joined(separator: "; ")].joined(separator: "\t"))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The value at `fraction` of the sorted values (nearest rank).
    static func percentile(_ values: [Int], _ fraction: Double) -> Int {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
    }

    @Test func everyResolverOnThisHostIsWalkedAndSummarised() throws {
        var directories = Self.directories
        if FileManager.default.fileExists(atPath: Self.corpus) { directories.append(Self.corpus) }
        let (rows, files, problems) = Self.survey(directories)
        let out = NSTemporaryDirectory() + "chainwatch-ifunc-calibration.tsv"
        try Self.table(rows).write(toFile: out, atomically: true, encoding: .utf8)
        let instructions = rows.map(\.resolver.instructions)
        print("ifunc calibration: \(files) ELF files, \(Set(rows.map(\.file)).count) with resolvers, \(rows.count) resolvers;",
              "instructions max \(instructions.max() ?? 0), p99 \(Self.percentile(instructions, 0.99)),",
              "median \(Self.percentile(instructions, 0.5)); table in \(out); problems: \(problems.prefix(5))")
        // The shipped rules find none of them (the dynamic linker's own resolver is left out by rule).
        var arguments = ["--rules", Support.rulesDirectory + "/ifunc-resolvers"]
        for directory in directories where FileManager.default.fileExists(atPath: directory) { arguments += ["--path", directory] }
        let (_, document) = try Support.scanJSON(arguments)
        #expect(Support.findings(document).isEmpty, "\(Support.findings(document).prefix(5))")
        // glibc is on every host this runs on: its resolvers must have been found and walked.
        #expect(rows.contains { $0.file.hasSuffix("/libc.so.6") && $0.resolver.symbols.contains("memcpy") })
        #expect(rows.filter { $0.file.hasSuffix("/libc.so.6") }.count > 30)
    }
}
