/// Dates as Debian changelogs write them (RFC 2822, `date -R`): `Thu, 29 Feb 2024 17:30:12 +0100`; the day name is
/// optional and not checked against the date, as dpkg-parsechangelog does not either.
enum RFC2822 {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Seconds since the epoch, UTC; nil for anything that is not such a date.
    static func seconds(_ text: String) -> Int64? {
        var fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if let first = fields.first, first.hasSuffix(",") { fields.removeFirst() }
        guard fields.count == 5, let day = Int(fields[0]), let monthIndex = months.firstIndex(of: fields[1]),
              fields[2].count == 4, let year = Int(fields[2]) else { return nil }
        let clock = fields[3].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
              let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]) else { return nil }
        let zone = Array(fields[4].utf8)
        guard zone.count == 5, zone[0] == UInt8(ascii: "+") || zone[0] == UInt8(ascii: "-"),
              zone[1...].allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let digits = zone[1...].map { Int($0) - 0x30 }
        let hours = digits[0] * 10 + digits[1], minutes = digits[2] * 10 + digits[3]
        guard hours <= 23, minutes <= 59 else { return nil }
        let offset = Int64((hours * 60 + minutes) * 60) * (zone[0] == UInt8(ascii: "-") ? -1 : 1)
        guard let local = UTCDate.seconds(year: year, month: monthIndex + 1, day: day, hour: hour, minute: minute, second: second) else {
            return nil
        }
        return local - offset
    }
}
