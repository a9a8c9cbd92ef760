import Foundation
import GRDB
import KDSTestSupport
import Testing

/// Pairing (docs/sync-contract.md, "Extension: pairing"), against the real
/// server over loopback HTTP and `kds-server pair` in another process.
@Suite("Pairing: codes, approval, long-poll claim")
struct PairingTests {
  /// A server, a manager token, and a client without a token.
  struct Setup {
    let server: ServerProcess
    let manager: LoopbackHTTPClient
    let managerToken: String
    let anonymous: LoopbackHTTPClient

    init(
      arguments: [String] = [], backend: ServerProcess.Backend = .automatic, replicas: Int = 2
    ) throws {
      server = try ServerProcess(arguments: arguments, backend: backend, replicas: replicas)
      managerToken = try server.createManagerToken()
      manager = server.client(token: managerToken)
      anonymous = server.client(token: nil)
    }

    /// A client without a token, sending from another loopback address.
    func anonymous(from address: String) -> LoopbackHTTPClient {
      LoopbackHTTPClient(port: server.port, token: nil, sourceAddress: address)
    }

    /// The database, as another process sees it.
    func database() throws -> DatabaseQueue {
      var config = Configuration()
      config.busyMode = .timeout(10)
      return try DatabaseQueue(path: server.dbPath, configuration: config)
    }
  }

  struct Code {
    var id: String
    var code: String
    var secret: String
    var claimBody: String { #"{"pairingId":"\#(id)","secret":"\#(secret)"}"# }
  }

