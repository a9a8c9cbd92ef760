import KDSCore
import KDSTestSupport
import Testing

@testable import KDSRender

/// The edge-case fixture: long names, a 30-item ticket, accents and emoji,
/// missing fields, statuses that must not be drawn.
@Suite struct EdgeCaseTests {
  let engine: TextEngine
  let layout: BoardLayout

  init() throws {
    engine = try RenderTest.engine()
    let snap = RenderTest.snapshot(try RenderTest.tickets("tickets-edge-cases.json"))
    layout = BoardLayout.make(snap, width: 1280, height: 800, text: engine)
  }

  func fragments(_ orderNumber: String) -> [CardFragment] {
    layout.fragments.filter { layout.tickets[$0.ticketIndex].orderId == "order-\(orderNumber)" }
  }

  @Test func cancelledAndUnknownStatusesAreNotDrawn() {
    let ids = Set(layout.tickets.map(\.orderId))
    #expect(!ids.contains("order-1905"))  // CANCELLED
    #expect(!ids.contains("order-1906"))  // ON_HOLD
    #expect(ids.count == 6)
  }

  @Test func longNamesAndNotesWrapInsideTheCard() {
    let frag = fragments("1901")[0]
    let nameLines = frag.texts.filter { $0.role == .itemName }
    let full = layout.tickets[frag.ticketIndex].items[0].name
    let joined = nameLines.map(\.text).joined().filter { $0 != " " }
    #expect(joined.hasPrefix(full.filter { $0 != " " }))
    let contentWidth = frag.rect.width - 2 * layout.metrics.pad
    #expect(nameLines.prefix(3).allSatisfy { $0.width <= contentWidth })
    #expect(nameLines.count >= 3 + 4)  // the long name takes several lines
    let notes = frag.texts.filter { $0.role == .note }
    #expect(notes.count >= 3)
    for t in frag.texts { #expect(frag.rect.contains(t.rect), "'\(t.text)' leaves the card") }
  }

  @Test func thirtyItemTicketContinuesWithEveryItemOnce() {
    let frags = fragments("1900")
    #expect(frags.count >= 2)
    #expect(frags.first?.continues == true)
    #expect(frags.dropFirst().allSatisfy { $0.isContinuation })
    #expect(frags.flatMap(\.items).sorted() == Array(0..<30))
    // The continuation says so, and a footer says it goes on.
    #expect(frags[1].texts.contains { $0.role == .continuedLabel })
    #expect(frags[0].texts.contains { $0.role == .continuedFooter })
  }

  @Test func accentsRenderAndEmojiFallBackToAVisibleBox() {
    let accents = engine.run("Ñandú special — über cold, Crème brûlée, Zoë, ½", .regular(22))
    #expect(accents.missingGlyphs == 0)
    let emoji = engine.run("Café au lait 🥛", .regular(22))
    #expect(emoji.missingGlyphs == 1)
    let plain = engine.run("Café au lait", .regular(22))
    // The box takes visible room and ink; nothing else changes.
    #expect(emoji.width > plain.width + 8)
    #expect(emoji.ink.maxX > plain.ink.maxX + 4)
    // Joiners and variation selectors vanish instead of drawing garbage.
    let flag = engine.run("⚠️\u{200D}x", .bold(22))
    #expect(flag.glyphCount == 2 && flag.missingGlyphs == 0)
    // Bold falls back to the regular face (and back) before giving up.
    #expect(engine.run("🎂", .bold(22)).missingGlyphs == 1)
  }

  @Test func missingOptionalFieldsLeaveNoGapsOrNull() {
    let frag = fragments("1903")[0]  // no number, waiter, table or type
    let texts = frag.texts
    #expect(texts.first { $0.role == .number }?.text == "#1903")
    #expect(!texts.contains { $0.role == .place || $0.role == .waiter || $0.role == .orderType })
    for t in texts {
      #expect(!t.text.isEmpty)
      #expect(!t.text.lowercased().contains("null") && !t.text.contains("nil"))
    }
    // The status chip moves to the left when it is alone on its line.
    let chip = texts.first { $0.role == .chipQueued }!
    #expect(chip.x < frag.rect.x + frag.rect.width / 2)
    // A ticket without a table but with a type shows the type.
    let takeaway = fragments("1902")[0].texts
    #expect(takeaway.contains { $0.role == .orderType && $0.text == "Takeaway" })
  }

  @Test func allergyNotesAreBandedAndLoud() {
    let frag = fragments("1904")[0]
    let allergy = frag.texts.filter { $0.role == .allergy }
    #expect(allergy.map(\.text) == ["ALLERGY: PEANUTS"])
    #expect(frag.boxes.contains { $0.role == .allergyBand && $0.rect.contains(allergy[0].rect) })
    #expect(frag.texts.contains { $0.role == .allergyIcon })
  }

  @Test func longTimersShowHours() throws {
    let renderer = BoardRenderer(width: 1280, height: 800, text: engine)
    renderer.render(RenderTest.snapshot(try RenderTest.tickets("tickets-edge-cases.json")))
    #expect(formatElapsed(seconds: 3 * 3600) == "3:00:00")
    // #1904 was sent three hours before the fixture's clock: its header is red.
    let frag = renderer.layout.fragments.first { $0.ticketId == "01KAJXPF80907MRNTM8N8BGPPV" }!
    let p = renderer.canvas.pixel(
      x: frag.headerRect.x + frag.headerRect.width / 2, y: frag.headerRect.y + 2)
    #expect(p == Theme.standard.headerRed.rgb)
  }
}
