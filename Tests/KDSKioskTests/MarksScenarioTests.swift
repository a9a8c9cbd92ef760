import Foundation
import KDSCore
import KDSKiosk
import KDSRender
import KDSStore
import KDSSync
import KDSTestSupport
import Testing

/// Issue 11, part B: what the chef sees change, against a real kds-server —
/// directly, and as a seed-only backend (a proxy that answers the
/// extensions start and recall with 404, as a server without them would).
enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
  case kdsServer
  case seedOnly
  var description: String { rawValue }
}

/// A restaurant, a kiosk in-process on a manual clock, and a proxy in between
/// (to take the network away, and to play a seed-only backend).
final class MarksRig: @unchecked Sendable {
  let r: Restaurant
  let proxy: FaultProxy
  let kiosk: KioskHarness

  init(_ backend: Backend) throws {
    r = try Restaurant()
    proxy = try FaultProxy(upstreamPort: r.server.port)
    if backend == .seedOnly {
      proxy.add(ProxyRule(path: "/start", action: .respond(.status(404))))
      proxy.add(ProxyRule(path: "/recall", action: .respond(.status(404))))
    }
    kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]),
      configure: { $0.utcOffsetSeconds = { _ in 0 } })
  }

  /// Creates an order and sends it; returns its id, number and its grill ticket.
  func order(items: String) async throws -> (id: String, number: String, ticket: String) {
    let pos = r.server.client(token: r.posToken)
    let order = try await pos.post(
      "/pos/orders", json: #"{"tableId":"table-4","waiterName":"Amina","items":[\#(items)]}"#,
      key: "o-\(UUID().uuidString)")
    guard order.status == 201, let id = order.object?["id"] as? String,
      let number = order.object?["orderNumber"] as? String
    else { throw RestaurantError("create order: \(order)") }
    let ticket = try await send(id)
    return (id, number, ticket)
  }

  func send(_ orderId: String) async throws -> String {
    let sent = try await r.server.client(token: r.posToken).post(
      "/pos/orders/\(orderId)/send-to-kitchen", key: "s-\(UUID().uuidString)")
    guard sent.status == 200, let tickets = sent.object?["tickets"] as? [[String: Any]],
      let ticket = tickets.first?["id"] as? String
    else { throw RestaurantError("send: \(sent)") }
    return ticket
  }

  func cancel(_ orderId: String) async throws {
    let r = try await self.r.post("/pos/orders/\(orderId)/cancel", key: "c-\(UUID().uuidString)")
    guard r.status == 200 else { throw RestaurantError("cancel: \(r)") }
  }

  /// Adds an item to an order (PATCH with the order's updatedAt).
  func addItem(_ orderId: String, _ item: String) async throws {
    let pos = r.server.client(token: r.posToken)
    let order = try await pos.get("/pos/orders/\(orderId)")
    guard let updatedAt = order.object?["updatedAt"] as? String else {
      throw RestaurantError("read order: \(order)")
    }
    let patched = try await pos.patch(
      "/pos/orders/\(orderId)", json: #"{"updatedAt":"\#(updatedAt)","items":[\#(item)]}"#,
      key: "p-\(UUID().uuidString)")
    guard patched.status == 200 else { throw RestaurantError("patch: \(patched)") }
  }

  var snapshot: BoardSnapshot { kiosk.core.snapshot() }
  func marks(_ id: String) -> CardMarks? { snapshot.cardMarks[id] }
  func local(_ t: Timestamp) -> String { kitchenClock(t, utcOffsetSeconds: 0) }

  /// Synced once (the board at start-up: nothing on it is NEW).
  func startKiosk() {
    kiosk.engine.tick()
    _ = kiosk.core.snapshot()
  }
}

let burger = #"{"name":"Burger","quantity":1,"station":"grill"}"#

