/// The kiosk's control socket: one JSON object per line each way, request
/// then response. Shared by the daemon (KDSKiosk) and `kdsctl`.
public struct ControlRequest: Codable, Hashable, Sendable {
  /// `status`, `bump`, `start`, `recall`, `queue`, `retry`.
  public var cmd: String
  public var ticket: String?
  public var op: String?
  /// Where `screenshot` writes its PNG (a path the daemon's user can write).
  public var path: String?
  /// `input`: what to inject, `tap`, `hold` or `key` (`kdsctl input`).
  public var input: String?
  /// `input tap|hold`: the point in screen pixels (as the panel is mounted:
  /// the same frame as `KioskStatus.cards`).
  public var x: Int?
  public var y: Int?
  /// `input hold`: how long the finger stays down, in milliseconds.
  public var ms: Int?
  /// `input key`: a key name (`KEY_ENTER`), mapped by the kiosk's key map.
  public var key: String?

  public init(cmd: String, ticket: String? = nil, op: String? = nil, path: String? = nil) {
    self.cmd = cmd
    self.ticket = ticket
    self.op = op
    self.path = path
  }
}

/// The kiosk's state as `kdsctl status --json` prints it.
public struct KioskStatus: Codable, Hashable, Sendable {
  public var station: String
  /// `connected`, `reconnecting` or `offline`.
  public var connection: String
  /// Server time of the last successful sync, RFC 3339, or nil.
  public var lastSyncAt: String?
  /// Operations waiting for, or on, the wire.
  public var pendingOps: Int
  public var failedOps: Int
  /// Tickets on screen.
  public var tickets: Int
  /// Tickets in the cache (all statuses).
  public var cachedTickets: Int
  public var alerts: [String]
  /// Actions the server does not support (`start`, `recall`).
  public var disabledActions: [String]
  public var serverClockOffsetMillis: Int64
  public var selectedTicketId: String?
  /// The same as `selectedTicketId` (the name `kdsctl status --json` documents).
  public var selected: String?
  public var page: Int
  /// The kiosk's version, its screen (`drm /dev/dri/card0 Virtual-1 1280x800@75`
  /// or `none`) and its input devices; filled by the daemon.
  public var version: String?
  public var display: String?
  public var inputDevices: [String]?
  /// Stored rows that could not be read and were set aside (the store's quarantine table).
  public var damagedRecords: Int?
  /// Pages the layout made, when a screen (or snapshot display) lays the board out.
  public var pageCount: Int?
  /// The cards on the shown page, in screen pixels, with their marks.
  public var cards: [CardStatus]?
  /// One entry per failed operation, with its reason in kitchen words.
  public var failures: [FailureStatus]?
  /// The push stream: `off`, `connecting`, `streaming` or `unsupported`.
  public var push: String?
  /// Seconds between two polls now (slower while the push stream is healthy).
  public var pollIntervalSeconds: Double?

  public init(
    station: String, connection: String, lastSyncAt: String?, pendingOps: Int, failedOps: Int,
    tickets: Int, cachedTickets: Int, alerts: [String], disabledActions: [String],
    serverClockOffsetMillis: Int64, selectedTicketId: String?, page: Int
  ) {
    self.station = station
    self.connection = connection
    self.lastSyncAt = lastSyncAt
    self.pendingOps = pendingOps
    self.failedOps = failedOps
    self.tickets = tickets
    self.cachedTickets = cachedTickets
    self.alerts = alerts
    self.disabledActions = disabledActions
    self.serverClockOffsetMillis = serverClockOffsetMillis
    self.selectedTicketId = selectedTicketId
    self.page = page
  }
}

/// A card on the shown page, as `kdsctl status --json` lists it.
public struct CardStatus: Codable, Hashable, Sendable {
  public var id: String
  public var orderNumber: String
  /// The card's rectangle in screen pixels (after rotation: what a finger touches).
  public var x: Int
  public var y: Int
  public var width: Int
  public var height: Int
  /// `NEW`, `VOID`, `ADDED`, `CHANGED`, `FAILED` (see `CardMarks.names`).
  public var marks: [String]

  public init(
    id: String, orderNumber: String, x: Int, y: Int, width: Int, height: Int, marks: [String]
  ) {
    self.id = id
    self.orderNumber = orderNumber
    self.x = x
    self.y = y
    self.width = width
    self.height = height
    self.marks = marks
  }
}

/// A failed operation, as `kdsctl status --json` lists it.
public struct FailureStatus: Codable, Hashable, Sendable {
  public var ticketId: String
  public var operationId: String
  public var kind: String
  /// The reason in kitchen words ("voided at 12:31", "already ready on another screen").
  public var reason: String

  public init(ticketId: String, operationId: String, kind: String, reason: String) {
    self.ticketId = ticketId
    self.operationId = operationId
    self.kind = kind
    self.reason = reason
  }
}

/// One queued operation as `kdsctl queue --json` prints it.
public struct OperationInfo: Codable, Hashable, Sendable {
  public var id: String
  public var kind: String
  public var ticketId: String
  public var state: String
  public var attempts: Int
  public var createdAt: String
  public var nextAttemptAt: String
  public var lastError: String?

  public init(_ op: QueuedOperation) {
    id = op.id
    kind = op.kind.rawValue
    ticketId = op.ticketId
    state = op.state.rawValue
    attempts = op.attempts
    createdAt = op.createdAt.iso8601
    nextAttemptAt = op.nextAttemptAt.iso8601
    lastError = op.lastError
  }
}

public struct ControlResponse: Codable, Hashable, Sendable {
  public var ok: Bool
  public var error: String?
  /// A human line for actions (`queued bump 01JD... for ticket ...`).
  public var message: String?
  /// The operation an action queued (or retried).
  public var operation: OperationInfo?
  public var status: KioskStatus?
  public var operations: [OperationInfo]?

  public init(
    ok: Bool, error: String? = nil, message: String? = nil, operation: OperationInfo? = nil,
    status: KioskStatus? = nil, operations: [OperationInfo]? = nil
  ) {
    self.ok = ok
    self.error = error
    self.message = message
    self.operation = operation
    self.status = status
    self.operations = operations
  }

  public static func failure(_ error: String) -> ControlResponse {
    ControlResponse(ok: false, error: error)
  }
}
