import Foundation
import KDSCore
import KDSTestSupport
import Testing

@Suite struct TimestampTests {
  @Test(arguments: [
    ("2025-11-21T14:35:00Z", "2025-11-21T14:35:00.000Z"),
    ("2025-11-21T14:35:00.123Z", "2025-11-21T14:35:00.123Z"),
    ("2025-11-21T14:35:00.5+03:00", "2025-11-21T11:35:00.500Z"),
    ("2025-11-21T14:35:00.123456-01:30", "2025-11-21T16:05:00.123Z"),
    ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
    ("2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59.999Z"),
  ])
  func parsesAndWritesUTCWithMillis(input: String, expected: String) throws {
    let t = try #require(Timestamp(iso8601: input))
    #expect(t.iso8601 == expected)
  }

  @Test(arguments: [
    "", "2025-11-21", "2025-13-01T00:00:00Z", "2025-11-21T14:35:00", "yesterday",
    "2025-11-21T14:35:00.Z", "2025-11-21T14:35:00Zjunk",
  ])
  func rejectsWhatIsNotRFC3339(input: String) {
    #expect(Timestamp(iso8601: input) == nil)
  }

  @Test func agreesWithFoundation() throws {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    for seconds in stride(from: Int64(-86_400 * 400), to: 86_400 * 365 * 60, by: 7_777_777) {
      let t = Timestamp(millis: seconds * 1000 + 42)
      let date = try #require(formatter.date(from: t.iso8601))
      #expect(Int64((date.timeIntervalSince1970 * 1000).rounded()) == t.millis)
    }
  }
}

@Suite struct TicketDecodingTests {
  @Test func lunchRushDecodesWhole() throws {
    let data = try Data(
      contentsOf: URL(fileURLWithPath: TestPaths.fixture("tickets-lunch-rush.json")))
    let batch = try TicketBatch.decode(data)
    #expect(batch.skipped.isEmpty)
    #expect(batch.tickets.count > 20)
    #expect(batch.tickets.allSatisfy { !$0.items.isEmpty })
  }

  @Test func edgeCasesKeepUnknownStatusesAndOffsets() throws {
    let data = try Data(
      contentsOf: URL(fileURLWithPath: TestPaths.fixture("tickets-edge-cases.json")))
    let batch = try TicketBatch.decode(data)
    #expect(batch.skipped.isEmpty)
    let onHold = try #require(batch.tickets.first { $0.status == .unknown("ON_HOLD") })
    #expect(!onHold.status.isActive)
    let withOffset = try #require(batch.tickets.first { $0.orderId == "order-1907" })
    #expect(withOffset.sentAt.iso8601 == "2025-11-21T12:58:00.000Z")
    let noNumber = try #require(batch.tickets.first { $0.orderId == "order-1903" })
    #expect(noNumber.orderNumber == nil && noNumber.waiterName == nil)
  }

  @Test func malformedTicketIsSkippedAndTheRestKept() throws {
    let json = """
      [{"id":"a","orderId":"o","station":"grill","status":"QUEUED","sentAt":"2025-11-21T14:30:00Z",
        "updatedAt":"2025-11-21T14:30:00Z","items":[{"name":"Burger","quantity":1}],"extra":{"x":1}},
       {"id":"b","orderId":"o","station":"grill","status":"QUEUED","sentAt":"not a time",
        "updatedAt":"2025-11-21T14:30:00Z","items":[]},
       {"id":"c","orderId":"o","station":"grill","status":"QUEUED","sentAt":"2025-11-21T14:30:00Z",
        "updatedAt":"2025-11-21T14:30:00Z","items":[{"name":"Fries","quantity":"two"}]},
       42]
      """
    let batch = try TicketBatch.decode(Data(json.utf8))
    #expect(batch.tickets.map(\.id) == ["a"])
    #expect(batch.skipped.map(\.index) == [1, 2, 3])
    #expect(batch.skipped[0].reason.contains("sentAt"))
  }

  @Test func whatTheKioskDrawsIsClamped() throws {
    let long = String(repeating: "x", count: 5000)
    let json = """
      [{"id":"a","orderId":"o","station":"grill","status":"QUEUED","sentAt":"2025-11-21T14:30:00Z",
        "updatedAt":"2025-11-21T14:30:00Z","waiterName":"\(long)","tableName":"T\\u0007\\u009b1",
        "items":[{"name":"Bur\\u202eregrub\\u202c\\u2066x\\u2069","quantity":1000000,
                  "modifiers":["no\\nonion","\(long)"],"notes":"\(long)"},
                 {"name":"Fries","quantity":-3},{"name":"Soup","quantity":0}]}]
      """
    let ticket = try #require(try TicketBatch.decode(Data(json.utf8)).tickets.first)
    #expect(ticket.items.map(\.quantity) == [999, 1, 1])
    #expect(ticket.items[0].name == "Burregrubx")
    #expect(ticket.items[0].modifiers[0] == "no onion")
    #expect(ticket.items[0].modifiers[1].unicodeScalars.count == DrawnText.maxModifier)
    #expect(ticket.items[0].modifiers[1].hasSuffix("\u{2026}"))
    #expect(ticket.items[0].notes?.unicodeScalars.count == DrawnText.maxNotes)
    #expect(ticket.waiterName?.unicodeScalars.count == DrawnText.maxWaiter)
    #expect(ticket.tableName == "T  1")
    #expect(DrawnText.clamp("short", to: 5) == "short")
    #expect(DrawnText.clamp("\u{2067}", to: 5) == "")
  }

  @Test func notAnArrayThrows() {
    #expect(throws: (any Error).self) { try TicketBatch.decode(Data("<html>502</html>".utf8)) }
  }

  @Test func slaThresholds() {
    let sent = Timestamp(seconds: 1_000)
    let sla = SLAThresholds.standard
    #expect(sla.state(sentAt: sent, now: sent.adding(seconds: 299)) == .green)
    #expect(sla.state(sentAt: sent, now: sent.adding(seconds: 300)) == .orange)
    #expect(sla.state(sentAt: sent, now: sent.adding(seconds: 600)) == .red)
    #expect(sla.state(sentAt: sent, now: sent.adding(seconds: -50)) == .green)
    #expect(formatElapsed(seconds: 247) == "4:07")
    #expect(formatElapsed(seconds: 3765) == "1:02:45")
  }
}