@Suite(.serialized) struct MarksScenarioTests {
  @Test(arguments: Backend.allCases)
  func voidedTicketShowsVoidUntilAcknowledged(_ backend: Backend) async throws {
    let rig = try MarksRig(backend)
    let keep = try await rig.order(items: burger)
    let gone = try await rig.order(items: burger)
    rig.startKiosk()
    #expect(rig.snapshot.cardMarks.isEmpty)  // present at start-up: not NEW
    try await rig.cancel(gone.id)
    #expect(rig.kiosk.step(until: { rig.marks(gone.ticket)?.voidedAt != nil }))
    let cancelledAt = try #require(rig.kiosk.view.tickets[gone.ticket]?.updatedAt)
    #expect(rig.marks(gone.ticket)?.voidedAt == cancelledAt)
    #expect(rig.snapshot.tickets.map(\.id).contains(gone.ticket))  // still drawn
    #expect(rig.marks(gone.ticket)?.names == ["VOID"])
    // A bump on a VOID card acknowledges it and sends nothing.
    let before = rig.proxy.requests(pathContaining: "/mark-ready").count
    #expect(rig.kiosk.core.bump(ticketId: gone.ticket) == .done("VOID acknowledged: nothing sent"))
    #expect(!rig.snapshot.tickets.map(\.id).contains(gone.ticket))
    #expect(rig.kiosk.view.operations.isEmpty)
    rig.kiosk.step()
    #expect(rig.proxy.requests(pathContaining: "/mark-ready").count == before)
    #expect(rig.snapshot.tickets.map(\.id) == [keep.ticket])
  }

