import CYara

/// A libyara failure, converted from its error code in one place (`YARALibrary.check`).
public struct YARAError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The per-scan timeout ran out (ERROR_SCAN_TIMEOUT): the rules took too long on these bytes.
        case timeout
        /// libyara could not allocate memory (ERROR_INSUFFICIENT_MEMORY).
        case insufficientMemory
        /// Rules failed to compile (the problems say where).
        case compile
        /// Any other libyara error code (error.h).
        case other(Int32)
    }

    public var code: Code
    /// What libyara did when it failed (`yr_scanner_scan_mem`, `yr_compiler_create`...).
    public var operation: String

    public init(code: Code, operation: String) {
        self.code = code
        self.operation = operation
    }

    public var description: String {
        switch code {
        case .timeout: return "\(operation): the scan timed out"
        case .insufficientMemory: return "\(operation): out of memory"
        case .compile: return "\(operation): the rules did not compile"
        case .other(let value): return "\(operation): libyara error \(value)"
        }
    }
}

/// libyara's process-wide state and the one place its return codes become Swift errors.
enum YARALibrary {
    /// yr_initialize, once per process (a Swift global is initialized once, thread-safely); its failure is kept.
    private static let initialized: Int32 = yr_initialize()

    static func ensureInitialized() throws(YARAError) {
        try check(initialized, "yr_initialize")
    }

    /// Converts a libyara return code (ERROR_SUCCESS is 0) into a typed error.
    static func check(_ result: Int32, _ operation: String) throws(YARAError) {
        guard result != 0 else { return }
        switch result {
        case Int32(cw_yr_error_scan_timeout): throw YARAError(code: .timeout, operation: operation)
        case Int32(cw_yr_error_insufficient_memory): throw YARAError(code: .insufficientMemory, operation: operation)
        default: throw YARAError(code: .other(result), operation: operation)
        }
    }
}
