import Foundation
import KDSTestSupport
import Testing

/// Issue 14's kitchen tools over real HTTP (docs/sync-contract.md,
/// "Extension: kitchen tools"): item marks, rush, courses, expo.
@Suite("Kitchen tools (issue 14)")
struct KitchenToolsTests {
  /// A fixture with an expo, a bar and a manager token beside the POS and grill ones.
  struct Kitchen {
    let f: Fixture
    let expo: LoopbackHTTPClient
    let bar: LoopbackHTTPClient
    let manager: LoopbackHTTPClient

    init() throws {
      f = try Fixture()
      expo = f.server.client(token: try f.server.createToken(device: "expo-1", stations: ["expo"]))
      bar = f.server.client(token: try f.server.createToken(device: "kiosk-bar", stations: ["bar"]))
      manager = f.server.client(token: try f.server.createManagerToken())
    }
  }

  /// An order body: items `(name, station, course)`, optionally a priority.
  static func order(_ items: [(String, String, Int?)], priority: String? = nil) -> String {
    let list = items.map { name, station, course in
      #"{"name":"\#(name)","quantity":1,"station":"\#(station)"\#(course.map { #","course":\#($0)"# } ?? "")}"#
    }
    let p = priority.map { #","priority":\#($0)"# } ?? ""
    return
      #"{"tableId":"table-4","waiterName":"Amina"\#(p),"items":[\#(list.joined(separator: ","))]}"#
  }

  /// Creates and sends an order; returns its id and the tickets of the send.
  static func send(_ pos: LoopbackHTTPClient, _ body: String) async throws -> (
    id: String, tickets: [[String: Any]]
  ) {
    let created = try await pos.post("/pos/orders", json: body, key: newKey())
    try #require(created.status == 201, "create: \(created)")
    let id = try #require(created.object?["id"] as? String)
    let sent = try await pos.post("/pos/orders/\(id)/send-to-kitchen", key: newKey())
    try #require(sent.status == 200, "send: \(sent)")
    return (id, try #require(sent.object?["tickets"] as? [[String: Any]]))
  }

  /// The same request twice with one key: the second is the first's replay.
  @discardableResult
  static func expectReplay(
    _ client: LoopbackHTTPClient, _ path: String, _ body: String = "{}",
    sourceLocation: SourceLocation = #_sourceLocation
  ) async throws -> HTTPResult {
    let key = newKey()
    let first = try await client.post(path, json: body, key: key)
    #expect(first.status == 200, "\(path): \(first)", sourceLocation: sourceLocation)
    let again = try await client.post(path, json: body, key: key)
    #expect(again.status == first.status, sourceLocation: sourceLocation)
    #expect(again.header("Idempotent-Replayed") == "true", sourceLocation: sourceLocation)
    #expect(again.text == first.text, "replay is the first answer", sourceLocation: sourceLocation)
    // The same key with another body: the fingerprint does not match.
    expectError(
      try await client.post(path, json: #"{"other":1}"#, key: key), 409,
      conflictType: "IDEMPOTENCY_FINGERPRINT_MISMATCH", sourceLocation: sourceLocation)
    return first
  }

  static func queue(_ client: LoopbackHTTPClient, _ station: String, since: String? = nil)
    async throws -> [[String: Any]]
  {
    let r = try await client.get(
      "/kds/queue?station=\(station)" + (since.map { "&since=\($0)" } ?? ""))
    try #require(r.status == 200, "queue \(station): \(r)")
    return try #require(r.array)
  }

  static func latest(_ tickets: [[String: Any]]) -> String? {
    tickets.compactMap { $0["updatedAt"] as? String }.max()
  }

  // MARK: item marks

  @Test func itemMarksAreStoredPerItemStampedAndAudited() async throws {
    let k = try Kitchen()
    let (_, tickets) = try await Self.send(
      k.f.pos,
      Self.order([("Burger", "grill", nil), ("Skewers", "grill", nil), ("Beer", "bar", nil)]))
    let grill = try #require(tickets.first { $0["station"] as? String == "grill" })
    let bar = try #require(tickets.first { $0["station"] as? String == "bar" })
    let t = try #require(grill["id"] as? String)
    let items = try #require(grill["items"] as? [[String: Any]])
    let first = try #require(items[0]["id"] as? String)
    let second = try #require(items[1]["id"] as? String)
    #expect(items.allSatisfy { $0["doneAt"] == nil }, "no doneAt before a mark")
    let cursor = try #require(Self.latest(try await Self.queue(k.f.grill, "grill")))

    // Happy path with a replay; the cook's doneAt is kept.
    let done = try await Self.expectReplay(
      k.f.grill, "/kds/tickets/\(t)/items/\(first)/mark-done",
      #"{"doneAt":"2026-12-01T12:00:00.5Z"}"#)
    let doneItems = try #require(done.object?["items"] as? [[String: Any]])
    #expect(doneItems[0]["doneAt"] as? String == "2026-12-01T12:00:00.500Z")
    #expect(doneItems[1]["doneAt"] == nil)
    #expect(done.object?["status"] as? String == "QUEUED")
    let stamped = try #require(done.object?["updatedAt"] as? String)
    #expect(stamped > cursor)
    // Every screen of the station sees it through the poll.
    let polled = try await Self.queue(k.f.grill, "grill", since: cursor)
    #expect(polled.count == 1)
    #expect((polled.first?["items"] as? [[String: Any]])?[0]["doneAt"] != nil)

    // Marking it again is a no-op: no restamp.
    let again = try await k.f.grill.post(
      "/kds/tickets/\(t)/items/\(first)/mark-done", key: newKey())
    #expect(again.status == 200)
    #expect(again.object?["updatedAt"] as? String == stamped)

    // Every line done does not bump the ticket; a manager and the expo may mark.
    let byExpo = try await k.expo.post(
      "/kds/tickets/\(t)/items/\(second)/mark-done", key: newKey())
    #expect(byExpo.status == 200, "\(byExpo)")
    #expect(byExpo.object?["status"] as? String == "QUEUED")
    let undone = try await Self.expectReplay(
      k.manager, "/kds/tickets/\(t)/items/\(second)/mark-undone")
    #expect((undone.object?["items"] as? [[String: Any]])?[1]["doneAt"] == nil)
    #expect((undone.object?["items"] as? [[String: Any]])?[0]["doneAt"] != nil)

    // Another station's ticket: 404 like a missing one; unknown ticket and item: 404.
    expectError(
      try await k.bar.post("/kds/tickets/\(t)/items/\(first)/mark-done", key: newKey()), 404)
    expectError(
      try await k.f.grill.post(
        "/kds/tickets/\(try #require(bar["id"] as? String))/items/it-3/mark-done", key: newKey()),
      404)
    expectError(
      try await k.f.grill.post("/kds/tickets/nope/items/\(first)/mark-done", key: newKey()), 404)
    expectError(
      try await k.f.grill.post("/kds/tickets/\(t)/items/it-99/mark-done", key: newKey()), 404,
      messageContains: "it-99")
    // Validation.
    expectError(
      try await k.f.grill.post(
        "/kds/tickets/\(t)/items/\(first)/mark-done", json: #"{"doneAt":"yesterday"}"#,
        key: newKey()), 422, messageContains: "doneAt")
    // After the bump: 409.
    #expect(
      try await k.f.grill.post("/kds/tickets/\(t)/mark-ready", key: newKey()).status == 200)
    for verb in ["mark-done", "mark-undone"] {
      expectError(
        try await k.f.grill.post("/kds/tickets/\(t)/items/\(first)/\(verb)", key: newKey()), 409,
        conflictType: "INVALID_STATE_TRANSITION", messageContains: "READY")
    }
    // Audited, with the item.
    let audit = try await k.manager.get("/reports/audit?ticket=\(t)")
    let entries = try #require(audit.object?["entries"] as? [[String: Any]])
    let marks = entries.filter { ($0["action"] as? String)?.hasPrefix("item-") == true }
    #expect(marks.map { $0["action"] as? String } == ["item-done", "item-done", "item-undone"])
    #expect(marks.map { $0["detail"] as? String } == [first, second, second])
    #expect(marks.map { $0["device"] as? String } == ["kiosk-grill", "expo-1", "manager-1"])
  }

  // MARK: rush

  @Test func rushIsValidatedAndReachesEveryTicketOfTheOrder() async throws {
    let k = try Kitchen()
    for bad in [#""HIGH""#, "5", #""rush""#, "true"] {
      expectError(
        try await k.f.pos.post(
          "/pos/orders", json: Self.order([("Soup", "grill", nil)], priority: bad), key: newKey()),
        422, messageContains: "priority")
    }
    let plain = try await k.f.pos.post(
      "/pos/orders", json: Self.order([("Soup", "grill", nil)], priority: "null"), key: newKey())
    #expect(plain.status == 201)
    #expect(plain.object?["priority"] == nil)

    // A rush order: the order and every ticket carry it.
    let (rushID, rushTickets) = try await Self.send(
      k.f.pos, Self.order([("Burger", "grill", nil), ("Beer", "bar", nil)], priority: #""RUSH""#))
    #expect(rushTickets.count == 2)
    #expect(rushTickets.allSatisfy { $0["priority"] as? String == "RUSH" })
    #expect(try await k.f.pos.get("/pos/orders/\(rushID)").object?["priority"] as? String == "RUSH")
    #expect(try await Self.queue(k.bar, "bar").first?["priority"] as? String == "RUSH")

    // The expo rushes a plain order from one of its tickets: every ticket follows.
    let (id, tickets) = try await Self.send(
      k.f.pos, Self.order([("Steak", "grill", nil), ("Wine", "bar", nil)]))
    #expect(tickets.allSatisfy { $0["priority"] == nil })
    let grillTicket = try #require(
      tickets.first { $0["station"] as? String == "grill" }?["id"] as? String)
    let barCursor = try #require(Self.latest(try await Self.queue(k.bar, "bar")))
    expectError(
      try await k.f.grill.post(
        "/kds/tickets/\(grillTicket)/rush", json: #"{"rush":true}"#, key: newKey()), 403)
    expectError(
      try await k.expo.post("/kds/tickets/\(grillTicket)/rush", json: "{}", key: newKey()), 422,
      messageContains: "rush")
    expectError(
      try await k.expo.post("/kds/tickets/nope/rush", json: #"{"rush":true}"#, key: newKey()), 404)
    let rushed = try await Self.expectReplay(
      k.expo, "/kds/tickets/\(grillTicket)/rush", #"{"rush":true}"#)
    #expect(rushed.object?["priority"] as? String == "RUSH")
    let barSeen = try await Self.queue(k.bar, "bar", since: barCursor)
    #expect(barSeen.count == 1)
    #expect(barSeen.first?["priority"] as? String == "RUSH", "the bar's ticket is rushed too")
    #expect(try await k.f.pos.get("/pos/orders/\(id)").object?["priority"] as? String == "RUSH")

    // Later tickets of a rush order (an amendment) carry it.
    let stamp = try #require(
      try await k.f.pos.get("/pos/orders/\(id)").object?["updatedAt"] as? String)
    let patched = try await k.f.pos.patch(
      "/pos/orders/\(id)",
      json: #"{"updatedAt":"\#(stamp)","items":[{"name":"Chips","quantity":1,"station":"fry"}]}"#,
      key: newKey())
    #expect(patched.status == 200, "\(patched)")
    let more = try await k.f.pos.post("/pos/orders/\(id)/send-to-kitchen", key: newKey())
    #expect(
      (more.object?["tickets"] as? [[String: Any]])?.first?["priority"] as? String == "RUSH")

    // A manager clears it; every open ticket loses it.
    let cleared = try await k.manager.post(
      "/kds/tickets/\(grillTicket)/rush", json: #"{"rush":false}"#, key: newKey())
    #expect(cleared.status == 200, "\(cleared)")
    #expect(cleared.object?["priority"] == nil)
    let barNow = try await Self.queue(k.bar, "bar", since: barCursor)
    #expect(barNow.last?["priority"] == nil)
    #expect(try await k.f.pos.get("/pos/orders/\(id)").object?["priority"] == nil)

    // A cancelled ticket cannot be rushed.
    let (voided, voidedTickets) = try await Self.send(k.f.pos, Self.order([("Tea", "bar", nil)]))
    #expect(try await k.f.pos.post("/pos/orders/\(voided)/cancel", key: newKey()).status == 200)
    expectError(
      try await k.expo.post(
        "/kds/tickets/\(try #require(voidedTickets.first?["id"] as? String))/rush",
        json: #"{"rush":true}"#, key: newKey()), 409, conflictType: "INVALID_STATE_TRANSITION")
  }

  // MARK: courses

  @Test func coursesSplitHoldAndFireWithTheTimerStartingAtTheFire() async throws {
    let k = try Kitchen()
    let (id, tickets) = try await Self.send(
      k.f.pos,
      Self.order([
        ("Soup", "grill", 1), ("Steak", "grill", 2), ("Salad", "bar", 1), ("Wine", "bar", 2),
        ("Cake", "grill", 3), ("Water", "bar", nil),
      ]))
    // One ticket per station and course; the first course QUEUED, the later
    // courses HELD.
    let shape = Set(
      tickets.map { t in
        "\(t["station"] as! String)/\((t["course"] as? Int).map(String.init) ?? "-")/\(t["status"] as! String)"
      })
    #expect(
      shape == [
        "grill/1/QUEUED", "grill/2/HELD", "grill/3/HELD", "bar/1/QUEUED", "bar/2/HELD",
      ], "\(shape)")
    // The item without a course went with the first course.
    let bar1 = try #require(
      tickets.first { $0["station"] as? String == "bar" && $0["course"] as? Int == 1 })
    #expect(
      (bar1["items"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == [
        "Salad", "Water",
      ])
    let held = tickets.filter { $0["status"] as? String == "HELD" }
    #expect(held.allSatisfy { $0["slaState"] as? String == "GREEN" })
    let order = try #require(try await k.f.pos.get("/pos/orders/\(id)").object)
    #expect(order["firedCourses"] as? [Int] == [1])

    // HELD tickets are on their station's queue (a seed kiosk ignores them)
    // and cannot be bumped, started or marked.
    let grillHeld = try #require(
      held.first { $0["station"] as? String == "grill" && $0["course"] as? Int == 2 })
    let grillHeldID = try #require(grillHeld["id"] as? String)
    let heldSentAt = try #require(grillHeld["sentAt"] as? String)
    for action in ["mark-ready", "start", "recall"] {
      expectError(
        try await k.f.grill.post("/kds/tickets/\(grillHeldID)/\(action)", key: newKey()), 409,
        conflictType: "INVALID_STATE_TRANSITION", messageContains: "HELD")
    }
    expectError(
      try await k.f.grill.post(
        "/kds/tickets/\(grillHeldID)/items/it-2/mark-done", key: newKey()), 409)
    // The dashboard does not count HELD tickets as open (nor late).
    let status = try #require(try await k.manager.get("/status.json").object)
    let stations = try #require(status["stations"] as? [[String: Any]])
    #expect(stations.first { $0["station"] as? String == "grill" }?["open"] as? Int == 1)
    #expect(stations.first { $0["station"] as? String == "bar" }?["open"] as? Int == 1)

    // Fire course 2: its HELD tickets become QUEUED with sentAt = the fire time.
    let heldSent = try #require(MillisTime.parse(heldSentAt))
    try await waitUntil("the wall clock moves past the send") {
      Date().timeIntervalSince(heldSent) > 0.01
    }
    expectError(
      try await k.f.grill.post(
        "/pos/orders/\(id)/fire-course", json: #"{"course":2}"#, key: newKey()), 403)
    expectError(
      try await k.f.grill.post(
        "/kds/orders/\(id)/fire-course", json: #"{"course":2}"#, key: newKey()), 403)
    for bad in ["{}", #"{"course":0}"#, #"{"course":"2"}"#, #"{"course":21}"#] {
      expectError(
        try await k.f.pos.post("/pos/orders/\(id)/fire-course", json: bad, key: newKey()), 422,
        messageContains: "course")
    }
    expectError(
      try await k.f.pos.post(
        "/pos/orders/\(id)/fire-course", json: #"{"course":7}"#, key: newKey()),
      422, messageContains: "course 7")
    expectError(
      try await k.f.pos.post("/pos/orders/nope/fire-course", json: #"{"course":2}"#, key: newKey()),
      404)
    let grillCursor = try #require(Self.latest(try await Self.queue(k.f.grill, "grill")))
    let fired = try await Self.expectReplay(
      k.f.pos, "/pos/orders/\(id)/fire-course", #"{"course":2}"#)
    let firedTickets = try #require(fired.object?["tickets"] as? [[String: Any]])
    #expect(firedTickets.count == 2)
    #expect(
      firedTickets.allSatisfy { $0["status"] as? String == "QUEUED" && $0["course"] as? Int == 2 })
    for t in firedTickets {
      let sentAt = try #require(t["sentAt"] as? String)
      #expect(sentAt > heldSentAt, "the timer starts at the fire: \(sentAt) after \(heldSentAt)")
    }
    #expect((fired.object?["order"] as? [String: Any])?["firedCourses"] as? [Int] == [1, 2])
    let grillSees = try await Self.queue(k.f.grill, "grill", since: grillCursor)
    #expect(grillSees.map { $0["id"] as? String } == [grillHeldID])
    #expect(grillSees.first?["status"] as? String == "QUEUED")
    // Firing it again: 200, nothing changed.
    let twice = try await k.f.pos.post(
      "/pos/orders/\(id)/fire-course", json: #"{"course":2}"#, key: newKey())
    #expect(twice.status == 200)
    #expect((twice.object?["tickets"] as? [Any])?.isEmpty == true)
    #expect(try await Self.queue(k.f.grill, "grill", since: Self.latest(grillSees)).isEmpty)

    // An amendment: a course-2 item goes out QUEUED (fired), a course-3 one HELD.
    let stamp = try #require(
      try await k.f.pos.get("/pos/orders/\(id)").object?["updatedAt"] as? String)
    let patched = try await k.f.pos.patch(
      "/pos/orders/\(id)",
      json:
        #"{"updatedAt":"\#(stamp)","items":[{"name":"Fries","quantity":1,"station":"grill","course":2},{"name":"Ice cream","quantity":1,"station":"bar","course":3}]}"#,
      key: newKey())
    #expect(patched.status == 200, "\(patched)")
    let amended = try await k.f.pos.post("/pos/orders/\(id)/send-to-kitchen", key: newKey())
    let amendedShape = Set(
      ((amended.object?["tickets"] as? [[String: Any]]) ?? []).map {
        "\($0["station"] as! String)/\($0["course"] as! Int)/\($0["status"] as! String)"
      })
    #expect(amendedShape == ["grill/2/QUEUED", "bar/3/HELD"], "\(amendedShape)")

    // The expo fires course 3 from its screen: every HELD course-3 ticket.
    let third = try await Self.expectReplay(
      k.expo, "/kds/orders/\(id)/fire-course", #"{"course":3}"#)
    #expect((third.object?["tickets"] as? [[String: Any]])?.count == 2)
    #expect((third.object?["order"] as? [String: Any])?["firedCourses"] as? [Int] == [1, 2, 3])
    let all = try await Self.queue(k.expo, "expo")
    #expect(
      all.filter { $0["orderId"] as? String == id }.allSatisfy {
        $0["status"] as? String == "QUEUED"
      })

    // Voiding an order cancels its HELD tickets too.
    let (voided, voidedTickets) = try await Self.send(
      k.f.pos, Self.order([("Soup", "grill", 1), ("Steak", "grill", 2)]))
    #expect(voidedTickets.map { $0["status"] as? String } == ["QUEUED", "HELD"])
    #expect(try await k.f.pos.post("/pos/orders/\(voided)/cancel", key: newKey()).status == 200)
    let afterVoid = try await Self.queue(k.f.grill, "grill").filter {
      $0["orderId"] as? String == voided
    }
    #expect(afterVoid.count == 2 && afterVoid.allSatisfy { $0["status"] as? String == "CANCELLED" })
    expectError(
      try await k.f.pos.post(
        "/pos/orders/\(voided)/fire-course", json: #"{"course":2}"#, key: newKey()), 409)
  }

  // MARK: expo

  @Test func expoSeesEveryStationServesAndRecalls() async throws {
    let k = try Kitchen()
    let (id, tickets) = try await Self.send(
      k.f.pos, Self.order([("Burger", "grill", nil), ("Beer", "bar", nil)]))
    let grillID = try #require(
      tickets.first { $0["station"] as? String == "grill" }?["id"] as? String)
    let barID = try #require(tickets.first { $0["station"] as? String == "bar" }?["id"] as? String)

    // The expo's queue carries every station; it may not read one station's queue.
    let all = try await Self.queue(k.expo, "expo")
    #expect(Set(all.compactMap { $0["id"] as? String }) == [grillID, barID])
    expectError(try await k.expo.get("/kds/queue?station=grill"), 403)
    expectError(try await k.f.grill.get("/kds/queue?station=expo"), 403)
    let cursor = try #require(Self.latest(all))
    #expect(try await Self.queue(k.expo, "expo", since: cursor).isEmpty)

    // The push stream of the expo carries every station too.
    let stream = try SSEReader(
      port: k.f.server.port, path: "/kds/stream?station=expo&since=\(cursor)",
      headers: [
        "Authorization":
          "Bearer \(try k.f.server.createToken(device: "expo-2", stations: ["expo"]))"
      ])
    defer { stream.close() }
    try await waitUntil("the expo stream opens") { !stream.events().comments.isEmpty }

    // Not every ticket READY: 409 with the blocking ticket.
    #expect(
      try await k.f.grill.post("/kds/tickets/\(grillID)/mark-ready", key: newKey()).status == 200)
    let blocked = expectError(
      try await k.expo.post("/kds/orders/\(id)/serve", key: newKey()), 409,
      conflictType: "INVALID_STATE_TRANSITION")
    #expect((blocked["currentState"] as? [String: Any])?["id"] as? String == barID)
    #expect((blocked["currentState"] as? [String: Any])?["status"] as? String == "QUEUED")
    // READY tickets stay on the expo's queue (they are its work).
    let readySeen = try await Self.queue(k.expo, "expo", since: cursor)
    #expect(readySeen.map { $0["status"] as? String } == ["READY"])

    // The expo sends the grill's ticket back (recall of any station); a bar
    // token still cannot touch the grill's ticket.
    expectError(try await k.bar.post("/kds/tickets/\(grillID)/recall", key: newKey()), 404)
    let recalled = try await k.expo.post("/kds/tickets/\(grillID)/recall", key: newKey())
    #expect(recalled.object?["status"] as? String == "IN_PROGRESS", "\(recalled)")
    expectError(try await k.expo.post("/kds/tickets/\(grillID)/mark-ready", key: newKey()), 404)
    #expect(
      try await k.f.grill.post("/kds/tickets/\(grillID)/mark-ready", key: newKey()).status == 200)
    #expect(try await k.bar.post("/kds/tickets/\(barID)/mark-ready", key: newKey()).status == 200)

    // Serve: station tokens may not; the expo serves every ticket.
    expectError(try await k.f.grill.post("/kds/orders/\(id)/serve", key: newKey()), 403)
    expectError(try await k.expo.post("/kds/orders/nope/serve", key: newKey()), 404)
    let served = try await Self.expectReplay(k.expo, "/kds/orders/\(id)/serve")
    let servedTickets = try #require(served.object?["tickets"] as? [[String: Any]])
    #expect(servedTickets.count == 2)
    #expect(
      servedTickets.allSatisfy { $0["status"] as? String == "SERVED" && $0["servedAt"] != nil })
    let servedOrder = try #require(served.object?["order"] as? [String: Any])
    #expect(servedOrder["servedAt"] is String)
    // Again: 200, nothing changed.
    let again = try await k.manager.post("/kds/orders/\(id)/serve", key: newKey())
    #expect(again.status == 200, "\(again)")
    #expect(
      (again.object?["tickets"] as? [[String: Any]])?.map { $0["updatedAt"] as? String }
        == servedTickets.map { $0["updatedAt"] as? String })
    // Each station learns it (and drops the ticket); SERVED is final.
    #expect(try await Self.queue(k.bar, "bar").first?["status"] as? String == "SERVED")
    expectError(
      try await k.expo.post("/kds/tickets/\(grillID)/recall", key: newKey()), 409,
      conflictType: "INVALID_STATE_TRANSITION", messageContains: "SERVED")
    // The stream carried both stations' changes, up to SERVED.
    try await waitUntil("the expo stream sees both tickets served") {
      let seen = stream.tickets().filter { $0.ticket["status"] as? String == "SERVED" }
      return Set(seen.compactMap { $0.ticket["id"] as? String }) == [grillID, barID]
    }
    let stations = Set(stream.tickets().compactMap { $0.ticket["station"] as? String })
    #expect(stations == ["grill", "bar"])

    // Reports: ticket time is sent to ready, and the serve is recorded.
    let report = try await k.manager.get("/reports/ticket-times")
    let rows = try #require(report.object?["tickets"] as? [[String: Any]])
    #expect(rows.filter { $0["servedAt"] is String }.count == 2)
    let audit = try #require(
      try await k.manager.get("/reports/audit").object?["entries"] as? [[String: Any]])
    #expect(audit.filter { $0["action"] as? String == "serve" }.count == 2)

    // An order with nothing ready cannot be served.
    let (other, _) = try await Self.send(k.f.pos, Self.order([("Tea", "bar", nil)]))
    expectError(
      try await k.expo.post("/kds/orders/\(other)/serve", key: newKey()), 409,
      conflictType: "INVALID_STATE_TRANSITION")
  }

  // MARK: a client of the seed contract

  /// A client that knows only the seed's ticket fields and statuses: it
  /// decodes what it knows, keeps unknown statuses unseen, and bumps with
  /// the seed's mark-ready.
  struct SeedTicket: Decodable {
    var id: String
    var orderId: String
    var station: String
    var status: String
    var sentAt: String
    var updatedAt: String
    var items: [SeedItem]
    struct SeedItem: Decodable {
      var name: String
      var quantity: Int
    }
    static let known: Set<String> = ["QUEUED", "IN_PROGRESS", "READY", "CANCELLED"]
    var shown: Bool { status == "QUEUED" || status == "IN_PROGRESS" }
  }

  @Test func aSeedOnlyClientStillWorksWithCoursesAndRush() async throws {
    let k = try Kitchen()
    // Seed fields only on the POS side too (course was in the seed).
    let seedOrder =
      #"{"tableId":"table-2","items":[{"name":"Soup","quantity":1,"station":"grill","course":1},{"name":"Steak","quantity":1,"station":"grill","course":2}]}"#
    let created = try await k.f.pos.post("/pos/orders", json: seedOrder, key: newKey())
    #expect(created.status == 201)
    let id = try #require(created.object?["id"] as? String)
    #expect(
      try await k.f.pos.post("/pos/orders/\(id)/send-to-kitchen", key: newKey()).status == 200)

    func poll(_ since: String?) async throws -> [SeedTicket] {
      let r = try await k.f.grill.get(
        "/kds/queue?station=grill" + (since.map { "&since=\($0)" } ?? ""))
      #expect(r.status == 200)
      return try JSONDecoder().decode([SeedTicket].self, from: Data(r.body))
    }
    let first = try await poll(nil)
    #expect(first.count == 2, "both tickets decode with the seed's fields")
    let shown = first.filter(\.shown)
    let unknown = first.filter { !SeedTicket.known.contains($0.status) }
    #expect(shown.count == 1 && shown.first?.items.map(\.name) == ["Soup"])
    #expect(unknown.map(\.status) == ["HELD"], "the held course is an unknown status, not shown")
    // The seed's bump works; the cursor works.
    let cursor = try #require(first.map(\.updatedAt).max())
    let bump = try await k.f.grill.post(
      "/kds/tickets/\(shown[0].id)/mark-ready", json: #"{"readyAt":"2026-12-01T12:00:00Z"}"#,
      key: newKey())
    #expect(bump.status == 200)
    let next = try await poll(cursor)
    #expect(next.map(\.status) == ["READY"])
    // Firing the course (by the POS or expo) makes it appear as an ordinary QUEUED ticket.
    #expect(
      try await k.f.pos.post("/pos/orders/\(id)/fire-course", json: #"{"course":2}"#, key: newKey())
        .status == 200)
    let fired = try await poll(next.map(\.updatedAt).max())
    #expect(fired.count == 1 && fired[0].shown && fired[0].items.map(\.name) == ["Steak"])

    // An order without the extensions gives tickets with the seed's fields
    // only (plus the items' ids, which kds-server always sent).
    let (_, plain) = try await Self.send(k.f.pos, Self.order([("Burger", "grill", nil)]))
    let keys = Set(try #require(plain.first).keys)
    #expect(
      keys == [
        "id", "orderId", "orderNumber", "station", "status", "sentAt", "updatedAt", "waiterName",
        "tableName", "orderType", "slaState", "items",
      ], "\(keys)")
    let itemKeys = Set(try #require((plain.first?["items"] as? [[String: Any]])?.first).keys)
    #expect(!itemKeys.contains("doneAt"))
  }
}

/// RFC 3339 with milliseconds, as the server writes it.
enum MillisTime {
  static func parse(_ text: String) -> Date? {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.date(from: text)
  }
}
