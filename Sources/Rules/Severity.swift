/// How bad a finding is. Ordered: `critical` is the highest.
public enum Severity: String, Sendable, CaseIterable, Comparable, Codable {
    case critical, high, medium, low, info

    /// 4 for critical down to 0 for info.
    public var rank: Int {
        switch self {
        case .critical: return 4
        case .high: return 3
        case .medium: return 2
        case .low: return 1
        case .info: return 0
        }
    }

    /// The syslog PRIORITY a journal entry of this severity carries (crit 2 ... info 6).
    public var journalPriority: Int {
        switch self {
        case .critical: return 2
        case .high: return 3
        case .medium: return 4
        case .low: return 5
        case .info: return 6
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}
