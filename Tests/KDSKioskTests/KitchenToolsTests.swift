import Foundation
import KDSCore
import KDSKiosk
import KDSStore
import KDSSync
import KDSTestSupport
import Testing

/// An order of several stations (and courses) sent to the kitchen of a real
/// kds-server: its id and its tickets (id, station, course).
struct KitchenOrder {
  var orderId: String
  var tickets: [(id: String, station: String, course: Int?)]

  func ticket(_ station: String, course: Int? = nil) -> String {
    tickets.first { $0.station == station && (course == nil || $0.course == course) }!.id
  }

  /// Sends an order: one item per (station, course), optionally a rush.
  static func send(
    _ r: Restaurant, table: String, items: [(String, Int?)], rush: Bool = false
  ) async throws -> KitchenOrder {
    let pos = r.server.client(token: r.posToken)
    let list = items.enumerated().map { i, item -> String in
      let course = item.1.map { #","course":\#($0)"# } ?? ""
      return #"{"name":"Dish \#(i)","quantity":1,"station":"\#(item.0)"\#(course)}"#
    }.joined(separator: ",")
    let priority = rush ? #","priority":"RUSH""# : ""
    let body = #"{"tableId":"\#(table)","waiterName":"Amina","items":[\#(list)]\#(priority)}"#
    let order = try await pos.post("/pos/orders", json: body, key: "order-\(UUID().uuidString)")
    guard order.status == 201, let orderId = order.object?["id"] as? String else {
      throw RestaurantError("create order \(body): \(order)")
    }
    let sent = try await pos.post(
      "/pos/orders/\(orderId)/send-to-kitchen", key: "send-\(UUID().uuidString)")
    guard sent.status == 200, let tickets = sent.object?["tickets"] as? [[String: Any]] else {
      throw RestaurantError("send to kitchen: \(sent)")
    }
    return KitchenOrder(
      orderId: orderId,
      tickets: tickets.compactMap { t in
        guard let id = t["id"] as? String, let station = t["station"] as? String else {
          return nil
        }
        return (id, station, t["course"] as? Int)
      })
  }
}

extension Restaurant {
  /// The server's copy of a ticket (as a manager/POS sees a station's queue).
  func serverTicket(_ id: String, station: String) async throws -> [String: Any]? {
    let r = try await server.client(token: posToken).get("/kds/queue?station=\(station)")
    guard r.status == 200, let array = r.array else { throw RestaurantError("queue: \(r)") }
    return array.first { $0["id"] as? String == id }
  }

  /// A station bumps a ticket on the server (as another screen of it would).
  func bumpOnServer(_ id: String, token: String) async throws {
    let r = try await server.client(token: token).post(
      "/kds/tickets/\(id)/mark-ready", json: "{}", key: "bump-\(UUID().uuidString)")
    guard r.status == 200 else { throw RestaurantError("bump \(id): \(r)") }
  }
}

/// The kitchen tools (issue 14) on one kiosk: item marks, the recall list,
/// the expo's rush, fire course, send back and serve, through the durable
/// queue, offline and back, against a real kds-server.
@Suite(.serialized) struct KitchenToolsTests {
  /// A server without item marks (a seed-only backend: 404): the marks stay
  /// on this kiosk, survive a restart, and never block the bump.
  @Test func itemMarksStayOnThisKioskWhenTheServerLacksThem() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 1, items: 3)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    proxy.add(.init(path: "/items/", action: .respond(.status(404))))
    let token = try r.token("k", stations: ["grill"])
    let db = TempDir()
    let kiosk = try KioskHarness(baseURL: proxy.baseURL, token: token, dbPath: db.file("k.db"))
    #expect(kiosk.step(until: { kiosk.shown.count == 1 }))
    #expect(!kiosk.core.snapshot().itemMarksLocal)

    // Line 1 through the queue: optimistic at once, then 404 keeps it here.
    guard case .queued(let op) = try kiosk.engine.markItem(ticketId: ids[0], itemIndex: 0) else {
      Issue.record("the first item mark was not queued")
      return
    }
    #expect(op.path.hasSuffix("/mark-done"))
    #expect(kiosk.shown[0].items[0].isDone)
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    var snap = kiosk.core.snapshot()
    #expect(snap.itemMarksLocal)
    #expect(snap.tickets[0].items.map(\.isDone) == [true, false, false])
    #expect(snap.marks[ids[0]] == nil)  // nothing failed
    #expect(kiosk.view.failedCount == 0)
    #expect(proxy.requests(pathContaining: "/items/").count == 1)