  static func ask(
    _ client: LoopbackHTTPClient, device: String = "kds-3f2a", station: String? = "grill",
    sourceLocation: SourceLocation = #_sourceLocation
  ) async throws -> Code {
    let station = station.map { #","station":"\#($0)""# } ?? ""
    let r = try await client.post("/kds/pairing", json: #"{"deviceName":"\#(device)"\#(station)}"#)
    try #require(r.status == 201, "\(r)", sourceLocation: sourceLocation)
    let o = try #require(r.object)
    return Code(
      id: try #require(o["pairingId"] as? String), code: try #require(o["code"] as? String),
      secret: try #require(o["secret"] as? String))
  }

  static func claim(_ client: LoopbackHTTPClient, _ code: Code, wait: Int = 0) async throws
    -> HTTPResult
  {
    var c = client
    c.timeout = 60
    return try await c.post("/kds/pairing/claim?wait=\(wait)", json: code.claimBody)
  }

  static func approve(_ client: LoopbackHTTPClient, code: String, station: String? = nil)
    async throws -> HTTPResult
  {
    let s = station.map { #","station":"\#($0)""# } ?? ""
    return try await client.post("/pairing/approve", json: #"{"code":"\#(code)"\#(s)}"#)
  }

  /// The whole path: a code, a claim waiting on it, the manager's approval
  /// answering the waiting claim with a working station token, once; the
  /// database keeps no copy of it; the approval is in the audit log.
  @Test func approvalAnswersTheWaitingClaimWithAWorkingToken() async throws {
    let s = try Setup(backend: .sqlite)  // reads the SQLite file itself
    let before = nowMillis()
    let r = try await s.anonymous.post(
      "/kds/pairing", json: #"{"station":"grill","deviceName":"kds-3f2a"}"#)
    let after = nowMillis()
    #expect(r.status == 201, "\(r)")
    let o = try #require(r.object)
    let code = try #require(o["code"] as? String)
    let secret = try #require(o["secret"] as? String)
    let id = try #require(o["pairingId"] as? String)
    #expect(code.count == 6 && code.allSatisfy(\.isNumber), "\(code)")
    #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit), "\(secret)")
    #expect(o["station"] as? String == "grill")
    let expiresAt = try #require(parseTime(o["expiresAt"] as? String))
    #expect(
      expiresAt >= before + 600_000 - 1 && expiresAt <= after + 600_000 + 1,
      "expires 10 minutes after it was made: \(expiresAt - before) ms after the request")
    let pairing = Code(id: id, code: code, secret: secret)

    // Not approved yet: pending.
    let pending = try await Self.claim(s.anonymous, pairing)
    #expect(
      pending.status == 202 && pending.object?["status"] as? String == "pending", "\(pending)")
    #expect(parseTime(pending.object?["expiresAt"] as? String) == expiresAt)

    let waiting = Task { try await Self.claim(s.anonymous, pairing, wait: 25) }
    let approved = try await Self.approve(s.manager, code: code)
    #expect(approved.status == 200, "\(approved)")
    #expect(approved.object?["station"] as? String == "grill")
    #expect(approved.object?["deviceName"] as? String == "kds-3f2a")
    #expect(approved.object?["tokenName"] as? String == "kds-3f2a")

    let claimed = try await waiting.value
    #expect(claimed.status == 200, "\(claimed)")
    #expect(claimed.object?["status"] as? String == "approved")
    #expect(claimed.object?["station"] as? String == "grill")
    let token = try #require(claimed.object?["token"] as? String)

    // The token is a grill station token.
    let queue = try await s.server.client(token: token).get("/kds/queue?station=grill")
    #expect(queue.status == 200, "\(queue)")
    let other = try await s.server.client(token: token).get("/kds/queue?station=bar")
    #expect(other.status == 403, "\(other)")

    // Once only.
    let again = try await Self.claim(s.anonymous, pairing)
    #expect(again.status == 410 && again.object?["status"] as? String == "claimed", "\(again)")

    // No copy in clear: not in the row, not anywhere in the files.
    let db = try s.database()
    let found = try db.read { db in
      try Row.fetchOne(
        db, sql: "SELECT token, claimed_at FROM pairings WHERE id = ?", arguments: [id])
    }
    let row = try #require(found)
    let storedToken: String? = row["token"]
    let claimedAt: Int64? = row["claimed_at"]
    #expect(storedToken == nil)
    #expect(claimedAt != nil)
    try db.close()
    for suffix in ["", "-wal"] {
      let data = (try? Data(contentsOf: URL(fileURLWithPath: s.server.dbPath + suffix))) ?? Data()
      #expect(data.range(of: Data(token.utf8)) == nil, "the token is in kds.db\(suffix)")
    }

    // The approval is in the audit log, by the manager, naming the new token.
    let audit = try s.database().read { db in
      try Row.fetchAll(
        db, sql: "SELECT device, action, station, subject FROM audit_log WHERE action = 'pair'")
    }
    #expect(audit.count == 1)
    let entry = try #require(audit.first)
    #expect(entry["device"] as String? == "manager-1")
    #expect(entry["station"] as String? == "grill")
    #expect(entry["subject"] as String? == "kds-3f2a")
    #expect(
      !s.server.log().contains(secret) && !s.server.log().contains(token), "no secrets logged")
  }

  /// `kds-server pair` in another process, on the running server's
  /// database: the waiting claim is answered, with the station the command
  /// gave (over the one the screen proposed). Without --station the proposed
  /// one is used; a second screen of the same name gets its own token name.
  @Test func pairCommandFromAnotherProcessAnswersTheWaitingClaim() async throws {
    let s = try Setup()
    let first = try await Self.ask(s.anonymous, device: "kds-7a", station: "grill")
    let waiting = Task { try await Self.claim(s.anonymous, first, wait: 25) }
    let (status, output) = try ServerProcess.run(
      s.server.binary, ["pair", first.code, "--station", "hot", "--db", s.server.dbPath])
    #expect(status == 0, "\(output)")
    #expect(output.contains("paired kds-7a as station hot"), "\(output)")
    let claimed = try await waiting.value
    #expect(claimed.status == 200, "\(claimed)")
    #expect(claimed.object?["station"] as? String == "hot")

    let second = try await Self.ask(s.anonymous, device: "kds-7a", station: "bar")
    let (status2, output2) = try ServerProcess.run(
      s.server.binary, ["pair", second.code, "--db", s.server.dbPath])
    #expect(status2 == 0, "\(output2)")
    #expect(output2.contains("as station bar (device token kds-7a-2)"), "\(output2)")
    let claimed2 = try await Self.claim(s.anonymous, second)
    #expect(claimed2.object?["station"] as? String == "bar", "\(claimed2)")

    // A code nobody asked for: a clear error, exit status not 0.
    let wrong = first.code == "000000" ? "000001" : "000000"
    let (bad, badOutput) = try ServerProcess.run(
      s.server.binary, ["pair", wrong, "--station", "hot", "--db", s.server.dbPath])
    #expect(bad != 0 && badOutput.contains("No screen is waiting with this code"), "\(badOutput)")
    let (badStation, badStationOutput) = try ServerProcess.run(
      s.server.binary, ["pair", first.code, "--station", "Grill!", "--db", s.server.dbPath])
    #expect(badStation != 0 && badStationOutput.contains("station"), "\(badStationOutput)")
  }

  /// Expiry (the database's `expires_at` moved to the past: no clock to
  /// wait for): a waiting claim is answered 410 expired, the code can no
  /// longer be approved, and a pending code leaves the status page.
  @Test func anExpiredCodeCanNeitherBeApprovedNorClaimed() async throws {
    let s = try Setup(backend: .sqlite)  // reads the SQLite file itself
    let code = try await Self.ask(s.anonymous)
    let waiting = Task { try await Self.claim(s.anonymous, code, wait: 25) }
    // Wait until the claim is really waiting: the code is pending for it.
    try await waitUntil("the claim sees a pending code") {
      let r = try await Self.claim(s.anonymous, code)
      return r.status == 202
    }
    let db = try s.database()
    try await db.write { db in
      try db.execute(
        sql: "UPDATE pairings SET expires_at = ? WHERE id = ?",
        arguments: [nowMillis() - 1, code.id])
    }
    let answer = try await waiting.value
    #expect(answer.status == 410 && answer.object?["status"] as? String == "expired", "\(answer)")
    let approve = try await Self.approve(s.manager, code: code.code, station: "grill")
    expectError(approve, 404, messageContains: "No screen is waiting")
    let status = try await s.manager.get("/status.json")
    #expect((status.object?["pairings"] as? [Any])?.isEmpty == true, "\(status)")
  }

  /// A token approved but never claimed (the screen went away) is not left
  /// valid: past its claim deadline the claim is 410 expired, and the
  /// server's cleanup (at start, then every minute) revokes it and wipes the
  /// copy.
  @Test func anApprovedTokenNeverClaimedIsRevoked() async throws {
    let s = try Setup(backend: .sqlite)  // reads the SQLite file itself
    let code = try await Self.ask(s.anonymous, device: "kds-gone")
    let approved = try await Self.approve(s.manager, code: code.code)
    #expect(approved.status == 200, "\(approved)")
    let db = try s.database()
    let past = nowMillis() - 2 * 600_000
    try await db.write { db in
      try db.execute(
        sql: "UPDATE pairings SET expires_at = ?, approved_at = ? WHERE id = ?",
        arguments: [past, past, code.id])
    }
    let late = try await Self.claim(s.anonymous, code)
    #expect(late.status == 410 && late.object?["status"] as? String == "expired", "\(late)")
    try s.server.restart()
    try await waitUntil("the unclaimed token is revoked") {
      try db.read { db in
        try Bool.fetchOne(
          db,
          sql: """
            SELECT t.revoked_at IS NOT NULL AND p.token IS NULL FROM tokens t
            JOIN pairings p ON p.token_id = t.id WHERE p.id = ?
            """, arguments: [code.id]) ?? false
      }
    }
    #expect(s.server.log().contains("token kds-gone was approved but never claimed: revoked"))
  }

  /// Wrong secret, unknown pairing, bad bodies.
  @Test func aWrongSecretOrAnUnknownPairingIsNotFound() async throws {
    let s = try Setup()
    let code = try await Self.ask(s.anonymous)
    var wrong = code
    wrong.secret = String(repeating: "0", count: 64)
    expectError(try await Self.claim(s.anonymous, wrong), 404)
    var unknown = code
    unknown.id = "01KUNKNOWNPAIRING000000000"
    expectError(try await Self.claim(s.anonymous, unknown), 404)
    expectError(
      try await s.anonymous.post("/kds/pairing/claim", json: #"{"pairingId":"x"}"#), 422,
      messageContains: "secret")
    expectError(
      try await s.anonymous.post("/kds/pairing/claim?wait=soon", json: code.claimBody), 422,
      messageContains: "wait")
    expectError(try await s.anonymous.post("/kds/pairing", json: "{nope"), 400)
    expectError(
      try await s.anonymous.post("/kds/pairing", json: #"{"station":"grill"}"#), 422,
      messageContains: "deviceName")
    expectError(
      try await s.anonymous.post(
        "/kds/pairing", json: #"{"deviceName":"\#(String(repeating: "x", count: 65))"}"#), 422,
      messageContains: "deviceName")
    expectError(
      try await s.anonymous.post("/kds/pairing", json: #"{"deviceName":"a","station":"Grill!"}"#),
      422, messageContains: "station")
    // The right secret still works after all that.
    let ok = try await Self.claim(s.anonymous, code)
    #expect(ok.status == 202, "\(ok)")
  }

  /// Only a token without a station limit approves.
  @Test func approvalNeedsAManagerToken() async throws {
    let s = try Setup()
    let code = try await Self.ask(s.anonymous)
    expectError(try await Self.approve(s.anonymous, code: code.code, station: "grill"), 401)
    let bogus = s.server.client(token: "kds_" + String(repeating: "a", count: 64))
    expectError(try await Self.approve(bogus, code: code.code, station: "grill"), 401)
    let grill = s.server.client(
      token: try s.server.createToken(device: "kiosk-grill", stations: ["grill"]))
    expectError(try await Self.approve(grill, code: code.code, station: "grill"), 403)
    expectError(try await Self.approve(s.manager, code: "12ab56", station: "grill"), 422)
    // Still pending: none of these approved it.
    #expect(try await Self.claim(s.anonymous, code).status == 202)
    // A screen that proposed no station needs one from the manager.
    let bare = try await Self.ask(s.anonymous, device: "kds-bare", station: nil)
    expectError(try await Self.approve(s.manager, code: bare.code), 422, messageContains: "station")
    #expect(try await Self.approve(s.manager, code: bare.code, station: "fry").status == 200)
  }

  /// Codes per address (429 with Retry-After; another address still gets
  /// codes); at most 32 codes pending in all; wrong codes at approval are
  /// limited per token and per address, a right code included once limited.
  @Test func codesAndWrongApprovalsAreRateLimited() async throws {
    let s = try Setup(replicas: 1)  // limits are per process
    // One address: a burst of 5 (the bucket refills one per 20 s, so a slow
    // machine may see a sixth), then 429 with Retry-After.
    var codes: [Code] = []
    var limited: HTTPResult? = nil
    let firstAsked = Date()
    for _ in 0..<8 {
      let r = try await s.anonymous.post("/kds/pairing", json: #"{"deviceName":"kds-x"}"#)
      if r.status == 429 {
        limited = r
        break
      }
      #expect(r.status == 201, "\(r)")
      if let o = r.object, let id = o["pairingId"] as? String, let c = o["code"] as? String,
        let secret = o["secret"] as? String
      {
        codes.append(Code(id: id, code: c, secret: secret))
      }
    }
    let refused = try #require(limited, "no 429 after \(codes.count) codes")
    // The burst, plus one for each 20 s the asking took (a loaded machine
    // can be slow enough for a refill or two).
    let refills = Int(Date().timeIntervalSince(firstAsked) / 20)
    #expect(
      codes.count >= 5 && codes.count <= 5 + refills,
      "\(codes.count) codes before the 429 (\(refills) refills)")
    expectError(refused, 429)
    #expect(Int(refused.header("Retry-After") ?? "") ?? 0 >= 1, "\(refused.headers)")

    // Other addresses: up to 32 pending in all, then 429 until one expires.
    var addressNumber = 2
    while codes.count < 32 && addressNumber < 40 {
      let client = s.anonymous(from: "127.0.0.\(addressNumber)")
      for _ in 0..<5 where codes.count < 32 {
        let r = try await client.post("/kds/pairing", json: #"{"deviceName":"kds-y"}"#)
        guard r.status == 201, let o = r.object else {
          #expect(r.status == 429, "\(r)")
          break
        }
        codes.append(
          Code(
            id: o["pairingId"] as? String ?? "", code: o["code"] as? String ?? "",
            secret: o["secret"] as? String ?? ""))
      }
      addressNumber += 1
    }
    #expect(codes.count == 32)
    #expect(Set(codes.map(\.code)).count == 32, "codes are unique among pending ones")
    let full = try await s.anonymous(from: "127.0.0.\(addressNumber)").post(
      "/kds/pairing", json: #"{"deviceName":"kds-y"}"#)
    expectError(full, 429, messageContains: "32 screens")
    let retry = Int(full.header("Retry-After") ?? "") ?? 0
    // When the oldest code expires: 10 minutes after it was made, less the
    // time taken since (seconds here, minutes on a loaded machine).
    let sinceOldest = Int(Date().timeIntervalSince(firstAsked).rounded(.up))
    #expect(
      retry >= 600 - sinceOldest - 1 && retry <= 600,
      "retry when the oldest expires: \(retry) (\(sinceOldest) s since it was made)")

    // Wrong codes: 10 (one more per 30 s), then 429, even for a right one.
    let used = Set(codes.map(\.code))
    let wrongCodes = (0..<1_000_000).lazy.map { String(format: "%06d", $0) }.filter {
      !used.contains($0)
    }.prefix(14)
    var wrongAnswered = 0
    var tooMany: HTTPResult? = nil
    let firstWrong = Date()
    for wrong in wrongCodes {
      let r = try await Self.approve(s.manager, code: wrong, station: "grill")
      if r.status == 429 {
        tooMany = r
        break
      }
      expectError(r, 404)
      wrongAnswered += 1
    }
    let wrongRefills = Int(Date().timeIntervalSince(firstWrong) / 30)
    #expect(
      tooMany != nil && wrongAnswered >= 10 && wrongAnswered <= 10 + max(1, wrongRefills),
      "\(wrongAnswered) wrong codes answered (\(wrongRefills) refills)")
    let right = try await Self.approve(s.manager, code: codes[0].code, station: "grill")
    expectError(right, 429)
    #expect(right.header("Retry-After") != nil)
    // Another manager token from the same address: limited too (per address).
    let other = s.server.client(token: try s.server.createManagerToken(device: "manager-2"))
    expectError(try await Self.approve(other, code: codes[0].code, station: "grill"), 429)
    // From another address with that token: the code is still good.
    let elsewhere = LoopbackHTTPClient(
      port: s.server.port, token: other.token, sourceAddress: "127.0.0.99")
    let ok = try await Self.approve(elsewhere, code: codes[0].code, station: "grill")
    #expect(ok.status == 200, "\(ok)")
  }

  /// The status page lists the screens waiting (name, proposed station,
  /// time left; never the code), stops refreshing while one waits, and its
  /// form (posted as a browser does, with Basic authentication) approves.
  @Test func statusPageListsWaitingScreensAndItsFormApproves() async throws {
    let s = try Setup()
    let basic = "Basic " + Data(":\(s.managerToken)".utf8).base64EncodedString()
    let before = try await s.anonymous.send("GET", "/status", headers: ["Authorization": basic])
    #expect(before.status == 200, "\(before)")
    #expect(before.text.contains("Pair a screen") && before.text.contains("No screen is waiting"))
    #expect(before.text.contains("http-equiv=\"refresh\""), "refreshes when nobody waits")

    let asked = Date()
    let code = try await Self.ask(s.anonymous, device: "kds-tablet-7", station: "bar")
    let page = try await s.anonymous.send("GET", "/status", headers: ["Authorization": basic])
    let sinceAsked = Int(Date().timeIntervalSince(asked).rounded(.up))
    let html = page.text
    let row = html.firstRange(of: "<tr><td>kds-tablet-7</td><td>bar</td><td>")
    #expect(row != nil, "\(html)")
    if let row {
      // "M:SS" left of the 10 minutes, less what this machine took since.
      let left = html[row.upperBound...].prefix { $0 != "<" }
      let parts = left.split(separator: ":").compactMap { Int($0) }
      let seconds = parts.count == 2 ? parts[0] * 60 + parts[1] : -1
      #expect(
        seconds <= 600 && seconds >= 600 - sinceAsked - 1,
        "time left: \(left) (\(sinceAsked) s since the code was asked)")
    }
    #expect(!html.contains(code.code), "the code is typed from the screen, never shown")
    #expect(!html.contains("http-equiv=\"refresh\""), "no refresh while a screen waits")
    let json = try await s.manager.get("/status.json")
    let listed = (json.object?["pairings"] as? [[String: Any]]) ?? []
    #expect(listed.count == 1 && listed.first?["deviceName"] as? String == "kds-tablet-7")
    #expect(listed.first?["proposedStation"] as? String == "bar")

    // The form's hidden field, as the browser sends it back.
    let marker = #"name="form" value=""#
    let start = try #require(html.range(of: marker)).upperBound
    let formToken = String(html[start...].prefix { $0 != "\"" })
    #expect(formToken.count == 64)
    #expect(html.contains(#"<form method="post" action="/status/pair""#))

    func post(_ fields: String, headers: [String: String] = [:]) async throws -> HTTPResult {
      var h = ["Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"]
      for (k, v) in headers { h[k] = v }
      return try await s.anonymous.send(
        "POST", "/status/pair", body: Array(fields.utf8), headers: h)
    }
    // Forged: without the form field, or from another site.
    let forged = try await post("code=\(code.code)&station=")
    #expect(forged.status == 403 && forged.text.contains("out of date"), "\(forged)")
    let crossSite = try await post(
      "form=\(formToken)&code=\(code.code)&station=",
      headers: ["Origin": "http://evil.example"])
    #expect(crossSite.status == 403 && crossSite.text.contains("another site"), "\(crossSite)")
    let wrong = try await post(
      "form=\(formToken)&code=\(code.code == "999999" ? "999998" : "999999")&station=")
    #expect(wrong.status == 404 && wrong.text.contains("Unknown code"), "\(wrong)")
    // The real thing: the code as typed (with a space), blank station: the proposed one.
    let spaced = String(code.code.prefix(3)) + "+" + String(code.code.suffix(3))
    let done = try await post(
      "form=\(formToken)&code=\(spaced)&station=",
      headers: ["Origin": "http://127.0.0.1:\(s.server.port)"])
    #expect(done.status == 200 && done.text.contains("Screen paired"), "\(done)")
    #expect(done.text.contains("kds-tablet-7 is paired as station bar"), "\(done)")
    let claimed = try await Self.claim(s.anonymous, code)
    #expect(claimed.status == 200 && claimed.object?["station"] as? String == "bar", "\(claimed)")
    let after = try await s.manager.get("/status")
    #expect(after.text.contains("No screen is waiting"))
  }
}

/// `serve --listen` (repeatable): plain HTTP on loopback for the kiosk on
/// the same machine, HTTPS for the restaurant's network, one database.
@Suite("Listening on several addresses")
struct ListenTests {
  @Test func plainOnLoopbackAndTLSBesideIt() async throws {
    let dir = try TLSTests.makeCertificates(["--ip", "127.0.0.1"])
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let server = try ServerProcess(arguments: [
      "--listen", "http://127.0.0.1:0", "--listen", "https://127.0.0.1:0",
      "--tls-cert", dir + "/server.pem", "--tls-key", dir + "/server-key.pem",
    ])
    let lines = server.listeningLines
    #expect(lines.count == 2, "\(lines)")
    let plain = try #require(lines.first { $0.contains("http://127.0.0.1:") })
    let tls = try #require(lines.first { $0.contains("https://127.0.0.1:") })
    let plainPort = try #require(Int(plain.split(separator: ":").last ?? ""))
    let tlsPort = try #require(Int(tls.split(separator: ":").last ?? ""))
    #expect(plainPort != tlsPort)

    let token = try server.createToken(device: "pos-1")
    // The plain listener answers plain HTTP.
    let r = try await LoopbackHTTPClient(port: plainPort, token: token).get("/pos/orders")
    #expect(r.status == 200, "\(r)")
    // The TLS one answers HTTPS (curl trusting the CA), the same database:
    // an order made over one is seen over the other.
    let created = try await placeOrder(LoopbackHTTPClient(port: plainPort, token: token))
    let (status, body) = try curl([
      "--cacert", dir + "/ca.pem", "-H", "Authorization: Bearer \(token)",
      "https://127.0.0.1:\(tlsPort)/pos/orders/\(created.orderID)",
    ])
    #expect(status == 0 && body.contains(created.orderID), "\(body)")
    // and refuses plain HTTP.
    let (plainStatus, _) = try curl(["http://127.0.0.1:\(tlsPort)/health"])
    #expect(plainStatus != 0)
    // Pairing over TLS, approval over loopback.
    let (askStatus, asked) = try curl([
      "--cacert", dir + "/ca.pem", "-X", "POST", "-H", "Content-Type: application/json",
      "--data", #"{"deviceName":"kds-lan"}"#, "https://127.0.0.1:\(tlsPort)/kds/pairing",
    ])
    #expect(askStatus == 0 && asked.contains("\"code\""), "\(asked)")
  }

  /// What the all-in-one image does at each start (local-server-tls): a new
  /// server certificate for new addresses from the same CA, and the
  /// fingerprint a manager compares, as openssl computes it.
  @Test func reuseCAMakesANewCertificateFromTheSameCAAndFingerprintsMatchOpenSSL() throws {
    let dir = try TLSTests.makeCertificates(["--host", "kds-grill.local"])
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let binary = try ServerProcess.binaryPath()
    let ca = try String(contentsOfFile: dir + "/ca.pem", encoding: .utf8)
    let cert = try String(contentsOfFile: dir + "/server.pem", encoding: .utf8)
    let (status, output) = try ServerProcess.run(
      binary, ["tls", "self-signed", "--out", dir, "--reuse-ca", "--ip", "10.1.2.3"])
    #expect(status == 0, "\(output)")
    #expect(try String(contentsOfFile: dir + "/ca.pem", encoding: .utf8) == ca, "same CA")
    #expect(try String(contentsOfFile: dir + "/server.pem", encoding: .utf8) != cert)
    let (verified, verifyOutput) = try ServerProcess.run(
      "/usr/bin/openssl", ["verify", "-CAfile", dir + "/ca.pem", dir + "/server.pem"])
    #expect(verified == 0, "\(verifyOutput)")
    let (_, names) = try ServerProcess.run(
      "/usr/bin/openssl", ["x509", "-in", dir + "/server.pem", "-noout", "-ext", "subjectAltName"])
    #expect(names.contains("IP Address:10.1.2.3"), "\(names)")
    for file in ["ca.pem", "server.pem"] {
      let (_, ours) = try ServerProcess.run(binary, ["tls", "fingerprint", dir + "/" + file])
      let (_, theirs) = try ServerProcess.run(
        "/usr/bin/openssl", ["x509", "-in", dir + "/" + file, "-noout", "-fingerprint", "-sha256"])
      let expected = theirs.split(separator: "=").last.map {
        $0.trimmingCharacters(in: .whitespacesAndNewlines)
      }
      #expect(
        expected != nil && ours.trimmingCharacters(in: .newlines) == "SHA256 \(expected!)",
        "\(ours) / \(theirs)")
    }
  }

  @Test func anHTTPSListenerNeedsACertificate() throws {
    let (status, output) = try ServerProcess.run(
      try ServerProcess.binaryPath(),
      ["serve", "--db", NSTemporaryDirectory() + "unused.db", "--listen", "https://127.0.0.1:0"])
    #expect(status != 0 && output.contains("--tls-cert"), "\(output)")
    let (bad, badOutput) = try ServerProcess.run(
      try ServerProcess.binaryPath(),
      ["serve", "--db", NSTemporaryDirectory() + "unused.db", "--listen", "ftp://x:1"])
    #expect(bad != 0 && badOutput.contains("--listen"), "\(badOutput)")
  }
}
