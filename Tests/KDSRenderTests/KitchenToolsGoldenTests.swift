import Foundation
import KDSCore
import KDSGeometry
import KDSTestSupport
import Testing

@testable import KDSRender

/// Issue 14's kitchen tools drawn: item lines done (and ALL DONE), the
/// selected line, RUSH, a held course, the all-day panel, the recall list and
/// the expo screen. Goldens in Tests/KDSRenderTests/Golden, copied to
/// docs/images for docs/kitchen-tools.md.
@Suite struct KitchenToolsGoldenTests {
  static let now = RenderTest.fixtureNow
  static let doneAt = now.adding(seconds: -40)

  static func ticket(
    _ id: String, number: String, order: String? = nil, station: String = "grill",
    sentMinutesAgo: Int64, status: TicketStatus = .queued, table: String = "Table 4",
    items: [TicketItem], priority: String? = nil, course: Int? = nil
  ) -> Ticket {
    Ticket(
      id: id, orderId: order ?? "order-\(number)", orderNumber: number, station: station,
      status: status, sentAt: now.adding(seconds: -60 * sentMinutesAgo),
      updatedAt: now.adding(seconds: -30), waiterName: "Amina", tableName: table,
      orderType: .dineIn, items: items, priority: priority, course: course)
  }

  /// A grill board: a card with lines done and the selected line, one all
  /// done, a rush order (newest, drawn first), a held course 2.
  static var board: [Ticket] {
    [
      ticket(
        "t-lines", number: "1061", sentMinutesAgo: 6, status: .inProgress,
        items: [
          TicketItem(
            id: "i1", name: "Beef burger", quantity: 2, modifiers: ["no onion"], doneAt: doneAt),
          TicketItem(id: "i2", name: "Chicken wings", quantity: 6),
          TicketItem(id: "i3", name: "Beef burger", quantity: 3),
          TicketItem(id: "i4", name: "Fries", quantity: 2, doneAt: doneAt),
        ]),
      ticket(
        "t-alldone", number: "1058", sentMinutesAgo: 9, status: .inProgress, table: "Table 2",
        items: [
          TicketItem(
            id: "i1", name: "Ribeye steak", quantity: 1, modifiers: ["medium rare"], doneAt: doneAt),
          TicketItem(id: "i2", name: "Side salad", quantity: 1, doneAt: doneAt),
        ]),
      ticket(
        "t-rush", number: "1066", sentMinutesAgo: 1, table: "Table 12",
        items: [
          TicketItem(id: "i1", name: "Beef burger", quantity: 4, modifiers: ["no onion"]),
          TicketItem(id: "i2", name: "Goat skewers", quantity: 2),
        ], priority: "RUSH"),
      ticket(
        "t-held", number: "1059", sentMinutesAgo: 12, status: .held, table: "Table 7",
        items: [
          TicketItem(id: "i1", name: "Lamb chops", quantity: 2, course: 2),
          TicketItem(id: "i2", name: "Grilled fish", quantity: 1, course: 2),
        ], course: 2),
      ticket(
        "t-plain", number: "1063", sentMinutesAgo: 3, table: "Bar 1",
        items: [
          TicketItem(id: "i1", name: "Beef burger", quantity: 5, modifiers: ["extra cheese"]),
          TicketItem(id: "i2", name: "Chicken wings", quantity: 3),
        ]),
    ]
  }

  static func snapshot(_ tickets: [Ticket] = board) -> BoardSnapshot {
    var s = RenderTest.snapshot(tickets)
    s.selectedTicketId = "t-lines"
    s.selectedItemIndex = 1
    return s
  }

