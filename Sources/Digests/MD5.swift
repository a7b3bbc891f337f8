/// MD5 of one stream (RFC 1321), scalar; its state can be advanced in lanes with others (`MD5.update(lanes:with:)`).
///
/// dpkg records an MD5 for every file it installs, so a scan hashes every package-owned file. One stream's MD5 is a
/// chain of dependent steps (latency-bound: 650-750 MB/s here, ours or BoringSSL's), but the same steps on several
/// files at once fill SIMD lanes, as Intel isa-l's and minio's md5-simd do: 16 streams run at ~4.4 GB/s on one core
/// with baseline x86-64 (SSE2) code.
public struct MD5: Sendable {
    private var a: UInt32 = 0x6745_2301
    private var b: UInt32 = 0xefcd_ab89
    private var c: UInt32 = 0x98ba_dcfe
    private var d: UInt32 = 0x1032_5476
    /// Bytes hashed so far, including the pending ones.
    private var count: UInt64 = 0
    /// The start of a block not yet full: a tuple, so the struct stays inline and copies without a heap buffer.
    private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    public init() {}

    /// Bytes buffered that do not yet fill a 64-byte block; update(lanes:) needs 0.
    public var pendingByteCount: Int { Int(count % 64) }

    /// Hashes `bytes` (any length) after what came before.
    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        var held = pendingByteCount
        count &+= UInt64(bytes.count)
        var state = (a, b, c, d)
        bytes.withUnsafeBytes { input in
            guard var next = input.baseAddress else { return }
            var remaining = input.count
            withUnsafeMutableBytes(of: &pending) { buffer in
                let buffer = buffer.baseAddress!
                if held > 0 {
                    // Fill the pending block first, and hash it once it is full.
                    let taken = min(64 - held, remaining)
                    (buffer + held).copyMemory(from: next, byteCount: taken)
                    (next, remaining, held) = (next + taken, remaining - taken, held + taken)
                    guard held == 64 else { return }
                    Self.compress(&state, UnsafeRawPointer(buffer), blocks: 1)
                }
                Self.compress(&state, next, blocks: remaining / 64)
                buffer.copyMemory(from: next + remaining / 64 * 64, byteCount: remaining % 64)
            }
        }
        (a, b, c, d) = state
    }

    /// The 16-byte digest of everything hashed so far; `self` can go on hashing.
    public func finalize() -> [UInt8] {
        var last = self
        let bits = count &* 8
        // 0x80, zeros up to 56 mod 64, then the message length in bits, little-endian.
        var padding = [UInt8](repeating: 0, count: ((55 - pendingByteCount) & 63) + 9)
        padding[0] = 0x80
        for byte in 0..<8 { padding[padding.count - 8 + byte] = UInt8(truncatingIfNeeded: bits >> (8 * byte)) }
        last.update(padding[...])
        var digest: [UInt8] = []
        digest.reserveCapacity(16)
        for word in [last.a, last.b, last.c, last.d] {
            for byte in 0..<4 { digest.append(UInt8(truncatingIfNeeded: word >> (8 * byte))) }
        }
        return digest
    }

    /// The scalar compression function over `blocks` consecutive 64-byte blocks.
    private static func compress(_ state: inout (UInt32, UInt32, UInt32, UInt32), _ base: UnsafeRawPointer, blocks: Int) {
        for block in 0..<blocks {
            let words = InlineArray<16, UInt32> { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: block * 64 + $0 * 4, as: UInt32.self)) }
            md5Rounds(&state, words)
        }
    }
}

extension MD5 {
    /// How many streams `update(lanes:with:)` advances in one SIMD pass.
    ///
    /// 16: with baseline x86-64 codegen a SIMD16<UInt32> is four SSE registers, four independent chains per step,
    /// which keeps the vector units busy where one or two chains wait on each step's latency.
    public static let laneWidth = 16

    /// Advances each stream over its own slice, all slices the same length, a multiple of 64, every stream with no
    /// pending bytes. 1...laneWidth streams (fewer lanes are padded internally). Result identical to calling
    /// update on each stream separately.
    public static func update(lanes streams: inout [MD5], with blocks: [ArraySlice<UInt8>]) {
        precondition((1...laneWidth).contains(streams.count) && blocks.count == streams.count, "1...\(laneWidth) streams, one slice each")
        let length = blocks[0].count
        precondition(length % 64 == 0 && blocks.allSatisfy { $0.count == length }, "slices of one length, a multiple of 64")
        precondition(streams.allSatisfy { $0.pendingByteCount == 0 }, "streams with no pending bytes")
        guard length > 0 else { return }
        // The narrowest vector that holds every stream: padded lanes cost as much as real ones.
        switch streams.count {
        case 1: streams[0].update(blocks[0])   // one stream runs faster scalar than in a mostly idle vector
        case 2...4: advance(SIMD4<UInt32>.self, &streams, over: blocks, length: length)
        case 5...8: advance(SIMD8<UInt32>.self, &streams, over: blocks, length: length)
        default: advance(SIMD16<UInt32>.self, &streams, over: blocks, length: length)
        }
    }

