import KDSCore
import KDSTestSupport
import Testing

@testable import KDSRender

/// Properties every layout must have, checked on many generated ticket sets.
@Suite struct LayoutPropertyTests {
  static let sizes: [(Int, Int)] = [
    (1920, 1080), (1280, 800), (1024, 768), (800, 480), (1080, 1920),
  ]

  @Test(arguments: 0..<sizes.count)
  func generatedBoardsKeepTheirPromises(_ sizeIndex: Int) throws {
    let (width, height) = Self.sizes[sizeIndex]
    let engine = try RenderTest.engine()
    var rng = SeededRandom(seed: UInt64(width * 10_007 + height))
    let now = RenderTest.fixtureNow
    for round in 0..<14 {
      let tickets = TicketGenerator.tickets(
        count: round == 0 ? 0 : Int.random(in: 1...48, using: &rng), rng: &rng, now: now)
      var snap = BoardSnapshot(station: "Grill", tickets: tickets, now: now)
      snap.zoom = [1.0, 0.8, 1.3, 1.6].randomElement(using: &rng)!
      for t in tickets where Int.random(in: 0..<6, using: &rng) == 0 {
        snap.marks[t.id] = Bool.random(using: &rng) ? .notSynced : .syncFailed(reason: "409")
      }
      if Bool.random(using: &rng) { snap.alerts = [.queueFull, .failedOperations(3)] }
      snap.page = Int.random(in: 0...3, using: &rng)
      let layout = BoardLayout.make(snap, width: width, height: height, text: engine)
      check(layout, snap, label: "\(width)x\(height) round \(round)")
    }
  }

  func check(_ layout: BoardLayout, _ snap: BoardSnapshot, label: String) {
    let active = snap.tickets.filter { $0.status.isActive }
    // Only active tickets, oldest first.
    #expect(layout.tickets.count == active.count, "\(label)")
    #expect(zip(layout.tickets, layout.tickets.dropFirst()).allSatisfy { $0.sentAt <= $1.sentAt })
    // Pages account for every ticket, each starting exactly once.
    let starts = layout.fragments.filter { $0.part == 0 }.map(\.ticketId)
    #expect(starts.count == active.count, "\(label)")
    #expect(Set(starts) == Set(active.map(\.id)), "\(label)")
    #expect(layout.pageCount == (layout.fragments.map(\.page).max() ?? 0) + 1, "\(label)")
    for p in 0..<layout.pageCount where !active.isEmpty {
      #expect(!layout.fragments(onPage: p).isEmpty, "\(label): page \(p) is empty")
    }
    #expect(layout.page == min(snap.page, layout.pageCount - 1))
    let later = Set(
      layout.fragments.filter { $0.page > layout.page && $0.part == 0 }.map(\.ticketId))
    #expect(layout.ticketsOnLaterPages == later.count)
    // Parts of a ticket are consecutive, marked, and never go back a page.
    var byTicket: [String: [CardFragment]] = [:]
    for f in layout.fragments { byTicket[f.ticketId, default: []].append(f) }
    for (id, frags) in byTicket {
      #expect(frags.map(\.part) == Array(0..<frags.count), "\(label) \(id)")
      for (i, f) in frags.enumerated() {
        #expect(f.isContinuation == (i > 0), "\(label) \(id)")
        #expect(f.continues == (i < frags.count - 1), "\(label) \(id)")
      }
      #expect(zip(frags, frags.dropFirst()).allSatisfy { $0.page <= $1.page })
      // Every item drawn exactly once across the parts.
      let ticket = layout.tickets.first { $0.id == id }!
      let drawn = frags.flatMap(\.items).sorted()
      #expect(drawn == Array(ticket.items.indices), "\(label) \(id): items \(drawn)")
      #expect(
        layout.items.filter { $0.ticketId == id }.map(\.itemIndex).sorted()
          == Array(ticket.items.indices))
    }
    for p in 0..<layout.pageCount {
      let frags = Array(layout.fragments(onPage: p))
      for (i, f) in frags.enumerated() {
        // Inside the board, under the banner.
        #expect(
          layout.contentRect.contains(f.rect), "\(label): \(f.rect) outside \(layout.contentRect)")
        #expect(f.rect.contains(f.headerRect))
        // Cards never overlap.
        for g in frags[(i + 1)...] {
          #expect(!f.rect.intersects(g.rect), "\(label): \(f.ticketId) overlaps \(g.ticketId)")
        }
        // No text or box leaves its card; nothing says null.
        for t in f.texts {
          #expect(f.rect.contains(t.rect), "\(label): '\(t.text)' \(t.rect) leaves card \(f.rect)")
          #expect(!t.text.isEmpty)
          #expect(
            !t.text.contains("null") && !t.text.contains("nil") && !t.text.contains("Optional("))
        }
        // No two pieces of text overlap.
        for (j, t) in f.texts.enumerated() {
          for u in f.texts[(j + 1)...] where t.rect.intersects(u.rect) {
            Issue.record("\(label): '\(t.text)' \(t.rect) overlaps '\(u.text)' \(u.rect)")
          }
        }
        for b in f.boxes { #expect(f.rect.contains(b.rect), "\(label): box leaves card") }
        for r in f.itemRects { #expect(f.rect.contains(r)) }
        if p == layout.page {
          // A tap in the middle of the card finds it.
          let hit = layout.hitTest(x: f.rect.x + f.rect.width / 2, y: f.rect.maxY - 2)
          switch hit {
          case .ticket(let id, _)?: #expect(id == f.ticketId)
          default: Issue.record("\(label): tap on \(f.ticketId) found \(String(describing: hit))")
          }
          #expect(
            layout.hitTest(x: f.headerRect.x + 3, y: f.headerRect.y + 3)
              == .ticket(id: f.ticketId, area: .header))
        }
      }
    }
    // The banner's parts stay in the banner and off each other.
    let b = layout.banner
    #expect(b.rect.contains(b.recallRect))
    #expect(!b.statusRect.intersects(b.recallRect) && !b.clockRect.intersects(b.recallRect))
    for t in b.texts where t.role != .alert && t.role != .empty {
      #expect(b.rect.contains(t.rect), "\(label): banner text '\(t.text)' \(t.rect)")
    }
    #expect(layout.hitTest(x: b.recallRect.x + 2, y: b.recallRect.y + 2) == .recall)
  }

  @Test func textScalesWithTheScreenAndZoom() {
    let hd = BoardMetrics(width: 1920, height: 1080)
    #expect(hd.unit >= 22 && hd.unit <= 24)
    #expect(BoardMetrics(width: 1080, height: 1920).unit == hd.unit)
    #expect(BoardMetrics(width: 800, height: 480).unit < hd.unit)
    #expect(BoardMetrics(width: 800, height: 480).unit >= 13)
    #expect(BoardMetrics(width: 3840, height: 2160).unit > hd.unit)
    #expect(BoardMetrics(width: 1920, height: 1080, zoom: 1.5).unit > hd.unit)
  }

  @Test func itemLinesAreAtLeast22PixelsHighAt1080p() throws {
    let engine = try RenderTest.engine()
    let m = BoardMetrics(width: 1920, height: 1080)
    #expect(engine.metrics(m.item).lineHeight >= 22)
  }
}
