import Foundation
import KDSContract
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
    let (status, output) = try ServerProcess.run(
      "/usr/bin/sqlite3",
      [f.server.dbPath, "UPDATE meta SET value = \(future) WHERE key = 'clock'"])
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
