/// RFC 3339 timestamps as integer milliseconds since the Unix epoch (UTC):
/// the one calendar of the kiosk and the server.
///
/// `format` always writes the contract's form: UTC with exactly three
/// fractional digits (`2025-11-21T14:35:00.123Z`). `parse` takes any RFC 3339
/// date-time: with or without a fraction (finer than milliseconds is
/// truncated), `Z` or a numeric offset, and a lowercase `t`/`z` or a space
/// between date and time. The date arithmetic is the proleptic Gregorian
/// calendar after Howard Hinnant's `days_from_civil` and `civil_from_days`.
public enum RFC3339 {
  /// The length of what `format` writes.
  public static let formattedLength = 24

  public static func format(millis: Int64) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(formattedLength)
    append(millis: millis, to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// Appends the formatted timestamp's UTF-8 bytes (for hand-written JSON).
  public static func append(millis: Int64, to out: inout [UInt8]) {
    let totalSeconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
    let ms = Int(millis - totalSeconds * 1000)
    let days = totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400
    let secondsOfDay = Int(totalSeconds - days * 86_400)
    let (year, month, day) = civil(fromDays: days)
    func digits(_ value: Int, _ count: Int) {
      var div = 1
      for _ in 1..<count { div *= 10 }
      var v = value
      for _ in 0..<count {
        out.append(UInt8(48 + (v / div) % 10))
        v %= div
        div /= 10
      }
    }
    digits(year, 4)
    out.append(UInt8(ascii: "-"))
    digits(month, 2)
    out.append(UInt8(ascii: "-"))
    digits(day, 2)
    out.append(UInt8(ascii: "T"))
    digits(secondsOfDay / 3600, 2)
    out.append(UInt8(ascii: ":"))
    digits(secondsOfDay / 60 % 60, 2)
    out.append(UInt8(ascii: ":"))
    digits(secondsOfDay % 60, 2)
    out.append(UInt8(ascii: "."))
    digits(ms, 3)
    out.append(UInt8(ascii: "Z"))
  }

  /// Milliseconds since the epoch, or nil for anything that is not an RFC
  /// 3339 date-time. A leap second (`:60`) counts as `:59`.
  public static func parse(_ text: some StringProtocol) -> Int64? {
    var parser = Parser(bytes: Array(text.utf8))
    return parser.parse()
  }

  /// (year, month 1-12, day 1-31) of the day `days` after 1970-01-01.
  public static func civil(fromDays daysSinceEpoch: Int64) -> (year: Int, month: Int, day: Int) {
    let days = daysSinceEpoch + 719_468
    let era = (days >= 0 ? days : days - 146_096) / 146_097
    let dayOfEra = days - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    var year = Int(yearOfEra + era * 400)
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
    let month = Int(mp < 10 ? mp + 3 : mp - 9)
    if month <= 2 { year += 1 }
    return (year, month, day)
  }

  /// Days from 1970-01-01 to the given civil date.
  public static func days(year: Int, month: Int, day: Int) -> Int64 {
    let y = Int64(month <= 2 ? year - 1 : year)
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let mp = Int64(month > 2 ? month - 3 : month + 9)
    let dayOfYear = (153 * mp + 2) / 5 + Int64(day) - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  private struct Parser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func digits(_ n: Int) -> Int? {
      guard i + n <= bytes.count else { return nil }
      var v = 0
      for k in 0..<n {
        let c = bytes[i + k]
        guard c >= 48, c <= 57 else { return nil }
        v = v * 10 + Int(c - 48)
      }
      i += n
      return v
    }

    mutating func expect(_ c: UInt8) -> Bool {
      guard i < bytes.count, bytes[i] == c else { return false }
      i += 1
      return true
    }

    mutating func parse() -> Int64? {
      guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D),
        let day = digits(2)
      else { return nil }
      guard i < bytes.count, bytes[i] == 0x54 || bytes[i] == 0x74 || bytes[i] == 0x20 else {
        return nil
      }
      i += 1
      guard let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A),
        let second = digits(2)
      else { return nil }
      guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
        second <= 60
      else { return nil }
      var fraction = 0
      if expect(0x2E) {
        var count = 0
        var scale = 100
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
          fraction += Int(bytes[i] - 48) * scale
          scale /= 10
          count += 1
          i += 1
        }
        guard count > 0 else { return nil }
      }
      guard i < bytes.count else { return nil }
      var offsetSeconds = 0
      switch bytes[i] {
      case 0x5A, 0x7A:  // Z z
        i += 1
      case 0x2B, 0x2D:  // + -
        let sign = bytes[i] == 0x2B ? 1 : -1
        i += 1
        guard let oh = digits(2), expect(0x3A), let om = digits(2), oh < 24, om < 60 else {
          return nil
        }
        offsetSeconds = sign * (oh * 3600 + om * 60)
      default:
        return nil
      }
      guard i == bytes.count else { return nil }
      let days = RFC3339.days(year: year, month: month, day: day)
      let seconds =
        days * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetSeconds)
      return seconds * 1000 + Int64(fraction)
    }
  }
}