    // Line 2 from the bump bar: straight to the store, no request.
    let actions: any KioskActions = kiosk.core
    actions.select(ticketId: ids[0])
    actions.selectNextItem()
    actions.selectNextItem()
    #expect(kiosk.core.snapshot().selectedItemIndex == 1)
    #expect(actions.toggleSelectedItem().isDone)
    kiosk.step()
    #expect(proxy.requests(pathContaining: "/items/").count == 1)
    snap = kiosk.core.snapshot()
    #expect(snap.tickets[0].items.map(\.isDone) == [true, true, false])
    // Toggled back, and again: local marks toggle both ways.
    #expect(actions.toggleSelectedItem().isDone)
    #expect(kiosk.core.snapshot().tickets[0].items.map(\.isDone) == [true, false, false])
    #expect(actions.toggleSelectedItem().isDone)

    // Across a restart (and on every poll), the marks are laid over the cache.
    let again = try KioskHarness(baseURL: proxy.baseURL, token: token, dbPath: db.file("k.db"))
    #expect(again.step(until: { again.view.status.usablePolls > 0 }))
    again.step()
    snap = again.core.snapshot()
    #expect(snap.tickets.first?.items.map(\.isDone) == [true, true, false])
    #expect(snap.itemMarksLocal)

    // The bump is the cook's and goes through as ever.
    #expect(again.core.bump(ticketId: ids[0]).isDone)
    #expect(again.step(until: { again.view.outstandingCount == 0 }))
    #expect(try await r.statuses()[ids[0]] == "READY")
  }

  /// Against the contract's seed-only subset (every extension answers 404,
  /// no push stream), a station screen still works for whole tickets: the
  /// bump reaches the server, the all-day view and the recall list (kept on
  /// this screen) open, item marks stay here and say so, and the recall that
  /// the server lacks is refused on screen without a failure or a lost bump.
  @Test func seedOnlyBackendStillWorksForWholeTickets() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 3, items: 2)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    for path in ["/start", "/recall", "/items/", "/rush", "/serve", "/fire-course", "/kds/stream"] {
      proxy.add(.init(path: path, action: .respond(.status(404))))
    }
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    #expect(kiosk.step(until: { kiosk.shown.count == 3 }))
    let actions: any KioskActions = kiosk.core

    // The all-day view sums the open lines of the three tickets.
    actions.toggleAllDay()
    var snap = kiosk.core.snapshot()
    #expect(snap.view == .allDay)
    #expect(AllDayCounts.compute(tickets: snap.tickets).map(\.quantity).reduce(0, +) > 0)
    actions.back()
    #expect(kiosk.core.snapshot().view == .tickets)

    // An item mark: 404, kept on this screen, no failure.
    #expect(kiosk.core.toggleItem(ticketId: ids[0], index: 0).isDone)
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    snap = kiosk.core.snapshot()
    #expect(snap.itemMarksLocal)
    #expect(snap.tickets.first { $0.id == ids[0] }?.items.first?.isDone == true)

    // Whole-ticket bumps reach the server; the recall list has them.
    #expect(kiosk.core.bump(ticketId: ids[0]).isDone)
    #expect(kiosk.core.bump(ticketId: ids[1]).isDone)
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    actions.toggleRecallList()
    snap = kiosk.core.snapshot()
    #expect(snap.view == .recall)
    #expect(snap.recallList.map(\.ticketId) == [ids[1], ids[0]])
    // Recall is an extension the server lacks: tried once, then refused on screen.
    #expect(actions.bumpSelected().isDone)
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    #expect(kiosk.core.snapshot().alerts.contains(.actionUnavailable("recall")))
    actions.back()
    #expect(kiosk.core.bump(ticketId: ids[2]).isDone)
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    // The only operation not done is the recall the server lacks, kept with its reason.
    let failed = kiosk.view.operations.filter { $0.state == .failed }
    #expect(failed.map(\.kind) == [.recall])
    #expect(failed.first?.lastError?.contains("does not support recall") == true)
    let server = try await r.statuses()
    #expect(ids.map { server[$0] } == ["READY", "READY", "READY"])
    #expect(proxy.requests(pathContaining: "/recall").count == 1)
  }

  /// Item marks through the queue: offline, then back; the server gets each
  /// exactly once (one idempotency record), an answer lost after the commit
  /// included. Needs the server's item routes (issue 14).
  @Test func itemMarksOfflineAndBackExactlyOnce() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 1, items: 2)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    #expect(kiosk.step(until: { kiosk.shown.count == 1 }))
    proxy.refuse()
    guard case .queued(let op) = try kiosk.engine.markItem(ticketId: ids[0], itemIndex: 1) else {
      Issue.record("not queued")
      return
    }
    #expect(kiosk.shown[0].items.map(\.isDone) == [false, true])
    kiosk.step()
    kiosk.step()
    #expect(kiosk.view.outstandingCount == 1)
    #expect(kiosk.shown[0].items.map(\.isDone) == [false, true])
    try proxy.resume()
    // The server commits; the answer is lost: the retry carries the same key.
    proxy.add(.init(path: "/items/", times: 1, action: .forwardThenDrop))
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    #expect(kiosk.view.failedCount == 0)
    #expect(!kiosk.core.snapshot().itemMarksLocal, "the server lacks item marks (not merged yet?)")
    let keys = Set(proxy.requests(pathContaining: "/items/").compactMap(\.idempotencyKey))
    #expect(keys == [op.id])
    #expect(try r.idempotencyRecords(path: op.path) == 1)
    let items = try await r.serverTicket(ids[0], station: "grill")?["items"] as? [[String: Any]]
    #expect(items?[1]["doneAt"] != nil)
    #expect(items?[0]["doneAt"] == nil)
    // The server's copy shows it once the operation is done.
    #expect(kiosk.step(until: { kiosk.shown.first?.items.map(\.isDone) == [false, true] }))
    // Undone, back on the server.
    _ = try kiosk.engine.markItem(ticketId: ids[0], itemIndex: 1, done: false)
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    let after = try await r.serverTicket(ids[0], station: "grill")?["items"] as? [[String: Any]]
    #expect(after?[1]["doneAt"] == nil)
  }

  /// The recall list: the last tickets bumped here, newest first, with their
  /// number and table; it survives a restart; any row can be recalled.
  @Test func recallListPersistsAndRecallsAnyRow() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 3)
    let token = try r.token("k", stations: ["grill"])
    let db = TempDir()
    let kiosk = try KioskHarness(baseURL: r.server.baseURL, token: token, dbPath: db.file("k.db"))
    #expect(kiosk.step(until: { kiosk.shown.count == 3 }))
    for id in ids { #expect(kiosk.core.bump(ticketId: id).isDone) }
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    let list = try kiosk.engine.recallList()
    #expect(list.map(\.ticketId) == ids.reversed())
    #expect(list.allSatisfy { !$0.orderNumber.isEmpty })

    // Restart: the same list; the keys open it, move, and recall the middle row.
    let again = try KioskHarness(baseURL: r.server.baseURL, token: token, dbPath: db.file("k.db"))
    #expect(again.step(until: { again.view.status.usablePolls > 0 }))
    let actions: any KioskActions = again.core
    actions.toggleRecallList()
    var snap = again.core.snapshot()
    #expect(snap.view == .recall)
    #expect(snap.recallList.map(\.ticketId) == ids.reversed())
    #expect(snap.selectedRecallIndex == 0)
    actions.selectNextTicket()
    #expect(again.core.snapshot().selectedRecallIndex == 1)
    #expect(actions.bumpSelected().isDone)  // recalls ids[1]
    snap = again.core.snapshot()
    #expect(snap.recallList.map(\.ticketId) == [ids[2], ids[0]])
    actions.back()
    snap = again.core.snapshot()
    #expect(snap.view == .tickets)
    #expect(snap.tickets.map(\.id) == [ids[1]])
    #expect(again.step(until: { again.view.outstandingCount == 0 }))
    #expect(try await r.statuses()[ids[1]] == "IN_PROGRESS")
    // The control request recalls any row; "recall last" still works.
    var request = ControlRequest(cmd: "recall", ticket: ids[0])
    #expect(again.core.handle(request).ok)
    request.ticket = nil
    let last = again.core.handle(request)
    #expect(last.ok)
    #expect(last.operation?.ticketId == ids[2])
    #expect(again.step(until: { again.view.outstandingCount == 0 }))
    let statuses = try await r.statuses()
    #expect(ids.map { statuses[$0] } == ["IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS"])
    #expect(try again.engine.recallList().isEmpty)
  }

  /// The expo's tools through the queue, offline and back: rush, fire
  /// course, send back, serve; each reaches the server once. Needs the
  /// server's kitchen-tools routes (issue 14).
  @Test func expoToolsOfflineAndBack() async throws {
    let r = try Restaurant()
    let order = try await KitchenOrder.send(
      r, table: "T9", items: [("grill", 1), ("fry", 1), ("salad", 2)])
    let grill = try r.token("g", stations: ["grill"])
    let fry = try r.token("f", stations: ["fry"])
    let salad = try r.token("s", stations: ["salad"])
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let expo = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("expo", stations: ["expo"]), station: "expo")
    try #require(
      expo.step(until: { expo.expoOrders.count == 1 }),
      "the expo sees no order: does the server have the expo queue (issue 14)?")
    #expect(expo.core.snapshot().isExpo)
    let saladTicket = order.ticket("salad")
    #expect(expo.expoOrders.first?.parts.first { $0.ticketId == saladTicket }?.isHeld == true)

    // Offline: rush and fire course 2; the screen shows both at once.
    proxy.refuse()
    let actions: any KioskActions = expo.core
    actions.select(ticketId: order.orderId)
    #expect(actions.toggleRush().isDone)
    #expect(actions.fireNextCourse().isDone)
    let o = expo.core.snapshot().tickets
    #expect(o.allSatisfy { $0.isRush })
    #expect(o.first { $0.id == saladTicket }?.status == .queued)
    expo.step()
    #expect(expo.view.outstandingCount == 2)
    try proxy.resume()
    #expect(expo.step(until: { expo.view.outstandingCount == 0 }))
    #expect(expo.view.failedCount == 0)
    #expect(
      try await r.serverTicket(order.ticket("grill"), station: "grill")?["priority"] as? String
        == "RUSH")
    #expect(
      try await r.serverTicket(saladTicket, station: "salad")?["status"] as? String == "QUEUED")

    // The stations bump; the expo sends grill back (offline), grill bumps again.
    try await r.bumpOnServer(order.ticket("grill"), token: grill)
    try await r.bumpOnServer(order.ticket("fry"), token: fry)
    try await r.bumpOnServer(saladTicket, token: salad)
    #expect(expo.step(until: { expo.expoOrders.first?.allReady == true }))
    proxy.refuse()
    let grillIndex = expo.expoOrders[0].parts.firstIndex { $0.station == "grill" }!
    for _ in 0...grillIndex { actions.selectNextItem() }
    #expect(expo.core.snapshot().selectedItemIndex == grillIndex)
    #expect(actions.sendBackSelected().isDone)
    #expect(expo.expoOrders.first?.allReady == false)
    // Serving is refused while grill cooks again.
    if case .refused(let why) = actions.bumpSelected() {
      #expect(why.contains("grill"))
    } else {
      Issue.record("served an order with grill sent back")
    }
    try proxy.resume()
    #expect(expo.step(until: { expo.view.outstandingCount == 0 }))
    #expect(try await r.statuses(station: "grill")[order.ticket("grill")] == "IN_PROGRESS")
    try await r.bumpOnServer(order.ticket("grill"), token: grill)
    #expect(expo.step(until: { expo.expoOrders.first?.allReady == true }))

    // Serve offline: the order leaves the screen at once; back online it is SERVED.
    proxy.refuse()
    #expect(actions.bumpSelected().isDone)
    #expect(expo.expoOrders.isEmpty)
    expo.step()
    try proxy.resume()
    proxy.add(.init(path: "/serve", times: 1, action: .forwardThenDrop))
    #expect(expo.step(until: { expo.view.outstandingCount == 0 }))
    #expect(expo.view.failedCount == 0)
    #expect(try r.idempotencyRecords(path: "/kds/orders/\(order.orderId)/serve") == 1)
    for (id, station, _) in order.tickets {
      #expect(try await r.statuses(station: station)[id] == "SERVED")
    }
    expo.step()
    #expect(expo.expoOrders.isEmpty)
  }
}

extension KioskHarness {
  /// The expo's orders as the next frame shows them (the core groups them
  /// when it builds a snapshot).
  var expoOrders: [ExpoOrder] {
    _ = core.snapshot()
    return core.expoOrders
  }
}
