import Foundation
import KDSTestSupport
import Testing

/// The reports (`/reports/...`) and the audit log behind them (docs/dashboard.md).
@Suite struct ReportsTests {
  @Test func ticketTimesAndAuditLogFromRealActions() async throws {
    let f = try Fixture()
    let manager = f.server.client(token: try f.server.createManagerToken())
    let grill2 = f.server.client(
      token: try f.server.createToken(device: "kiosk-grill-2", stations: ["grill"]))
    let placed = try await placeOrder(f.pos, items: [("Beef burger", "grill"), ("Soup", "hot")])
    let grillID = try #require(placed.tickets["grill"])
    let hotID = try #require(placed.tickets["hot"])
    let queue = try await f.grill.get("/kds/queue?station=grill")
    let sentAt = try #require(
      parseTime(queue.array?.first { $0["id"] as? String == grillID }?["sentAt"] as? String))

    #expect(try await f.grill.post("/kds/tickets/\(grillID)/start", key: newKey()).status == 200)
    let ready1 = try await f.grill.post(
      "/kds/tickets/\(grillID)/mark-ready",
      json:
        #"{"readyAt":"\#(rfc3339(sentAt + 150_000))","allergenCheckedAt":"\#(rfc3339(nowMillis()))"}"#,
      key: newKey())
    #expect(ready1.status == 200, "\(ready1)")
    #expect(try await f.grill.post("/kds/tickets/\(grillID)/recall", key: newKey()).status == 200)
    let ready2 = try await grill2.post(
      "/kds/tickets/\(grillID)/mark-ready", json: #"{"readyAt":"\#(rfc3339(sentAt + 200_000))"}"#,
      key: newKey())
    #expect(ready2.status == 200, "\(ready2)")
    // A void: the POS cancels an order whose grill ticket is open.
    let voided = try await placeOrder(f.pos, items: [("Steak", "grill")])
    let voidID = try #require(voided.tickets["grill"])
    #expect(
      try await f.pos.post("/pos/orders/\(voided.orderID)/cancel", key: newKey()).status == 200)
    // Cancelling again changes nothing and logs nothing more.
    #expect(
      try await f.pos.post("/pos/orders/\(voided.orderID)/cancel", key: newKey()).status == 200)

    let range = "from=\(rfc3339(sentAt - 60_000))&to=\(rfc3339(nowMillis() + 3_600_000))"
      .replacingOccurrences(of: "+", with: "%2B")
    let json = try await manager.get("/reports/ticket-times?\(range)")
    #expect(json.status == 200, "\(json)")
    let tickets = try #require(json.object?["tickets"] as? [[String: Any]])
    #expect(Set(tickets.compactMap { $0["id"] as? String }) == [grillID, hotID, voidID])
    let grill = try #require(tickets.first { $0["id"] as? String == grillID })
    #expect(grill["station"] as? String == "grill")
    #expect(parseTime(grill["sentAt"] as? String) == sentAt)
    #expect(grill["startedBy"] as? String == "kiosk-grill")
    #expect(parseTime(grill["startedAt"] as? String) != nil)
    #expect(grill["recalledBy"] as? String == "kiosk-grill")
    #expect(parseTime(grill["recalledAt"] as? String) != nil)
    #expect(grill["bumpedBy"] as? String == "kiosk-grill-2")
    #expect(parseTime(grill["readyAt"] as? String) == sentAt + 200_000)
    #expect(grill["ticketSeconds"] as? Int == 200)
    let hot = try #require(tickets.first { $0["id"] as? String == hotID })
    #expect(hot["readyAt"] is NSNull && hot["ticketSeconds"] is NSNull)
    let void = try #require(tickets.first { $0["id"] as? String == voidID })
    #expect(void["status"] as? String == "CANCELLED")
    #expect(void["voidedBy"] as? String == "pos-1")

    // CSV: by the Accept header, and by format=csv.
    let csv = try await manager.send(
      "GET", "/reports/ticket-times?\(range)", headers: ["Accept": "text/csv"])
    #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
    let lines = csv.text.components(separatedBy: "\r\n")
    #expect(
      lines.first
        == "ticket,order_number,station,status,sent_at,started_at,started_by,ready_at,bumped_by,recalled_at,recalled_by,voided_by,ticket_seconds"
    )
    let grillLine = try #require(lines.first { $0.hasPrefix(grillID + ",") }, "\(csv.text)")
    #expect(grillLine.hasSuffix(",kiosk-grill,,200"), "\(grillLine)")
    #expect(grillLine.contains(",kiosk-grill-2,"))
    #expect(lines.count == 5, "header, three tickets, empty end: \(lines)")
    let csv2 = try await manager.get("/reports/ticket-times?\(range)&format=csv")
    #expect(csv2.text == csv.text)

    // One station only.
    let hotOnly = try await manager.get("/reports/ticket-times?\(range)&station=hot")
    #expect(
      (hotOnly.object?["tickets"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        == [hotID])

    // The audit log: who did what to the grill ticket, in order.
    let audit = try await manager.get("/reports/audit?ticket=\(grillID)")
    let entries = try #require(audit.object?["entries"] as? [[String: Any]], "\(audit)")
    #expect(
      entries.compactMap { $0["action"] as? String }
        == ["start", "mark-ready", "allergen-acknowledged", "recall", "mark-ready"])
    #expect(
      entries.compactMap { $0["device"] as? String }
        == ["kiosk-grill", "kiosk-grill", "kiosk-grill", "kiosk-grill", "kiosk-grill-2"])
    #expect(entries.allSatisfy { $0["station"] as? String == "grill" })
    let voids = try await manager.get("/reports/audit?ticket=\(voidID)")
    let voidEntries = try #require(voids.object?["entries"] as? [[String: Any]])
    #expect(voidEntries.count == 1)
    #expect(voidEntries.first?["action"] as? String == "void")
    #expect(voidEntries.first?["device"] as? String == "pos-1")
    #expect(voidEntries.first?["order"] as? String == voided.orderID)
    let auditCSV = try await manager.get("/reports/audit?\(range)&format=csv")
    #expect(auditCSV.text.hasPrefix("at,device,action,ticket,order,station\r\n"))
    #expect(
      auditCSV.text.components(separatedBy: "\r\n").filter { $0.contains(",void,") }.count == 1)

    // Bad input is a clear 422.
    expectError(
      try await manager.get("/reports/ticket-times?from=yesterday"), 422, messageContains: "from")
    expectError(try await manager.get("/reports/hourly?format=xml"), 422, messageContains: "format")
    expectError(try await manager.get("/reports/audit?station=Not%20A%20Station"), 422)
  }

  @Test func hourlyPercentilesAndTheChartPage() async throws {
    let f = try Fixture()
    let manager = f.server.client(token: try f.server.createManagerToken())
    let seed = try TicketSeeder(f.server)
    // 20 November 2026, local time: ten tickets sent in the 12:00 hour,
    // taking 60, 120, ... 600 s; three in the 13:00 hour, two of them ready.
    for n in 1...10 {
      let sent = localMillis(2026, 11, 20, 12, 5 + n)
      try seed.add(station: "grill", sentAt: sent, readyAt: sent + Int64(n) * 60_000)
    }
    let one = localMillis(2026, 11, 20, 13, 20)
    try seed.add(station: "grill", sentAt: one, readyAt: one + 100_000)
    try seed.add(station: "grill", sentAt: one, readyAt: one + 200_000)
    try seed.add(station: "grill", sentAt: one + 600_000)
    try seed.add(station: "hot", sentAt: one, readyAt: one + 30_000)
    // The day before and after do not count.
    try seed.add(station: "grill", sentAt: localMillis(2026, 11, 19, 23, 50), readyAt: one)
    try seed.add(station: "grill", sentAt: localMillis(2026, 11, 21, 0, 10), readyAt: one)

    let r = try await manager.get("/reports/hourly?from=2026-11-20&to=2026-11-20&station=grill")
    #expect(r.status == 200, "\(r)")
    let hours = try #require(r.object?["hours"] as? [[String: Any]])
    #expect(hours.count == 2, "\(hours)")
    let noon = try #require(hours.first)
    #expect(parseTime(noon["hour"] as? String) == localMillis(2026, 11, 20, 12, 0))
    #expect(noon["station"] as? String == "grill")
    #expect(noon["sent"] as? Int == 10 && noon["ready"] as? Int == 10)
    #expect(noon["average"] as? Int == 330)
    #expect(noon["p50"] as? Int == 300)
    #expect(noon["p90"] as? Int == 540)
    #expect(noon["max"] as? Int == 600)
    let afternoon = hours[1]
    #expect(parseTime(afternoon["hour"] as? String) == localMillis(2026, 11, 20, 13, 0))
    #expect(afternoon["sent"] as? Int == 3 && afternoon["ready"] as? Int == 2)
    #expect(afternoon["average"] as? Int == 150 && afternoon["p90"] as? Int == 200)

    let all = try await manager.get("/reports/hourly?from=2026-11-20&to=2026-11-20")
    #expect((all.object?["hours"] as? [[String: Any]])?.count == 3)
    let csv = try await manager.get(
      "/reports/hourly?from=2026-11-20&to=2026-11-20&station=grill&format=csv")
    let lines = csv.text.components(separatedBy: "\r\n")
    #expect(
      lines.first
        == "hour,station,sent,ready,average_seconds,p50_seconds,p90_seconds,max_seconds")
    #expect(lines[1].hasSuffix(",grill,10,10,330,300,540,600"), "\(lines)")

    let page = try await manager.get("/reports?date=2026-11-20&station=grill")
    #expect(page.status == 200)
    #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
    #expect(page.text.contains("<svg"))
    #expect(!page.text.contains("<script"))
    #expect(page.text.components(separatedBy: "class=\"avg\"").count - 1 == 2)
    #expect(page.text.components(separatedBy: "class=\"p90\"").count - 1 == 2)
    #expect(page.text.contains("12:00 p90 9:00"))
    let allStations = try await manager.get("/reports?date=2026-11-20")
    #expect(
      allStations.text.contains("<h2>grill</h2>") && allStations.text.contains("<h2>hot</h2>"))
    expectError(try await manager.get("/reports?date=20-11-2026"), 422, messageContains: "date")
  }
}
