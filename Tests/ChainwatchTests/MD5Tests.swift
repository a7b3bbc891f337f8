import Crypto
import Digests
import Foundation
import HostIO
import Testing

/// HostIO's MD5 (scalar and in SIMD lanes) must give RFC 1321's digests and swift-crypto's on every input shape:
/// dpkg's md5sums are compared against it for every package-owned file.
@Suite struct MD5Tests {
    /// A fixed-seed generator (SplitMix64), so a failure names an input that can be reproduced.
    struct Bytes: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) } }
    }

    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var md5 = MD5()
        md5.update(bytes[...])
        return md5.finalize()
    }

    static func reference(_ bytes: [UInt8]) -> [UInt8] { Array(Insecure.MD5.hash(data: bytes)) }

    @Test func rfc1321Vectors() {
        let vectors = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (message, expected) in vectors {
            #expect(Self.digest(Array(message.utf8)).hex == expected, "\"\(message)\"")
        }
    }

    /// Every length around the padding boundaries (55, 56, 64 bytes) and random ones, hashed whole and in random
    /// pieces (empty ones too), and `finalize` leaving the stream usable.
    @Test func randomLengthsAndSplitsMatchSwiftCrypto() {
        var random = Bytes(state: 1321)
        let lengths = Array(0...200) + (0..<100).map { _ in Int.random(in: 0...5000, using: &random) } + [1 << 20 | 13]
        for length in lengths {
            let bytes = random.bytes(length)
            let expected = Self.reference(bytes)
            #expect(Self.digest(bytes) == expected, "\(length) bytes in one update")
            var md5 = MD5()
            var start = 0
            while start < length {
                let end = min(length, start + Int.random(in: 0...130, using: &random))
                md5.update(bytes[start..<end])
                start = end
            }
            #expect(md5.pendingByteCount == length % 64)
            #expect(md5.finalize() == expected, "\(length) bytes in pieces")
            #expect(md5.finalize() == expected, "\(length) bytes, finalized twice")
        }
    }

    /// Streams advanced in lanes (1, 2, one short of the width, the width) equal streams advanced alone, whatever
    /// they hashed before (whole blocks) and after (unequal tails, then lanes again).
    @Test(arguments: [1, 2, MD5.laneWidth - 1, MD5.laneWidth])
    func lanesMatchScalar(streamCount: Int) {
        var random = Bytes(state: UInt64(streamCount))
        for blocks in [0, 1, 3, 17] {
            let prefixes = (0..<streamCount).map { _ in random.bytes(64 * Int.random(in: 0...2, using: &random)) }
            // Slices at odd offsets into larger arrays: lanes must read each slice, not its base array.
            let arrays = (0..<streamCount).map { _ in random.bytes(64 * blocks + 20) }
            let slices = arrays.map { $0[7..<(7 + 64 * blocks)] }
            let tails = (0..<streamCount).map { _ in random.bytes(Int.random(in: 0...200, using: &random)) }

            var lanes = prefixes.map { prefix -> MD5 in
                var md5 = MD5()
                md5.update(prefix[...])
                return md5
            }
            MD5.update(lanes: &lanes, with: slices)
            for stream in 0..<streamCount {
                let expected = Self.reference(prefixes[stream] + Array(slices[stream]))
                #expect(lanes[stream].finalize() == expected, "\(streamCount) streams, \(blocks) blocks, stream \(stream)")
                lanes[stream].update(tails[stream][...])
                #expect(lanes[stream].finalize() == Self.reference(prefixes[stream] + Array(slices[stream]) + tails[stream]))
            }

            // Pad each stream back to a block boundary, then one more pass in lanes.
            let fillers = lanes.map { random.bytes((64 - $0.pendingByteCount) % 64) }
            for stream in 0..<streamCount { lanes[stream].update(fillers[stream][...]) }
            MD5.update(lanes: &lanes, with: slices)
            for stream in 0..<streamCount {
                let whole = prefixes[stream] + Array(slices[stream]) + tails[stream] + fillers[stream] + Array(slices[stream])
                #expect(lanes[stream].finalize() == Self.reference(whole), "second pass, stream \(stream)")
            }
        }
    }
}
