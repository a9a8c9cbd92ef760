import Dispatch
import Foundation
import KDSCore
import KDSStore
import KDSSync
import KDSTestSupport
import Synchronization
import Testing

/// Chef actions from several threads at once (a double tap on the screen, the
/// bump bar and kdsctl): the check and the queueing are one step.
@Suite struct ConcurrentActionsTests {
  func kiosk(tickets n: Int) throws -> KioskHarness {
    let tickets = (0..<n).map { i in
      Ticket(
        id: "T\(i)", orderId: "o\(i)", station: "grill", status: .queued,
        sentAt: Timestamp(seconds: 1_764_000_000 + Int64(i)), updatedAt: Timestamp(millis: 5),
        items: [TicketItem(name: "Dish", quantity: 1)])
    }
    // The engine is never ticked: no request leaves the process.
    return try KioskHarness(baseURL: "http://127.0.0.1:9", token: "t", seed: tickets)
  }

  /// Runs `body(thread)` on `threads` threads released together.
  func hammer(threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let go = Atomic<Bool>(false)
    let ready = Atomic<Int>(0)
    let group = DispatchGroup()
    for t in 0..<threads {
      group.enter()
      Thread.detachNewThread {
        ready.add(1, ordering: .relaxed)
        while !go.load(ordering: .acquiring) {}
        body(t)
        group.leave()
      }
    }
    while ready.load(ordering: .relaxed) < threads {}
    go.store(true, ordering: .releasing)
    group.wait()
  }

  @Test func concurrentBumpsOfOneTicketQueueOneOperation() throws {
    let ids = (0..<20).map { "T\($0)" }
    let kiosk = try kiosk(tickets: ids.count)
    let engine = kiosk.engine
    let outcomes = Outcomes()
    // Eight threads bump the same tickets in the same order, at the same time.
    hammer(threads: 8) { _ in
      for id in ids {
        outcomes.add(Result { () throws(ActionError) in try engine.perform(.bump, ticketId: id) })
      }
    }
    let all = outcomes.all
    #expect(all.count == 8 * ids.count)
    #expect(
      all.filter { if case .success(.queued) = $0 { true } else { false } }.count == ids.count)
    #expect(all.filter { $0 == .success(.unchanged(.ready)) }.count == 7 * ids.count)
    let ops = try kiosk.store.operations()
    for id in ids {
      #expect(ops.filter { $0.ticketId == id }.count == 1, "ticket \(id)")
    }
    #expect(kiosk.view.operations.count == ids.count)
    #expect(Set(try kiosk.store.recentlyBumped()) == Set(ids))
  }

  @Test func concurrentBumpsAndStartsOfOneTicketStayConsistent() throws {
    let ids = (0..<20).map { "T\($0)" }
    let kiosk = try kiosk(tickets: ids.count)
    let engine = kiosk.engine
    hammer(threads: 8) { t in
      for id in ids { _ = try? engine.perform(t % 2 == 0 ? .start : .bump, ticketId: id) }
    }
    // Whatever the order: at most one start (only from QUEUED), exactly one bump, start first.
    let ops = try kiosk.store.operations()
    for id in ids {
      let mine = ops.filter { $0.ticketId == id }
      #expect(mine.filter { $0.kind == .bump }.count == 1, "ticket \(id)")
      #expect(mine.filter { $0.kind == .start }.count <= 1, "ticket \(id)")
      if let start = mine.first(where: { $0.kind == .start }) {
        #expect(start.seq < mine.first { $0.kind == .bump }!.seq)
      }
    }
  }
}

final class Outcomes: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [Result<ActionResult, ActionError>] = []
  func add(_ r: Result<ActionResult, ActionError>) { lock.withLock { list.append(r) } }
  var all: [Result<ActionResult, ActionError>] { lock.withLock { list } }
}
