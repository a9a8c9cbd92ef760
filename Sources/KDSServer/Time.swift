#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Wall-clock and timestamp helpers. Every time the server stores is an
/// integer count of milliseconds since the Unix epoch (UTC).
public enum ServerTime {
  /// The wall clock, in milliseconds since the epoch.
  public static func wallMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
  }

  /// A monotonic reading in nanoseconds (for durations and rate limits).
  public static func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
  }

  /// RFC 3339 in UTC with exactly three fractional digits:
  /// `2025-11-21T14:35:00.123Z`.
  public static func format(millis: Int64) -> String {
    String(decoding: formatBytes(millis: millis), as: UTF8.self)
  }

  public static func formatBytes(millis: Int64) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(24)
    appendFormatted(millis: millis, to: &out)
    return out
  }

  public static func appendFormatted(millis: Int64, to out: inout [UInt8]) {
    let totalSeconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
    let ms = Int(millis - totalSeconds * 1000)
    var days = totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400
    let secondsOfDay = Int(totalSeconds - days * 86_400)
    // Days to civil date (proleptic Gregorian), after H. Hinnant.
    days += 719_468
    let era = (days >= 0 ? days : days - 146_096) / 146_097
    let dayOfEra = days - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    var year = Int(yearOfEra + era * 400)
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
    let month = Int(mp < 10 ? mp + 3 : mp - 9)
    if month <= 2 { year += 1 }
    func digits(_ v: Int, _ n: Int) {
      var div = 1
      for _ in 1..<n { div *= 10 }
      var v = v
      for _ in 0..<n {
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

  /// Parses RFC 3339 (`2025-11-21T14:35:00Z`, `2025-11-21T14:35:00.5+03:00`)
  /// to milliseconds, truncating finer fractions. Nil for anything else.
  public static func parse(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    var i = 0
    func number(_ n: Int) -> Int? {
      guard i + n <= b.count else { return nil }
      var v = 0
      for k in 0..<n {
        let c = b[i + k]
        guard (48...57).contains(c) else { return nil }
        v = v * 10 + Int(c - 48)
      }
      i += n
      return v
    }
    func expect(_ c: Character) -> Bool {
      guard i < b.count, b[i] == c.asciiValue! else { return false }
      i += 1
      return true
    }
    guard let year = number(4), expect("-"), let month = number(2), expect("-"),
      let day = number(2)
    else { return nil }
    guard i < b.count, b[i] == 0x54 || b[i] == 0x74 || b[i] == 0x20 else { return nil }
    i += 1
    guard let hour = number(2), expect(":"), let minute = number(2), expect(":"),
      let second = number(2)
    else { return nil }
    guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
    else { return nil }
    var fraction = 0
    if i < b.count, b[i] == UInt8(ascii: ".") {
      i += 1
      var count = 0
      while i < b.count, (48...57).contains(b[i]) {
        if count < 3 { fraction = fraction * 10 + Int(b[i] - 48) }
        count += 1
        i += 1
      }
      guard count > 0 else { return nil }
      if count < 3 { for _ in count..<3 { fraction *= 10 } }
    }
    guard i < b.count else { return nil }
    var offsetMinutes = 0
    switch b[i] {
    case UInt8(ascii: "Z"), UInt8(ascii: "z"):
      i += 1
    case UInt8(ascii: "+"), UInt8(ascii: "-"):
      let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
      i += 1
      guard let oh = number(2), expect(":"), let om = number(2), oh < 24, om < 60 else {
        return nil
      }
      offsetMinutes = sign * (oh * 60 + om)
    default:
      return nil
    }
    guard i == b.count else { return nil }
    // Civil date to days, after H. Hinnant.
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = month > 2 ? month - 3 : month + 9
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = Int64(era * 146_097 + doe - 719_468)
    let seconds =
      days * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59))
      - Int64(offsetMinutes * 60)
    return seconds * 1000 + Int64(fraction)
  }
}