  @Test func itemLinesRushAndHeldAt1280x800() throws {
    let renderer = BoardRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    var snap = Self.snapshot()
    snap.itemMarksLocal = true
    renderer.render(snap)
    let layout = renderer.layout
    // Rush first, then by age; the held course last.
    #expect(layout.tickets.map(\.id) == ["t-rush", "t-alldone", "t-lines", "t-plain", "t-held"])
    let texts = layout.fragments.flatMap(\.texts)
    #expect(texts.contains { $0.role == .rush && $0.text == "RUSH" })
    #expect(texts.contains { $0.role == .allDone && $0.text == "\u{2713} ALL DONE" })
    #expect(texts.filter { $0.role == .allDone }.count == 1)
    #expect(texts.contains { $0.role == .heldLabel && $0.text == "course 2 \u{00B7} held" })
    #expect(texts.contains { $0.role == .chipHeld && $0.text == "HELD" })
    // Done lines are drawn as done; the others are not.
    let lines = layout.fragments.first { $0.ticketId == "t-lines" }!.texts
    #expect(lines.filter { $0.role == .itemDone }.map(\.text) == ["Beef burger", "Fries"])
    #expect(lines.filter { $0.role == .itemName }.map(\.text) == ["Chicken wings", "Beef burger"])
    #expect(lines.contains { $0.role == .modifierDone && $0.text == "no onion" })
    // The banner says item marks stay here, and has the All day button.
    #expect(layout.banner.noteRect != nil)
    #expect(layout.banner.texts.contains { $0.role == .bannerNote })
    #expect(layout.banner.allDayRect != nil)
    // The selected line is highlighted.
    let frag = layout.fragments.first { $0.ticketId == "t-lines" }!
    let r = frag.itemRects[frag.items.firstIndex(of: 1)!]
    #expect(renderer.canvas.pixel(x: r.maxX - 2, y: r.y + 2) == Theme.standard.selectedLine.rgb)
    // No timer on the held card: its header is the held grey, no SLA colour.
    let held = layout.fragments.first { $0.ticketId == "t-held" }!
    #expect(
      renderer.canvas.pixel(
        x: held.headerRect.x + held.headerRect.width / 2, y: held.headerRect.y + 2)
        == Theme.standard.heldHeader.rgb)
    try RenderTest.expectGolden(renderer.canvas, "tools-items-1280x800")
  }

  @Test func itemLineHitAreas() throws {
    let renderer = BoardRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    renderer.render(Self.snapshot())
    let layout = renderer.layout
    let frag = layout.fragments.first { $0.ticketId == "t-lines" }!
    for (k, r) in frag.itemRects.enumerated() {
      #expect(
        layout.toolHitTest(x: r.x + r.width / 2, y: r.y + r.height / 2)
          == .itemLine(ticketId: "t-lines", index: frag.items[k]))
      // The old hit test still sees the card's body there.
      #expect(
        layout.hitTest(x: r.x + r.width / 2, y: r.y + r.height / 2)
          == .ticket(id: "t-lines", area: .body))
    }
    // The header and the chip are not item lines.
    #expect(layout.toolHitTest(x: frag.headerRect.x + 5, y: frag.headerRect.y + 5) == nil)
    if let chip = frag.chipRect {
      #expect(layout.toolHitTest(x: chip.x + 2, y: chip.y + 2) == nil)
    }
    let allDay = try #require(layout.banner.allDayRect)
    #expect(layout.toolHitTest(x: allDay.x + 3, y: allDay.y + 3) == .allDayToggle)
    #expect(!allDay.intersects(layout.banner.recallRect))
  }

  @Test func allDayPanelAt1280x800() throws {
    let renderer = BoardRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    var snap = Self.snapshot()
    snap.view = .allDay
    renderer.render(snap)
    let layout = renderer.layout
    let panel = try #require(layout.panel)
    #expect(panel.kind == .allDay)
    // Beside the cards, never under them.
    #expect(layout.visibleFragments.allSatisfy { !$0.rect.intersects(panel.rect) })
    #expect(panel.rect.maxX <= 1280)
    // Burgers: 3 (t-lines, not done) + 4 (rush) + 5 = 12; the done ones, the
    // held course and the all-done card count nothing.
    #expect(panel.groups.first?.name == "Beef burger")
    #expect(panel.groups.first?.quantity == 12)
    #expect(panel.texts.contains { $0.role == .panelCount && $0.text == "12\u{00D7}" })
    #expect(panel.texts.contains { $0.text == "(extra cheese \u{00D7}5)" })
    #expect(panel.texts.contains { $0.text == "(no onion \u{00D7}4)" })
    #expect(!panel.groups.contains { $0.name == "Lamb chops" || $0.name == "Ribeye steak" })
    #expect(
      renderer.canvas.pixel(x: layout.banner.allDayRect!.x + 3, y: layout.banner.allDayRect!.midY)
        == Theme.standard.toggleActive.rgb)
    try RenderTest.expectGolden(renderer.canvas, "tools-all-day-1280x800")
  }

  static var recallList: [RecallEntry] {
    var out: [RecallEntry] = []
    for i in 0..<14 {
      let table: String? = i % 3 == 0 ? nil : "Table \(i + 1)"
      let seconds = Int64(-45 * i - 20)
      out.append(
        RecallEntry(
          ticketId: "t-\(i)", orderNumber: String(1070 - i), tableName: table,
          bumpedAt: now.adding(seconds: seconds)))
    }
    return out
  }

  @Test func recallListAt1280x800() throws {
    let renderer = BoardRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    var snap = Self.snapshot()
    snap.view = .recall
    snap.recallList = Self.recallList
    snap.selectedRecallIndex = 2
    snap.clockUTCOffsetSeconds = 3 * 3600  // Kampala: 13:00Z is 16:00 in the kitchen
    renderer.render(snap)
    let layout = renderer.layout
    let panel = try #require(layout.panel)
    #expect(panel.kind == .recall)
    #expect(layout.visibleFragments.isEmpty)
    #expect(panel.texts.contains { $0.role == .listHint && $0.text.contains("BUMP: recall") })
    // Newest first, in the kitchen's local time.
    let times = panel.texts.filter { $0.role == .listTime }.map(\.text)
    #expect(times.first == "bumped 15:59")
    #expect(panel.texts.filter { $0.role == .listNumber }.first?.text == "#1070")
    // Rows tap to their index; the selected one is highlighted.
    let row2 = try #require(panel.rows.first { $0.index == 2 })
    #expect(layout.toolHitTest(x: row2.rect.midX, y: row2.rect.midY) == .recallRow(index: 2))
    #expect(
      renderer.canvas.pixel(x: row2.rect.maxX - 5, y: row2.rect.midY)
        == Theme.standard.listRowSelected.rgb)
    let close = try #require(panel.closeRect)
    #expect(layout.toolHitTest(x: close.midX, y: close.midY) == .recallClose)
    // No card behind the list answers a tap.
    #expect(layout.hitTest(x: row2.rect.midX, y: row2.rect.midY) == nil)
    try RenderTest.expectGolden(renderer.canvas, "tools-recall-1280x800")
  }

  @Test func recallListScrollsToTheSelectedRowAndSaysWhenEmpty() throws {
    let renderer = BoardRenderer(width: 800, height: 480, text: try RenderTest.engine())
    var snap = Self.snapshot()
    snap.view = .recall
    snap.recallList = Self.recallList
    snap.selectedRecallIndex = 13
    renderer.render(snap)
    let rows = try #require(renderer.layout.panel).rows
    #expect(rows.count < 14)
    #expect(rows.last?.index == 13)
    snap.recallList = []
    snap.selectedRecallIndex = nil
    renderer.render(snap)
    let panel = try #require(renderer.layout.panel)
    #expect(panel.rows.isEmpty)
    #expect(panel.texts.contains { $0.role == .listEmpty })
  }

  /// Three orders over grill, fry and cold: one all READY, one partly, one
  /// with a held course.
  static var expoTickets: [Ticket] {
    [
      ticket(
        "e1-g", number: "1042", station: "grill", sentMinutesAgo: 9, status: .ready,
        items: [TicketItem(name: "Beef burger", quantity: 2)]),
      ticket(
        "e1-f", number: "1042", station: "fry", sentMinutesAgo: 9, status: .ready,
        items: [TicketItem(name: "Fries", quantity: 2)]),
      ticket(
        "e1-c", number: "1042", station: "cold", sentMinutesAgo: 9, status: .ready,
        items: [TicketItem(name: "Coleslaw", quantity: 1)]),
      ticket(
        "e2-g", number: "1045", station: "grill", sentMinutesAgo: 6, status: .inProgress,
        table: "Table 9", items: [TicketItem(name: "Ribeye", quantity: 1)]),
      ticket(
        "e2-f", number: "1045", station: "fry", sentMinutesAgo: 6, status: .ready,
        table: "Table 9", items: [TicketItem(name: "Chips", quantity: 1)]),
      ticket(
        "e2-c", number: "1045", station: "cold", sentMinutesAgo: 6, status: .queued,
        table: "Table 9", items: [TicketItem(name: "Salad", quantity: 1)]),
      ticket(
        "e3-c", number: "1047", station: "cold", sentMinutesAgo: 2, status: .inProgress,
        table: "Table 3", items: [TicketItem(name: "Soup", quantity: 2)], priority: "RUSH",
        course: 1),
      ticket(
        "e3-g", number: "1047", station: "grill", sentMinutesAgo: 2, status: .held,
        table: "Table 3", items: [TicketItem(name: "Lamb", quantity: 2)], priority: "RUSH",
        course: 2),
      ticket(
        "e4-served", number: "1031", station: "grill", sentMinutesAgo: 20, status: .served,
        items: [TicketItem(name: "Tilapia", quantity: 1)]),
    ]
  }

  @Test func expoOrdersAt1280x800() throws {
    let renderer = BoardRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    var snap = RenderTest.snapshot(Self.expoTickets)
    snap.station = "Expo"
    snap.isExpo = true
    renderer.render(snap)
    let layout = renderer.layout
    #expect(layout.isExpo)
    #expect(layout.visibleFragments.isEmpty)
    let cards = layout.visibleExpoCards
    // One card per order; the served one is gone; rush first, then the oldest.
    #expect(cards.map(\.order.orderNumber) == ["1047", "1042", "1045"])
    #expect(cards.map(\.order.allReady) == [false, true, false])
    #expect(cards[1].order.parts.map(\.station) == ["cold", "fry", "grill"])
    #expect(cards[1].texts.contains { $0.role == .expoBar && $0.text == "\u{2713} READY TO SERVE" })
    #expect(cards[2].texts.filter { $0.role == .expoReady }.count == 2)  // the tick and "READY"
    #expect(cards[2].texts.contains { $0.role == .expoInProgress && $0.text == "in progress" })
    #expect(cards[0].texts.contains { $0.role == .expoHeld && $0.text == "held" })
    #expect(
      cards[0].texts.contains { $0.role == .expoStation && $0.text == "GRILL \u{00B7} c2" })
    #expect(layout.banner.allDayRect == nil)
    #expect(layout.banner.texts.contains { $0.text == "3 orders \u{00B7} 1 ready" })
    for c in cards {
      #expect(
        layout.toolHitTest(x: c.rect.midX, y: c.rect.midY) == .expoOrder(orderId: c.order.orderId))
    }
    #expect(
      renderer.canvas.pixel(x: cards[1].headerRect.midX, y: cards[1].headerRect.y + 3)
        == Theme.standard.expoReadyHeader.rgb)
    try RenderTest.expectGolden(renderer.canvas, "tools-expo-1280x800")
  }

  @Test func expoGroupingKeepsCancelledPartsOutOfReadiness() {
    let t = Self.expoTickets
    var parts = [t[0], t[1]]
    parts[1].status = .cancelled
    let groups = ExpoBoard.orders(from: parts)
    #expect(groups.count == 1)
    #expect(groups[0].allReady)
    parts[0].status = .cancelled
    #expect(ExpoBoard.orders(from: parts).isEmpty)
  }

  @Test func layoutChangesWithTheViewAndTheMarks() throws {
    // The renderer's layout cache must not keep a stale view.
    let renderer = BoardRenderer(width: 800, height: 480, text: try RenderTest.engine())
    var snap = Self.snapshot()
    renderer.render(snap)
    #expect(renderer.layout.panel == nil)
    snap.view = .allDay
    renderer.render(snap)
    #expect(renderer.layout.panel?.kind == .allDay)
    snap.view = .recall
    renderer.render(snap)
    #expect(renderer.layout.panel?.kind == .recall)
    snap.view = .tickets
    snap.itemMarksLocal = true
    renderer.render(snap)
    #expect(renderer.layout.panel == nil)
    #expect(renderer.layout.banner.noteRect != nil)
    // Marking a line done re-lays the card: the line is drawn done.
    snap.tickets[2].items[1].doneAt = Self.doneAt
    renderer.render(snap)
    let f = renderer.layout.fragments.first { $0.ticketId == "t-rush" }!
    #expect(f.texts.contains { $0.role == .itemDone && $0.text == "Goat skewers" })
  }
}

extension Rect {
  fileprivate var midX: Int { x + width / 2 }
  fileprivate var midY: Int { y + height / 2 }
}
