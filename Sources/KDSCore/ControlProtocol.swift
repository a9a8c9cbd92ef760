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
  /// Kitchen tools (issue 14): `serve` and `fire` name an order.
  public var order: String?
  /// `fire`: the course to fire.
  public var course: Int?
  /// `item`: the line (0-based) of `ticket`; `done` true/false sets it, nil toggles.
  public var item: Int?
  public var done: Bool?
  /// `view`: `tickets`, `all-day` or `recall`.
  public var view: String?
  /// `rush`: false clears the rush.
  public var rush: Bool?
  /// `learn-keys`: `start`, `status` or `cancel` (`kdsctl learn-keys` on a
  /// running kiosk: the kiosk learns from the bump bar it holds).
  public var learn: String?
  /// `learn-keys start`: the device, `VVVV:PPPP` or `/dev/input/eventN`.
  public var device: String?
  /// `learn-keys start`: the actions to learn, in order (default: all).
  public var actions: [String]?
  /// `learn-keys start`: seconds to wait for each key (default 60).
  public var timeoutSeconds: Int?

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
  /// The server in use (with `server = a, b`, the one the kiosk failed over to).
  public var server: String?
  /// Every server of `server = a, b`, in order: whether it is in use and
  /// its last error and when (docs/deploy.md, "When the kiosk switches").
  public var servers: [ServerStatus]?
  /// What the screen shows (issue 14): `tickets`, `all-day` or `recall`.
  public var view: String?
  /// An expo screen: its orders, in screen order (instead of ticket cards).
  public var orders: [OrderStatus]?
  /// The recall list, newest first, while `view` is `recall`.
  public var recallList: [RecallEntry]?
  /// The server lacks item marks: they stay on this kiosk.
  public var itemMarksLocal: Bool?
  /// The highlighted line of the selected card (the expo: part of the order).
  public var selectedItem: Int?
  /// Issue 13: `run` (tickets on screen), `setup` (a missing or bad
  /// configuration: the SETUP screen) or `pairing` (the PAIRING screen).
  public var mode: String?
  /// In `setup` or `pairing` mode: what the screen says.
  public var setup: SetupStatus?
  /// Settings a reload applies (`kdsctl set`), as the kiosk uses them now.
  public var zoom: Double?
  public var holdToBumpMs: Int?
  public var slaOrangeAfter: Int64?
  public var slaRedAfter: Int64?

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

/// An order on the expo screen, as `kdsctl status --json` lists it.
public struct OrderStatus: Codable, Hashable, Sendable {
  public struct Part: Codable, Hashable, Sendable {
    public var ticketId: String
    public var station: String
    public var status: String
    public var course: Int?
    public init(ticketId: String, station: String, status: String, course: Int?) {
      self.ticketId = ticketId
      self.station = station
      self.status = status
      self.course = course
    }
  }
  public var orderId: String
  public var orderNumber: String
  public var rush: Bool
  public var allReady: Bool
  public var parts: [Part]

  public init(_ order: ExpoOrder) {
    orderId = order.orderId
    orderNumber = order.orderNumber
    rush = order.isRush
    allReady = order.allReady
    parts = order.parts.map {
      Part(ticketId: $0.ticketId, station: $0.station, status: $0.status.wire, course: $0.course)
    }
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
  /// Kitchen tools (issue 14): the line, the order, the course.
  public var itemId: String?
  public var orderId: String?
  public var course: Int?
  /// The request the operation sends (`POST` path).
  public var path: String?

  public init(_ op: QueuedOperation) {
    itemId = op.itemId
    orderId = op.orderId
    course = op.course
    path = op.path
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
  /// `learn-keys`: the learning's state.
  public var learn: LearnKeysState?

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

/// What the SETUP or PAIRING screen says, as `kdsctl status --json` lists it
/// (issue 13). Never holds a token or a pairing secret.
public struct SetupStatus: Codable, Hashable, Sendable {
  /// What is wrong, each naming its file and line (`kds.txt line 12: ...`).
  public var problems: [String]
  /// The server the configuration names, if it parsed.
  public var server: String?
  /// What that server answered to a health check (`HTTP 200`, `refused: ...`).
  public var serverAnswer: String?
  /// This machine's addresses (`eth0 192.168.1.23`).
  public var addresses: [String]
  /// The kiosk's clock, local and UTC.
  public var clockLocal: String?
  public var clockUTC: String?
  /// The configuration files and folders watched for changes.
  public var watching: [String]
  /// In `pairing` mode: the code on screen and where it stands.
  public var pairing: PairingStatus?

  public init(
    problems: [String], server: String?, serverAnswer: String?, addresses: [String],
    clockLocal: String?, clockUTC: String?, watching: [String], pairing: PairingStatus?
  ) {
    self.problems = problems
    self.server = server
    self.serverAnswer = serverAnswer
    self.addresses = addresses
    self.clockLocal = clockLocal
    self.clockUTC = clockUTC
    self.watching = watching
    self.pairing = pairing
  }
}

/// The pairing code on screen (issue 13).
public struct PairingStatus: Codable, Hashable, Sendable {
  /// `requesting`, `waiting`, `approved` or `unsupported`.
  public var state: String
  public var code: String?
  public var station: String?
  public var expiresAt: String?
  public var secondsLeft: Int?
  public var problem: String?

  public init(
    state: String, code: String?, station: String?, expiresAt: String?, secondsLeft: Int?,
    problem: String?
  ) {
    self.state = state
    self.code = code
    self.station = station
    self.expiresAt = expiresAt
    self.secondsLeft = secondsLeft
    self.problem = problem
  }
}

/// A `kdsctl learn-keys` run on the kiosk, as the control socket reports it.
public struct LearnKeysState: Codable, Hashable, Sendable {
  /// The device's `VVVV:PPPP`, node and name.
  public var device: String
  public var node: String
  public var name: String
  /// The action whose key is awaited; nil when finished or failed.
  public var waitingFor: String?
  /// What happened so far, one line each (`KEY_7 = bump`,
  /// `KEY_7 already does bump: press another key`); grows only.
  public var steps: [String]
  /// The configuration lines (`map.1209:0003.KEY_7 = bump`) once finished.
  public var lines: [String]
  public var finished: Bool
  /// Why it stopped early (no key in time, device gone, cancelled).
  public var error: String?

  public init(device: String, node: String, name: String) {
    self.device = device
    self.node = node
    self.name = name
    steps = []
    lines = []
    finished = false
  }
}

/// One server of the kiosk's list, as `kdsctl status --json` shows it.
public struct ServerStatus: Codable, Hashable, Sendable {
  public var url: String
  /// The server the polls, operations and push stream use now.
  public var active: Bool
  /// The last failure that counts against this server (`refused: ...`,
  /// `HTTP 503`), or nil if it never failed.
  public var lastError: String?
  /// When (kiosk time, RFC 3339).
  public var lastErrorAt: String?
  /// The last answer that counted for it (kiosk time, RFC 3339).
  public var lastAnswerAt: String?
  /// Skipped (it failed) until this time, unless every server failed.
  public var skippedUntil: String?

  public init(
    url: String, active: Bool, lastError: String? = nil, lastErrorAt: String? = nil,
    lastAnswerAt: String? = nil, skippedUntil: String? = nil
  ) {
    self.url = url
    self.active = active
    self.lastError = lastError
    self.lastErrorAt = lastErrorAt
    self.lastAnswerAt = lastAnswerAt
    self.skippedUntil = skippedUntil
  }
}
