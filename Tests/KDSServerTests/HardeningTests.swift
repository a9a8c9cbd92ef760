import Foundation
import KDSContract
import KDSServer
import KDSTestSupport
import KDSTime
import Testing

/// Issue 12 on the server: clocks, text lengths, tokens, floods and TLS.
@Suite("Hardening: clocks, lengths, tokens, floods")
struct HardeningTests {
  static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

  /// After a forward jump of the wall clock (NTP fixing a bad RTC, then
  /// stepping back), the stamp clock stays ahead; a new ticket's sentAt (and
  /// a readyAt the kiosk did not give) is still the wall clock.
  @Test func sentAtComesFromTheWallClockNotTheStampClock() async throws {
    let f = try Fixture()
    #expect(f.server.terminate() == 0)
    let future = Self.nowMillis() + 2 * 3_600_000
    let (status, output) = try f.server.sql("UPDATE meta SET value = \(future) WHERE key = 'clock'")
    #expect(status == 0, "\(output)")
    try f.server.start()
    let (pos, grill) = f.clients()
    let before = Self.nowMillis()
    let order = try await placeOrder(pos)
    let ticketID = try #require(order.tickets["grill"])
    let queue = try await grill.get("/kds/queue?station=grill")
    let ticket = try #require(queue.array?.first { $0["id"] as? String == ticketID })
    let sentAt = try #require(RFC3339.parse(ticket["sentAt"] as? String ?? ""))
    let updatedAt = try #require(RFC3339.parse(ticket["updatedAt"] as? String ?? ""))
    #expect(updatedAt > future, "updatedAt still follows the stamp clock")
    #expect(sentAt >= before - 1000 && sentAt <= Self.nowMillis() + 1000, "sentAt \(sentAt)")
    #expect(ticket["slaState"] as? String == "GREEN")
    let ready = try await grill.post("/kds/tickets/\(ticketID)/mark-ready", key: newKey())
    #expect(ready.status == 200)
    // A READY ticket's slaState runs from sentAt to readyAt: both wall clock.
    #expect(ready.object?["slaState"] as? String == "GREEN", "\(ready)")
    let readyUpdatedAt = try #require(
      RFC3339.parse(ready.object?["updatedAt"] as? String ?? ""))
    #expect(readyUpdatedAt > updatedAt)
  }

  /// Lengths are Unicode scalars: 150 letters each with a combining accent
  /// are 150 grapheme clusters but 300 scalars, over the 200 of a name.
  @Test func lengthsAreCountedInUnicodeScalars() async throws {
    let f = try Fixture()
    let accented = String(repeating: "e\u{301}", count: 150)
    #expect(accented.count == 150 && accented.unicodeScalars.count == 300)
    let tooLong = try await f.pos.post(
      "/pos/orders", json: orderJSON(items: [(accented, "grill")]), key: newKey())
    expectError(tooLong, 422, messageContains: "items[0].name")
    let fits = String(repeating: "e\u{301}", count: 100)
    let ok = try await f.pos.post(
      "/pos/orders", json: orderJSON(items: [(fits, "grill")]), key: newKey())
    #expect(ok.status == 201, "\(ok)")
    // The waiter's name: 100 scalars at most.
    let waiter = try await f.pos.post(
      "/pos/orders",
      json: orderJSON(waiter: String(repeating: "a\u{308}", count: 51), items: [("Tea", "bar")]),
      key: newKey())
    expectError(waiter, 422, messageContains: "waiterName")
  }

  /// One station-name rule, shared with the kiosk (KDSContract).
  @Test func stationNameRule() async throws {
    #expect(StationName.isValid("grill") && StationName.isValid("hot-2_b"))
    #expect(!StationName.isValid("") && !StationName.isValid("Grill"))
    #expect(!StationName.isValid("grïll") && !StationName.isValid("a b"))
    #expect(StationName.isValid(String(repeating: "a", count: 32)))
    #expect(!StationName.isValid(String(repeating: "a", count: 33)))
    let f = try Fixture()
    expectError(
      try await f.pos.get("/kds/queue?station=Grill"), 422, messageContains: StationName.rule)
    expectError(
      try await f.pos.post(
        "/pos/orders", json: orderJSON(items: [("Tea", "B\u{e4}r")]), key: newKey()), 422,
      messageContains: "items[0].station")
  }
}

