import Foundation
import KDSTestSupport
import Testing

@Suite("POS and kitchen flow")
struct KitchenFlowTests {
  @Test func sendToKitchenMakesOneTicketPerStationInTheContractShape() async throws {
    let f = try Fixture()
    let body =
      #"{"tableId":"table-8","waiterName":"Amina","orderType":"DINE_IN","items":[{"name":"Beef burger","quantity":2,"station":"grill","modifiers":["no onion","extra cheese"],"notes":"allergy: peanuts","course":1},{"name":"Goat skewers","quantity":1,"station":"grill"},{"name":"Passion juice","quantity":1,"station":"bar"}]}"#
    let created = try await f.pos.post("/pos/orders", json: body, key: newKey())
    #expect(created.status == 201)
    let order = try #require(created.object)
    #expect(order["status"] as? String == "NEW")
    #expect((order["items"] as? [[String: Any]])?.count == 3)
    #expect((order["updatedAt"] as? String)?.hasSuffix("Z") == true)
    let id = try #require(order["id"] as? String)
    let sent = try await f.pos.post("/pos/orders/\(id)/send-to-kitchen", key: newKey())
    #expect(sent.status == 200)
    let tickets = try #require(sent.object?["tickets"] as? [[String: Any]])
    #expect(tickets.count == 2)
    #expect(Set(tickets.compactMap { $0["station"] as? String }) == ["grill", "bar"])
    #expect((sent.object?["order"] as? [String: Any])?["status"] as? String == "SENT")

    let queue = try await f.grill.get("/kds/queue?station=grill")
    #expect(queue.status == 200)
    let t = try #require(queue.array?.first)
    #expect(queue.array?.count == 1)
    for field in [
      "id", "orderId", "orderNumber", "station", "status", "sentAt", "updatedAt", "waiterName",
      "tableName", "orderType", "slaState", "items",
    ] {
      #expect(t[field] != nil, "ticket has \(field)")
    }
    #expect(t["orderId"] as? String == id)
    #expect(t["status"] as? String == "QUEUED")
    #expect(t["tableName"] as? String == "Table 8")
    #expect(t["waiterName"] as? String == "Amina")
    #expect(t["orderType"] as? String == "DINE_IN")
    #expect(t["slaState"] as? String == "GREEN")
    let updatedAt = try #require(t["updatedAt"] as? String)
    #expect(
      updatedAt.count == 24 && updatedAt.dropLast().split(separator: ".").last?.count == 3,
      "three fractional digits: \(updatedAt)")
    let items = try #require(t["items"] as? [[String: Any]])
    #expect(items.count == 2)
    #expect(items[0]["name"] as? String == "Beef burger")
    #expect(items[0]["quantity"] as? Int == 2)
    #expect(items[0]["modifiers"] as? [String] == ["no onion", "extra cheese"])
    #expect(items[0]["notes"] as? String == "allergy: peanuts")
    #expect(items[0]["course"] as? Int == 1)
    #expect(items[0]["id"] is String)

