import Foundation

/// Episode timestamps: the range a store accepts, millisecond precision, RFC 3339 text for the
/// wire and the fixed-width text the SQLite store keeps.
///
/// Why a range: a date outside years 1…9999 cannot be written as a four-digit year, which every
/// text form here (and GRDB's date decoding) assumes; accepting one made every later read of the
/// episode fail. Why our own parser: `ISO8601DateFormatter` rolls impossible dates over
/// (`2024-02-30` became `2024-03-01`) instead of refusing them.
public enum EpisodeTime {
    /// 0001-01-01T00:00:00.000Z, in milliseconds since 1970.
    public static let earliestMilliseconds: Int64 = -62_135_596_800_000
    /// 9999-12-31T23:59:59.999Z, in milliseconds since 1970.
    public static let latestMilliseconds: Int64 = 253_402_300_799_999

    /// The accepted range, as text for messages.
    public static let rangeDescription = "0001-01-01T00:00:00Z … 9999-12-31T23:59:59.999Z"

    /// Milliseconds since 1970 of `date`, truncated (a date is kept to the millisecond).
    public static func milliseconds(of date: Date) -> Int64 {
        // Round to the microsecond first: 1.001 s is 1000.9999… ms in binary floating point.
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let ms = (micros / 1000).rounded(.down)
        if ms >= Double(Int64.max) { return Int64.max }
        if ms <= Double(Int64.min) { return Int64.min }
        return Int64(ms)
    }

    public static func date(milliseconds ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    /// `date` at millisecond precision (what a store gives back).
    public static func truncated(_ date: Date) -> Date { self.date(milliseconds: milliseconds(of: date)) }

    /// Whether a store accepts `date`.
    public static func isInRange(_ date: Date) -> Bool {
        guard date.timeIntervalSince1970.isFinite else { return false }
        let ms = milliseconds(of: date)
        return ms >= earliestMilliseconds && ms <= latestMilliseconds
    }

    /// A date from Unix seconds (an import line's `created_at`), nil outside the range.
    public static func date(unixSeconds: Double) -> Date? {
        guard unixSeconds.isFinite else { return nil }
        let date = Date(timeIntervalSince1970: unixSeconds)
        return isInRange(date) ? date : nil
    }

    // MARK: - RFC 3339

    /// Why an RFC 3339 text was refused.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed
        case impossibleDate(String)
        case outOfRange

        public var description: String {
            switch self {
            case .malformed: return "not an RFC 3339 date-time such as 2024-05-01T09:30:00Z"
            case .impossibleDate(let what): return "no such date or time (\(what))"
            case .outOfRange: return "outside the supported range \(EpisodeTime.rangeDescription)"
            }
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (RFC 3339; `T` may be `t` or a space,
    /// `Z` may be `z`). Fractions beyond milliseconds are truncated; leap seconds (`:60`) and
    /// dates that do not exist are refused.
    public static func parse(rfc3339 text: String) throws(ParseError) -> Date {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ count: Int) throws(ParseError) -> Int {
            guard i + count <= b.count else { throw .malformed }
            var value = 0
            for _ in 0..<count {
                let d = b[i]
                guard d >= 0x30 && d <= 0x39 else { throw .malformed }
                value = value * 10 + Int(d - 0x30)
                i += 1
            }
            return value
        }
        func expect(_ c: UInt8) throws(ParseError) {
            guard i < b.count, b[i] == c else { throw .malformed }
            i += 1
        }
        // Signed or five-digit years (ISO 8601's expanded form) are beyond the range, not malformed.
        if let first = b.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { throw .outOfRange }
        let year = try digits(4)
        if i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { throw .outOfRange }
        try expect(UInt8(ascii: "-"))
        let month = try digits(2); try expect(UInt8(ascii: "-"))
        let day = try digits(2)
        guard i < b.count, [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(b[i]) else { throw .malformed }
        i += 1
        let hour = try digits(2); try expect(UInt8(ascii: ":"))
        let minute = try digits(2); try expect(UInt8(ascii: ":"))
        let second = try digits(2)
        var millis = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var count = 0
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                if count < 3 { millis = millis * 10 + Int(b[i] - 0x30) }
                count += 1
                i += 1
            }
            guard count > 0 else { throw .malformed }
            for _ in count..<max(count, 3) { millis *= 10 }
        }
        guard i < b.count else { throw .malformed }
        var offsetMinutes = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            let oh = try digits(2); try expect(UInt8(ascii: ":"))
            let om = try digits(2)
            guard oh <= 23, om <= 59 else { throw .impossibleDate("offset \(oh):\(om)") }
            offsetMinutes = sign * (oh * 60 + om)
        default:
            throw .malformed
        }
        guard i == b.count else { throw .malformed }
        guard year >= 1 else { throw .outOfRange }
        guard (1...12).contains(month) else { throw .impossibleDate("month \(month)") }
        guard (1...daysIn(month: month, year: year)).contains(day) else {
            throw .impossibleDate(String(format: "%04d-%02d-%02d", year, month, day))
        }
        guard hour <= 23 else { throw .impossibleDate("hour \(hour)") }
        guard minute <= 59 else { throw .impossibleDate("minute \(minute)") }
        guard second <= 59 else {
            throw .impossibleDate(second == 60 ? "leap second :60 — give :59.999" : "second \(second)")
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let ms =
            ((Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)) * 1000)
            + Int64(millis)
        guard ms >= earliestMilliseconds && ms <= latestMilliseconds else { throw .outOfRange }
        return date(milliseconds: ms)
    }

    /// RFC 3339 in UTC with milliseconds: `2024-05-01T09:30:00.000Z`.
    public static func rfc3339(_ date: Date) -> String {
        let (y, mo, d, h, mi, s, ms) = components(milliseconds(of: date))
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s, ms)
    }

    // MARK: - Stored text

    /// The fixed-width text the SQLite store keeps: `2024-05-01 09:30:00.000` (UTC; GRDB's own
    /// date format, so stores written before this type existed read the same). Sorts as time does.
    public static func storedText(_ date: Date) -> String {
        let (y, mo, d, h, mi, s, ms) = components(milliseconds(of: date))
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%03d", y, mo, d, h, mi, s, ms)
    }

    /// The date of a stored text (also accepts GRDB's shorter forms without milliseconds or
    /// seconds); nil when it is not one.
    public static func date(storedText text: String) -> Date? {
        var candidate = text
        if candidate.utf8.count == 16 { candidate += ":00" } // YYYY-MM-DD HH:MM
        if candidate.utf8.count == 10 { candidate += " 00:00:00" } // YYYY-MM-DD
        return try? parse(rfc3339: candidate + "Z")
    }

    // MARK: - Calendar arithmetic (proleptic Gregorian, UTC)

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func components(_ ms: Int64) -> (Int, Int, Int, Int, Int, Int, Int) {
        let clamped = min(max(ms, earliestMilliseconds), latestMilliseconds)
        let (days, dayMs) = floorDivide(clamped, 86_400_000)
        let (y, mo, d) = civilFromDays(Int(days))
        let seconds = Int(dayMs / 1000)
        return (y, mo, d, seconds / 3600, seconds / 60 % 60, seconds % 60, Int(dayMs % 1000))
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }
}
