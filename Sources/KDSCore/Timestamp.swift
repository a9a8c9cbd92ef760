import KDSTime

/// A point in time as milliseconds since the Unix epoch (UTC).
///
/// The contract's timestamps are RFC 3339: with or without fractional seconds,
/// with `Z` or a numeric offset. `Timestamp` parses all of those and always
/// writes the form kds-server writes: UTC with exactly three fractional digits.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var millis: Int64

  public init(millis: Int64) { self.millis = millis }

  /// Saturates at the ends of `Int64` (as every sum here does): a hostile
  /// value never traps, it only lands at the far end of time.
  public init(seconds: Int64) {
    self.millis = Self.saturating(seconds.multipliedReportingOverflow(by: 1000), seconds >= 0)
  }

  public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millis < b.millis }

  public func adding(millis delta: Int64) -> Timestamp {
    Timestamp(millis: Self.saturating(millis.addingReportingOverflow(delta), delta >= 0))
  }

  public func adding(seconds delta: Int64) -> Timestamp {
    adding(millis: Self.saturating(delta.multipliedReportingOverflow(by: 1000), delta >= 0))
  }

  /// Milliseconds from `other` to `self` (positive when self is later), saturating.
  public func millis(since other: Timestamp) -> Int64 {
    Self.saturating(millis.subtractingReportingOverflow(other.millis), millis >= other.millis)
  }

  /// The result of an overflowing operation clamped to `Int64.max` (when the
  /// true value is positive) or `Int64.min`.
  static func saturating(_ r: (partialValue: Int64, overflow: Bool), _ positive: Bool) -> Int64 {
    r.overflow ? (positive ? Int64.max : Int64.min) : r.partialValue
  }

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
