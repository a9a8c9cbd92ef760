import Hummingbird
import HummingbirdCore
import KDSContract
import KDSSystem
import KDSTime
import ServiceLifecycle
import Synchronization

/// The pairing endpoints (docs/sync-contract.md, "Extension: pairing").
///
/// - `POST /kds/pairing` and `POST /kds/pairing/claim` take no token: the
///   kiosk has none yet. Codes are limited per client address; a claim is
///   proven by the pairing's secret.
/// - `POST /pairing/approve` (JSON) and `POST /status/pair` (the status
///   page's form) need a token without a station limit (manager or POS).
enum PairingHTTP {
  static let createPath = "/kds/pairing"
  static let claimPath = "/kds/pairing/claim"
  static let approvePath = "/pairing/approve"
  static let formPath = "/status/pair"

  static let routes = [
    RouteSpec(method: "POST", path: createPath),
    RouteSpec(method: "POST", path: claimPath),
    RouteSpec(method: "POST", path: approvePath),
    RouteSpec(method: "POST", path: formPath),
  ]

  /// The routes reached without a device token.
  static func isOpen(_ request: Request) -> Bool {
    request.method == .post
      && (request.uri.path == createPath || request.uri.path == claimPath)
  }

  static func handles(_ route: RouteSpec) -> Bool { routes.contains(route) }

  static func answer(
    _ service: KDSService, route: RouteSpec, request: Request, context: KDSRequestContext
  ) async throws -> Response {
    let body = try await collectBody(request, max: service.options.maxBodyBytes)
    switch route.path {
    case createPath:
      return try await service.createPairing(peer: context.peer, body: body).hummingbird
    case claimPath:
      return try await service.claimPairing(
        peer: context.peer, wait: request.uri.queryParameters["wait"].map(String.init), body: body
      ).hummingbird
    case approvePath:
      let token = context.token ?? DeviceToken(id: 0, device: "-", stations: ["-"])
      return try await service.approvePairingJSON(token: token, peer: context.peer, body: body)
        .hummingbird
    default:
      let token = context.token ?? DeviceToken(id: 0, device: "-", stations: ["-"])
      let origin = request.headers[.origin]
      let host = request.head.authority
      return try await service.approvePairingForm(
        token: token, peer: context.peer, body: body, origin: origin, host: host
      ).hummingbird
    }
  }

  static func collectBody(_ request: Request, max: Int) async throws -> [UInt8] {
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > max {
      throw APIError(413, "Request body is larger than 1 MiB")
    }
    var buffer: ByteBuffer
    do {
      buffer = try await request.body.collect(upTo: max)
    } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
      throw APIError(413, "Request body is larger than 1 MiB")
    }
    return buffer.readBytes(length: buffer.readableBytes) ?? []
  }

  static func json(_ bytes: [UInt8]) throws(APIError) -> JSONValue {
    let value: JSONValue
    do {
      value = try JSONValue.parse(bytes)
    } catch {
      throw APIError(400, "Request body is not valid JSON: \(error)")
    }
    return try Validation.object(value)
  }

  static func tooMany(_ what: String, wait: Int) -> APIError {
    var e = APIError(429, "\(what); retry after \(wait) s")
    e.headers = [("Retry-After", String(wait))]
    return e
  }

  /// `application/x-www-form-urlencoded` fields.
  static func formFields(_ bytes: [UInt8]) -> [String: String] {
    var fields: [String: String] = [:]
    for pair in bytes.split(separator: UInt8(ascii: "&")) {
      let parts = pair.split(
        separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
      guard let name = percentDecoded(parts[0]) else { continue }
      fields[name] = parts.count > 1 ? percentDecoded(parts[1]) ?? "" : ""
    }
    return fields
  }

  static func percentDecoded(_ bytes: ArraySlice<UInt8>) -> String? {
    var out: [UInt8] = []
    var i = bytes.startIndex
    func hex(_ c: UInt8) -> UInt8? {
      switch c {
      case 0x30...0x39: return c - 0x30
      case 0x41...0x46: return c - 0x41 + 10
      case 0x61...0x66: return c - 0x61 + 10
      default: return nil
      }
    }
    while i < bytes.endIndex {
      let c = bytes[i]
      if c == UInt8(ascii: "+") {
        out.append(0x20)
      } else if c == UInt8(ascii: "%"), i + 2 < bytes.endIndex, let h = hex(bytes[i + 1]),
        let l = hex(bytes[i + 2])
      {
        out.append(h << 4 | l)
        i += 2
      } else {
        out.append(c)
      }
      i += 1
    }
    return String(validating: out, as: UTF8.self)
  }
}