    /// The lane kernel: each stream in one lane of `V`, `length` bytes of each slice.
    private static func advance<V: SIMD & MD5Word>(_: V.Type, _ streams: inout [MD5], over blocks: [ArraySlice<UInt8>],
                                                   length: Int) where V.Scalar == UInt32 {
        var state = (V(), V(), V(), V())
        for (lane, stream) in streams.enumerated() {
            (state.0[lane], state.1[lane], state.2[lane], state.3[lane]) = (stream.a, stream.b, stream.c, stream.d)
        }
        var collected: [UnsafeRawPointer] = []
        withBaseAddresses(of: blocks, collected: &collected) { bases in
            // Lanes past the last stream hash the first stream's bytes again; their results are dropped.
            let lanes = (0..<V.scalarCount).map { bases[$0 < bases.count ? $0 : 0] }
            lanes.withUnsafeBufferPointer { lanes in
                for offset in stride(from: 0, to: length, by: 64) {
                    md5Rounds(&state, gatherWords(lanes, at: offset) as InlineArray<16, V>)
                }
            }
        }
        for lane in streams.indices {
            (streams[lane].a, streams[lane].b, streams[lane].c, streams[lane].d) = (state.0[lane], state.1[lane], state.2[lane], state.3[lane])
            streams[lane].count &+= UInt64(length)
        }
    }

    /// Calls `body` with the base address of every slice, each valid only inside its own `withUnsafeBytes`.
    private static func withBaseAddresses(of slices: [ArraySlice<UInt8>], collected: inout [UnsafeRawPointer],
                                          _ body: ([UnsafeRawPointer]) -> Void) {
        guard collected.count < slices.count else { return body(collected) }
        slices[collected.count].withUnsafeBytes { bytes in
            collected.append(bytes.baseAddress!)
            withBaseAddresses(of: slices, collected: &collected, body)
        }
    }

    /// Message word `i` of every lane's block at `offset`, one vector per word. Each lane's block is read as 4-word
    /// rows and every 4 lanes' rows are transposed: far fewer instructions than inserting the words one by one.
    @inline(__always)
    private static func gatherWords<V: SIMD>(_ lanes: UnsafeBufferPointer<UnsafeRawPointer>, at offset: Int) -> InlineArray<16, V>
    where V.Scalar == UInt32 {
        var words = InlineArray<16, V>(repeating: V())
        withUnsafeMutableBytes(of: &words) { out in
            for group in stride(from: 0, to: V.scalarCount, by: 4) {
                for row in 0..<4 {
                    let columns = transpose(lanes[group], lanes[group + 1], lanes[group + 2], lanes[group + 3], at: offset + row * 16)
                    let at = row * 4 * MemoryLayout<V>.stride + group * 4
                    out.storeBytes(of: columns.0, toByteOffset: at, as: SIMD4<UInt32>.self)
                    out.storeBytes(of: columns.1, toByteOffset: at + MemoryLayout<V>.stride, as: SIMD4<UInt32>.self)
                    out.storeBytes(of: columns.2, toByteOffset: at + 2 * MemoryLayout<V>.stride, as: SIMD4<UInt32>.self)
                    out.storeBytes(of: columns.3, toByteOffset: at + 3 * MemoryLayout<V>.stride, as: SIMD4<UInt32>.self)
                }
            }
        }
        return words
    }

    /// Words `offset / 4 ..< offset / 4 + 4` of four lanes, one vector per word.
    @inline(__always)
    private static func transpose(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer, _ p2: UnsafeRawPointer, _ p3: UnsafeRawPointer,
                                  at offset: Int) -> (SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>) {
        let r0 = row(p0, offset), r1 = row(p1, offset), r2 = row(p2, offset), r3 = row(p3, offset)
        // (r0[0], r0[2], r1[0], r1[2]) and the like; the even and odd halves of those pairs are then the columns.
        let even01 = SIMD8(lowHalf: r0, highHalf: r1).evenHalf, odd01 = SIMD8(lowHalf: r0, highHalf: r1).oddHalf
        let even23 = SIMD8(lowHalf: r2, highHalf: r3).evenHalf, odd23 = SIMD8(lowHalf: r2, highHalf: r3).oddHalf
        return (SIMD8(lowHalf: even01, highHalf: even23).evenHalf, SIMD8(lowHalf: odd01, highHalf: odd23).evenHalf,
                SIMD8(lowHalf: even01, highHalf: even23).oddHalf, SIMD8(lowHalf: odd01, highHalf: odd23).oddHalf)
    }

