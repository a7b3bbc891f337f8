/// Something the scan was asked to look at and did not, with why. Whether it leaves the verdict incomplete is
/// decided by its code, never by the wording of its reason: a skip an attacker can cause must not read as clean.
public struct Skip: Sendable, Hashable, Codable {
    public enum Code: String, Sendable, Hashable, Codable, CaseIterable {
        /// A process exited during the scan: nothing is left to look at.
        case exited
        /// A file that no process maps any more and no path leads to: nothing is left to look at.
        case gone
        /// The kernel refused even root (a process in another user namespace, or a security module's policy).
        case restricted
        /// Permission denied to a scan that is not root.
        case notPermitted
        /// A read failed (I/O error, a file changed faster than it could be read consistently...).
        case unreadable
        /// On a filesystem whose reads can block for good (FUSE, NFS, CIFS...), or a read that did not finish in time.
        case blocked
        /// The bytes were read but could not be parsed (a damaged database, an ELF header libelf refuses).
        case damaged
        /// A bound that keeps the scanner safe was reached (members, depth, expansion, unpack space).
        case limit
        /// Not evidence the scan looks for (a socket or FIFO where a library would be, a special archive member).
        case notApplicable
    }

    public var subject: String
    public var reason: String
    public var code: Code
    /// The container (its label) the subject is in; nil for the host and offline roots.
    public var target: String?

    public init(subject: String, reason: String, code: Code = .unreadable) {
        self.subject = subject
        self.reason = reason
        self.code = code
    }

    /// Whether the scan's verdict is incomplete because of this skip.
    public var leavesScanIncomplete: Bool {
        switch code {
        case .exited, .gone, .restricted, .notApplicable: return false
        case .notPermitted, .unreadable, .blocked, .damaged, .limit: return true
        }
    }
}
