/// A ticket whose `updatedAt` a write changed (for the station high-water marks).
struct TicketTouch: Sendable {
  var station: String
  var updatedAt: Int64
}

/// What a write produced: the answer, and the tickets it stamped.
struct WriteOutcome: Sendable {
  var response: APIResponse
  var touched: [TicketTouch] = []
}

extension WriteOutcome {
  /// 200 with the order's JSON.
  init(order: OrderRow, touched: [TicketTouch] = []) {
    self.init(response: APIResponse(status: 200, json: order.json), touched: touched)
  }
}

/// SLA thresholds the server uses for `slaState` (the kiosk recomputes it).
public struct ServerSLA: Sendable {
  public var orangeAfterSeconds: Int64 = 300
  public var redAfterSeconds: Int64 = 600
  public init() {}

  func state(sentAt: Int64, at now: Int64) -> String {
    let elapsed = max(0, now - sentAt) / 1000
    if elapsed >= redAfterSeconds { return "RED" }
    if elapsed >= orangeAfterSeconds { return "ORANGE" }
    return "GREEN"
  }
}

/// The operations of the API, each run inside a write transaction: the POS's
/// in POSCommands.swift, the kiosks' in KDSActions.swift.
struct Kitchen: Sendable {
  let clock: StampClock
  /// The server's settings (`kds-server settings`): the SLA thresholds.
  let settings: SettingsCache
  var sla: ServerSLA { settings.sla }
}
