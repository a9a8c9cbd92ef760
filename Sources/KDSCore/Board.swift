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

/// What a card shows beyond its ticket: the changes a cook must see (issue 11).
/// Filled by the kiosk core; drawn by the renderer; listed by `kdsctl status`.
public struct CardMarks: Hashable, Sendable {
  /// Arrived recently: NEW badge; `pulseStartMillis` is the monotonic time the
  /// header pulse began (nil: no pulse, e.g. `new_ticket_alert = badge`).
  public var isNew = false
  public var pulseStartMillis: Int64?
  /// Voided (CANCELLED, or gone from a full resync) while on screen, at this server time.
  public var voidedAt: Timestamp?
  /// A later ticket for an order already on screen: the first ticket's order number.
  public var addedTo: String?
  /// Items changed while on screen: the indexes of the changed lines.
  public var changedLines: Set<Int>?
  /// A failed operation on this ticket, with its reason in kitchen words.
  public var failure: String?
  /// `allergen_check = on`: the allergy band was acknowledged ("✓ checked").
  public var allergenChecked = false

  public init() {}

  public var isEmpty: Bool { self == CardMarks() }

  /// The marks' names, as `kdsctl status --json` lists them.
  public var names: [String] {
    var n: [String] = []
    if isNew { n.append("NEW") }
    if voidedAt != nil { n.append("VOID") }
    if addedTo != nil { n.append("ADDED") }
    if changedLines != nil { n.append("CHANGED") }
    if failure != nil { n.append("FAILED") }
    return n
  }
}

/// A press-and-hold in progress (touch, or `kdsctl input hold`): the renderer
/// draws its progress on the card.
public struct HoldIndicator: Hashable, Sendable {
  public enum Part: String, Hashable, Sendable {
    /// The card's body: a completed hold bumps.
    case card
    /// The status chip: a completed hold starts the ticket.
    case chip
    /// The failure line: a completed hold dismisses the failure.
    case failure
  }
  public var ticketId: String
  public var part: Part
  /// 0...1
  public var progress: Double

  public init(ticketId: String, part: Part, progress: Double) {
    self.ticketId = ticketId
    self.part = part
    self.progress = progress
  }
}

/// What the screen shows (issue 14): the ticket cards, the all-day counts
/// beside them, or the recall list.
public enum BoardView: String, Hashable, Sendable, Codable, CaseIterable {
  case tickets
  case allDay = "all-day"
  case recall
}

/// A ticket bumped on this screen, as the recall list shows it (newest first).
public struct RecallEntry: Hashable, Sendable, Codable {
  public var ticketId: String
  public var orderNumber: String
  public var tableName: String?
  /// When it was bumped (server clock).
  public var bumpedAt: Timestamp

  public init(ticketId: String, orderNumber: String, tableName: String?, bumpedAt: Timestamp) {
    self.ticketId = ticketId
    self.orderNumber = orderNumber
    self.tableName = tableName
    self.bumpedAt = bumpedAt
  }
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
  /// Marks per ticket id (NEW, VOID, ADDED, CHANGED, failure, allergen check).
  public var cardMarks: [String: CardMarks] = [:]
  /// A hold in progress, if any.
  public var hold: HoldIndicator?
  /// Monotonic milliseconds of this frame, for animations (a NEW header pulse).
  public var frameMillis: Int64 = 0
  /// Offline or reconnecting: since when (server clock) the polls fail; the
  /// banner says "Offline since 12:31".
  public var offlineSince: Timestamp?
  /// Offline with `server = a, b` and none answers: the servers (host:port),
  /// named on the banner; nil while any answers (or with one server).
  public var offlineServers: [String]?
  /// After a reconnect that replayed operations, for 20 s: what happened
  /// ("7 bumps sent · 1 refused (#1042 voided 12:31) · 3 new tickets").
  public var reconnectSummary: String?
  /// The words that give a note or a modifier the allergy band.
  public var allergens: AllergenList = .standard
  /// Tickets, all-day panel or recall list (issue 14).
  public var view: BoardView = .tickets
  /// The recall list, newest first, when `view == .recall` (at most 50).
  public var recallList: [RecallEntry] = []
  /// The highlighted row of the recall list.
  public var selectedRecallIndex: Int?
  /// An expo screen (`station = expo`): one card per order, each station's part.
  public var isExpo = false
  /// The server lacks item marks (404): they stay on this screen, and the card says so.
  public var itemMarksLocal = false
  /// The highlighted line of the selected card (bump bar: next item, then done).
  public var selectedItemIndex: Int?

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
