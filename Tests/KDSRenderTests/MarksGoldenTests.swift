import KDSCore
import KDSTestSupport
import Testing

@testable import KDSRender

/// Issue 11's marks drawn: NEW (mid-pulse), VOID, ADDED, CHANGED, a failure
/// with its reason, the allergen check, the reconnect strip and the offline
/// banner with its time. Goldens in Tests/KDSRenderTests/Golden, copied to
/// docs/images for docs/marks.md.
@Suite struct MarksGoldenTests {
  static let now = RenderTest.fixtureNow

  static func ticket(
    _ id: String, number: String, order: String? = nil, sentMinutesAgo: Int64,
    status: TicketStatus = .queued, table: String = "Table 4", items: [TicketItem]
  ) -> Ticket {
    Ticket(
      id: id, orderId: order ?? "order-\(number)", orderNumber: number, station: "grill",
      status: status, sentAt: now.adding(seconds: -60 * sentMinutesAgo),
      updatedAt: now.adding(seconds: -30), waiterName: "Amina", tableName: table,
      orderType: .dineIn, items: items)
  }

  static var board: [Ticket] {
    [
      ticket(
        "t-new", number: "1051", sentMinutesAgo: 0,
        items: [
          TicketItem(name: "Beef burger", quantity: 2, modifiers: ["no onion"]),
          TicketItem(name: "Fries", quantity: 1),
        ]),
      ticket(
        "t-void", number: "1042", sentMinutesAgo: 6, status: .inProgress,
        items: [
          TicketItem(name: "Ribeye steak", quantity: 1, modifiers: ["medium rare"]),
          TicketItem(name: "Side salad", quantity: 1),
        ]),
      ticket(
        "t-first", number: "1038", order: "order-1038", sentMinutesAgo: 8, table: "Table 9",
        items: [TicketItem(name: "Chicken wings", quantity: 3)]),
      ticket(
        "t-added", number: "1038", order: "order-1038", sentMinutesAgo: 1, table: "Table 9",
        items: [TicketItem(name: "Onion rings", quantity: 2)]),
      ticket(
        "t-changed", number: "1045", sentMinutesAgo: 4,
        items: [
          TicketItem(id: "it-1", name: "Goat skewers", quantity: 2),
          TicketItem(id: "it-2", name: "Grilled fish", quantity: 3, modifiers: ["lemon butter"]),
          TicketItem(id: "it-3", name: "Rice", quantity: 1),
        ]),
      ticket(
        "t-allergen", number: "1047", sentMinutesAgo: 3,
        items: [
          TicketItem(name: "Veggie burger", quantity: 1, modifiers: ["sesame bun", "no cheese"]),
          TicketItem(name: "Satay skewers", quantity: 2, notes: "allergy: peanuts"),
        ]),
      ticket(
        "t-failed", number: "1040", sentMinutesAgo: 7, status: .cancelled,
        items: [TicketItem(name: "Lamb chops", quantity: 2)]),
    ]
  }

  static var marks: [String: CardMarks] {
    var m: [String: CardMarks] = [:]
    var new = CardMarks()
    new.isNew = true
    new.pulseStartMillis = 10_000
    m["t-new"] = new
    var void = CardMarks()
    void.voidedAt = Timestamp(iso8601: "2025-11-21T12:31:00Z")
    m["t-void"] = void
    var added = CardMarks()
    added.isNew = true
    added.addedTo = "#1038"
    m["t-added"] = added
    var changed = CardMarks()
    changed.changedLines = [1]
    m["t-changed"] = changed
    var checked = CardMarks()
    checked.allergenChecked = true
    m["t-allergen"] = checked
    var failed = CardMarks()
    failed.voidedAt = Timestamp(iso8601: "2025-11-21T12:29:00Z")
    failed.failure = "Bump refused: voided at 12:29"
    m["t-failed"] = failed
    return m
  }

