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
    public var reason: String { String(cString: strerror(errno)) }

    public var isNotFound: Bool { errno == ENOENT || errno == ENOTDIR || errno == ESRCH }
    public var isPermissionDenied: Bool { errno == EACCES || errno == EPERM }

    public var description: String { "\(operation) \(path): \(reason)" }
}

/// Runs a system call, retrying on EINTR, and turns a -1 return into a `SystemError` at once.
@inline(__always)
func valueOrErrno<T: FixedWidthInteger>(_ operation: String, _ path: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(operation: operation, path: path, errno: code)
    }
}

/// The process's effective user id (geteuid).
public func effectiveUserID() -> UInt32 { geteuid() }

/// SIGHUP's default action ends the process: a reload request that arrives before the daemon's handler is in place
/// must not kill it. Its dispatch-source handler, installed later, still receives SIGHUP while it is ignored.
public func ignoreHangupSignal() {
    signal(SIGHUP, SIG_IGN)
}
