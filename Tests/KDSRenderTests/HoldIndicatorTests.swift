import KDSCore
import KDSGeometry
import KDSTestSupport
import Testing

@testable import KDSRender

/// The press-and-hold ring (issue 11): drawn on the card held, filling with
/// the hold's progress; only the ring's part of the frame is repainted.
@Suite struct HoldIndicatorTests {
  func board() throws -> (BoardRenderer, BoardSnapshot) {
    let renderer = BoardRenderer(width: 800, height: 480, text: try RenderTest.engine())
    let snap = RenderTest.snapshot(
      Array(try RenderTest.tickets("tickets-lunch-rush.json").prefix(4)))
    return (renderer, snap)
  }

  @Test func ringOnACardHalfwayGolden() throws {
    let (renderer, base) = try board()
    renderer.render(base)
    let card = try #require(renderer.layout.visibleFragments.first)
    var snap = base
    snap.hold = HoldIndicator(ticketId: card.ticketId, part: .card, progress: 0.5)
    let damage = renderer.render(snap)
    // Only around the ring: never the whole frame.
    #expect(!damage.full)
    #expect(damage.rects.allSatisfy { card.rect.contains($0) }, "\(damage.rects)")
    try RenderTest.expectGolden(renderer.canvas, "hold-ring-800x480")
    // The ring is on the card: its disc colour at the card's middle ring area.
    let geometry = try #require(
      BoardRenderer.holdRingGeometry(snap.hold!, layout: renderer.layout))
    #expect(card.rect.contains(x: geometry.center.x, y: geometry.center.y))
    // Filled dots (bump green) on the right half, track dots on the left.
    let r = geometry.radius - max(2, geometry.radius / 9) - 1
    let right = renderer.canvas.pixel(x: geometry.center.x + r, y: geometry.center.y)
    let left = renderer.canvas.pixel(x: geometry.center.x - r, y: geometry.center.y)
    #expect(right == BoardRenderer.holdBumpColor.rgb, "\(String(right, radix: 16))")
    #expect(left == BoardRenderer.holdTrackColor.rgb, "\(String(left, radix: 16))")
  }

  @Test func progressChangesOnlyTheRingAndReleaseRestoresTheCard() throws {
    let (renderer, base) = try board()
    renderer.render(base)
    let before = Array(UnsafeBufferPointer(start: renderer.canvas.pixels, count: 800 * 480))
    let card = try #require(renderer.layout.visibleFragments.first)
    var snap = base
    for p in [0.0, 0.3, 0.99] {
      snap.hold = HoldIndicator(ticketId: card.ticketId, part: .card, progress: p)
      renderer.render(snap)
    }
    snap.hold = nil
    let damage = renderer.render(snap)
    #expect(!damage.isEmpty)
    let after = Array(UnsafeBufferPointer(start: renderer.canvas.pixels, count: 800 * 480))
    #expect(after == before, "the card looks as it did before the hold")
  }

  @Test func chipHoldAndChipHitTarget() throws {
    let (renderer, base) = try board()
    renderer.render(base)
    let card = try #require(renderer.layout.visibleFragments.first)
    let chip = try #require(card.chipRect)
    #expect(card.rect.contains(chip))
    #expect(
      renderer.hitTest(x: chip.x + chip.width / 2, y: chip.y + chip.height / 2)
        == .ticket(id: card.ticketId, area: .chip))
    #expect(
      renderer.hitTest(x: card.rect.x + 4, y: card.rect.maxY - 4)
        == .ticket(id: card.ticketId, area: .body))
    var snap = base
    snap.hold = HoldIndicator(ticketId: card.ticketId, part: .chip, progress: 1)
    renderer.render(snap)
    let g = try #require(BoardRenderer.holdRingGeometry(snap.hold!, layout: renderer.layout))
    #expect(card.rect.contains(x: g.center.x, y: g.center.y))
    // A hold on a ticket not on this page draws nothing.
    snap.hold = HoldIndicator(ticketId: "not-here", part: .card, progress: 0.5)
    #expect(BoardRenderer.holdRingGeometry(snap.hold!, layout: renderer.layout) == nil)
  }
}