    /// Four little-endian words at `offset`, read as one vector (the conversion is free on little-endian hosts).
    @inline(__always)
    private static func row(_ base: UnsafeRawPointer, _ offset: Int) -> SIMD4<UInt32> {
        let raw = base.loadUnaligned(fromByteOffset: offset, as: SIMD4<UInt32>.self)
        return SIMD4(UInt32(littleEndian: raw[0]), UInt32(littleEndian: raw[1]), UInt32(littleEndian: raw[2]), UInt32(littleEndian: raw[3]))
    }
}

/// What the MD5 steps need of a word: one `UInt32` for the scalar path, a SIMD vector of them for lanes, so both
/// run the same 64 steps.
private protocol MD5Word {
    init(repeating: UInt32)
    static func &+ (a: Self, b: Self) -> Self
    static func & (a: Self, b: Self) -> Self
    static func | (a: Self, b: Self) -> Self
    static func ^ (a: Self, b: Self) -> Self
    static prefix func ~ (a: Self) -> Self
    static func &<< (a: Self, b: UInt32) -> Self
    static func &>> (a: Self, b: UInt32) -> Self
}

extension UInt32: MD5Word {
    init(repeating value: UInt32) { self = value }
}
extension SIMD4<UInt32>: MD5Word {}
extension SIMD8<UInt32>: MD5Word {}
extension SIMD16<UInt32>: MD5Word {}

/// The end of a step: `a = b + (sum <<< s)`, where `sum` is `a + f(b, c, d) + x + k`.
///
/// The rotation adds its two disjoint halves instead of OR-ing them: Swift's SIMD shifts are element loops, and LLVM
/// turns an OR of them into a scalar rotate per lane, while the sum it keeps as two vector shifts.
@inline(__always)
private func rotate<W: MD5Word>(_ a: inout W, _ b: W, _ sum: W, _ s: UInt32) {
    a = b &+ ((sum &<< s) &+ (sum &>> (32 - s)))
}

// The four round functions. Each sum adds the terms known early first and the one that needs `b` (the previous
// step's result) last, so only that term's operations are on the chain from step to step.
@inline(__always) private func ff<W: MD5Word>(_ a: inout W, _ b: W, _ c: W, _ d: W, _ x: W, _ k: UInt32, _ s: UInt32) {
    rotate(&a, b, (a &+ x &+ W(repeating: k)) &+ (d ^ (b & (c ^ d))), s)
}
@inline(__always) private func gg<W: MD5Word>(_ a: inout W, _ b: W, _ c: W, _ d: W, _ x: W, _ k: UInt32, _ s: UInt32) {
    // (b & d) | (c & ~d), as a sum of its disjoint halves so that only (b & d) waits for b.
    rotate(&a, b, (a &+ x &+ W(repeating: k) &+ (c & ~d)) &+ (b & d), s)
}
@inline(__always) private func hh<W: MD5Word>(_ a: inout W, _ b: W, _ c: W, _ d: W, _ x: W, _ k: UInt32, _ s: UInt32) {
    rotate(&a, b, (a &+ x &+ W(repeating: k)) &+ (b ^ (c ^ d)), s)
}
@inline(__always) private func ii<W: MD5Word>(_ a: inout W, _ b: W, _ c: W, _ d: W, _ x: W, _ k: UInt32, _ s: UInt32) {
    rotate(&a, b, (a &+ x &+ W(repeating: k)) &+ (c ^ (b | ~d)), s)
}

