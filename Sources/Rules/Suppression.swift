/// An accepted finding (or a rule switched off), with the reason someone gave: a finding it matches is not alerted
/// or counted as found, but it is never dropped in silence (the report, JSON, the journal summary and the metrics
/// count and list it).
public struct Suppression: Sendable, Hashable {
    /// The rule whose findings it accepts.
    public var rule: String
    public var reason: String
    /// The last day it applies (UTC); nil for no end.
    public var expires: CalendarDay?
    /// Narrowing: globs on the finding's path, package names, program names (a chain's program or a pid's
    /// executable's base name), globs on the executable of the finding's pids. Every one given must match; none
    /// given accepts every finding of the rule (the rule is switched off).
    public var paths: [String]?
    public var packages: [String]?
    public var programs: [String]?
    public var executables: [String]?
    public var location: SourceLocation
    /// Globs on the name of the container, and on the image, a finding is in: a finding on the host matches
    /// neither.
    public var containers: [String]? = nil
    public var images: [String]? = nil

    public var disablesRule: Bool {
        paths == nil && packages == nil && programs == nil && executables == nil && containers == nil && images == nil
    }

    /// Whether it still applies at `time` (seconds since 1970): through the end of its `expires` day, UTC.
    public func applies(at time: Double) -> Bool {
        guard let expires else { return true }
        return time < Double(expires.startSeconds + 86_400)
    }
}

/// A calendar date, YYYY-MM-DD, as suppressions write their expiry.
public struct CalendarDay: Sendable, Hashable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// Parses exactly YYYY-MM-DD with a day that exists (2027-02-29 does not).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month) else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...lengths[month - 1]).contains(day) else { return nil }
        (self.year, self.month, self.day) = (year, month, day)
    }

    /// Seconds since 1970 at 00:00 UTC of the day (days-from-civil, proleptic Gregorian).
    public var startSeconds: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return (era * 146_097 + dayOfEra - 719_468) * 86_400
    }

    public var description: String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))"
    }
}
