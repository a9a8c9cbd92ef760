/// A source of the device's wall-clock time. Injected everywhere the kiosk
/// needs "now", so tests can jump minutes ahead without sleeping.
public protocol KioskClock: Sendable {
  /// The device's wall clock (not the server's).
  func now() -> Timestamp
  /// A clock that never steps (CLOCK_MONOTONIC), in milliseconds from an
  /// arbitrary origin: every delay and schedule is measured on it.
  func monotonicMillis() -> Int64
}

/// The sync's time line: the wall clock at `anchor`, then moving only as the
/// monotonic clock does. A step of the wall clock (NTP, a bad RTC, an
/// operator's `date -s`) neither stops polls nor fails the queue; the next
/// start re-anchors on the wall clock.
public struct ScheduleClock: Sendable {
  public let clock: any KioskClock
  let anchorWall: Timestamp
  let anchorMonotonic: Int64

  public init(_ clock: any KioskClock) {
    self.clock = clock
    anchorMonotonic = clock.monotonicMillis()
    anchorWall = clock.now()
  }

  public func now() -> Timestamp {
    let elapsed = Timestamp(millis: clock.monotonicMillis()).millis(
      since: Timestamp(millis: anchorMonotonic))
    return anchorWall.adding(millis: elapsed)
  }
}

/// Parses HTTP dates (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`).
public enum HTTPDate {
  static let months = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
  ]

  public static func parse(_ text: some StringProtocol) -> Timestamp? {
    let parts = text.split(separator: " ", omittingEmptySubsequences: true)
    guard parts.count == 6, parts[5] == "GMT", parts[1].count <= 2, parts[3].count == 4,
      parts[4].count == 8, let day = Int(parts[1]),
      let monthIndex = months.firstIndex(of: String(parts[2]))
    else { return nil }
    let dd = day < 10 ? "0\(day)" : "\(day)"
    let mm = monthIndex + 1 < 10 ? "0\(monthIndex + 1)" : "\(monthIndex + 1)"
    return Timestamp(iso8601: "\(parts[3])-\(mm)-\(dd)T\(parts[4])Z")
  }

  /// The longest wait a `Retry-After` may ask for (5 minutes): a hostile or
  /// broken header never stops polling or pushes operations far ahead.
  public static let maxRetryAfterSeconds: Int64 = 300

  /// `Retry-After`: delay seconds, or an HTTP date (relative to `serverNow`),
  /// clamped to 0...`maxRetryAfterSeconds`. A run of digits too long for an
  /// `Int64` is the maximum; anything else unreadable is nil.
  public static func retryAfterSeconds(_ text: some StringProtocol, serverNow: Timestamp?)
    -> Int64?
  {
    let trimmed = text.trimmingSpaces
    if !trimmed.isEmpty,
      trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
    {
      return min(Int64(trimmed) ?? maxRetryAfterSeconds, maxRetryAfterSeconds)
    }
    guard let date = parse(trimmed), let serverNow else { return nil }
    let millis = min(date.millis(since: serverNow), maxRetryAfterSeconds * 1000)
    return max(0, (millis + 999) / 1000)
  }
}

extension StringProtocol {
  /// The text without leading and trailing white space (a header value, a
  /// configuration value). "\r\n" is one Character: it tests white space,
  /// not single characters.
  public var trimmingSpaces: String {
    var s = Substring(self)
    while let f = s.first, f.isWhitespace { s.removeFirst() }
    while let l = s.last, l.isWhitespace { s.removeLast() }
    return String(s)
  }
}

/// The offset of the server's clock from the device's, estimated from the
/// `Date` header of answers. SLA timers run on device time plus this offset,
/// so a device clock that is wrong never makes a ticket look early or late.
public struct ServerClockEstimator: Hashable, Sendable, Codable {
  /// Server time minus device time, in milliseconds.
  public private(set) var offsetMillis: Int64
  public private(set) var samples: Int

  public init(offsetMillis: Int64 = 0, samples: Int = 0) {
    self.offsetMillis = offsetMillis
    self.samples = samples
  }

  /// Adds a sample: the server's `Date` (whole seconds) of an answer to a
  /// request sent at device time `sent` and answered at device time `received`.
  public mutating func add(serverDate: Timestamp, sent: Timestamp, received: Timestamp) {
    guard received >= sent else { return }
    // The Date header is truncated to the second: take the middle of it, and
    // the middle of the round trip on our side.
    let midpoint = sent.millis + (received.millis - sent.millis) / 2
    let sample = serverDate.millis + 500 - midpoint
    if samples == 0 || abs(sample - offsetMillis) > 2_000 {
      // First sample, or a clock step on either side: take it as it is.
      offsetMillis = sample
    } else {
      // Smooth out the one-second resolution of the header.
      offsetMillis += (sample - offsetMillis) / 8
    }
    samples += 1
  }

  /// The server's clock at device time `device`.
  public func serverTime(at device: Timestamp) -> Timestamp { device.adding(millis: offsetMillis) }

  /// The server's clock at `device`, once an answer has been measured (nil before).
  public func measuredTime(at device: Timestamp) -> Timestamp? {
    samples > 0 ? serverTime(at: device) : nil
  }
}

extension Ticket {
  /// Whole seconds since the ticket was sent, by the server's clock `now`.
  public func elapsedSeconds(now: Timestamp) -> Int64 { max(0, now.millis(since: sentAt)) / 1000 }

  /// The SLA state computed locally (docs/sync-contract.md, "Tickets and the
  /// queue"), never the server's `slaState`.
  public func localSLAState(now: Timestamp, thresholds: SLAThresholds) -> SLAState {
    thresholds.state(sentAt: sentAt, now: now)
  }
}