/// `kds-server token ...` on the fixture's database.
func tokenCommand(_ server: ServerProcess, _ arguments: [String]) throws -> (Int32, String) {
  try ServerProcess.run(
    server.binary, ["token"] + [arguments[0], "--db", server.dbPath] + arguments.dropFirst())
}

/// The row of `token list` for `device`, split into its columns.
func listedRow(_ listing: String, device: String) -> [String]? {
  listing.split(separator: "\n").map {
    $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
  }
  .first { $0.count > 1 && $0[1] == device }
}

@Suite("Hardening: token roles, list and revoke")
struct TokenAdministrationTests {
  @Test func managerTokenReadsAndCannotWrite() async throws {
    let f = try Fixture()
    let (status, output) = try tokenCommand(
      f.server, ["create", "--device", "boss", "--role", "manager"])
    #expect(status == 0, "\(output)")
    #expect(output.contains("role manager"))
    let manager = f.server.client(token: String(output.split(separator: "\n").last ?? ""))
    #expect(try await manager.get("/status").status == 200)
    #expect(try await manager.get("/status.json").status == 200)
    #expect(try await manager.get("/pos/orders").status == 200)
    #expect(try await manager.get("/kds/queue?station=grill").status == 200)
    expectError(
      try await manager.post(
        "/pos/orders", json: orderJSON(items: [("Tea", "bar")]), key: newKey()), 403,
      messageContains: "manager")
    let order = try await placeOrder(f.pos)
    let ticket = try #require(order.tickets["grill"])
    expectError(try await manager.post("/kds/tickets/\(ticket)/mark-ready", key: newKey()), 403)
    expectError(try await manager.post("/pos/orders/\(order.orderID)/close", key: newKey()), 403)
    // A manager reading a queue is not listed as a kiosk.
    let kiosks = try await manager.get("/status.json")
    #expect(!kiosks.text.contains("boss"), "\(kiosks.text)")
    // The ticket is untouched.
    let queue = try await f.grill.get("/kds/queue?station=grill")
    #expect(queue.array?.first?["status"] as? String == "QUEUED")
    // Roles and stations must agree; unknown roles are refused.
    for bad in [
      ["--role", "station"], ["--role", "pos", "--station", "grill"],
      ["--role", "manager", "--station", "grill"], ["--role", "chef"],
    ] {
      let (badStatus, badOutput) = try tokenCommand(
        f.server, ["create", "--device", "x"] + bad)
      #expect(badStatus != 0, "\(bad): \(badOutput)")
    }
    // The old flags still work: --station makes a station token.
    let (oldStatus, oldOutput) = try tokenCommand(
      f.server, ["create", "--device", "kiosk-bar", "--station", "bar"])
    #expect(oldStatus == 0 && oldOutput.contains("role station"), "\(oldOutput)")
  }

  @Test func listShowsTokensWithoutSecretsAndRevokeTakesEffectOnTheNextRequest() async throws {
    let f = try Fixture()
    #expect(try await f.grill.get("/kds/queue?station=grill").status == 200)
    // last_seen_at is written in the background after the first request.
    var listing = ""
    try await waitUntil("last seen of kiosk-grill in token list") {
      listing = try tokenCommand(f.server, ["list"]).1
      return listedRow(listing, device: "kiosk-grill").map { $0[5] != "-" } ?? false
    }
    let header = try #require(listing.split(separator: "\n").first)
    #expect(header.hasPrefix("ID") && header.contains("LAST SEEN") && header.contains("ROLE"))
    let pos = try #require(listedRow(listing, device: "pos-1"))
    let grill = try #require(listedRow(listing, device: "kiosk-grill"))
    #expect(pos[2] == "pos" && pos[3] == "*")
    #expect(grill[2] == "station" && grill[3] == "grill")
    #expect(RFC3339.parse(grill[4]) != nil && RFC3339.parse(grill[5]) != nil)
    #expect(grill[6] == "-")
    for secret in [f.posToken, f.grillToken] {
      #expect(!listing.contains(secret))
      #expect(!listing.contains(DeviceTokens.sha256Hex(secret)))
    }
    // Revoke while the server runs (another process): the very next request
    // with that token is refused, though the server had it cached.
    let (status, output) = try tokenCommand(f.server, ["revoke", grill[0]])
    #expect(status == 0 && output.contains("revoked"), "\(output)")
    expectError(try await f.grill.get("/kds/queue?station=grill"), 401)
    #expect(try await f.pos.get("/kds/queue?station=grill").status == 200)
    let after = try tokenCommand(f.server, ["list"]).1
    #expect(RFC3339.parse(listedRow(after, device: "kiosk-grill")?[6] ?? "") != nil, "\(after)")
    #expect(try tokenCommand(f.server, ["revoke", grill[0]]).1.contains("already"))
    #expect(try tokenCommand(f.server, ["revoke", "9999"]).0 != 0)
    // And it stays refused after a restart.
    try f.server.restart()
    expectError(try await f.clients().grill.get("/kds/queue?station=grill"), 401)
    #expect(try await f.clients().pos.get("/kds/queue?station=grill").status == 200)
  }

