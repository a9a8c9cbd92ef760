import KDSTime

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
  public var iso8601: String { RFC3339.format(millis: millis) }

  /// Parses RFC 3339 (`2025-11-21T14:35:00Z`, `...:00.5+03:00`, `...:00.123456Z`).
  /// A lowercase `t`/`z` or a space between date and time are accepted too.
  /// Returns nil for anything else.
  public init?(iso8601 text: some StringProtocol) {
    guard let millis = RFC3339.parse(text) else { return nil }
    self.millis = millis
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