  @Test func marksAt1280x800() throws {
    let renderer = BoardRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    var snap = RenderTest.snapshot(Self.board)
    snap.cardMarks = Self.marks
    snap.frameMillis = 10_500  // the NEW header at the top of its first pulse
    snap.reconnectSummary =
      "7 bumps sent \u{00B7} 1 refused (#1040 voided at 12:29) \u{00B7} 3 new tickets"
    snap.alerts = [.failedOperations(1)]
    renderer.render(snap)
    let layout = renderer.layout
    // Every marked card is drawn, the VOID and the failed one too.
    #expect(Set(layout.fragments.map(\.ticketId)) == Set(Self.board.map(\.id)))
    let texts = layout.fragments.flatMap(\.texts)
    #expect(texts.contains { $0.role == .badgeVoid && $0.text == "VOID 12:31" })
    #expect(texts.contains { $0.role == .badgeNew && $0.text == "NEW" })
    #expect(texts.contains { $0.role == .badgeAdded && $0.text == "#1038 \u{00B7} ADDED" })
    #expect(texts.contains { $0.role == .badgeChanged && $0.text == "CHANGED" })
    #expect(
      texts.filter { $0.role == .failureReason }.map(\.text).joined(separator: " ")
        == "Bump refused: voided at 12:29")
    #expect(texts.contains { $0.role == .allergyChecked })
    // The modifier naming an allergen gets the band, the other does not.
    #expect(texts.contains { $0.role == .allergy && $0.text == "SESAME BUN" })
    #expect(texts.contains { $0.role == .modifier && $0.text == "no cheese" })
    let changedBoxes = layout.fragments.first { $0.ticketId == "t-changed" }!.boxes.filter {
      $0.role == .changedLine
    }
    #expect(changedBoxes.count == 1)
    #expect(layout.fragments.first { $0.ticketId == "t-failed" }?.retryRect != nil)
    #expect(layout.banner.summaryRect != nil)
    try RenderTest.expectGolden(renderer.canvas, "marks-1280x800")
  }

  @Test func offlineSinceAndFailureAt1280x800() throws {
    let renderer = BoardRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    var snap = RenderTest.snapshot(Array(Self.board.suffix(3)), connection: .offline)
    snap.pendingOperations = 3
    snap.offlineSince = Timestamp(iso8601: "2025-11-21T12:31:00Z")
    snap.alerts = [.failedOperations(1)]
    snap.cardMarks = Self.marks.filter { ["t-failed", "t-allergen"].contains($0.key) }
    renderer.render(snap)
    #expect(BoardRenderer.statusText(snap) == "Offline since 12:31 - 3 updates queued")
    try RenderTest.expectGolden(renderer.canvas, "marks-offline-1280x800")
  }

  @Test func pulseIsThreeBeatsInThreeSecondsAndOnlyTheHeader() {
    let base = Color(rgb: 0x2E7D32)
    let white = Color.white
    #expect(BoardRenderer.pulsed(base, toward: white, start: 0, at: 0) == base)
    #expect(BoardRenderer.pulsed(base, toward: white, start: 0, at: 500) != base)
    #expect(BoardRenderer.pulsed(base, toward: white, start: 0, at: 1_500) != base)
    #expect(BoardRenderer.pulsed(base, toward: white, start: 0, at: 2_500) != base)
    #expect(BoardRenderer.pulsed(base, toward: white, start: 0, at: 3_000) == base)
    #expect(BoardRenderer.pulsed(base, toward: white, start: 0, at: -5) == base)
  }

  @Test func idleFramesStayIdentical() throws {
    let renderer = BoardRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    var snap = RenderTest.snapshot(Self.board)
    var marks = Self.marks
    marks["t-new"]?.pulseStartMillis = nil
    snap.cardMarks = marks
    renderer.render(snap)
    #expect(renderer.render(snap).isEmpty)
    // A pulse frame repaints the NEW card's header only.
    var pulsing = snap
    pulsing.cardMarks = Self.marks
    pulsing.frameMillis = 10_500
    let damage = renderer.render(pulsing)
    let header = renderer.layout.fragments.first { $0.ticketId == "t-new" }!.headerRect
    #expect(!damage.isEmpty)
    let card = renderer.layout.fragments.first { $0.ticketId == "t-new" }!.rect
    #expect(damage.rects.allSatisfy { card.insetBy(dx: -2, dy: -2).contains($0) })
    #expect(damage.rects.contains { $0.intersects(header) })
  }
}
