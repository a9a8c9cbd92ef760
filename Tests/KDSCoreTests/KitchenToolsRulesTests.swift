import Foundation
import KDSCore
import Testing

/// The kitchen tools' rules (issue 14), pure: operation paths and bodies,
/// the optimistic board, the station and expo orders.
@Suite struct KitchenToolsRulesTests {
  static let t0 = Timestamp(seconds: 1_764_000_000)

  static func ticket(
    _ id: String, order: String, station: String = "grill", status: TicketStatus = .queued,
    sentAt: Int64 = 0, priority: String? = nil, course: Int? = nil, items: Int = 2
  ) -> Ticket {
    Ticket(
      id: id, orderId: order, orderNumber: "N\(order)", station: station, status: status,
      sentAt: t0.adding(seconds: sentAt), updatedAt: t0,
      items: (0..<items).map { TicketItem(id: "\(id)-i\($0)", name: "Dish \($0)", quantity: 1) },
      priority: priority, course: course)
  }

  static func op(
    _ kind: TicketAction, ticket: String, seq: Int64 = 1, item: String? = nil,
    order: String? = nil, course: Int? = nil, at: Timestamp? = nil
  ) -> QueuedOperation {
    var op = QueuedOperation(
      id: "K\(seq)", seq: seq, kind: kind, ticketId: ticket, readyAt: at, createdAt: t0)
    op.itemId = item
    op.orderId = order
    op.course = course
    return op
  }

  @Test func pathsAndBodies() {
    let at = Timestamp(iso8601: "2025-11-21T14:35:00.123Z")!
    // The existing operations' bytes are unchanged.
    #expect(Self.op(.bump, ticket: "T1", at: at).path == "/kds/tickets/T1/mark-ready")
    #expect(Self.op(.bump, ticket: "T1", at: at).body == #"{"readyAt":"2025-11-21T14:35:00.123Z"}"#)
    #expect(Self.op(.start, ticket: "T1").path == "/kds/tickets/T1/start")
    #expect(Self.op(.recall, ticket: "T1").body == "{}")
    // The kitchen tools.
    let done = Self.op(.markDone, ticket: "T1", item: "I 2", at: at)
    #expect(done.path == "/kds/tickets/T1/items/I%202/mark-done")
    #expect(done.body == #"{"doneAt":"2025-11-21T14:35:00.123Z"}"#)
    let undone = Self.op(.markUndone, ticket: "T1", item: "I2")
    #expect(undone.path == "/kds/tickets/T1/items/I2/mark-undone")
    #expect(undone.body == "{}")
    #expect(Self.op(.rush, ticket: "T1", order: "O1").path == "/kds/tickets/T1/rush")
    #expect(Self.op(.rush, ticket: "T1", order: "O1").body == #"{"rush":true}"#)
    #expect(Self.op(.unrush, ticket: "T1", order: "O1").body == #"{"rush":false}"#)
    #expect(Self.op(.serve, ticket: "T1", order: "O1").path == "/kds/orders/O1/serve")
    #expect(Self.op(.serve, ticket: "T1", order: "O1").body == "{}")
    let fire = Self.op(.fireCourse, ticket: "T1", order: "O1", course: 2)
    #expect(fire.path == "/kds/orders/O1/fire-course")
    #expect(fire.body == #"{"course":2}"#)
    #expect(TicketAction(rawValue: "mark-done") == .markDone)
    #expect(TicketAction(rawValue: "fire-course") == .fireCourse)
  }

  @Test func answersToOrderRoutes() {
    let policy = QueuePolicy.standard
    let array = HTTPAnswer.response(
      status: 200, body: Data("[{\"id\":\"T1\"}]".utf8), retryAfter: nil)
    #expect(policy.classify(array, kind: .serve) == .succeeded(nil))
    // A ticket's route still wants an object.
    if case .serverTrouble = policy.classify(array, kind: .bump) {
    } else {
      Issue.record("an array answered a bump: \(policy.classify(array, kind: .bump))")
    }
    let missing = HTTPAnswer.response(status: 404, body: Data(), retryAfter: nil)
    #expect(policy.classify(missing, kind: .markDone) == .extensionMissing(.markDone))
    #expect(policy.classify(missing, kind: .serve) == .extensionMissing(.serve))
  }

  @Test func stationBoardRushFirstHeldLastServedNever() {
    let cache = [
      Self.ticket("A", order: "1", sentAt: 0),
      Self.ticket("B", order: "2", sentAt: 10, priority: "RUSH"),
      Self.ticket("C", order: "3", status: .held, sentAt: -50, course: 2),
      Self.ticket("D", order: "4", status: .served, sentAt: 5),
      Self.ticket("E", order: "5", status: .ready, sentAt: 6),
      Self.ticket("F", order: "6", status: .inProgress, sentAt: 3),
    ]
    let board = BoardComposition.compose(cache: cache, operations: [], station: "grill")
    #expect(board.tickets.map(\.id) == ["B", "A", "F", "C"])
    // HELD is shown but not bumpable.
    let rules = KitchenBoardState(
      station: "grill", tickets: Dictionary(uniqueKeysWithValues: cache.map { ($0.id, $0) }),
      operations: [])
    if case .failure(let e) = rules.decide(.bump, ticketId: "C") {
      #expect(e.kind == .notAllowed)
    } else {
      Issue.record("a HELD ticket was bumpable")
    }
  }

