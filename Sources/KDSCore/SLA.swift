/// How late a ticket is: green, orange (warning) or red (late).
public enum SLAState: String, Hashable, Sendable, Codable, CaseIterable {
  case green = "GREEN"
  case orange = "ORANGE"
  case red = "RED"
}

/// The station's thresholds. The kiosk computes SLA locally from `sentAt`
/// (docs/sync-contract.md, "Tickets and the queue"), never from the
/// server's `slaState`.
public struct SLAThresholds: Hashable, Sendable, Codable {
  /// Elapsed seconds from which a ticket is orange.
  public var orangeAfter: Int64
  /// Elapsed seconds from which a ticket is red.
  public var redAfter: Int64

  public init(orangeAfter: Int64 = 300, redAfter: Int64 = 600) {
    self.orangeAfter = orangeAfter
    self.redAfter = redAfter
  }

  public static let standard = SLAThresholds()

  /// The state of a ticket sent at `sentAt` when the server's clock reads `now`.
  public func state(sentAt: Timestamp, now: Timestamp) -> SLAState {
    let elapsed = max(0, now.millis(since: sentAt)) / 1000
    if elapsed >= redAfter { return .red }
    if elapsed >= orangeAfter { return .orange }
    return .green
  }
}

/// Elapsed time as a chef reads it: `4:07`, `12:30`, `1:02:45` past an hour.
public func formatElapsed(seconds: Int64) -> String {
  let s = max(0, seconds)
  let h = s / 3600
  let m = s / 60 % 60
  let sec = s % 60
  let ss = sec < 10 ? "0\(sec)" : "\(sec)"
  if h > 0 {
    let mm = m < 10 ? "0\(m)" : "\(m)"
    return "\(h):\(mm):\(ss)"
  }
  return "\(m):\(ss)"
}
