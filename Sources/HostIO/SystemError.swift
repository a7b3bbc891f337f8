#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: which call, on which path, and the errno it returned.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The C library's text for the errno (strerror).
    public var reason: String { Syscall.describe(errno: errno) }

    /// ENOENT for `path`: for a lookup that fails without a system call (a cached negative answer).
    public static func notFound(_ operation: String, _ path: String) -> SystemError {
        SystemError(operation: operation, path: path, errno: ENOENT)
    }

    public var isNotFound: Bool { errno == ENOENT || errno == ENOTDIR || errno == ESRCH }
    public var isPermissionDenied: Bool { errno == EACCES || errno == EPERM }

    public var description: String { "\(operation) \(path): \(reason)" }
}

/// The process's effective user id (geteuid).
public func effectiveUserID() -> UInt32 { Syscall.effectiveUserID() }

/// SIGHUP's default action ends the process: a reload request that arrives before the daemon's handler is in place
/// must not kill it. Its dispatch-source handler, installed later, still receives SIGHUP while it is ignored.
public func ignoreHangupSignal() {
    Syscall.ignore(signal: SIGHUP)
}
