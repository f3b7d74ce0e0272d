import Foundation

/// ISO-8601 timestamps in UTC with milliseconds, the form Segment uses.
///
/// Every event passes through here several times in the enricher, so the
/// common shapes are parsed and written by hand; anything else goes to
/// Foundation's ISO8601FormatStyle, which the fast paths agree with (see
/// SharedTests' TimestampTests).
public enum Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, milliseconds truncated as Foundation does.
    public static func iso8601(_ date: Date) -> String {
        // From the reference-date interval a Date stores, as Foundation does:
        // whole seconds, then the fraction truncated to milliseconds.
        let reference = date.timeIntervalSinceReferenceDate
        let whole = reference.rounded(.down)
        guard whole.isFinite, abs(whole) < 200_000_000_000 else { return foundationFormat(date) }
        let seconds = Int64(whole) + 978_307_200
        let millis = min(Int((reference - whole) * 1000), 999)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let ofDay = Int(seconds - days * 86_400) * 1000 + millis
        let (year, month, day) = CivilDate.fromDays(days)
        // Foundation counts dates before the Gregorian reform in the Julian calendar.
        guard (1600...9999).contains(year) else { return foundationFormat(date) }
        return String(unsafeUninitializedCapacity: 24) { out in
            func put(_ value: Int, _ digits: Int, at index: Int) {
                var v = value
                for i in stride(from: index + digits - 1, through: index, by: -1) {
                    out[i] = UInt8(48 + v % 10)
                    v /= 10
                }
            }
            put(Int(year), 4, at: 0); out[4] = 45
            put(month, 2, at: 5); out[7] = 45
            put(day, 2, at: 8); out[10] = 84
            put(ofDay / 3_600_000, 2, at: 11); out[13] = 58
            put(ofDay / 60_000 % 60, 2, at: 14); out[16] = 58
            put(ofDay / 1000 % 60, 2, at: 17); out[19] = 46
            put(ofDay % 1000, 3, at: 20); out[23] = 90
            return 24
        }
    }

    /// Parses ISO-8601 with or without fractional seconds and with any offset.
    public static func parse(_ text: String) -> Date? {
        var text = text
        if let date = text.withUTF8({ fastParse($0) }) { return date }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        return nil
    }

    public static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    private static func foundationFormat(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f…](Z|±HH:MM|±HHMM)`; nil for anything else
    /// (which Foundation then decides on).
    private static func fastParse(_ s: UnsafeBufferPointer<UInt8>) -> Date? {
        guard s.count >= 20, s[4] == 45, s[7] == 45, s[10] == 84, s[13] == 58, s[16] == 58 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for i in from..<(from + count) {
                let digit = Int(s[i]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1600...9999).contains(year), (1...12).contains(month), (1...31).contains(day),
              hour < 24, minute < 60, second < 60
        else { return nil }
        let days = CivilDate.days(year: Int64(year), month: month, day: day)
        guard CivilDate.fromDays(days) == (Int64(year), month, day) else { return nil }  // e.g. 31 April

        var index = 19
        var fraction = 0.0
        if s[index] == 46 {
            index += 1
            var scale = 0.1
            let start = index
            while index < s.count, case let digit = Int(s[index]) - 48, (0...9).contains(digit) {
                fraction += Double(digit) * scale
                scale /= 10
                index += 1
            }
            guard index > start, index - start <= 9 else { return nil }
        }
        guard index < s.count else { return nil }
        var offset = 0
        switch s[index] {
        case 90:  // Z
            index += 1
        case 43, 45:  // + -
            let sign = s[index] == 43 ? 1 : -1
            index += 1
            guard let hours = index + 2 <= s.count ? number(index, 2) : nil, hours < 24 else { return nil }
            index += 2
            if index < s.count, s[index] == 58 { index += 1 }
            guard let minutes = index + 2 <= s.count ? number(index, 2) : nil, minutes < 60 else { return nil }
            index += 2
            offset = sign * (hours * 3600 + minutes * 60)
        default:
            return nil
        }
        guard index == s.count else { return nil }
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}

/// Days since 1970-01-01 from a proleptic Gregorian date and back
/// (Howard Hinnant's algorithms).
enum CivilDate {
    static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * monthIndex + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func fromDays(_ days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