/// The 64 steps of RFC 1321 over one block's words `x`, added into `state`.
@inline(__always)
private func md5Rounds<W: MD5Word>(_ state: inout (W, W, W, W), _ x: InlineArray<16, W>) {
    var (a, b, c, d) = state
    ff(&a, b, c, d, x[0], 0xd76a_a478, 7); ff(&d, a, b, c, x[1], 0xe8c7_b756, 12); ff(&c, d, a, b, x[2], 0x2420_70db, 17); ff(&b, c, d, a, x[3], 0xc1bd_ceee, 22)
    ff(&a, b, c, d, x[4], 0xf57c_0faf, 7); ff(&d, a, b, c, x[5], 0x4787_c62a, 12); ff(&c, d, a, b, x[6], 0xa830_4613, 17); ff(&b, c, d, a, x[7], 0xfd46_9501, 22)
    ff(&a, b, c, d, x[8], 0x6980_98d8, 7); ff(&d, a, b, c, x[9], 0x8b44_f7af, 12); ff(&c, d, a, b, x[10], 0xffff_5bb1, 17); ff(&b, c, d, a, x[11], 0x895c_d7be, 22)
    ff(&a, b, c, d, x[12], 0x6b90_1122, 7); ff(&d, a, b, c, x[13], 0xfd98_7193, 12); ff(&c, d, a, b, x[14], 0xa679_438e, 17); ff(&b, c, d, a, x[15], 0x49b4_0821, 22)
    gg(&a, b, c, d, x[1], 0xf61e_2562, 5); gg(&d, a, b, c, x[6], 0xc040_b340, 9); gg(&c, d, a, b, x[11], 0x265e_5a51, 14); gg(&b, c, d, a, x[0], 0xe9b6_c7aa, 20)
    gg(&a, b, c, d, x[5], 0xd62f_105d, 5); gg(&d, a, b, c, x[10], 0x0244_1453, 9); gg(&c, d, a, b, x[15], 0xd8a1_e681, 14); gg(&b, c, d, a, x[4], 0xe7d3_fbc8, 20)
    gg(&a, b, c, d, x[9], 0x21e1_cde6, 5); gg(&d, a, b, c, x[14], 0xc337_07d6, 9); gg(&c, d, a, b, x[3], 0xf4d5_0d87, 14); gg(&b, c, d, a, x[8], 0x455a_14ed, 20)
    gg(&a, b, c, d, x[13], 0xa9e3_e905, 5); gg(&d, a, b, c, x[2], 0xfcef_a3f8, 9); gg(&c, d, a, b, x[7], 0x676f_02d9, 14); gg(&b, c, d, a, x[12], 0x8d2a_4c8a, 20)
    hh(&a, b, c, d, x[5], 0xfffa_3942, 4); hh(&d, a, b, c, x[8], 0x8771_f681, 11); hh(&c, d, a, b, x[11], 0x6d9d_6122, 16); hh(&b, c, d, a, x[14], 0xfde5_380c, 23)
    hh(&a, b, c, d, x[1], 0xa4be_ea44, 4); hh(&d, a, b, c, x[4], 0x4bde_cfa9, 11); hh(&c, d, a, b, x[7], 0xf6bb_4b60, 16); hh(&b, c, d, a, x[10], 0xbebf_bc70, 23)
    hh(&a, b, c, d, x[13], 0x289b_7ec6, 4); hh(&d, a, b, c, x[0], 0xeaa1_27fa, 11); hh(&c, d, a, b, x[3], 0xd4ef_3085, 16); hh(&b, c, d, a, x[6], 0x0488_1d05, 23)
    hh(&a, b, c, d, x[9], 0xd9d4_d039, 4); hh(&d, a, b, c, x[12], 0xe6db_99e5, 11); hh(&c, d, a, b, x[15], 0x1fa2_7cf8, 16); hh(&b, c, d, a, x[2], 0xc4ac_5665, 23)
    ii(&a, b, c, d, x[0], 0xf429_2244, 6); ii(&d, a, b, c, x[7], 0x432a_ff97, 10); ii(&c, d, a, b, x[14], 0xab94_23a7, 15); ii(&b, c, d, a, x[5], 0xfc93_a039, 21)
    ii(&a, b, c, d, x[12], 0x655b_59c3, 6); ii(&d, a, b, c, x[3], 0x8f0c_cc92, 10); ii(&c, d, a, b, x[10], 0xffef_f47d, 15); ii(&b, c, d, a, x[1], 0x8584_5dd1, 21)
    ii(&a, b, c, d, x[8], 0x6fa8_7e4f, 6); ii(&d, a, b, c, x[15], 0xfe2c_e6e0, 10); ii(&c, d, a, b, x[6], 0xa301_4314, 15); ii(&b, c, d, a, x[13], 0x4e08_11a1, 21)
    ii(&a, b, c, d, x[4], 0xf753_7e82, 6); ii(&d, a, b, c, x[11], 0xbd3a_f235, 10); ii(&c, d, a, b, x[2], 0x2ad7_d2bb, 15); ii(&b, c, d, a, x[9], 0xeb86_d391, 21)
    state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
}
