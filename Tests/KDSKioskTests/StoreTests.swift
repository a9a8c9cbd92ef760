import Foundation
import KDSCore
import KDSStore
import KDSTestSupport
import Testing

private func ticket(_ id: String, status: TicketStatus = .queued, updated: Int64, items: Int = 2)
  -> Ticket
{
  Ticket(
    id: id, orderId: "order-\(id)", orderNumber: id, station: "grill", status: status,
    sentAt: Timestamp(seconds: 1_764_000_000), updatedAt: Timestamp(millis: updated),
    waiterName: "Amina", tableName: "Table 8",
    items: (0..<items).map { TicketItem(id: "it-\($0)", name: "Burger \($0)", quantity: 1) })
}

@Suite struct StoreTests {
  @Test func upsertKeepsTheNewerUpdatedAt() throws {
    let dir = TempDir()
    let store = try KioskStore(path: dir.file("k.db"))
    _ = try store.apply(tickets: [ticket("A", updated: 2000)], cursor: Timestamp(millis: 2000))
    let older = try store.apply(
      tickets: [ticket("A", status: .ready, updated: 1000)], cursor: Timestamp(millis: 1000))
    #expect(older.changed.isEmpty)
    #expect(try store.loadTickets().first?.status == .queued)
    #expect(try store.cursor() == Timestamp(millis: 2000))
    let newer = try store.apply(tickets: [ticket("A", status: .ready, updated: 3000)], cursor: nil)
    #expect(newer.changed.map(\.id) == ["A"])
    #expect(try store.loadTickets().first?.status == .ready)
  }

  @Test func fiveHundredTicketsInOneTransactionAndFullResyncPrunes() throws {
    let dir = TempDir()
    let store = try KioskStore(path: dir.file("k.db"))
    let batch = (0..<500).map { ticket("T\($0)", updated: 1000 + Int64($0), items: 5) }
    let applied = try store.apply(tickets: batch, cursor: Timestamp(millis: 1499))
    #expect(applied.changed.count == 500)
    #expect(try store.ticketCount() == 500)
    // A full resync without T0..T9 removes them, except one with an outstanding operation.
    _ = try store.enqueue(
      QueuedOperation(id: "01OP", kind: .bump, ticketId: "T0", createdAt: Timestamp(millis: 0)),
      maxOutstanding: 100)
    let pruned = try store.apply(
      tickets: Array(batch.dropFirst(10)), cursor: nil, fullResyncOf: "grill")
    #expect(Set(pruned.removed) == Set((1..<10).map { "T\($0)" }))
    #expect(try store.ticketCount() == 491)
  }

  @Test func enqueueIsDurableKeyedAndLimited() throws {
    let dir = TempDir()
    let path = dir.file("k.db")
    do {
      let store = try KioskStore(path: path)
      var ulid = ULIDGenerator()
      for i in 0..<100 {
        let op = QueuedOperation(
          id: ulid.next(now: Timestamp(millis: 5)), kind: .bump, ticketId: "T\(i)",
          createdAt: Timestamp(millis: 5))
        let stored = try store.enqueue(op, maxOutstanding: 100)
        #expect(stored.seq == Int64(i + 1))
      }
      #expect(throws: StoreError.queueFull(100)) {
        try store.enqueue(
          QueuedOperation(id: "X", kind: .bump, ticketId: "T", createdAt: Timestamp(millis: 5)),
          maxOutstanding: 100)
      }
      var first = try store.operations()[0]
      first.state = .inFlight
      try store.update([first])
    }
    // Reopened (as after a crash): same keys, in-flight back to pending.
    let store = try KioskStore(path: path)
    let ops = try store.operations()
    #expect(ops.count == 100)
    #expect(ops.allSatisfy { $0.state == .pending })
    #expect(Set(ops.map(\.id)).count == 100)
    #expect(try store.recentlyBumped(limit: 3) == ["T99", "T98", "T97"])
    #expect(try store.integrityCheck() == "ok")
  }

  @Test func thresholdsPerStation() throws {
    let dir = TempDir()
    let store = try KioskStore(path: dir.file("k.db"))
    #expect(try store.thresholds(station: "grill") == .standard)
    try store.setThresholds(SLAThresholds(orangeAfter: 120, redAfter: 240), station: "grill")
    #expect(try store.thresholds(station: "grill").redAfter == 240)
    #expect(try store.thresholds(station: "fry") == .standard)
  }
}