  @Test func voidByTapAndAfterSixtySeconds() async throws {
    let rig = try MarksRig(.kdsServer)
    let a = try await rig.order(items: burger)
    let b = try await rig.order(items: burger)
    rig.startKiosk()
    try await rig.cancel(a.id)
    try await rig.cancel(b.id)
    #expect(
      rig.kiosk.step(until: {
        rig.marks(a.ticket)?.voidedAt != nil && rig.marks(b.ticket)?.voidedAt != nil
      }))
    rig.kiosk.core.select(ticketId: a.ticket)  // a tap
    #expect(rig.marks(a.ticket) == nil)
    #expect(rig.kiosk.core.selectedTicketId == nil)
    // The bump bar reaches a VOID card too, and its bump acknowledges it.
    rig.kiosk.core.selectNextTicket()
    #expect(rig.snapshot.selectedTicketId == b.ticket)
    #expect(rig.kiosk.core.bumpSelected() == .done("VOID acknowledged: nothing sent"))
    #expect(rig.marks(b.ticket) == nil)
    #expect(rig.snapshot.tickets.isEmpty)
  }

  @Test func voidLeavesAfterSixtySeconds() async throws {
    let rig = try MarksRig(.kdsServer)
    let a = try await rig.order(items: burger)
    rig.startKiosk()
    try await rig.cancel(a.id)
    #expect(rig.kiosk.step(until: { rig.marks(a.ticket)?.voidedAt != nil }))
    rig.kiosk.clock.advance(seconds: 59)
    #expect(rig.marks(a.ticket)?.voidedAt != nil)
    rig.kiosk.clock.advance(seconds: 2)
    #expect(rig.marks(a.ticket) == nil)
    #expect(rig.snapshot.tickets.isEmpty)
  }

  @Test(arguments: Backend.allCases)
  func secondSendOfAnOrderIsAdded(_ backend: Backend) async throws {
    let rig = try MarksRig(backend)
    let first = try await rig.order(items: burger)
    rig.startKiosk()
    try await rig.addItem(first.id, #"{"name":"Fries","quantity":2,"station":"grill"}"#)
    let second = try await rig.send(first.id)
    #expect(rig.kiosk.step(until: { rig.marks(second)?.addedTo != nil }))
    #expect(rig.marks(second)?.addedTo == "#\(first.number)")
    #expect(rig.marks(second)?.names == ["NEW", "ADDED"])
    #expect(rig.marks(second)?.pulseStartMillis != nil)
    #expect(rig.kiosk.core.isAnimating(atMonotonicMillis: rig.kiosk.core.monotonicNow))
    #expect(rig.snapshot.frameMillis == rig.kiosk.core.monotonicNow)
    #expect(rig.marks(first.ticket) == nil)
    // The pulse ends after 3 s; idle frames carry no frame time.
    rig.kiosk.clock.advance(seconds: 4)
    #expect(rig.snapshot.frameMillis == 0)
    #expect(!rig.kiosk.core.isAnimating(atMonotonicMillis: rig.kiosk.core.monotonicNow))
    rig.kiosk.core.select(ticketId: second)  // touched: seen
    #expect(rig.marks(second) == nil)
  }

  @Test func changedItemsShowChangedUntilTouched() async throws {
    let rig = try MarksRig(.kdsServer)
    let o = try await rig.order(
      items: burger + "," + #"{"name":"Fries","quantity":1,"station":"grill"}"#)
    rig.startKiosk()
    // Another backend may change a ticket's items (kds-server keeps sent
    // items): change them in its database, with a later updatedAt.
    _ = try rig.r.sqlite(
      """
      PRAGMA busy_timeout = 20000;
      UPDATE tickets SET items_json = replace(items_json, '"quantity":1,"modifiers":[]', '"quantity":3,"modifiers":[]'),
        updated_at = updated_at + 1000 WHERE id = '\(o.ticket)';
      """)
    let changed = try await rig.r.statuses()
    #expect(changed[o.ticket] == "QUEUED")
    #expect(rig.kiosk.step(until: { rig.marks(o.ticket)?.changedLines != nil }))
    #expect(rig.marks(o.ticket)?.changedLines == [0, 1])
    #expect(rig.marks(o.ticket)?.names == ["CHANGED"])
    rig.kiosk.clock.advance(seconds: 600)
    #expect(rig.marks(o.ticket)?.changedLines != nil)  // until touched, however long
    rig.kiosk.core.selectNextTicket()
    #expect(rig.marks(o.ticket) == nil)
  }

  @Test(arguments: Backend.allCases)
  func strandedFailureShowsItsReasonAndCanBeDismissed(_ backend: Backend) async throws {
    let rig = try MarksRig(backend)
    let o = try await rig.order(items: burger)
    rig.startKiosk()
    rig.proxy.refuse()  // offline
    #expect(rig.kiosk.core.bump(ticketId: o.ticket).isDone)
    try await rig.cancel(o.id)  // voided meanwhile
    rig.kiosk.step()
    try rig.proxy.resume()
    #expect(rig.kiosk.step(until: { rig.kiosk.view.failedCount == 1 }))
    let cancelledAt = try #require(rig.kiosk.view.tickets[o.ticket]?.updatedAt)
    let reason = "voided at \(rig.local(cancelledAt))"
    let status = rig.kiosk.core.status()
    let failure = try #require(status.failures?.first)
    #expect(failure.ticketId == o.ticket)
    #expect(failure.kind == "bump")
    #expect(failure.reason == reason)
    // On its own card, with the reason, though the ticket is no longer active.
    #expect(rig.snapshot.tickets.map(\.id) == [o.ticket])
    #expect(rig.marks(o.ticket)?.failure == "Bump refused: \(reason)")
    // The retry fails again, with the same reason.
    #expect(rig.kiosk.core.retryFailed(ticketId: o.ticket).isDone)
    #expect(rig.kiosk.step(until: { rig.kiosk.view.failedCount == 1 }))
    #expect(rig.kiosk.core.status().failures?.first?.reason == reason)
    // Dismissed (as kdsctl dismiss does): gone from the queue, durably, and logged.
    let response = rig.kiosk.core.handle(ControlRequest(cmd: "dismiss", ticket: o.ticket))
    #expect(response.ok)
    #expect(response.message == "1 failed operation dismissed")
    #expect(rig.kiosk.view.operations.isEmpty)
    #expect(try rig.kiosk.store.operations().isEmpty)
    #expect(rig.kiosk.logs.count(containing: "failed operation dismissed: bump") == 1)
    #expect(rig.snapshot.alerts.isEmpty)
    #expect(!rig.snapshot.tickets.map(\.id).contains(o.ticket))  // it was not on screen when voided
    #expect(!rig.kiosk.core.handle(ControlRequest(cmd: "dismiss", ticket: o.ticket)).ok)
  }

  @Test(arguments: Backend.allCases)
  func reconnectSummaryAndOfflineBanner(_ backend: Backend) async throws {
    let rig = try MarksRig(backend)
    let a = try await rig.order(items: burger)
    let b = try await rig.order(items: burger)
    let c = try await rig.order(items: burger)
    rig.startKiosk()
    rig.proxy.refuse()
    #expect(rig.kiosk.step(until: { rig.kiosk.view.status.connection == .offline }))
    let since = try #require(rig.snapshot.offlineSince)
    #expect(rig.kiosk.core.bump(ticketId: a.ticket).isDone)
    #expect(rig.kiosk.core.bump(ticketId: b.ticket).isDone)
    #expect(rig.kiosk.core.bump(ticketId: c.ticket).isDone)
    #expect(
      BoardRenderer.statusText(rig.snapshot)
        == "Offline since \(rig.local(since)) - 3 updates queued")
    try await rig.cancel(c.id)
    _ = try await rig.order(items: burger)  // arrives while offline
    try rig.proxy.resume()
    #expect(rig.kiosk.step(until: { rig.snapshot.reconnectSummary != nil }))
    let cancelledAt = try #require(rig.kiosk.view.tickets[c.ticket]?.updatedAt)
    #expect(
      rig.snapshot.reconnectSummary
        == "2 bumps sent \u{00B7} 1 refused (#\(c.number) voided at \(rig.local(cancelledAt))) \u{00B7} 1 new ticket"
    )
    #expect(rig.snapshot.offlineSince == nil)
    // For 20 s.
    rig.kiosk.clock.advance(seconds: 19)
    #expect(rig.snapshot.reconnectSummary != nil)
    rig.kiosk.clock.advance(seconds: 2)
    #expect(rig.snapshot.reconnectSummary == nil)
  }

  @Test(arguments: Backend.allCases)
  func allergensInModifiersAndTheTwoStepBump(_ backend: Backend) async throws {
    let rig = try MarksRig(backend)
    rig.kiosk.core.allergenCheck = true
    let o = try await rig.order(
      items:
        #"{"name":"Burger","quantity":1,"station":"grill","modifiers":["no onion","Sesame bun"]}"#)
    let plain = try await rig.order(items: burger)
    rig.startKiosk()
    let ticket = try #require(rig.snapshot.tickets.first { $0.id == o.ticket })
    #expect(rig.snapshot.allergens.matches(ticket))
    #expect(rig.snapshot.allergens.matchingModifiers(of: ticket.items[0]) == [1])
    // First bump: the band is checked, nothing is queued.
    #expect(
      rig.kiosk.core.bump(ticketId: o.ticket) == .done("allergens checked: bump again to send"))
    #expect(rig.kiosk.view.operations.isEmpty)
    #expect(rig.marks(o.ticket)?.allergenChecked == true)
    #expect(rig.snapshot.tickets.map(\.id).contains(o.ticket))
    rig.kiosk.clock.advance(seconds: 3)
    // Second bump: sent, with the check's time.
    let checkedAt = rig.kiosk.engine.serverNow().adding(seconds: -3)
    #expect(rig.kiosk.core.bump(ticketId: o.ticket).isDone)
    let op = try #require(rig.kiosk.view.operations.first)
    #expect(op.body.contains("\"allergenCheckedAt\":\""))
    // A ticket without allergens bumps at once.
    #expect(rig.kiosk.core.bump(ticketId: plain.ticket).isDone)
    #expect(rig.kiosk.step(until: { rig.kiosk.view.operations.isEmpty }))
    let statuses = try await rig.r.statuses()
    #expect(statuses[o.ticket] == "READY")
    // kds-server records the acknowledgement and returns it.
    let queue = try await rig.r.server.client(token: rig.r.posToken).get("/kds/queue?station=grill")
    let json = try #require(queue.array?.first { ($0["id"] as? String) == o.ticket })
    let recorded = try #require(
      (json["allergenCheckedAt"] as? String).flatMap { Timestamp(iso8601: $0) })
    #expect(abs(recorded.millis(since: checkedAt)) < 1_000)
    let other = try #require(queue.array?.first { ($0["id"] as? String) == plain.ticket })
    #expect(other["allergenCheckedAt"] == nil)
    let column = try rig.r.sqlite(
      "SELECT allergen_checked_at IS NOT NULL FROM tickets WHERE id = '\(o.ticket)';")
    #expect(column.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
  }
}

