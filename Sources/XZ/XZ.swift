import CLZMA

/// A liblzma failure, with the `lzma_ret` it returned.
public struct XZError: Error, CustomStringConvertible, Sendable, Equatable {
    public let code: UInt32
    public let message: String

    public var description: String { "xz: \(message) (lzma_ret \(code))" }
}

/// xz decompression through liblzma, for `.gnu_debugdata` (MiniDebugInfo) sections.
public enum XZ {
    /// Decompresses a complete .xz stream (lzma_stream_decoder + lzma_code).
    /// - Parameter limit: the most output bytes accepted, so a hostile section cannot expand without bound;
    ///   liblzma's own memory use is capped at the same figure.
    public static func decompress(_ input: [UInt8], limit: Int = 64 << 20) throws(XZError) -> [UInt8] {
        var stream = lzma_stream()
        var ret = lzma_stream_decoder(&stream, UInt64(limit), cw_lzma_concatenated)
        guard ret == LZMA_OK else { throw error(ret) }
        defer { lzma_end(&stream) }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let result: XZError? = input.withUnsafeBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = inBuffer.count
            while true {
                let action = stream.avail_in == 0 ? LZMA_FINISH : LZMA_RUN
                let produced: Int = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = outBuffer.count
                    ret = lzma_code(&stream, action)
                    return outBuffer.count - stream.avail_out
                }
                output.append(contentsOf: chunk[0..<produced])
                if output.count > limit {
                    return XZError(code: LZMA_MEMLIMIT_ERROR.rawValue, message: "output over the \(limit)-byte limit")
                }
                if ret == LZMA_STREAM_END { return nil }
                if ret != LZMA_OK { return error(ret) }
                if produced == 0 && stream.avail_in == 0 && action == LZMA_FINISH {
                    return XZError(code: LZMA_BUF_ERROR.rawValue, message: "truncated input")
                }
            }
        }
        if let result { throw result }
        return output
    }

    private static func error(_ ret: lzma_ret) -> XZError {
        let message: String
        switch ret {
        case LZMA_MEM_ERROR: message = "cannot allocate memory"
        case LZMA_MEMLIMIT_ERROR: message = "memory limit reached"
        case LZMA_FORMAT_ERROR: message = "not in the .xz format"
        case LZMA_OPTIONS_ERROR: message = "unsupported compression options"
        case LZMA_DATA_ERROR: message = "compressed data is corrupt"
        case LZMA_BUF_ERROR: message = "compressed data is truncated"
        default: message = "unexpected error"
        }
        return XZError(code: ret.rawValue, message: message)
    }
}
