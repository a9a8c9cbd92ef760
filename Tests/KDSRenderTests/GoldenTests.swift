import KDSCore
import KDSTestSupport
import Testing

@testable import KDSRender

/// Whole frames of the fixtures at a fixed clock, compared with committed
/// references (Tests/KDSRenderTests/Golden; KDS_UPDATE_GOLDENS=1 rewrites them).
@Suite struct GoldenTests {
  @Test func lunchRushAt1920x1080() throws {
    let renderer = BoardRenderer(width: 1920, height: 1080, text: try RenderTest.engine())
    renderer.render(RenderTest.snapshot(try RenderTest.tickets("tickets-lunch-rush.json")))
    // Dense but calm: about 19 whole cards on the first page.
    #expect(renderer.layout.visibleFragments.count >= 17)
    try RenderTest.expectGolden(renderer.canvas, "lunch-rush-1920x1080")
  }

  @Test func lunchRushPortraitFitsThreeColumns() throws {
    // Portrait is covered by the layout properties; here just its shape.
    let layout = BoardLayout.make(
      RenderTest.snapshot(try RenderTest.tickets("tickets-lunch-rush.json")), width: 1080,
      height: 1920, text: try RenderTest.engine())
    #expect(layout.columns == 3)
    #expect(layout.visibleFragments.count >= 17)
  }

  @Test func lunchRushSecondPageReconnectingAt800x480() throws {
    let renderer = BoardRenderer(width: 800, height: 480, text: try RenderTest.engine())
    var snap = RenderTest.snapshot(
      try RenderTest.tickets("tickets-lunch-rush.json"), connection: .reconnecting)
    snap.pendingOperations = 2
    snap.page = 1
    renderer.render(snap)
    #expect(renderer.layout.page == 1)
    #expect(renderer.layout.pageCount > 2)
    try RenderTest.expectGolden(renderer.canvas, "lunch-rush-800x480-page2")
  }

  @Test func edgeCasesOfflineWithMarksAndAlertsAt1280x800() throws {
    let renderer = BoardRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    var snap = RenderTest.snapshot(
      try RenderTest.tickets("tickets-edge-cases.json"), connection: .offline)
    snap.pendingOperations = 3
    snap.alerts = [.failedOperations(1), .actionUnavailable("recall")]
    snap.marks = [
      "01KAK7X0F0JKFTTW23W4YT6FNY": .notSynced,
      "01KAK7WCY0PM0PN06487CC7Y78": .syncFailed(reason: "HTTP 409"),
    ]
    snap.selectedTicketId = "01KAK7APH0DXQ9G2J060E0D641"
    renderer.render(snap)
    try RenderTest.expectGolden(renderer.canvas, "edge-cases-1280x800-offline")
  }
}