/// The same through the real daemon (snapshot display) and kdsctl.
@Suite(.serialized) struct MarksDaemonTests {
  @Test(arguments: Backend.allCases)
  func strandedFailureDismissedWithKdsctlAndAllergenCheck(_ backend: Backend) async throws {
    let rig = try MarksRig(backend)
    let dir = TempDir()
    let conf = dir.file("kiosk.conf")
    try "allergen_check = on\nnew_ticket_alert = badge\nallergens = default, quinoa\n".write(
      toFile: conf, atomically: true, encoding: .utf8)
    let o = try await rig.order(items: burger)
    let kiosk = try KioskProcess(
      server: rig.proxy.baseURL, token: try rig.r.token("kd", stations: ["grill"]),
      db: dir.file("kiosk.db"), socket: dir.file("ctl.sock"), log: dir.file("kiosk.log"),
      extra: [
        "--config", conf, "--sync-interval", "0.2", "--request-timeout", "1", "--size",
        "1280x800", "--fonts", TestPaths.repoRoot + "/Fonts",
      ],
      display: "snapshot:" + dir.file("screen.png"))
    defer { _ = kiosk.terminate() }
    try kiosk.waitReady()
    #expect(waitFor("ticket shown") { (try? kiosk.status().tickets) == 1 })
    // Offline: the bump waits; meanwhile the order is voided.
    rig.proxy.refuse()
    #expect(waitFor("offline") { (try? kiosk.status().connection) == "offline" })
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["bump", o.ticket]).0 == 0)
    try await rig.cancel(o.id)
    try rig.proxy.resume()
    #expect(waitFor("failure with its reason") { (try? kiosk.status().failures?.count) == 1 })
    let failure = try #require(try kiosk.status().failures?.first)
    #expect(failure.ticketId == o.ticket)
    #expect(failure.kind == "bump")
    #expect(failure.reason.hasPrefix("voided at "), "\(failure.reason)")
    // The screen draws the failure's card (kept for a look in build/test-artifacts).
    let shot = TestPaths.repoRoot + "/build/test-artifacts/marks-daemon-failure-\(backend).png"
    try FileManager.default.createDirectory(
      atPath: TestPaths.repoRoot + "/build/test-artifacts", withIntermediateDirectories: true)
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["screenshot", shot]).0 == 0)
    let image = try PNG.read(shot)
    #expect(image.width == 1280 && image.height == 800)
    let human = try KioskProcess.ctl(kiosk.socketPath, ["status"]).1
    #expect(
      human.contains("failed:      bump of ticket \(o.ticket): \(failure.reason)"), "\(human)")
    // kdsctl dismiss: out of the queue, logged, the screen's card gone.
    let (code, out) = try KioskProcess.ctl(kiosk.socketPath, ["dismiss", o.ticket])
    #expect(code == 0)
    #expect(out.contains("1 failed operation dismissed"), "\(out)")
    let after = try kiosk.status()
    #expect(after.failures == [])
    #expect(after.failedOps == 0)
    #expect(after.tickets == 0)
    #expect(kiosk.log.contains("failed operation dismissed: bump"))
    let (again, _) = try KioskProcess.ctl(kiosk.socketPath, ["dismiss", o.ticket])
    #expect(again != 0)

    // Allergen check: an allergen in a modifier; the first bump checks, the second sends.
    let a = try await rig.order(
      items: #"{"name":"Salad","quantity":1,"station":"grill","modifiers":["Quinoa topping"]}"#)
    #expect(waitFor("allergen ticket shown") { (try? kiosk.status().tickets) == 1 })
    let first = try KioskProcess.ctl(kiosk.socketPath, ["bump", a.ticket])
    #expect(first.0 == 0 && first.1.contains("allergens checked"), "\(first.1)")
    #expect(try kiosk.status().pendingOps == 0)
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["bump", a.ticket]).0 == 0)
    #expect(
      try await waitForAsync("bump recorded") {
        let q = try await rig.r.server.client(token: rig.r.posToken).get("/kds/queue?station=grill")
        let t = q.array?.first { ($0["id"] as? String) == a.ticket }
        return (t?["status"] as? String) == "READY" && t?["allergenCheckedAt"] is String
      })
  }
}

/// Polls an async condition with a deadline (no sleep as synchronisation).
func waitForAsync(
  _ what: String, timeout: TimeInterval = 60, _ condition: () async throws -> Bool
) async rethrows -> Bool {
  let deadline = Date().addingTimeInterval(timeout)
  while Date() < deadline {
    if try await condition() { return true }
    try? await Task.sleep(nanoseconds: 20_000_000)
  }
  return try await condition()
}
