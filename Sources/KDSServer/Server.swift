import Hummingbird
import KDSContract
import KDSSystem
import KDSTime
import Logging

/// How to run the server (the flags of `kds-server serve`).
public struct ServerOptions: Sendable {
  public var databasePath: String
  public var host = "127.0.0.1"
  public var port = 8080
  /// Requests per second per token (token bucket); nil turns the limit off.
  public var rateLimit: Double? = 50
  public var rateBurst: Double = 200
  /// Requests per second per client address without a valid token (no
  /// token, a malformed or unknown one): they are refused with 429 before
  /// any token lookup. Nil turns the limit off.
  public var unauthenticatedRate: Double? = 1
  public var unauthenticatedBurst: Double = 20
  /// PEM files of the server's certificate (chain) and private key: both
  /// given, the server speaks HTTPS only.
  public var tlsCertificatePath: String?
  public var tlsKeyPath: String?
  /// How long an idempotency key is remembered (the contract says 24 hours).
  public var idempotencyTTLSeconds: Double = 86_400
  /// How often expired idempotency keys are deleted.
  public var cleanupIntervalSeconds: Double = 300
  /// `GET /kds/queue` without `since` returns tickets updated this recently.
  public var retentionHours: Double = 24
  /// The status page shows a kiosk silent for longer than this as offline.
  public var kioskOfflineAfterSeconds: Double = 30
  public var maxBodyBytes = 1 << 20
  public var demo = false
  public var demoOrdersPerMinute: Double = 4
  /// The folder holding `pos/` (the POS web app); nil searches (`WebRoot`).
  public var webRoot: String? = nil
  /// One log line per request (off in benchmarks).
  public var logRequests = true
  /// A screen silent for longer than this is alerted (top of `/status`,
  /// the log, `alertWebhookURL`).
  public var alertAfterSeconds: Double = 60
  /// How often the screens are checked for the alert.
  public var alertCheckIntervalSeconds: Double = 1
  /// Where screen alerts are POSTed as JSON (nil: nowhere).
  public var alertWebhookURL: String? = nil
  /// Tries per webhook event, and the pause after the first failed one (doubling).
  public var webhookAttempts = 3
  public var webhookFirstPauseMillis: Int64 = 1000
  /// Level of Hummingbird's own log messages.
  public var frameworkLogLevel: Logger.Level = .warning
  /// Seconds between two heartbeats of a push stream (`GET /kds/stream`).
  public var streamHeartbeatSeconds: Double = 15

  /// Where to listen (`--listen`, repeatable): empty means `host` and
  /// `port`, over TLS when a certificate is given.
  public var listeners: [ServerListener] = []

  /// On PostgreSQL, the restaurant this process serves (nil: `default`).
  public var restaurant: String?
  /// On PostgreSQL, the most connections this process opens to the database.
  public var databaseConnections = 8

  public init(databasePath: String, restaurant: String? = nil) {
    self.databasePath = databasePath
    self.restaurant = restaurant
  }

  var effectiveListeners: [ServerListener] {
    listeners.isEmpty
      ? [ServerListener(host: host, port: port, tls: tlsCertificatePath != nil)] : listeners
  }
}

/// An address the server listens on, and whether it speaks TLS there:
/// `http://127.0.0.1:8080` (the all-in-one kiosk on the same machine),
/// `https://0.0.0.0:8443` (the restaurant's network).
public struct ServerListener: Sendable, Hashable, CustomStringConvertible {
  public var host: String
  public var port: Int
  public var tls: Bool

  public init(host: String, port: Int, tls: Bool) {
    self.host = host
    self.port = port
    self.tls = tls
  }

  public var description: String {
    "\(tls ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)"
  }

