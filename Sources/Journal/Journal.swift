import CSystemd
import HostIO

/// Why a journal entry was not delivered.
public struct JournalError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Sendable, Equatable {
        case invalidFieldName(String)
        /// libsystemd returned -errno.
        case library(function: String, errno: Int32)
    }

    public let code: Code

    public var description: String {
        switch code {
        case .invalidFieldName(let name): return "invalid journal field name \(name)"
        case .library(let function, let errno):
            return "\(function): \(SystemError(operation: function, path: "", errno: errno).reason)"
        }
    }
}

/// One journal field. The value is data: it may hold newlines or '=' and is sent length-delimited, so it cannot
/// start another field.
public struct JournalField: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    /// Journal field names: uppercase letters, digits and underscores, not starting with a digit or underscore.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("A"..."Z").contains(first), name.count <= 64 else { return false }
        return name.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}

/// The systemd journal through libsystemd's sd_journal_sendv.
public enum Journal {
    public static let socketPath = "/run/systemd/journal/socket"

    /// Whether journald is listening: sd_journal_sendv returns 0 even when nobody is, so ask the socket itself
    /// (connect a datagram socket to it; a stale socket file refuses the connection).
    public static func isListening(socketPath: String = socketPath) -> Bool {
        FileSystem.datagramSocketAccepts(socketPath)
    }

    /// Sends one entry (sd_journal_sendv). Throws if a field name is invalid or libsystemd reports an error.
    public static func send(_ fields: [JournalField]) throws(JournalError) {
        for field in fields where !JournalField.isValidName(field.name) {
            throw JournalError(code: .invalidFieldName(field.name))
        }
        // Each iovec is "NAME=value"; the buffers live until sd_journal_sendv returns.
        let buffers = fields.map { Array(($0.name + "=").utf8) + Array($0.value.utf8) }
        let result: Int32 = withIOVecs(buffers) { vectors in
            sd_journal_sendv(vectors.baseAddress, Int32(vectors.count))
        }
        // libsystemd returns -errno, never sets errno.
        if result < 0 { throw JournalError(code: .library(function: "sd_journal_sendv", errno: -result)) }
    }

    private static func withIOVecs<R>(_ buffers: [[UInt8]], _ body: (UnsafeBufferPointer<iovec>) -> R) -> R {
        var vectors: [iovec] = []
        vectors.reserveCapacity(buffers.count)
        func build(_ index: Int) -> R {
            if index == buffers.count { return vectors.withUnsafeBufferPointer(body) }
            return buffers[index].withUnsafeBytes { raw in
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count))
                return build(index + 1)
            }
        }
        return build(0)
    }
}

/// The service manager's notify protocol (sd_notify), for Type=notify units.
public enum ServiceNotifier {
    /// Sends a state string such as "READY=1" or "STATUS=...". False when not run by a service manager.
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// WATCHDOG_USEC for this process, in microseconds (sd_watchdog_enabled), or nil when no watchdog is set.
    public static func watchdogMicroseconds() -> UInt64? {
        var usec: UInt64 = 0
        return sd_watchdog_enabled(0, &usec) > 0 ? usec : nil
    }
}
