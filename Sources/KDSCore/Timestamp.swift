/// A point in time as milliseconds since the Unix epoch (UTC).
///
/// The contract's timestamps are RFC 3339: with or without fractional seconds,
/// with `Z` or a numeric offset. `Timestamp` parses all of those and always
/// writes the form kds-server writes: UTC with exactly three fractional digits.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var millis: Int64

  public init(millis: Int64) { self.millis = millis }

  public init(seconds: Int64) { self.millis = seconds * 1000 }

  public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millis < b.millis }

  public func adding(millis delta: Int64) -> Timestamp { Timestamp(millis: millis + delta) }

  public func adding(seconds delta: Int64) -> Timestamp { adding(millis: delta * 1000) }

  /// Milliseconds from `other` to `self` (positive when self is later).
  public func millis(since other: Timestamp) -> Int64 { millis - other.millis }

  public var description: String { iso8601 }

  /// `2025-11-21T14:35:00.123Z`.
  public var iso8601: String {
    let totalSeconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
    let ms = Int(millis - totalSeconds * 1000)
    var days = totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400
    let secondsOfDay = Int(totalSeconds - days * 86_400)
    // Civil-from-days (Howard Hinnant's algorithm).
    days += 719_468
    let era = (days >= 0 ? days : days - 146_096) / 146_097
    let doe = days - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    var year = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = Int(doy - (153 * mp + 2) / 5 + 1)
    let month = Int(mp < 10 ? mp + 3 : mp - 9)
    if month <= 2 { year += 1 }
    return "\(pad(Int(year), 4))-\(pad(month, 2))-\(pad(day, 2))T"
      + "\(pad(secondsOfDay / 3600, 2)):\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2))"
      + ".\(pad(ms, 3))Z"
  }

  /// Parses RFC 3339 (`2025-11-21T14:35:00Z`, `...:00.5+03:00`, `...:00.123456Z`).
  /// A lowercase `t`/`z` or a space between date and time are accepted too.
  /// Returns nil for anything else.
  public init?(iso8601 text: some StringProtocol) {
    let b = Array(text.utf8)
    var i = 0
    func digits(_ n: Int) -> Int? {
      guard i + n <= b.count else { return nil }
      var v = 0
      for k in 0..<n {
        let c = b[i + k]
        guard c >= 48, c <= 57 else { return nil }
        v = v * 10 + Int(c - 48)
      }
      i += n
      return v
    }
    func expect(_ c: UInt8) -> Bool {
      guard i < b.count, b[i] == c else { return false }
      i += 1
      return true
    }
    guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D),
      let day = digits(2)
    else { return nil }
    guard i < b.count, b[i] == 0x54 || b[i] == 0x74 || b[i] == 0x20 else { return nil }
    i += 1
    guard let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A),
      let second = digits(2)
    else { return nil }
    guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
      second <= 60
    else { return nil }
    var fractionMillis = 0
    if i < b.count, b[i] == 0x2E {
      i += 1
      var n = 0
      var scale = 100
      while i < b.count, b[i] >= 48, b[i] <= 57 {
        fractionMillis += Int(b[i] - 48) * scale
        scale /= 10
        i += 1
        n += 1
      }
      guard n > 0 else { return nil }
    }
    var offsetSeconds = 0
    guard i < b.count else { return nil }
    switch b[i] {
    case 0x5A, 0x7A:  // Z z
      i += 1
    case 0x2B, 0x2D:  // + -
      let sign = b[i] == 0x2B ? 1 : -1
      i += 1
      guard let oh = digits(2) else { return nil }
      _ = expect(0x3A)
      guard let om = digits(2), oh < 24, om < 60 else { return nil }
      offsetSeconds = sign * (oh * 3600 + om * 60)
    default:
      return nil
    }
    guard i == b.count else { return nil }
    // Days from civil (Howard Hinnant's algorithm).
    let y = Int64(month <= 2 ? year - 1 : year)
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = Int64(month > 2 ? month - 3 : month + 9)
    let doy = (153 * mp + 2) / 5 + Int64(day) - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146_097 + doe - 719_468
    let seconds =
      days * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetSeconds)
    self.millis = seconds * 1000 + Int64(fractionMillis)
  }
}

extension Timestamp: Codable {
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    let text = try container.decode(String.self)
    guard let value = Timestamp(iso8601: text) else {
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "not an RFC 3339 timestamp: \(text.prefix(64))")
    }
    self = value
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(iso8601)
  }
}

@inline(__always)
private func pad(_ value: Int, _ width: Int) -> String {
  let s = String(value)
  return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