  /// Another station's ticket gets exactly the answer of a ticket that does
  /// not exist.
  @Test func otherStationsTicketLooksLikeNoTicket() async throws {
    let f = try Fixture()
    let order = try await placeOrder(f.pos, items: [("Beef burger", "grill"), ("Espresso", "bar")])
    let bar = try #require(order.tickets["bar"])
    let missing = "01JD3Z8Q4WJ6T1M9K2R7V5XH0C"
    for action in ["mark-ready", "start", "recall"] {
      let other = try await f.grill.post("/kds/tickets/\(bar)/\(action)", key: newKey())
      let none = try await f.grill.post("/kds/tickets/\(missing)/\(action)", key: newKey())
      expectError(other, 404)
      expectError(none, 404)
      #expect(
        other.text.replacingOccurrences(of: bar, with: "ID")
          == none.text.replacingOccurrences(of: missing, with: "ID"))
      #expect(other.header("Content-Type") == none.header("Content-Type"))
    }
    let barQueue = try await f.pos.get("/kds/queue?station=bar")
    #expect(barQueue.array?.first?["status"] as? String == "QUEUED")
  }
}

@Suite("Hardening: requests without a valid token are rate limited per address")
struct UnauthenticatedFloodTests {
  @Test func floodOfBadTokensGets429BeforeAnyLookup() async throws {
    // One request per 100 s: however slow a loaded machine runs the test, the
    // bucket does not refill before its last request.
    let f = try Fixture(
      arguments: [
        "--unauthenticated-rate", "0.01/s", "--unauthenticated-burst", "3",
      ], replicas: 1)
    #expect(try await f.pos.get("/pos/orders").status == 200)
    let fresh = try f.server.createToken(device: "late-kiosk", stations: ["grill"])
    let bad = f.server.client(token: "kds_" + String(repeating: "0", count: 64))
    for _ in 0..<3 { expectError(try await bad.get("/kds/queue?station=grill"), 401) }
    let limited = try await bad.get("/kds/queue?station=grill")
    expectError(limited, 429, messageContains: "valid device token")
    let retry = try #require(Int(limited.header("Retry-After") ?? ""))
    #expect((1...100).contains(retry))
    expectError(try await f.server.client(token: nil).get("/pos/orders"), 429)
    expectError(
      try await f.server.client(token: nil).send(
        "GET", "/status", headers: ["Authorization": "Basic !!"]), 429)
    // A token too long to be one is refused the same way.
    expectError(
      try await f.server.client(token: String(repeating: "x", count: 300)).get("/pos/orders"), 429)
    // A token not yet seen is not looked up either while the address is
    // over its limit; one already in use goes on working, and /health is open.
    expectError(try await f.server.client(token: fresh).get("/kds/queue?station=grill"), 429)
    #expect(try await f.pos.get("/pos/orders").status == 200)
    #expect(try await f.server.client(token: nil).get("/health").status == 200)
    #expect(f.server.log().contains("status=429"))
  }

  @Test func limitCanBeTurnedOff() async throws {
    let f = try Fixture(arguments: ["--unauthenticated-rate", "off"])
    let bad = f.server.client(token: "kds_nope")
    for _ in 0..<40 { expectError(try await bad.get("/pos/orders"), 401) }
  }
}
