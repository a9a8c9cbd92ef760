import Dispatch
import Foundation
import KDSCore
import KDSStore
import KDSSync
import KDSTestSupport
import Testing

/// Chef actions from several threads at once (a double tap on the screen, the
/// bump bar and kdsctl): the check and the queueing are one step.
@Suite struct ConcurrentActionsTests {
  func kiosk() throws -> KioskHarness {
    let tickets = (0..<2).map { i in
      Ticket(
        id: "T\(i)", orderId: "o\(i)", station: "grill", status: .queued,
        sentAt: Timestamp(seconds: 1_764_000_000 + Int64(i)), updatedAt: Timestamp(millis: 5),
        items: [TicketItem(name: "Dish", quantity: 1)])
    }
    // The engine is never ticked: no request leaves the process.
    return try KioskHarness(baseURL: "http://127.0.0.1:9", token: "t", seed: tickets)
  }

  @Test func concurrentBumpsOfOneTicketQueueOneOperation() throws {
    let kiosk = try kiosk()
    let engine = kiosk.engine
    let outcomes = Outcomes()
    DispatchQueue.concurrentPerform(iterations: 32) { _ in
      outcomes.add(Result { () throws(ActionError) in try engine.perform(.bump, ticketId: "T0") })
    }
    let all = outcomes.all
    #expect(all.count == 32)
    #expect(all.filter { if case .success(.queued) = $0 { true } else { false } }.count == 1)
    #expect(all.filter { $0 == .success(.unchanged(.ready)) }.count == 31)
    #expect(try kiosk.store.operations().count == 1)
    #expect(kiosk.view.operations.count == 1)
    #expect(try kiosk.store.recentlyBumped() == ["T0"])
  }

  @Test func concurrentBumpsAndStartsOfOneTicketStayConsistent() throws {
    let kiosk = try kiosk()
    let engine = kiosk.engine
    DispatchQueue.concurrentPerform(iterations: 40) { i in
      _ = try? engine.perform(i % 2 == 0 ? .start : .bump, ticketId: "T1")
    }
    // Whatever the order: at most one start (only from QUEUED) and exactly one bump.
    let ops = try kiosk.store.operations().filter { $0.ticketId == "T1" }
    #expect(ops.filter { $0.kind == .bump }.count == 1)
    #expect(ops.filter { $0.kind == .start }.count <= 1)
    if let start = ops.first(where: { $0.kind == .start }) {
      #expect(start.seq < ops.first { $0.kind == .bump }!.seq)
    }
  }
}

final class Outcomes: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [Result<ActionResult, ActionError>] = []
  func add(_ r: Result<ActionResult, ActionError>) { lock.withLock { list.append(r) } }
  var all: [Result<ActionResult, ActionError>] { lock.withLock { list } }
}
