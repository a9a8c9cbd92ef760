import Foundation
import KDSCore
import KDSDisplay
import KDSGeometry
import KDSTestSupport
import Testing

@testable import KDSRender

/// A timer tick repaints only what changed, and the result is the same
/// picture a full repaint gives.
@Suite struct DamageTests {
  func samePixels(_ a: Canvas, _ b: Canvas) -> Bool {
    guard a.width == b.width, a.height == b.height else { return false }
    for y in 0..<a.height
    where memcmp(a.pixels + y * a.stride, b.pixels + y * b.stride, a.width * 4) != 0 {
      return false
    }
    return true
  }

  func fresh(_ snap: BoardSnapshot, _ engine: TextEngine, _ w: Int, _ h: Int) -> Canvas {
    let r = BoardRenderer(width: w, height: h, text: engine)
    r.render(snap)
    return r.canvas
  }

  @Test func timerTickRepaintsOnlyTimersAndTheBanner() throws {
    let engine = try RenderTest.engine()
    let renderer = BoardRenderer(width: 1920, height: 1080, text: engine)
    var snap = RenderTest.snapshot(try RenderTest.tickets("tickets-lunch-rush.json"))
    let first = renderer.render(snap)
    #expect(first.full)
    // Nothing changed: nothing repainted.
    #expect(renderer.render(snap).isEmpty)
    snap.now = snap.now.adding(seconds: 1)
    let tick = renderer.render(snap)
    #expect(!tick.full)
    #expect(!tick.isEmpty)
    #expect(tick.area * 20 < 1920 * 1080, "a tick repainted \(tick.area) pixels")
    let layout = renderer.layout
    for r in tick.rects {
      let inHeader = layout.visibleFragments.contains { $0.headerRect.intersects(r) }
      #expect(inHeader || layout.banner.rect.intersects(r), "damage \(r) is not a timer or banner")
    }
    // Every timer on screen is covered.
    for f in layout.visibleFragments {
      #expect(tick.rects.contains { $0.intersects(f.timerRect) })
    }
    #expect(samePixels(renderer.canvas, fresh(snap, engine, 1920, 1080)))
  }

  @Test func slaColourChangeRepaintsTheHeader() throws {
    let engine = try RenderTest.engine()
    let renderer = BoardRenderer(width: 1280, height: 800, text: engine)
    let now = RenderTest.fixtureNow
    let ticket = Ticket(
      id: "A", orderId: "o-1", orderNumber: "77", station: "grill", status: .queued,
      sentAt: now.adding(seconds: -299), updatedAt: now,
      items: [TicketItem(name: "Beef burger", quantity: 2)])
    var snap = BoardSnapshot(station: "Grill", tickets: [ticket], now: now)
    renderer.render(snap)
    let header = renderer.layout.fragments[0].headerRect
    #expect(
      renderer.canvas.pixel(x: header.x + header.width / 2, y: header.y + 1)
        == Theme.standard.headerGreen.rgb)
    snap.now = now.adding(seconds: 1)  // 5:00: orange
    let damage = renderer.render(snap)
    #expect(!damage.full)
    #expect(damage.rects.contains { $0.contains(header) })
    #expect(
      renderer.canvas.pixel(x: header.x + header.width / 2, y: header.y + 1)
        == Theme.standard.headerOrange.rgb)
    #expect(samePixels(renderer.canvas, fresh(snap, engine, 1280, 800)))
  }

  @Test func selectionMarksAndBumpsMatchAFullRepaint() throws {
    let engine = try RenderTest.engine()
    let renderer = BoardRenderer(width: 1024, height: 768, text: engine)
    var snap = RenderTest.snapshot(try RenderTest.tickets("tickets-lunch-rush.json"))
    renderer.render(snap)
    let first = renderer.layout.visibleFragments.first!
    snap.selectedTicketId = first.ticketId
    let sel = renderer.render(snap)
    #expect(!sel.full && sel.rects.contains { $0.contains(first.rect) })
    #expect(samePixels(renderer.canvas, fresh(snap, engine, 1024, 768)))
    snap.connection = .offline
    snap.pendingOperations = 4
    renderer.render(snap)
    #expect(samePixels(renderer.canvas, fresh(snap, engine, 1024, 768)))
    snap.marks[first.ticketId] = .syncFailed(reason: "x")
    renderer.render(snap)
    #expect(samePixels(renderer.canvas, fresh(snap, engine, 1024, 768)))
    snap.tickets.removeAll { $0.id == first.ticketId }
    let bump = renderer.render(snap)
    #expect(!bump.isEmpty)
    #expect(samePixels(renderer.canvas, fresh(snap, engine, 1024, 768)))
  }

  @Test func mergedDamageCoversEveryInputRect() {
    let bounds = Rect(x: 0, y: 0, width: 1000, height: 1000)
    var rng = SeededRandom(seed: 42)
    for _ in 0..<50 {
      let input = (0..<Int.random(in: 1...30, using: &rng)).map { _ in
        Rect(
          x: Int.random(in: 0..<950, using: &rng), y: Int.random(in: 0..<950, using: &rng),
          width: Int.random(in: 1...50, using: &rng), height: Int.random(in: 1...50, using: &rng))
      }
      let merged = BoardRenderer.merge(input, bounds: bounds)
      for r in input { #expect(merged.rects.contains { $0.contains(r) }) }
      for (i, a) in merged.rects.enumerated() {
        for b in merged.rects[(i + 1)...] { #expect(!a.intersects(b)) }
      }
    }
  }
}

@Suite struct PresentTests {
  @Test(arguments: Rotation.allCases)
  func presentKeepsARotatedOutputInStep(_ rotation: Rotation) throws {
    let engine = try RenderTest.engine()
    let renderer = BoardRenderer(width: 600, height: 400, text: engine)
    let size = rotation.physicalSize(logical: renderer.canvas.size)
    let output = Canvas(width: size.width, height: size.height)
    /// Renders and copies the damage into the rotated output (as the
    /// snapshot output does); the output's rectangles that changed.
    func present(_ snap: BoardSnapshot) -> [Rect] {
      let damage = renderer.render(snap)
      if damage.isEmpty { return [] }
      return output.copyRotated(
        from: renderer.canvas.frame, rotation: rotation, rects: damage.rects)
    }
    var snap = RenderTest.snapshot(try RenderTest.tickets("tickets-lunch-rush.json"))
    #expect(present(snap) == [output.bounds])
    #expect(present(snap).isEmpty)
    snap.now = snap.now.adding(seconds: 1)
    let flushed = present(snap)
    #expect(!flushed.isEmpty && flushed.allSatisfy { output.bounds.contains($0) })
    #expect(flushed.reduce(0) { $0 + $1.area } < output.bounds.area / 4)
    // The output equals the whole current frame turned.
    let expected = Canvas(width: size.width, height: size.height)
    expected.copyRotated(from: renderer.canvas.frame, rotation: rotation)
    for y in 0..<size.height {
      #expect(
        memcmp(
          output.pixels + y * output.stride, expected.pixels + y * expected.stride, size.width * 4)
          == 0)
    }
  }
}
