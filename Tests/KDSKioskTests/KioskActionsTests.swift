import Foundation
import KDSCore
import KDSKiosk
import KDSStore
import KDSTestSupport
import Testing

/// The input API (keyboard, bump bar, touch) on a kiosk whose server is
/// unreachable: everything works from the cache and the queue.
@Suite struct KioskActionsTests {
  func offlineKiosk(tickets n: Int) throws -> KioskHarness {
    let proxy = try FaultProxy(upstreamPort: 9)
    proxy.refuse()
    let tickets = (0..<n).map { i in
      Ticket(
        id: "T\(i)", orderId: "o\(i)", station: "grill", status: .queued,
        sentAt: Timestamp(seconds: 1_764_000_000 + Int64(i)), updatedAt: Timestamp(millis: 5),
        items: [TicketItem(name: "Dish", quantity: 1)])
    }
    return try KioskHarness(baseURL: proxy.baseURL, token: "t", seed: tickets)
  }

  @Test func selectionPagesAndBumpBar() throws {
    let kiosk = try offlineKiosk(tickets: 4)
    let actions: any KioskActions = kiosk.core
    #expect(kiosk.core.snapshot().selectedTicketId == nil)
    actions.selectNextTicket()
    #expect(kiosk.core.snapshot().selectedTicketId == "T0")
    actions.selectNextTicket()
    actions.selectNextTicket()
    #expect(kiosk.core.selectedTicketId == "T2")
    actions.selectPreviousTicket()
    #expect(kiosk.core.selectedTicketId == "T1")
    #expect(actions.bumpSelected().isDone)
    var snap = kiosk.core.snapshot()
    #expect(snap.tickets.map(\.id) == ["T0", "T2", "T3"])
    #expect(snap.selectedTicketId == "T2")  // the next card takes the place
    #expect(snap.marks["T1"] == .notSynced)
    #expect(snap.pendingOperations == 1)
    #expect(actions.startSelected().isDone)
    #expect(kiosk.core.snapshot().tickets.first { $0.id == "T2" }?.status == .inProgress)
    #expect(kiosk.core.snapshot().marks["T2"] == .notSynced)
    #expect(actions.recallLast().isDone)  // T1 comes back
    snap = kiosk.core.snapshot()
    #expect(snap.tickets.map(\.id) == ["T0", "T1", "T2", "T3"])
    #expect(actions.recallLast() == .refused("nothing to recall"))
    #expect(actions.retryFailed() == .refused("no failed operation"))
    // No screen: the board's order in pages of `headlessPageSize` (two here).
    kiosk.core.headlessPageSize = 2
    actions.nextPage()
    #expect(kiosk.core.snapshot().page == 1)
    actions.nextPage()
    #expect(kiosk.core.page == 1)  // not past the last page
    actions.previousPage()
    actions.previousPage()
    #expect(kiosk.core.page == 0)
    actions.select(ticketId: "T3")
    #expect(actions.bump(ticketId: "T3").isDone)
    #expect(kiosk.core.snapshot().selectedTicketId == "T2")
    #expect(actions.bump(ticketId: "T3") == .done("nothing to do: the ticket is READY"))
    #expect(actions.bump(ticketId: "NOPE") == .refused("no ticket NOPE on this screen"))
    #expect(kiosk.core.snapshot().connection != .connected)
    #expect(kiosk.core.snapshot().tickets.count == 3)
  }

  @Test func presenterGetsTheServerClock() throws {
    // The server's clock runs 90 s ahead of this kiosk's (measured on an
    // earlier run and stored): the presenter draws ages by the server's time.
    let dir = TempDir()
    let path = dir.file("kiosk.db")
    try KioskStore(path: path).setSetting("clock.offsetMillis", "90000")
    let proxy = try FaultProxy(upstreamPort: 9)
    proxy.refuse()
    let kiosk = try KioskHarness(baseURL: proxy.baseURL, token: "t", dbPath: path)
    #expect(kiosk.view.status.clock.offsetMillis == 90_000)
    let presenter = NullPresenter()
    presenter.present(kiosk.core.snapshot())
    #expect(presenter.presented == 1)
    #expect(presenter.last?.now == kiosk.clock.now().adding(millis: 90_000))
    kiosk.clock.advance(seconds: 30)
    presenter.present(kiosk.core.snapshot())
    #expect(presenter.presented == 2)
    #expect(presenter.last?.now == kiosk.clock.now().adding(seconds: 90))
    #expect(presenter.last?.thresholds == .standard)
    #expect(presenter.last?.station == "grill")
  }
}