  @Test func optimisticItemMarksRushServeAndFire() {
    let cache = [
      Self.ticket("G", order: "O", station: "grill", status: .ready),
      Self.ticket("F", order: "O", station: "fry", status: .ready),
      Self.ticket("S", order: "P", station: "salad", status: .queued),
      Self.ticket("S2", order: "P", station: "salad", status: .held, course: 2),
    ]
    let at = Self.t0.adding(seconds: 30)
    let ops = [
      Self.op(.markDone, ticket: "S", seq: 1, item: "S-i1", at: at),
      Self.op(.rush, ticket: "S", seq: 2, order: "P"),
      Self.op(.fireCourse, ticket: "S2", seq: 3, order: "P", course: 2),
    ]
    let expo = BoardComposition.compose(cache: cache, operations: ops, expo: true)
    let s = expo.tickets.first { $0.id == "S" }!
    #expect(s.items.map(\.doneAt) == [nil, at])
    #expect(s.isRush)
    #expect(expo.tickets.first { $0.id == "S2" }?.status == .queued)
    #expect(expo.tickets.first { $0.id == "S2" }?.isRush == true)
    #expect(expo.marks["S2"] == .notSynced)
    // Serving order O: both its tickets leave the screen.
    let served = BoardComposition.compose(
      cache: cache, operations: ops + [Self.op(.serve, ticket: "F", seq: 4, order: "O")],
      expo: true)
    #expect(Set(served.tickets.map(\.id)) == ["S", "S2"])
    // A station screen never shows READY.
    #expect(
      BoardComposition.compose(cache: cache, operations: [], station: "grill").tickets.isEmpty)
  }

  @Test func expoOrdersAndServeRule() {
    let cache = [
      Self.ticket("G", order: "O", station: "grill", status: .ready, sentAt: 5),
      Self.ticket("F", order: "O", station: "fry", status: .inProgress, sentAt: 5),
      Self.ticket("X", order: "O", station: "bar", status: .cancelled, sentAt: 5),
      Self.ticket("R", order: "Q", station: "salad", status: .queued, sentAt: 50, priority: "RUSH"),
      Self.ticket("Z", order: "Z", station: "salad", status: .served, sentAt: 1),
    ]
    let orders = ExpoBoard.orders(from: cache)
    #expect(orders.map(\.orderId) == ["Q", "O"])
    let o = orders[1]
    #expect(o.parts.map(\.station) == ["bar", "fry", "grill"])
    #expect(!o.allReady)
    #expect(o.readyCount.ready == 1 && o.readyCount.total == 2)
    var rules = KitchenBoardState(
      station: "expo", tickets: Dictionary(uniqueKeysWithValues: cache.map { ($0.id, $0) }),
      operations: [])
    if case .failure(let e) = rules.decideServe(orderId: "O") {
      #expect(e.message.contains("waiting for fry"))
    } else {
      Issue.record("served an order with fry still cooking")
    }
    rules.tickets["F"]!.status = .ready
    #expect(
      ExpoBoard.orders(from: rules.tickets.values).first { $0.orderId == "O" }?.allReady == true)
    guard case .success(let serve) = rules.decideServe(orderId: "O") else {
      Issue.record("could not serve a ready order")
      return
    }
    #expect(serve.decision == .enqueue(from: .ready, to: .served))
    // A station screen may not serve.
    let station = KitchenBoardState(station: "grill", tickets: rules.tickets, operations: [])
    if case .success = station.decideServe(orderId: "O") { Issue.record("a station served") }
    // The expo may send back any station's READY ticket.
    #expect(
      rules.decide(.recall, ticketId: "F") == .success(.enqueue(from: .ready, to: .inProgress)))
  }

  @Test func itemDecisions() {
    let cache = [
      Self.ticket("A", order: "1", status: .inProgress),
      Self.ticket("B", order: "2", status: .ready),
    ]
    let rules = KitchenBoardState(
      station: "grill", tickets: Dictionary(uniqueKeysWithValues: cache.map { ($0.id, $0) }),
      operations: [Self.op(.markDone, ticket: "A", item: "A-i0", at: Self.t0)])
    // Line 0 is already done (queued), line 1 not yet.
    #expect((try? rules.decideItem(ticketId: "A", itemIndex: 0, done: true).get()) == .some(nil))
    #expect((try? rules.decideItem(ticketId: "A", itemIndex: 1, done: true).get())??.id == "A-i1")
    if case .success = rules.decideItem(ticketId: "A", itemIndex: 5, done: true) {
      Issue.record("a line that does not exist")
    }
    if case .success = rules.decideItem(ticketId: "B", itemIndex: 0, done: true) {
      Issue.record("marked a line of a READY ticket")
    }
  }
}