/// Set when the server begins to stop: waiting claims answer at once.
private final class StopFlag: Sendable {
  private let value = Mutex(false)
  func set() { value.withLock { $0 = true } }
  var isSet: Bool { value.withLock { $0 } }
}

extension KDSService {
  // MARK: POST /kds/pairing

  func createPairing(peer: String, body: [UInt8]) async throws -> APIResponse {
    if let wait = pairing.codeLimiter.check(peer) {
      throw PairingHTTP.tooMany("Too many pairing codes asked from this address", wait: wait)
    }
    let input = try PairingHTTP.json(body)
    guard
      let deviceName = try Validation.string(
        input["deviceName"], "deviceName", required: true, max: PairingRules.deviceNameMax)
    else { throw APIError.invalid("deviceName", "is required") }
    guard !deviceName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
    else { throw APIError.invalid("deviceName", "must not hold control characters") }
    let station = try Validation.string(
      input["station"], "station", required: false, max: StationName.maxLength)
    if let station, !StationName.isValid(station) {
      throw APIError.invalid("station", "must be \(StationName.rule)")
    }
    let now = SystemClock.wallMillis()
    let made = try await store.write { db in
      try Pairings.create(db, deviceName: deviceName, station: station, peer: peer, now: now)
    }
    switch made {
    case .failure(let later):
      throw PairingHTTP.tooMany(
        "\(PairingRules.maxPending) screens are already waiting to be paired", wait: later.seconds)
    case .success(let p):
      logger.info(
        "pairing \(p.id) asked by \"\(deviceName.replacingNewlines)\" station=\(station ?? "-") from \(peer)"
      )
      return APIResponse(
        status: 201,
        json: .object([
          ("pairingId", .string(p.id)), ("code", .string(p.code)), ("secret", .string(p.secret)),
          ("station", p.station.map(JSONValue.string) ?? .null),
          ("expiresAt", .string(RFC3339.format(millis: p.expiresAt))),
        ]))
    }
  }

  // MARK: POST /kds/pairing/claim

  func claimPairing(peer: String, wait rawWait: String?, body: [UInt8]) async throws
    -> APIResponse
  {
    if let limiter = unauthenticatedLimiter, let wait = limiter.check(peer) {
      throw PairingHTTP.tooMany("Too many requests without a valid device token", wait: wait)
    }
    var waitSeconds = 0
    if let rawWait {
      guard let n = Int(rawWait), n >= 0 else {
        throw APIError.invalid("wait", "must be a whole number of seconds, 0 to 30")
      }
      waitSeconds = min(n, PairingRules.maxWaitSeconds)
    }
    let input = try PairingHTTP.json(body)
    guard let id = try Validation.string(input["pairingId"], "pairingId", required: true, max: 64),
      let secret = try Validation.string(input["secret"], "secret", required: true, max: 128)
    else { throw APIError.invalid("pairingId", "is required") }
    let deadline = SystemClock.monotonicMillis() + Int64(waitSeconds) * 1000
    let stop = StopFlag()
    let bell = pairing.bell
    let store = self.store
    return try await withGracefulShutdownHandler {
      while true {
        let generation = bell.generation
        let now = SystemClock.wallMillis()
        var state = try await store.read { db in
          try Pairings.state(db, id: id, secret: secret, now: now)
        }
        if state == .approved {
          state = try await store.write { db in
            // SQLite zeroes the cells the token leaves (PostgreSQL has no
            // such setting: its old row versions go at the next VACUUM).
            if db.dialect == .sqlite { try db.execute(sql: "PRAGMA secure_delete = ON") }
            return try Pairings.take(db, id: id, secret: secret, now: SystemClock.wallMillis())
          }
        }
        switch state {
        case .unknown:
          throw APIError(404, "No such pairing (or a wrong secret)")
        case .claimed:
          return Self.gone("claimed", "This pairing's token was already claimed")
        case .expired:
          return Self.gone("expired", "This pairing code expired: ask for a new one")
        case .approved:
          continue
        case .taken(let token, let station):
          await self.wipeLog()
          self.logger.info(
            "pairing \(id) claimed: token delivered for station \(station) to \(peer)")
          return APIResponse(
            status: 200,
            json: .object([
              ("status", .string("approved")), ("token", .string(token)),
              ("station", .string(station)),
            ]))
        case .pending(let expiresAt):
          let left = deadline - SystemClock.monotonicMillis()
          if left <= 0 || stop.isSet {
            return APIResponse(
              status: 202,
              json: .object([
                ("status", .string("pending")),
                ("expiresAt", .string(RFC3339.format(millis: expiresAt))),
              ]))
          }
          // Another process (`kds-server pair`) may approve: look again at
          // least every half second; this process's approvals ring at once.
          let untilExpiry = max(1, expiresAt - SystemClock.wallMillis() + 5)
          await bell.wait(since: generation, millis: min(left, 500, untilExpiry))
        }
      }
    } onGracefulShutdown: {
      stop.set()
      bell.ring()
    }
  }