  /// Whether only this machine can reach it.
  public var isLoopback: Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }

  /// `http://HOST:PORT` or `https://HOST:PORT` (an IPv6 host in brackets);
  /// nil when it is not one of those.
  public static func parse(_ text: String) -> ServerListener? {
    let lower = text.lowercased()
    let tls: Bool
    let rest: Substring
    if lower.hasPrefix("https://") {
      tls = true
      rest = text.dropFirst(8)
    } else if lower.hasPrefix("http://") {
      tls = false
      rest = text.dropFirst(7)
    } else {
      return nil
    }
    let address = rest.hasSuffix("/") ? rest.dropLast() : rest
    let host: Substring
    let portText: Substring
    if address.hasPrefix("[") {
      guard let close = address.firstIndex(of: "]"),
        address[address.index(after: close)...].hasPrefix(":")
      else { return nil }
      host = address[address.index(after: address.startIndex)..<close]
      portText = address[address.index(close, offsetBy: 2)...]
    } else {
      guard let colon = address.lastIndex(of: ":") else { return nil }
      host = address[..<colon]
      portText = address[address.index(after: colon)...]
      if host.contains(":") { return nil }
    }
    guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".:-_".contains($0) }),
      let port = Int(portText), (0...65_535).contains(port)
    else { return nil }
    return ServerListener(host: String(host), port: port, tls: tls)
  }
}

/// An endpoint of the API, with its path in OpenAPI form (`/pos/orders/{id}`).
public struct RouteSpec: Sendable, Hashable, CustomStringConvertible {
  public var method: String
  public var path: String
  public var description: String { "\(method) \(path)" }

  /// The path in Hummingbird's form (`/pos/orders/:id`).
  var routerPath: String {
    path.split(separator: "/", omittingEmptySubsequences: false).map { part in
      part.hasPrefix("{") && part.hasSuffix("}") ? ":" + part.dropFirst().dropLast() : String(part)
    }.joined(separator: "/")
  }

  func matches(path concrete: String) -> Bool {
    let a = path.split(separator: "/")
    let b = concrete.split(separator: "/")
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
  }
}

/// The server's core, without HTTP: database, tokens, idempotency and the
/// operations. `KDSHTTPServer` puts it on the network; the demo traffic
/// generator calls it directly.
public final class KDSService: Sendable {
  public let store: ServerStore
  let tokens: TokenCache
  let idempotency: Idempotency
  let kitchen: Kitchen
  /// The server's settings (`kds-server settings`), re-read once a second.
  let settings: SettingsCache
  /// Screen alerts' webhook (`--alert-webhook`).
  let webhook: WebhookSender?
  let limiter: RateLimiter<Int64>?
  /// Requests without a valid token, per client address.
  let unauthenticatedLimiter: RateLimiter<String>?
  /// Kiosks as they reported themselves on their last poll (`GET /status`).
  public let kiosks: KioskRegistry
  let options: ServerOptions
  let logger: Logger
  /// The folder holding the POS web app's `pos/` (nil: not found, `/pos/` is 404).
  public let webFolder: String?
  /// Pairing's signal and limits (`Pairing.swift`).
  let pairing: PairingDesk

  /// The service on the database `options.databasePath` names: a SQLite
  /// file or a PostgreSQL URL (for `options.restaurant`).
  public convenience init(options: ServerOptions, logger: Logger = Logger(label: "kds-server"))
    async throws
  {
    try await self.init(
      options: options,
      store: ServerStore.open(
        database: options.databasePath, restaurant: options.restaurant,
        connections: options.databaseConnections),
      logger: logger)
  }

  /// The service on `store` (any backend); `options.databasePath` is not used.
  public init(
    options: ServerOptions, store: ServerStore, logger: Logger = Logger(label: "kds-server")
  ) async throws {
    self.options = options
    self.logger = logger
    self.store = store
    tokens = TokenCache(store: store)
    idempotency = Idempotency(store: store, ttlSeconds: options.idempotencyTTLSeconds)
    settings = await SettingsCache(store: store)
    pairing = PairingDesk(formKey: try await ServerSecrets.formKey(in: store))
    kitchen = Kitchen(clock: store.clock, settings: settings)
    kiosks = KioskRegistry(silenceLimitMillis: Int64(options.kioskOfflineAfterSeconds * 1000))
    limiter = options.rateLimit.map { RateLimiter(rate: $0, burst: options.rateBurst) }
    unauthenticatedLimiter = options.unauthenticatedRate.map {
      RateLimiter(rate: $0, burst: options.unauthenticatedBurst)
    }
    webFolder = try WebRoot.locate(explicit: options.webRoot)
    webhook = options.alertWebhookURL.map {
      WebhookSender(
        url: $0, attempts: options.webhookAttempts,
        firstPauseMillis: options.webhookFirstPauseMillis, logger: logger)
    }
    kiosks.restore(
      try await store.read { db in try ScreenTable.loadAll(db) }, now: SystemClock.wallMillis())
  }

