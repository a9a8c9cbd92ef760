import Foundation
import KDSCore
import KDSDisplay
import KDSGeometry
import KDSInput
import KDSRender
import KDSStore
import KDSTestSupport
import Logging
import Testing

@testable import KDSKiosk

/// The input bridge's touch rules on a real daemon, store and renderer (a
/// PNG screen; the server unreachable: actions queue offline). Touch events
/// carry their own timestamps and the hold timer is ticked with chosen
/// monotonic times, so the rules are checked without waiting.
@Suite struct InputBridgeTouchTests {
  final class Rig {
    let dir = TempDir()
    let daemon: KioskDaemon
    let screen: ScreenPresenter
    let bridge: InputBridge

    init(tickets: Int = 3) throws {
      let db = dir.file("kiosk.db")
      let store = try KioskStore(path: db)
      _ = try store.apply(
        tickets: (0..<tickets).map { i in
          Ticket(
            id: "T\(i)", orderId: "order-10\(i)", station: "grill", status: .queued,
            sentAt: Timestamp(seconds: 1_764_000_000 + Int64(i)), updatedAt: Timestamp(millis: 5),
            items: [TicketItem(name: "Dish", quantity: 1)])
        }, cursor: nil)
      try store.close()
      daemon = try KioskDaemon(
        configuration: KioskDaemonOptions(
          serverURL: "http://127.0.0.1:9", station: "grill", token: "t", dbPath: db))
      screen = try ScreenPresenter(
        output: .snapshot(
          SnapshotOutput(path: dir.file("screen.png")), width: 800, height: 480, rotation: .none),
        fontsDirectory: TestPaths.repoRoot + "/Fonts", logger: Logger(label: "test"))
      daemon.screen = screen
      daemon.presenter = screen
      screen.onLayout = { [daemon] layout in
        daemon.core.layoutChanged(pages: ScreenPresenter.pages(of: layout))
      }
      bridge = InputBridge(
        manager: InputManager(
          screen: TouchScreen(physicalWidth: 800, physicalHeight: 480), folder: dir.path,
          logger: Logger(label: "test")),
        daemon: daemon, screen: screen, logger: Logger(label: "test"))
      daemon.input = bridge
      daemon.presentNow()
    }

    /// The middle of ticket `id`'s card.
    func center(_ id: String) throws -> (x: Int, y: Int) {
      let f = try #require(screen.renderer.layout.visibleFragments.first { $0.ticketId == id })
      return (f.rect.x + f.rect.width / 2, f.rect.y + f.rect.height / 2)
    }

    var operations: [QueuedOperation] { daemon.engine.view().operations }

    static func ns(_ ms: Int64) -> UInt64 { UInt64(ms) * 1_000_000 }

    func down(_ p: (x: Int, y: Int), at ms: Int64) {
      bridge.handle([.touchDown(x: p.x, y: p.y, time: Self.ns(ms))])
      daemon.presentNow()
    }
    func up(_ p: (x: Int, y: Int), at ms: Int64) {
      bridge.handle([.touchUp(x: p.x, y: p.y, time: Self.ns(ms))])
      daemon.presentNow()
    }
    func tick(_ ms: Int64) {
      bridge.tick(atMonotonicMillis: ms)
      daemon.presentNow()
    }
  }

  /// The kitchen tools' touch areas (issue 14): the banner's All day button
  /// toggles the panel; on the recall list a first tap highlights a row, a
  /// second tap on it recalls that ticket, and Close goes back to the cards.
  @Test func allDayButtonAndRecallListByTouch() throws {
    let rig = try Rig(tickets: 3)
    func tap(_ r: Rect, at ms: Int64) {
      let p = (x: r.x + r.width / 2, y: r.y + r.height / 2)
      rig.down(p, at: ms)
      rig.up(p, at: ms + 50)
    }
    let allDay = try #require(rig.screen.renderer.layout.banner.allDayRect)
    tap(allDay, at: 1_000)
    #expect(rig.daemon.core.snapshot().view == .allDay)
    tap(allDay, at: 2_000)
    #expect(rig.daemon.core.snapshot().view == .tickets)

    // Two bumps (offline: queued), then the recall list by its key action.
    #expect(rig.daemon.actions.bump(ticketId: "T0").isDone)
    #expect(rig.daemon.actions.bump(ticketId: "T1").isDone)
    rig.daemon.actions.toggleRecallList()
    rig.daemon.presentNow()
    var snap = rig.daemon.core.snapshot()
    #expect(snap.view == .recall)
    #expect(snap.recallList.map(\.ticketId) == ["T1", "T0"])
    let panel = try #require(rig.screen.renderer.layout.panel)
    let second = try #require(panel.rows.first { $0.index == 1 })
    tap(second.rect, at: 3_000)
    #expect(rig.daemon.core.snapshot().selectedRecallIndex == 1)
    #expect(!rig.operations.contains { $0.kind == .recall })
    tap(second.rect, at: 4_000)
    #expect(rig.operations.contains { $0.kind == .recall && $0.ticketId == "T0" })
    snap = rig.daemon.core.snapshot()
    #expect(snap.recallList.map(\.ticketId) == ["T1"])
    let close = try #require(rig.screen.renderer.layout.panel?.closeRect)
    tap(close, at: 5_000)
    #expect(rig.daemon.core.snapshot().view == .tickets)
  }

