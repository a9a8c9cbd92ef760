/// Connection state as the banner shows it (see docs/sync-contract.md).
public enum ConnectionState: String, Hashable, Sendable, Codable {
  case connected
  case reconnecting
  case offline
}

/// An alert shown in the banner, most urgent first.
public enum BoardAlert: Hashable, Sendable, Codable {
  /// More than the queue limit of operations are waiting (see docs/sync-contract.md).
  case queueFull
  /// The server answered 401 or 403: the token or station is wrong.
  case notAuthorised(String)
  /// This many operations failed and wait for a tap to retry.
  case failedOperations(Int)
  /// The server lacks an extension (start, recall): that action is disabled.
  case actionUnavailable(String)
  /// Anything else worth a line on screen.
  case message(String)
}

/// Per-ticket sync marks drawn on its card.
public enum TicketSyncMark: Hashable, Sendable, Codable {
  /// Changed on this screen and not yet acknowledged by the server.
  case notSynced
  /// An operation on it failed: "Sync failed - tap to retry".
  case syncFailed(reason: String)
}

/// Everything the renderer needs for one frame: a snapshot of the kiosk's state.
/// The renderer draws it and never asks for anything else.
public struct BoardSnapshot: Hashable, Sendable {
  public var station: String
  /// Active tickets to draw, in any order (the layout orders by `sentAt`).
  public var tickets: [Ticket]
  /// The server's clock now (device clock plus the measured offset).
  public var now: Timestamp
  public var connection: ConnectionState
  /// When the last successful sync finished (server clock), nil if never.
  public var lastSyncAt: Timestamp?
  /// Operations waiting to reach the server.
  public var pendingOperations: Int
  public var alerts: [BoardAlert]
  /// Marks per ticket id.
  public var marks: [String: TicketSyncMark]
  /// The selected ticket (bump-bar cursor), if any.
  public var selectedTicketId: String?
  /// The page to show (0-based); the layout clamps it.
  public var page: Int
  public var thresholds: SLAThresholds
  /// Text size multiplier set by the installer (1.0 = automatic size).
  public var zoom: Double
  /// How far the kitchen's local time is ahead of UTC at `now`, in seconds:
  /// the banner's clock. Whoever builds the snapshot fills it (e.g. with
  /// `SystemClock.localOffsetSeconds`); the renderer reads no time zone.
  public var clockUTCOffsetSeconds: Int

  public init(
    station: String, tickets: [Ticket], now: Timestamp, connection: ConnectionState = .connected,
    lastSyncAt: Timestamp? = nil, pendingOperations: Int = 0, alerts: [BoardAlert] = [],
    marks: [String: TicketSyncMark] = [:], selectedTicketId: String? = nil, page: Int = 0,
    thresholds: SLAThresholds = .standard, zoom: Double = 1.0, clockUTCOffsetSeconds: Int = 0
  ) {
    self.station = station
    self.tickets = tickets
    self.now = now
    self.connection = connection
    self.lastSyncAt = lastSyncAt
    self.pendingOperations = pendingOperations
    self.alerts = alerts
    self.marks = marks
    self.selectedTicketId = selectedTicketId
    self.page = page
    self.thresholds = thresholds
    self.zoom = zoom
    self.clockUTCOffsetSeconds = clockUTCOffsetSeconds
  }
}