  /// Every endpoint, as routed and as `docs/openapi.yaml` must describe it.
  public static let routes: [RouteSpec] =
    [
      RouteSpec(method: "GET", path: "/health"),
      RouteSpec(method: "GET", path: "/status"),
      RouteSpec(method: "GET", path: "/status.json"),
      RouteSpec(method: "GET", path: "/pos/menu"),
      RouteSpec(method: "GET", path: "/pos/orders"),
      RouteSpec(method: "POST", path: "/pos/orders"),
      RouteSpec(method: "GET", path: "/pos/orders/{id}"),
      RouteSpec(method: "PATCH", path: "/pos/orders/{id}"),
      RouteSpec(method: "POST", path: "/pos/orders/{id}/send-to-kitchen"),
      RouteSpec(method: "POST", path: "/pos/orders/{id}/close"),
      RouteSpec(method: "POST", path: "/pos/orders/{id}/cancel"),
      RouteSpec(method: "GET", path: "/kds/queue"),
      RouteSpec(method: "GET", path: "/kds/stream"),
      RouteSpec(method: "POST", path: "/kds/tickets/{id}/mark-ready"),
      RouteSpec(method: "POST", path: "/kds/tickets/{id}/start"),
      RouteSpec(method: "POST", path: "/kds/tickets/{id}/recall"),
      // Issue 14, the kitchen tools (KitchenTools.swift).
      RouteSpec(method: "POST", path: "/kds/tickets/{id}/items/{itemId}/mark-done"),
      RouteSpec(method: "POST", path: "/kds/tickets/{id}/items/{itemId}/mark-undone"),
      RouteSpec(method: "POST", path: "/kds/tickets/{id}/rush"),
      RouteSpec(method: "POST", path: "/pos/orders/{id}/fire-course"),
      RouteSpec(method: "POST", path: "/kds/orders/{id}/fire-course"),
      RouteSpec(method: "POST", path: "/kds/orders/{id}/serve"),
      RouteSpec(method: "GET", path: "/reports"),
      RouteSpec(method: "GET", path: "/reports/ticket-times"),
      RouteSpec(method: "GET", path: "/reports/hourly"),
      RouteSpec(method: "GET", path: "/reports/audit"),
    ] + PairingHTTP.routes

  /// A request as the handlers see it.
  struct Call: Sendable {
    var route: RouteSpec
    var path: String
    var id: String
    var query: [String: String]
    var token: DeviceToken
    /// The `{itemId}` of an item mark's path.
    var itemID = ""
    var body: JSONValue
    var claim: IdempotencyClaim?
    /// The kiosk's self-report headers on a poll (`KioskReport.headerNames`).
    var kioskHeaders: [String: String] = [:]
    /// The `Accept` header (the reports answer CSV for `text/csv`).
    var accept: String? = nil
  }

  // MARK: handlers

  /// The writes a manager token may make (issue 14: a manager stands in for the expo).
  static let managerWrites: Set<String> = [
    "/kds/tickets/{id}/items/{itemId}/mark-done", "/kds/tickets/{id}/items/{itemId}/mark-undone",
    "/kds/tickets/{id}/rush", "/pos/orders/{id}/fire-course", "/kds/orders/{id}/fire-course",
    "/kds/orders/{id}/serve",
  ]

  /// Manager tokens read; every write but `managerWrites` needs another role.
  static func requireWriter(_ token: DeviceToken, method: String, path: String = "")
    throws(APIError)
  {
    guard token.role != .manager || method == "GET" || managerWrites.contains(path) else {
      throw APIError(403, "A manager token only reads; \(method) needs a POS or station token")
    }
  }

  func requirePOS(_ call: Call) throws(APIError) {
    guard call.token.isUnrestricted else {
      throw APIError(
        403,
        "This device's token is limited to stations \(call.token.stations.joined(separator: ", ")); "
          + "POS endpoints need a token without a station limit")
    }
  }

