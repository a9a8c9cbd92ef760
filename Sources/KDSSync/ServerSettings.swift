import KDSCore
import KDSStore

/// The server's SLA thresholds, which the kiosk follows unless its own
/// configuration sets `sla_orange_after` or `sla_red_after`
/// (docs/sync-contract.md, "Extension: server SLA thresholds").
///
/// Every poll's answer may carry `X-KDS-SLA: amber=300; red=600` (seconds).
/// A backend without the header (the seed) leaves the kiosk's own thresholds
/// in force; a malformed header is logged once and ignored.
extension SLAThresholds {
  /// `amber=300; red=600` (order free, spaces allowed); nil unless both are
  /// whole seconds from 1 to 86400 and red is more than amber.
  public init?(serverHeader text: String) {
    var amber: Int64?
    var red: Int64?
    for part in text.split(separator: ";") {
      let pair = part.split(separator: "=", maxSplits: 1)
      guard pair.count == 2 else { continue }
      let key = pair[0].filter { $0 != " " && $0 != "\t" }.lowercased()
      guard let value = Int64(pair[1].filter { $0 != " " && $0 != "\t" }),
        (1...86_400).contains(value)
      else { return nil }
      switch key {
      case "amber": amber = value
      case "red": red = value
      default: continue  // later additions
      }
    }
    guard let amber, let red, red > amber else { return nil }
    self.init(orangeAfter: amber, redAfter: red)
  }
}

extension SyncEngine {
  static let serverThresholdsKey = "sla.server"

  /// Takes the server's thresholds from a usable poll answer: in the status
  /// (the screen reads them), and in the store when they change (a kiosk that
  /// starts offline uses the last ones it had).
  func noteServerSettings(_ response: HTTPResponse) {
    guard let raw = response.slaHeader else { return }
    guard let thresholds = SLAThresholds(serverHeader: raw) else {
      logOnce("bad-sla-header", "bad X-KDS-SLA header from the server ignored: \(raw.prefix(80))")
      return
    }
    let changed = state.withLock { s -> Bool in
      guard s.status.serverThresholds != thresholds else { return false }
      s.status.serverThresholds = thresholds
      s.generation += 1
      return true
    }
    guard changed else { return }
    logger.notice(
      "server SLA thresholds: amber after \(thresholds.orangeAfter) s, red after \(thresholds.redAfter) s"
    )
    try? store.setSetting(
      Self.serverThresholdsKey, "amber=\(thresholds.orangeAfter); red=\(thresholds.redAfter)")
  }

  /// At start: the thresholds the server gave last, if any.
  public func restoreServerThresholds() {
    guard let saved = try? store.setting(Self.serverThresholdsKey),
      let thresholds = SLAThresholds(serverHeader: saved)
    else { return }
    state.withLock { $0.status.serverThresholds = thresholds }
  }
}
