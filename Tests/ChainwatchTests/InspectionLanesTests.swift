import Crypto
import Foundation
import HostIO
import Probes
import Testing

/// Files read together in MD5 lanes get exactly the digests each would get read alone: sizes at every block and
/// chunk edge, more files than lanes, files with and without a package MD5, one that fails mid-read.
@Suite struct InspectionLanesTests {
    static let chunk = 4096

    /// Sizes around MD5's 64-byte blocks and the 4 KiB test chunk, a file of several chunks, and an empty one.
    static let sizes = [0, 1, 55, 56, 63, 64, 65, 127, 128, 4095, 4096, 4097, 3 * 4096 + 17, 40_000, 100_003]

    static func write(_ directory: String, count: Int) throws -> [(path: String, bytes: [UInt8])] {
        var generator = MD5Tests.Bytes(state: 0x5eed)
        return try (0..<count).map { index in
            let bytes = generator.bytes(sizes[index % sizes.count] + index / sizes.count)
            let path = "\(directory)/file\(index)"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return (path, bytes)
        }
    }

    @Test(arguments: [1, 2, 16])
    func digestsInLanesEqualDigestsAlone(width: Int) throws {
        let directory = try Support.temporaryDirectory("lanes")
        defer { Support.remove(directory) }
        let files = try Self.write(directory, count: 3 * Self.sizes.count)
        let inspector = FileInspector()
        var queue = files.indices.makeIterator()
        var facts: [Int: FileFacts] = [:]
        var contentBytes: [Int: Int] = [:]
        InspectionLanes(width: width).run(next: {
            guard let index = queue.next() else { return nil }
            // Every third file without a package digest: lanes mix files that need MD5 and files that do not.
            let digests: Set<DigestAlgorithm> = index % 3 == 2 ? [] : [.md5]
            return try? inspector.begin(OpenFile(path: files[index].path), tag: index, readSymbols: false, digests: digests,
                                        chunkSize: Self.chunk) { contentBytes[index, default: 0] += $0.count }
        }, done: { inspection, result in
            facts[inspection.tag] = try? result.get()
        })
        #expect(facts.count == files.count)
        for (index, file) in files.enumerated() {
            let read = try #require(facts[index], "file \(index) (\(file.bytes.count) bytes) not read")
            #expect(read.sha256 == SHA256.hash(data: file.bytes).hex, "file \(index)")
            let md5 = index % 3 == 2 ? nil : Insecure.MD5.hash(data: file.bytes).hex
            #expect(read.digests[.md5] == md5, "file \(index), \(file.bytes.count) bytes, width \(width)")
            #expect(contentBytes[index, default: 0] == file.bytes.count, "every byte handed on once")
        }
    }

    @Test func aFileChangedMidReadFailsAloneAndTheOthersFinish() throws {
        let directory = try Support.temporaryDirectory("lanes-changed")
        defer { Support.remove(directory) }
        let files = try Self.write(directory, count: 8)
        let big = directory + "/big"
        try Data(repeating: 0x41, count: 10 * Self.chunk).write(to: URL(fileURLWithPath: big))
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, big, &times, 0) == 0)
        let changing = try OpenFile(path: big)
        changing.chunkObserver = { read in if read == Self.chunk { FileReadTests.rewriteInPlace(big) } }
        var opened = [changing] + (try files.map { try OpenFile(path: $0.path) })
        var results: [Int: Result<FileFacts, Error>] = [:]
        var tag = 0
        let inspector = FileInspector()
        InspectionLanes().run(next: {
            guard !opened.isEmpty else { return nil }
            tag += 1
            return try? inspector.begin(opened.removeFirst(), tag: tag, readSymbols: false, digests: [.md5], chunkSize: Self.chunk)
        }, done: { inspection, result in
            results[inspection.tag] = result
        })
        #expect(results.count == 9)
        let failures = results.values.filter { if case .failure = $0 { true } else { false } }
        #expect(failures.count == 1, "only the rewritten file fails")
        if case .failure(let error) = results[1] { #expect(error as? FileReadError == .changed(path: big)) } else {
            Issue.record("the rewritten file was not reported as changed")
        }
    }
}