    // Nothing new to send: 200 with no tickets.
    let again = try await f.pos.post("/pos/orders/\(id)/send-to-kitchen", key: newKey())
    #expect(again.status == 200)
    #expect((again.object?["tickets"] as? [Any])?.isEmpty == true)
    // PATCH adds items (sent ones stay), a new send makes a ticket for them only.
    let current = try await f.pos.get("/pos/orders/\(id)")
    let stamp = try #require(current.object?["updatedAt"] as? String)
    let patched = try await f.pos.patch(
      "/pos/orders/\(id)",
      json:
        #"{"updatedAt":"\#(stamp)","items":[{"name":"Chips masala","quantity":1,"station":"fry"}]}"#,
      key: newKey())
    #expect(patched.status == 200, "\(patched)")
    #expect((patched.object?["items"] as? [[String: Any]])?.count == 4)
    let third = try await f.pos.post("/pos/orders/\(id)/send-to-kitchen", key: newKey())
    let newTickets = third.object?["tickets"] as? [[String: Any]]
    #expect(newTickets?.count == 1)
    #expect(newTickets?.first?["station"] as? String == "fry")
    // The old updatedAt is now stale.
    expectError(
      try await f.pos.patch(
        "/pos/orders/\(id)", json: #"{"updatedAt":"\#(stamp)","waiterName":"Brian"}"#, key: newKey()
      ),
      409, conflictType: "INVALID_STATE_TRANSITION")
  }

  @Test func ticketTransitions() async throws {
    let f = try Fixture()
    let order = try await placeOrder(f.pos)
    let t = try #require(order.tickets["grill"])
    func act(_ a: String, _ body: String = "{}") async throws -> HTTPResult {
      try await f.grill.post("/kds/tickets/\(t)/\(a)", json: body, key: newKey())
    }
    let started = try await act("start")
    #expect(started.object?["status"] as? String == "IN_PROGRESS")
    let startedAgain = try await act("start")
    #expect(startedAgain.status == 200, "already IN_PROGRESS: no-op")
    #expect(startedAgain.object?["updatedAt"] as? String == started.object?["updatedAt"] as? String)
    let ready = try await act("mark-ready", #"{"readyAt":"2025-11-21T14:35:00Z"}"#)
    #expect(ready.object?["status"] as? String == "READY")
    let readyAgain = try await act("mark-ready")
    #expect(readyAgain.status == 200)
    #expect(readyAgain.object?["updatedAt"] as? String == ready.object?["updatedAt"] as? String)
    expectError(try await act("start"), 409, conflictType: "INVALID_STATE_TRANSITION")
    let recalled = try await act("recall")
    #expect(recalled.object?["status"] as? String == "IN_PROGRESS")
    expectError(try await act("recall"), 409, conflictType: "INVALID_STATE_TRANSITION")
    // QUEUED -> READY directly, on a second order; then voiding the order
    // cancels the open tickets, and CANCELLED is final.
    let second = try await placeOrder(
      f.pos, items: [("Goat skewers", "grill"), ("Espresso", "bar")])
    let s = try #require(second.tickets["grill"])
    #expect(
      try await f.grill.post("/kds/tickets/\(s)/mark-ready", key: newKey()).object?["status"]
        as? String == "READY")
    let cancelled = try await f.pos.post("/pos/orders/\(second.orderID)/cancel", key: newKey())
    #expect(cancelled.object?["status"] as? String == "CANCELLED")
    let bar = try await f.pos.get("/kds/queue?station=bar")
    #expect(bar.array?.first?["status"] as? String == "CANCELLED")
    let barTicket = try #require(second.tickets["bar"])
    for a in ["mark-ready", "start", "recall"] {
      expectError(
        try await f.pos.post("/kds/tickets/\(barTicket)/\(a)", key: newKey()), 409,
        conflictType: "INVALID_STATE_TRANSITION", messageContains: "CANCELLED")
    }
    // The READY grill ticket stays READY.
    let grillQueue = try await f.grill.get("/kds/queue?station=grill")
    #expect(
      grillQueue.array?.first(where: { $0["id"] as? String == s })?["status"] as? String == "READY")
  }

  @Test func sinceReturnsOnlyLaterWritesIncludingReady() async throws {
    let f = try Fixture()
    let a = try await placeOrder(f.pos)
    let all = try await f.grill.get("/kds/queue?station=grill")
    let cursor = try #require(all.array?.last?["updatedAt"] as? String)
    let empty = try await f.grill.get("/kds/queue?station=grill&since=\(cursor)")
    #expect(empty.array?.isEmpty == true)
    let bump = try await f.grill.post(
      "/kds/tickets/\(a.tickets["grill"]!)/mark-ready", key: newKey())
    #expect(bump.status == 200)
    let later = try await f.grill.get("/kds/queue?station=grill&since=\(cursor)")
    #expect(later.array?.count == 1)
    #expect(later.array?.first?["status"] as? String == "READY")
    // since with an offset and without fractional seconds is accepted.
    let old = try await f.grill.get("/kds/queue?station=grill&since=2020-01-01T03:00:00%2B03:00")
    #expect(old.array?.count == 1)
  }

  /// A poller following `since` (never its own clock) while 8 clients write
  /// concurrently sees every ticket, with strictly increasing `updatedAt`.
  @Test func pollerFollowingSinceSeesEveryTicketUnderConcurrentWrites() async throws {
    let f = try Fixture(arguments: ["--rate-limit", "off"])
    let writers = 8
    let ordersPerWriter = 12
    let poller = Task { () -> [String: String] in
      var seen: [String: String] = [:]
      var cursor = "2000-01-01T00:00:00.000Z"
      var lastStamp = ""
      while true {
        // The writers are told to be done (by cancellation) only after every
        // write was acknowledged, so an empty answer to a request sent after
        // that means the poller has seen everything.
        let writersDone = Task.isCancelled
        let r = try await f.grill.get("/kds/queue?station=grill&since=\(cursor)")
        guard r.status == 200, let list = r.array else { throw HTTPClientError.malformed(r.text) }
        for t in list {
          let stamp = t["updatedAt"] as! String
          #expect(stamp > lastStamp, "updatedAt strictly increasing in the feed")
          lastStamp = stamp
          seen[t["id"] as! String] = t["status"] as? String
          cursor = max(cursor, stamp)
        }
        if writersDone && list.isEmpty { break }
      }
      return seen
    }
    let created = try await withThrowingTaskGroup(of: [String].self) { group in
      for w in 0..<writers {
        group.addTask {
          var ids: [String] = []
          for n in 0..<ordersPerWriter {
            let o = try await placeOrder(
              f.pos, items: [("Beef burger", "grill")], table: "table-\(w)-\(n)")
            let t = o.tickets["grill"]!
            ids.append(t)
            if n % 3 == 0 {
              _ = try await f.grill.post("/kds/tickets/\(t)/mark-ready", key: newKey())
            }
          }
          return ids
        }
      }
      return try await group.reduce(into: []) { $0 += $1 }
    }
    poller.cancel()
    let seen = try await poller.value
    #expect(created.count == writers * ordersPerWriter)
    let missing = Set(created).subtracting(seen.keys)
    #expect(missing.isEmpty, "poller missed \(missing.count) tickets")
    let ready = seen.values.filter { $0 == "READY" }.count
    #expect(ready == writers * ((ordersPerWriter + 2) / 3), "every bump reached the poller")
  }
}
