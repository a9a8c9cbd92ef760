import KDSCore
import KDSTestSupport
import Testing

@testable import KDSRender

/// The banner's status lines (see docs/sync-contract.md), alerts, and what taps hit.
@Suite struct BannerTests {
  @Test func statusLinesFollowSeed92() {
    let now = RenderTest.fixtureNow
    var snap = BoardSnapshot(
      station: "Grill", tickets: [], now: now, lastSyncAt: now.adding(seconds: -3))
    #expect(BoardRenderer.statusText(snap) == "Connected - Last sync: 3 seconds ago")
    snap.lastSyncAt = now.adding(seconds: -125)
    #expect(BoardRenderer.statusText(snap) == "Connected - Last sync: 2 minutes ago")
    snap.connection = .reconnecting
    snap.pendingOperations = 2
    #expect(BoardRenderer.statusText(snap) == "Reconnecting... (2 updates queued)")
    snap.connection = .offline
    snap.pendingOperations = 0
    #expect(BoardRenderer.statusText(snap) == "Offline - Showing cached tickets")
    snap.pendingOperations = 1
    #expect(BoardRenderer.statusText(snap) == "Offline - Showing cached tickets (1 update queued)")
  }

  @Test func theClockIsTheSnapshotsLocalTime() throws {
    let renderer = BoardRenderer(width: 640, height: 400, text: try RenderTest.engine())
    let noon = Timestamp(iso8601: "2025-11-21T12:05:00Z")!
    #expect(kitchenClock(noon, utcOffsetSeconds: 0) == "12:05")
    #expect(kitchenClock(noon, utcOffsetSeconds: -5 * 3600) == "07:05")
    #expect(kitchenClock(noon, utcOffsetSeconds: 12 * 3600) == "00:05")
    // Another offset in the snapshot repaints the clock, not the board.
    var snap = RenderTest.snapshot([], now: noon)
    renderer.render(snap)
    snap.clockUTCOffsetSeconds = 3600
    let damage = renderer.render(snap)
    #expect(!damage.isEmpty && !damage.full)
    #expect(damage.rects.allSatisfy { renderer.layout.banner.rect.contains($0) })
  }

  @Test func alertsHaveTheirWords() {
    #expect(alertText(.queueFull) == "Too many offline operations. Please connect to sync.")
    #expect(alertText(.failedOperations(3)) == "3 updates failed - tap to retry")
    #expect(alertText(.notAuthorised("token revoked")) == "Not authorised: token revoked")
    #expect(alertText(.actionUnavailable("recall")) == "Recall unavailable on this server")
  }

  @Test func tapsFindRecallRetryAlertsAndPages() throws {
    let engine = try RenderTest.engine()
    var snap = RenderTest.snapshot(try RenderTest.tickets("tickets-lunch-rush.json"))
    let first = snap.tickets.filter { $0.status.isActive }.min { $0.sentAt < $1.sentAt }!
    snap.marks[first.id] = .syncFailed(reason: "409")
    snap.alerts = [.failedOperations(1)]
    let renderer = BoardRenderer(width: 1280, height: 800, text: engine)
    renderer.render(snap)
    let layout = renderer.layout
    let frag = layout.fragments.first { $0.ticketId == first.id }!
    let retry = try #require(frag.retryRect)
    #expect(
      renderer.hitTest(x: retry.x + retry.width / 2, y: retry.y + retry.height / 2)
        == .ticket(id: first.id, area: .retry))
    #expect(
      renderer.hitTest(x: frag.rect.x + 5, y: frag.headerRect.maxY + 5)
        == .ticket(id: first.id, area: .body))
    let recall = layout.recallButtonRect
    #expect(
      renderer.hitTest(x: recall.x + recall.width / 2, y: recall.y + recall.height / 2) == .recall)
    let alerts = try #require(layout.banner.alertRect)
    #expect(renderer.hitTest(x: 5, y: alerts.y + 2) == .alerts)
    let page = try #require(layout.banner.pageRect)
    #expect(renderer.hitTest(x: page.x + 2, y: page.y + 2) == .pageIndicator)
    #expect(renderer.hitTest(x: layout.width - 2, y: layout.height - 2) == nil)
    // The red strip is drawn where the tap lands.
    #expect(
      renderer.canvas.pixel(x: retry.x + retry.width / 2, y: retry.maxY - 2)
        == Theme.standard.syncFailedStrip.rgb)
    // Later pages: page 2 shows other tickets; the page clamps.
    snap.page = 99
    renderer.render(snap)
    #expect(renderer.layout.page == renderer.layout.pageCount - 1)
    #expect(renderer.layout.ticketsOnLaterPages == 0)
    #expect(renderer.layout.page(ofTicket: first.id) == 0)
  }
}
