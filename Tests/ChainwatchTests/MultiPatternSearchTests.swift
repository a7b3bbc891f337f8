import Testing
@testable import HostIO

/// The byte search every file goes through, checked against a plain byte-by-byte search.
@Suite struct MultiPatternSearchTests {
    /// A deterministic generator (xorshift), so a failure replays.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func naiveContains(_ pattern: [UInt8?], in bytes: [UInt8]) -> Bool {
        guard pattern.count <= bytes.count else { return false }
        for start in 0...(bytes.count - pattern.count) {
            if pattern.indices.allSatisfy({ pattern[$0] == nil || pattern[$0] == bytes[start + $0] }) { return true }
        }
        return false
    }

    /// Patterns cut from the buffer (so present), with wildcards, of every anchor length from 1 to 40, and the
    /// same patterns with one fixed byte changed (mostly absent): the search agrees with the naive one on each.
    @Test(arguments: [1, 2, 3, 4, 5])
    func agreesWithANaiveSearch(_ seed: UInt64) {
        var random = Generator(state: 0x9e3779b97f4a7c15 &* seed)
        // Code-like bytes: a small alphabet makes blocks repeat, as in x86 code.
        let bytes = (0..<20_000).map { _ in UInt8(random.below(12) * 21) }
        var patterns: [[UInt8?]] = []
        for length in 1...40 {
            let start = random.below(bytes.count - length)
            var pattern: [UInt8?] = Array(bytes[start..<(start + length)])
            if length > 8 { pattern[random.below(length)] = nil }
            patterns.append(pattern)
            var changed = pattern
            let at = changed.indices.first { changed[$0] != nil }!
            changed[at] = changed[at]! &+ 1
            patterns.append(changed)
        }
        let search = MultiPatternSearch(patterns.map(MultiPatternSearch.Pattern.init))
        var found = PatternHits()
        search.search(bytes[...], into: &found)
        let expected = Set(patterns.indices.filter { Self.naiveContains(patterns[$0], in: bytes) })
        #expect(found.indices == expected)
        // Each hit's offset is an occurrence of its pattern.
        func occurs(_ index: Int, at offset: Int64?) -> Bool {
            guard let offset, offset >= 0, Int(offset) + patterns[index].count <= bytes.count else { return false }
            return patterns[index].enumerated().allSatisfy { $0.element == nil || bytes[Int(offset) + $0.offset] == $0.element }
        }
        #expect(expected.allSatisfy { occurs($0, at: found.offset(of: $0)) })
        #expect(!expected.isEmpty && expected.count < patterns.count)

        // Streamed in uneven chunks, a pattern split across two chunks is still found.
        var stream = MultiPatternSearch.Stream(search)
        var offset = 0
        while offset < bytes.count {
            let size = 1 + random.below(60)
            stream.feed(bytes[offset..<min(bytes.count, offset + size)])
            offset += size
        }
        #expect(stream.found.indices == expected)
        #expect(expected.allSatisfy { occurs($0, at: stream.found.offset(of: $0)) }, "offsets across chunks and seams")
    }

    /// The buffer is searched as four interleaved quarters: a pattern lying across a quarter's end is still found,
    /// at every offset around each boundary, and so is one whose best window is past a zero run.
    @Test func patternsAcrossTheInterleavedQuartersAreFound() {
        var random = Generator(state: 0x2545f4914f6cdd1d)
        let base = (0..<4000).map { _ in random.byte() }
        let pattern: [UInt8?] = [0, 0, 0, 0, 0, 0] + (0..<20).map { _ in random.byte() } + [nil, 0x42]
        let search = MultiPatternSearch([MultiPatternSearch.Pattern(pattern)])
        for boundary in [1000, 2000, 3000] {
            for offset in (boundary - 40)...(boundary + 10) {
                var bytes = base
                for (index, byte) in pattern.enumerated() { bytes[offset + index] = byte ?? 0x99 }
                var found = PatternHits()
                search.search(bytes[...], into: &found)
                #expect(found.indices == [0], "pattern at \(offset) not found")
                #expect(found.offset(of: 0) == Int64(offset))
            }
        }
    }

    @Test func patternsAtTheEdgesOfTheBuffer() {
        let bytes: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        let patterns: [[UInt8?]] = [Array("ABCDEFG".utf8), Array("TUVWXYZ".utf8), Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8),
                                    Array("YZ".utf8), [nil] + Array("BCDEFGH".utf8), Array("UVWXYZ".utf8) + [nil]]
        let search = MultiPatternSearch(patterns.map(MultiPatternSearch.Pattern.init))
        var found = PatternHits()
        search.search(bytes[...], into: &found)
        // The last one needs a byte after Z: there is none.
        #expect(found.indices == [0, 1, 2, 3, 4])
        var empty = PatternHits()
        search.search([][...], into: &empty)
        #expect(empty.isEmpty)
    }

    /// On bytes where no anchor block occurs, the scan jumps a window at a time instead of looking at every byte.
    @Test func skipsWholeWindowsOnBytesWithoutCandidates() {
        let search = MultiPatternSearch([MultiPatternSearch.Pattern(Array("0123456789abcdef0123".utf8))])
        var found = PatternHits()
        let inspected = search.search(Array(repeating: UInt8(ascii: "z"), count: 1 << 16)[...], into: &found)
        #expect(found.isEmpty)
        // One window per 19 bytes, plus the first window of each of the four interleaved lanes.
        #expect(inspected <= (1 << 16) / 19 + 4, "\(inspected) windows looked at")
    }
}