  static func gone(_ status: String, _ message: String) -> APIResponse {
    RequestNote.current?.set(message)
    return APIResponse(
      status: 410,
      json: .object([
        ("status", .string(status)), ("statusCode", .int(410)), ("message", .string(message)),
      ]))
  }

  /// After a token left: the write-ahead log, which held it in clear, is
  /// folded into the database (where secure_delete zeroed it) and emptied.
  func wipeLog() async {
    do {
      try await store.backend.wipeFreedPages()
    } catch {
      logger.warning("pairing: cannot checkpoint the write-ahead log: \(error)")
    }
  }

  // MARK: approval

  /// Approves `code` for the holder of `token` (one without a station
  /// limit). Wrong codes count against the token and the address.
  func approvePairing(token: DeviceToken, peer: String, code: String, station: String?)
    async throws -> PairingApproval
  {
    guard token.isUnrestricted else {
      throw APIError(
        403, "Pairing a screen needs a manager token (one without a station limit)")
    }
    let keys = ["t:\(token.id)", "a:\(peer)"]
    let waits = keys.compactMap { pairing.wrongCodeLimiter.check($0, consume: false) }
    if let wait = waits.max() {
      throw PairingHTTP.tooMany("Too many wrong pairing codes", wait: wait)
    }
    let approval: PairingApproval
    do {
      approval = try await Pairings.approve(
        in: store, code: code, station: station, approver: token.device)
    } catch let error as PairingError {
      switch error {
      case .unknownCode:
        for key in keys { _ = pairing.wrongCodeLimiter.check(key) }
        throw APIError(404, error.description)
      case .invalid(let field, let problem):
        throw APIError.invalid(field, problem)
      }
    }
    pairing.bell.ring()
    logger.info(
      "paired screen \"\(approval.deviceName.replacingNewlines)\" as station \(approval.station) (token \(approval.tokenName)) by \(token.device)"
    )
    return approval
  }

  func approvePairingJSON(token: DeviceToken, peer: String, body: [UInt8]) async throws
    -> APIResponse
  {
    guard token.isUnrestricted else {
      throw APIError(
        403, "Pairing a screen needs a manager token (one without a station limit)")
    }
    let input = try PairingHTTP.json(body)
    guard let code = try Validation.string(input["code"], "code", required: true, max: 16) else {
      throw APIError.invalid("code", "is required")
    }
    let station = try Validation.string(
      input["station"], "station", required: false, max: StationName.maxLength)
    let approval = try await approvePairing(
      token: token, peer: peer, code: code, station: station)
    return APIResponse(
      status: 200,
      json: .object([
        ("station", .string(approval.station)), ("deviceName", .string(approval.deviceName)),
        ("tokenName", .string(approval.tokenName)),
      ]))
  }