  func handle(_ call: Call) async throws -> APIResponse {
    let kitchen = self.kitchen
    await settings.refreshIfDue()
    switch (call.route.method, call.route.path) {
    case ("GET", "/health"):
      return APIResponse(status: 200, body: Array(#"{"status":"ok"}"#.utf8))
    case ("GET", "/kds/queue"):
      var answer = try await queue(call)
      answer.headers.append(("X-KDS-SLA", settings.headerValue))
      return answer
    case ("GET", "/reports"), ("GET", "/reports/ticket-times"), ("GET", "/reports/hourly"),
      ("GET", "/reports/audit"):
      return try await report(call)
    case ("GET", "/status"), ("GET", "/status.json"):
      guard call.token.isUnrestricted else {
        throw APIError(403, "The status page needs a manager token (one without a station limit)")
      }
      let now = SystemClock.wallMillis()
      return call.route.path == "/status"
        ? try await statusHTML(now: now, token: call.token) : try await statusJSON(now: now)
    case ("GET", "/pos/menu"):
      try requirePOS(call)
      return try await Menu.response(store)
    case ("GET", "/pos/orders"):
      try requirePOS(call)
      let since = try Validation.timestamp(
        call.query["since"].map(JSONValue.string), "since", required: false)
      let floor = since ?? (SystemClock.wallMillis() - Int64(options.retentionHours * 3_600_000))
      let orders = try await store.read { db in
        try db.fetchAll(
          sql:
            "SELECT \(OrderRow.columns) FROM orders WHERE updated_at \(since == nil ? ">=" : ">") ? ORDER BY updated_at",
          arguments: [floor]
        ).map { try OrderRow(row: $0).json }
      }
      return APIResponse(status: 200, json: .array(orders))
    case ("GET", "/pos/orders/{id}"):
      try requirePOS(call)
      let id = call.id
      guard let order = try await store.read({ db in try OrderRow.fetch(db, id: id) }) else {
        throw APIError.notFound("Order \(id) not found")
      }
      return APIResponse(status: 200, json: order.json)
    case ("POST", "/pos/orders"):
      try requirePOS(call)
      let input = try Kitchen.parseNewOrder(call.body)
      return try await idempotency.perform(call.claim) { db in try kitchen.createOrder(db, input) }
    case ("PATCH", "/pos/orders/{id}"):
      return try await posWrite(call) { db in
        try kitchen.patchOrder(db, id: call.id, body: call.body)
      }
    case ("POST", "/pos/orders/{id}/send-to-kitchen"):
      return try await posWrite(call) { db in try kitchen.sendToKitchen(db, id: call.id) }
    case ("POST", "/pos/orders/{id}/close"):
      return try await posWrite(call) { db in
        try kitchen.closeOrder(db, id: call.id, body: call.body)
      }
    case ("POST", "/pos/orders/{id}/cancel"):
      return try await posWrite(call) { db in
        try AuditLog.voiding(db, order: call.id, device: call.token.device) {
          try kitchen.cancelOrder(db, id: call.id)
        }
      }
    case ("POST", "/kds/tickets/{id}/mark-ready"), ("POST", "/kds/tickets/{id}/start"),
      ("POST", "/kds/tickets/{id}/recall"):
      let action = Kitchen.TicketAction(
        rawValue: String(call.route.path.split(separator: "/").last!))!
      return try await idempotency.perform(call.claim) { db in
        try kitchen.ticketAction(
          db, id: call.id, action: action, body: call.body, token: call.token)
      }
    case ("POST", "/kds/tickets/{id}/items/{itemId}/mark-done"),
      ("POST", "/kds/tickets/{id}/items/{itemId}/mark-undone"):
      let done = call.route.path.hasSuffix("/mark-done")
      return try await idempotency.perform(call.claim) { db in
        try kitchen.markItem(
          db, ticketID: call.id, itemID: call.itemID, done: done, body: call.body,
          token: call.token)
      }
    case ("POST", "/kds/tickets/{id}/rush"):
      return try await idempotency.perform(call.claim) { db in
        try kitchen.rush(db, ticketID: call.id, body: call.body, token: call.token)
      }
    case ("POST", "/pos/orders/{id}/fire-course"), ("POST", "/kds/orders/{id}/fire-course"):
      return try await idempotency.perform(call.claim) { db in
        try kitchen.fireCourse(db, orderID: call.id, body: call.body, token: call.token)
      }
    case ("POST", "/kds/orders/{id}/serve"):
      return try await idempotency.perform(call.claim) { db in
        try kitchen.serve(db, orderID: call.id, body: call.body, token: call.token)
      }
    default:
      throw APIError(404, "No route for \(call.route)")
    }
  }

  /// A POS write: the caller must be a POS; one run per idempotency key.
  func posWrite(
    _ call: Call, _ effect: @escaping @Sendable (any SQLConnection) throws -> WriteOutcome
  )
    async throws -> APIResponse
  {
    try requirePOS(call)
    return try await idempotency.perform(call.claim, effect)
  }

  func queue(_ call: Call) async throws -> APIResponse {
    let station = try checkedStation(call)
    // Only kiosks (and POS terminals standing in for one) show on the status
    // page; a manager looking at a queue is not a kiosk.
    if call.token.role != .manager {
      await notePoll(
        KioskReport(device: call.token.device, station: station, seenAt: SystemClock.wallMillis()) {
          call.kioskHeaders[$0]
        })
    }
    var since: Int64? = nil
    if let raw = call.query["since"] {
      // An unencoded '+' of an offset arrives as a space.
      let text = String(raw.map { $0 == " " ? "+" : $0 })
      guard let ms = RFC3339.parse(text) else {
        throw APIError.invalid(
          "since", "must be an RFC 3339 timestamp such as 2025-11-21T14:35:00.123Z")
      }
      since = ms
    }
    let empty = APIResponse(status: 200, body: Array("[]".utf8))
    if let since, since >= (store.highWater(station: station) ?? Int64.min) {
      return empty
    }
    let floor = since ?? (SystemClock.wallMillis() - Int64(options.retentionHours * 3_600_000))
    let op = since == nil ? ">=" : ">"
    let sla = kitchen.sla
    let body = try await store.read { db -> [UInt8] in
      var out: [UInt8] = []
      // The expo's view (`?station=expo`) is every station's tickets (issue 14).
      let rows =
        KitchenTools.isAllStationsView(station)
        ? try db.fetchAll(
          sql:
            "SELECT \(TicketRow.columns) FROM tickets WHERE updated_at \(op) ? ORDER BY updated_at",
          arguments: [floor])
        : try db.fetchAll(
          sql:
            "SELECT \(TicketRow.columns) FROM tickets WHERE station = ? AND updated_at \(op) ? ORDER BY updated_at",
          arguments: [station, floor])
      var next = rows.makeIterator()
      TicketRow.writeArray(to: &out, now: SystemClock.wallMillis(), sla: sla) {
        next.next().map(TicketRow.init(row:))
      }
      return out
    }
    return APIResponse(status: 200, body: body)
  }

  // MARK: request preparation

  /// Reads and checks a POST/PATCH body and its idempotency key.
  func prepare(
    route: RouteSpec, path: String, id: String, query: [String: String], token: DeviceToken,
    method: String, bodyBytes: [UInt8]?, headerKey: String?
  ) throws(APIError) -> Call {
    var body: JSONValue = .object([])
    var claim: IdempotencyClaim? = nil
    if let bodyBytes {
      if !bodyBytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
        do {
          body = try JSONValue.parse(bodyBytes)
        } catch {
          throw APIError(400, "Request body is not valid JSON: \(error)")
        }
      }
      var key = headerKey
      if let bodyKey = body["_idempotencyKey"] {
        if key == nil {
          guard case .string(let k) = bodyKey else {
            throw APIError(400, "_idempotencyKey must be a string")
          }
          key = k
        }
        body = body.removing(key: "_idempotencyKey")
      }
      if let key {
        guard Idempotency.validKey(key) else { throw APIError(400, Idempotency.keyRule) }
        claim = IdempotencyClaim(
          tokenID: token.id, method: method, path: path, key: key,
          fingerprint: Idempotency.fingerprint(body))
      }
    }
    return Call(
      route: route, path: path, id: id, query: query, token: token, body: body, claim: claim)
  }

  /// Runs a call through the idempotency layer: the scope's lock, replay of a
  /// stored answer, the handler, and storing an answer the handler produced
  /// outside a write transaction.
  func execute(_ call: Call) async throws -> APIResponse {
    guard let claim = call.claim else {
      do { return try await handle(call) } catch let e as APIError { return e.response }
    }
    let scope = claim.scope
    await idempotency.acquire(scope)
    defer { idempotency.release(scope) }
    let now = SystemClock.wallMillis()
    let idem = idempotency
    if let stored = try await store.read({ db in try idem.lookup(db, claim, now: now) }) {
      return stored
    }
    var response: APIResponse
    do { response = try await handle(call) } catch let e as APIError { response = e.response }
    if !response.stored && Idempotency.storable(response.status) {
      try await idempotency.storeLate(claim, response)
    }
    return response
  }
}
