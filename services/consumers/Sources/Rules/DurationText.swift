/// Durations as rules files write them: `30s`, `30m`, `24h`, `7d`, `2w`, and
/// combinations such as `1h30m`.
enum DurationText {
    static let units: [(suffix: Character, seconds: Int)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]

    /// Seconds, or nil when the text is not a duration.
    static func seconds(_ text: String) -> Int? {
        var total = 0
        var number = ""
        var sawUnit = false
        for character in text.trimmingWhitespace {
            if character.isASCII, character.isNumber {
                number.append(character)
            } else if let unit = units.first(where: { $0.suffix == Character(character.lowercased()) }) {
                guard let value = Int(number) else { return nil }
                let (product, overflow1) = value.multipliedReportingOverflow(by: unit.seconds)
                let (sum, overflow2) = total.addingReportingOverflow(product)
                guard !overflow1, !overflow2 else { return nil }
                total = sum
                number = ""
                sawUnit = true
            } else {
                return nil
            }
        }
        guard sawUnit, number.isEmpty else { return nil }
        return total
    }

    static let help = "expected a duration like 30s, 30m, 24h, 7d or 1h30m"
}