  /// The status page's form: an HTML answer either way.
  func approvePairingForm(
    token: DeviceToken, peer: String, body: [UInt8], origin: String?, host: String?
  ) async throws -> APIResponse {
    func page(_ status: Int, _ title: String, _ text: String) -> APIResponse {
      if status >= 400 { RequestNote.current?.set(text) }
      var answer = APIResponse.page(
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width"><title>\(escapeHTML(title))</title>
        <style>body{font:18px system-ui,sans-serif;margin:2em;background:#111820;color:#e8edf2}
        a{color:#7fb8ff}.ok{color:#3fcf6a}.bad{color:#ff5a4f}</style></head><body>
        <h1 class="\(status < 400 ? "ok" : "bad")">\(escapeHTML(title))</h1>
        <p id="pair-result">\(escapeHTML(text))</p>
        <p><a href="/status#pair">Back to the kitchen dashboard</a></p></body></html>

        """)
      answer.status = status
      return answer
    }
    guard token.isUnrestricted else {
      return page(403, "Not allowed", "Pairing a screen needs a manager token.")
    }
    // A form posted from another site (cross-site request forgery) carries
    // that site's Origin, and no valid form field.
    if let origin, origin != "null" {
      let originHost = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst()
        .first.map(String.init)
      if originHost?.lowercased() != host?.lowercased() {
        return page(403, "Not allowed", "This form was sent from another site.")
      }
    }
    let fields = PairingHTTP.formFields(body)
    guard let form = fields["form"],
      Pairings.constantTimeEqual(form, pairing.formToken(tokenID: token.id))
    else {
      return page(
        403, "Form out of date",
        "This form is out of date (the server restarted?): go back, reload the page and try again.")
    }
    let code = (fields["code"] ?? "").filter { !$0.isWhitespace }
    let stationText = (fields["station"] ?? "").trimmingSpaces.lowercased()
    do {
      let approval = try await approvePairing(
        token: token, peer: peer, code: code, station: stationText.isEmpty ? nil : stationText)
      return page(
        200, "Screen paired",
        "\(approval.deviceName) is paired as station \(approval.station) (device token \(approval.tokenName)). It starts showing tickets in a few seconds."
      )
    } catch let error as APIError {
      let title =
        switch error.status {
        case 404: "Unknown code"
        case 429: "Too many wrong codes"
        default: "Not paired"
        }
      var answer = page(error.status, title, error.message)
      answer.headers += error.headers
      return answer
    }
  }

  // MARK: the status page

  /// The "Pair a screen" part of `/status`, and how many codes are pending.
  func pairingSection(now: Int64, token: DeviceToken, stations: [String]) async throws
    -> (html: String, pending: Int)
  {
    let pending = try await store.read { db in try Pairings.pending(db, now: now) }
    let options = stations.map { "<option value=\"\(escapeHTML($0))\">" }.joined()
    var html = """
      <h2 id="pair">Pair a screen</h2>
      <p class="sub">A new screen shows a 6-digit code: type it here with the station the screen \
      is for (blank: the station the screen proposes), or run <code>kds-server pair CODE \
      --station STATION</code> on the server. This page stops refreshing while a screen waits.</p>
      <form method="post" action="\(PairingHTTP.formPath)" id="pair-form">
      <input type="hidden" name="form" value="\(pairing.formToken(tokenID: token.id))">
      <label>Code <input name="code" inputmode="numeric" pattern="[0-9 ]{6,7}" maxlength="7" \
      size="8" required autocomplete="off"></label>
      <label>Station <input name="station" list="pair-stations" maxlength="32" size="12"></label>
      <datalist id="pair-stations">\(options)</datalist>
      <button type="submit">Pair</button></form>
      <table id="pairing"><tr><th>Screen waiting</th><th>Proposed station</th><th>Time left</th></tr>

      """
    for p in pending {
      html += "<tr><td>\(escapeHTML(p.deviceName))</td>"
      html += "<td>\(escapeHTML(p.proposedStation ?? "-"))</td>"
      html += "<td>\(formatSeconds(max(0, (p.expiresAt - now) / 1000)))</td></tr>\n"
    }
    if pending.isEmpty {
      html += "<tr><td colspan=\"3\">No screen is waiting to be paired.</td></tr>\n"
    }
    html += "</table>\n"
    return (html, pending.count)
  }

  /// `pairings` of `/status.json`: the codes waiting (never the codes).
  func pairingJSON(now: Int64) async throws -> JSONValue {
    let pending = try await store.read { db in try Pairings.pending(db, now: now) }
    return .array(
      pending.map { p in
        .object([
          ("deviceName", .string(p.deviceName)),
          ("proposedStation", p.proposedStation.map(JSONValue.string) ?? .null),
          ("expiresAt", .string(RFC3339.format(millis: p.expiresAt))),
          ("secondsLeft", .int(max(0, (p.expiresAt - now) / 1000))),
        ])
      })
  }

  /// Revokes approved tokens nobody claimed in time, deletes old pairings.
  func pairingCleanup() async {
    do {
      let revoked = try await store.write { db in
        try Pairings.cleanup(db, now: SystemClock.wallMillis())
      }
      for name in revoked {
        logger.warning("pairing: token \(name) was approved but never claimed: revoked")
      }
    } catch {
      logger.error("pairing cleanup failed: \(error)")
    }
  }
}