  @Test func aPalmOrTwoFingersDoNothing() throws {
    let rig = try Rig()
    let p = try rig.center("T0")
    rig.down(p, at: 1000)
    #expect(rig.daemon.core.hold?.ticketId == "T0")
    #expect(rig.daemon.core.isAnimating(atMonotonicMillis: 1000))
    rig.bridge.handle([.touchCancel(reason: .contacts(2), time: Rig.ns(1100))])
    #expect(rig.daemon.core.hold == nil)
    rig.tick(3000)
    rig.up(p, at: 3100)  // a stray lift after the cancel
    #expect(rig.operations.isEmpty)
    #expect(rig.daemon.core.selectedTicketId == nil, "no tap either")
    #expect(!rig.daemon.core.isAnimating(atMonotonicMillis: 3100))
  }

  @Test func tapsSelectAndAHoldBumpsExactlyOne() throws {
    let rig = try Rig()
    let p = try rig.center("T0")
    for i: Int64 in 0..<3 {
      rig.down(p, at: 1000 + i * 100)
      rig.tick(1040 + i * 100)
      rig.up(p, at: 1050 + i * 100)
    }
    #expect(rig.operations.isEmpty)
    #expect(rig.daemon.core.selectedTicketId == "T0")
    // Held: the ring fills, then at 600 ms the card is bumped.
    rig.down(p, at: 2000)
    rig.tick(2300)
    #expect(rig.daemon.core.hold?.progress == 0.5)
    rig.tick(2600)
    #expect(rig.operations.map(\.ticketId) == ["T0"])
    #expect(rig.daemon.core.hold == nil)
    // T1 slid into its place under the finger: nothing armed.
    #expect(try rig.center("T1") == p)
    rig.tick(5000)
    rig.up(p, at: 5000)
    #expect(rig.operations.count == 1)
    // The next card needs its own full hold: a quick touch only selects it.
    rig.down(p, at: 6000)
    rig.up(p, at: 6100)
    #expect(rig.operations.count == 1)
    #expect(rig.daemon.core.selectedTicketId == "T1")
  }

  @Test func liftedEarlyOrSlidOffDoesNothing() throws {
    let rig = try Rig()
    let p = try rig.center("T1")
    rig.down(p, at: 1000)
    rig.tick(1500)
    rig.up(p, at: 1590)  // 590 of 600 ms
    #expect(rig.operations.isEmpty)
    // Slid off onto the banner: cancelled, the lift does nothing.
    rig.down(p, at: 2000)
    rig.bridge.handle([.touchMove(x: p.x, y: 5, time: Rig.ns(2100))])
    #expect(rig.daemon.core.hold == nil)
    rig.tick(2700)
    rig.up((p.x, 5), at: 2800)
    #expect(rig.operations.isEmpty)
    // A lift after the full time acts even if the loop had not ticked yet.
    rig.down(p, at: 3000)
    rig.up(p, at: 3700)
    #expect(rig.operations.map(\.ticketId) == ["T1"])
  }

  @Test func aHoldOnTheChipStarts() throws {
    let rig = try Rig()
    let f = try #require(rig.screen.renderer.layout.visibleFragments.first { $0.ticketId == "T2" })
    let chip = try #require(f.chipRect)
    let p = (chip.x + chip.width / 2, chip.y + chip.height / 2)
    rig.down(p, at: 1000)
    #expect(rig.daemon.core.hold?.part == .chip)
    rig.tick(1700)
    #expect(rig.operations.map(\.kind) == [.start])
    #expect(rig.daemon.core.snapshot().tickets.first { $0.id == "T2" }?.status == .inProgress)
  }
}
