import KDSCore
import KDSGeometry

/// What a piece of text on the board is, which decides its colour.
public enum TextRole: UInt8, Hashable, Sendable {
  case number, continuedLabel, orderType, place, waiter, chipQueued, chipInProgress
  case quantity, itemName, modifier, note, noteIcon, allergy, allergyIcon, course
  case continuedFooter, notSynced, syncFailed
  case bannerStation, bannerPage, bannerRecall, bannerRecallDisabled, alert, empty
  // Issue 11: the marks a cook must see.
  case badgeNew, badgeAdded, badgeChanged, badgeVoid, failureReason, failureHint
  case allergyChecked, reconnectSummary
  // Issue 14: the kitchen tools.
  case quantityDone, itemDone, modifierDone, rush, allDone, heldLabel, chipHeld
  case bannerToggle, bannerToggleActive, bannerNote
  case panelTitle, panelCount, panelName, panelVariant, panelEmpty
  case listTitle, listNumber, listTable, listTime, listHint, listClose, listEmpty
  case expoNumber, expoPlace, expoBar, expoMark, expoStation, expoQueued, expoInProgress,
    expoReady, expoHeld, expoVoid
}

/// What a filled box on the board is.
public enum BoxRole: UInt8, Hashable, Sendable {
  case noteBand, allergyBand, courseRule, chipQueued, chipInProgress, notSyncedStrip,
    syncFailedStrip
  // Issue 11.
  case badgeNew, badgeAdded, badgeChanged, badgeVoid, changedLine, failureStrip
  case allergyCheckedChip, chipVoid
  // Issue 14.
  case rushBand, allDoneBand, chipHeld, panel, panelRule, listRow, listRowSelected, listClose,
    expoReadyBar
}

/// A line of text placed on the board: its origin is (`x`, `baseline`).
public struct TextPlacement: Hashable, Sendable {
  public var text: String
  public var style: TextStyle
  public var x: Int
  public var baseline: Int
  /// The advance width of the shaped text.
  public var width: Int
  public var ascent: Int
  public var descent: Int
  public var role: TextRole

  /// The line box: from `ascent` above to `descent` below the baseline.
  public var rect: Rect {
    Rect(x: x, y: baseline - ascent, width: width, height: ascent + descent)
  }

  func offsetBy(dx: Int, dy: Int) -> TextPlacement {
    var t = self
    t.x += dx
    t.baseline += dy
    return t
  }
}

/// A filled box placed on the board.
public struct BoxPlacement: Hashable, Sendable {
  public var rect: Rect
  public var role: BoxRole
}

/// Where an item of a ticket is drawn: the rectangle of its lines (name,
/// modifiers, notes) in the fragment that holds its first line.
public struct ItemPlacement: Hashable, Sendable {
  public var ticketId: String
  public var itemIndex: Int
  /// Index into `BoardLayout.fragments`.
  public var fragment: Int
  public var rect: Rect
}

/// One card on screen: a whole ticket, or the part of a ticket that fits in a
/// column (`isContinuation` / `continues` say which parts).
public struct CardFragment: Hashable, Sendable {
  public var ticketId: String
  /// Index into `BoardLayout.tickets`.
  public var ticketIndex: Int
  public var status: TicketStatus
  public var page: Int
  public var column: Int
  /// 0 for the first part of a ticket, 1 for its first continuation, ...
  public var part: Int
  public var rect: Rect
  /// The coloured top bar with the number and timer (the bump area).
  public var headerRect: Rect
  /// Where the timer goes (right-aligned in this rectangle).
  public var timerRect: Rect
  public var isContinuation: Bool
  public var continues: Bool
  public var texts: [TextPlacement]
  public var boxes: [BoxPlacement]
  /// Indices of the ticket's items whose first line is in this fragment.
  public var items: [Int]
  public var itemRects: [Rect]
  /// "Sync failed - tap to retry" strip, when the ticket has that mark
  /// (with a failure's reason: its failure line).
  public var retryRect: Rect?
  /// The status chip (QUEUED / IN PROGRESS), on a ticket's first part: a
  /// hold on it starts the ticket.
  public var chipRect: Rect? = nil
  /// The ticket's marks (NEW, VOID, ADDED, CHANGED, failure, allergen check).
  public var cardMarks: CardMarks = CardMarks()
}

/// The top banner's fixed parts; the status text goes in `statusRect`.
public struct BannerLayout: Hashable, Sendable {
  public var rect: Rect
  public var statusRect: Rect
  public var clockRect: Rect
  public var recallRect: Rect
  public var pageRect: Rect?
  public var texts: [TextPlacement]
  /// The alerts row under the banner, when there are alerts.
  public var alertRect: Rect?
  public var alertUrgent: Bool
  /// The reconnect strip under the alerts, for 20 s after a reconnect's replay.
  public var summaryRect: Rect?
  /// The "All day" toggle (issue 14), left of Recall; nil on the expo screen.
  public var allDayRect: Rect? = nil
  /// The pill "Item marks: this screen only", when item marks stay local.
  public var noteRect: Rect? = nil
}

/// What a tap at a point means.
public enum HitTarget: Hashable, Sendable {
  /// A ticket's card; `header` is its top bar with the number and timer.
  case ticket(id: String, area: TicketArea)
  /// The "Recall" button in the banner.
  case recall
  /// The page indicator ("Page 1/3 · 12 more").
  case pageIndicator
  /// The alerts row (e.g. "3 updates failed - tap to retry").
  case alerts
  /// The connection status in the banner.
  case status
}

public enum TicketArea: Hashable, Sendable {
  case header
  case body
  /// The "Sync failed - tap to retry" strip.
  case retry
  /// The status chip (QUEUED / IN PROGRESS).
  case chip
}

/// The whole board laid out: every ticket on every page. Pure geometry and
/// text; the renderer adds what changes with the clock (timers, SLA colours,
/// the sync age, the clock).
public struct BoardLayout: Sendable {
  public let width: Int
  public let height: Int
  public let metrics: BoardMetrics
  /// The tickets drawn (active ones), oldest first.
  public let tickets: [Ticket]
  /// Every card fragment of every page, in reading order.
  public let fragments: [CardFragment]
  public let pageCount: Int
  /// The page shown (the snapshot's page, clamped).
  public let page: Int
  public let columns: Int
  public let columnWidth: Int
  public let contentRect: Rect
  public let banner: BannerLayout
  /// Placement of each item's first line, over all fragments.
  public let items: [ItemPlacement]
  /// What the screen shows (issue 14): the snapshot's view; `.tickets` on the expo.
  public internal(set) var view: BoardView = .tickets
  /// The expo screen: `expoCards` instead of card fragments.
  public internal(set) var isExpo = false
  /// The all-day panel beside the cards, or the recall list (full screen).
  public internal(set) var panel: ToolPanel? = nil
  /// The expo's order cards, every page, in reading order.
  public internal(set) var expoCards: [ExpoCard] = []

  /// The fragments on the page shown.
  public var visibleFragments: ArraySlice<CardFragment> { fragments(onPage: page) }

  public func fragments(onPage p: Int) -> ArraySlice<CardFragment> {
    let lo = fragments.firstIndex { $0.page == p } ?? fragments.endIndex
    let hi = fragments[lo...].firstIndex { $0.page != p } ?? fragments.endIndex
    return fragments[lo..<hi]
  }

  /// The page on which a ticket starts.
  public func page(ofTicket id: String) -> Int? {
    fragments.first { $0.ticketId == id }?.page
  }

  /// Tickets that start on a later page than the one shown.
  public var ticketsOnLaterPages: Int {
    var ids = Set<String>()
    for f in fragments where f.page > page && f.part == 0 { ids.insert(f.ticketId) }
    return ids.count
  }

  /// The "Recall" button (for taps).
  public var recallButtonRect: Rect { banner.recallRect }

  /// What is at (x, y) on the page shown, in logical (unrotated) pixels.
  public func hitTest(x: Int, y: Int) -> HitTarget? {
    if banner.recallRect.contains(x: x, y: y) { return .recall }
    if let r = banner.pageRect, r.contains(x: x, y: y) { return .pageIndicator }
    if let r = banner.alertRect, r.contains(x: x, y: y) { return .alerts }
    if banner.rect.contains(x: x, y: y) { return .status }
    for f in visibleFragments where f.rect.contains(x: x, y: y) {
      if let r = f.retryRect, r.contains(x: x, y: y) {
        return .ticket(id: f.ticketId, area: .retry)
      }
      // The chip is small: a finger's width around it still counts.
      if let r = f.chipRect?.insetBy(dx: -metrics.pad / 2, dy: -metrics.pad / 2),
        r.contains(x: x, y: y)
      {
        return .ticket(id: f.ticketId, area: .chip)
      }
      if f.headerRect.contains(x: x, y: y) { return .ticket(id: f.ticketId, area: .header) }
      return .ticket(id: f.ticketId, area: .body)
    }
    return nil
  }
}

/// What the layout depends on (everything but the clock and the selection).
struct LayoutKey: Equatable {
  var width: Int
  var height: Int
  var zoom: Double
  var station: String
  var tickets: [Ticket]
  var marks: [String: TicketSyncMark]
  var alerts: [BoardAlert]
  var page: Int
  var cardMarks: [String: CardMarks]
  var allergens: AllergenList
  var reconnectSummary: String?
  var clockUTCOffsetSeconds: Int
  // Issue 14.
  var view: BoardView
  var recallList: [RecallEntry]
  var selectedRecallIndex: Int?
  var isExpo: Bool
  var itemMarksLocal: Bool
}

/// The text of an alert in the banner.
public func alertText(_ alert: BoardAlert) -> String {
  switch alert {
  case .queueFull: return "Too many offline operations. Please connect to sync."
  case .notAuthorised(let why):
    return why.isEmpty ? "Not authorised - check the station token" : "Not authorised: \(why)"
  case .failedOperations(let n):
    return n == 1 ? "1 update failed - tap to retry" : "\(n) updates failed - tap to retry"
  case .actionUnavailable(let action):
    let a = action.isEmpty ? "Action" : action.prefix(1).uppercased() + action.dropFirst()
    return "\(a) unavailable on this server"
  case .message(let text): return text
  }
}

extension BoardLayout {
  /// Lays out `snapshot` on a `width` x `height` screen.
  public static func make(
    _ snapshot: BoardSnapshot, width: Int, height: Int, text: TextEngine
  ) -> BoardLayout {
    LayoutBuilder(snapshot: snapshot, width: width, height: height, text: text).build()
  }
}

/// A line of a card before placement: coordinates relative to the content
/// box's left edge and the line's top.
struct CardLine {
  var height: Int
  var texts: [TextPlacement] = []
  var boxes: [BoxPlacement] = []
}

/// An unbreakable group of lines (an item with its course heading, modifiers
/// and notes) unless it is taller than a column.
struct CardBlock {
  var itemIndex: Int
  var lines: [CardLine]
  var height: Int { lines.reduce(0) { $0 + $1.height } }
}

/// Cards' blocks by all they depend on: the items, the content width and the
/// metrics (the fonts are the engine's). A card whose items did not change
/// is not wrapped and measured again when another ticket comes or goes. Two
/// generations, like the engine's run cache: a card used in the current one
/// is kept.
final class CardBlockCache {
  struct Key: Hashable {
    var items: [TicketItem]
    var contentWidth: Int
    var metrics: BoardMetrics
    var allergens: AllergenList
    var changed: Set<Int>
    var allergenChecked: Bool
  }
  private var current: [Key: [CardBlock]] = [:]
  private var older: [Key: [CardBlock]] = [:]
  private let generation = 256

  func blocks(_ key: Key, make: () -> [CardBlock]) -> [CardBlock] {
    if let b = current[key] { return b }
    let b = older[key] ?? make()
    if current.count >= generation {
      older = current
      current = [:]
    }
    current[key] = b
    return b
  }
}

struct LayoutBuilder {
  let snapshot: BoardSnapshot
  let width: Int
  let height: Int
  let text: TextEngine
  let m: BoardMetrics

  init(snapshot: BoardSnapshot, width: Int, height: Int, text: TextEngine) {
    self.snapshot = snapshot
    self.width = width
    self.height = height
    self.text = text
    m = BoardMetrics(width: width, height: height, zoom: snapshot.zoom)
  }

  func place(
    _ s: String, _ style: TextStyle, x: Int, top: Int, lineHeight: Int, role: TextRole
  ) -> TextPlacement {
    let lm = text.metrics(style)
    let w = text.width(s, style)
    let baseline = top + (lineHeight - lm.lineHeight + 1) / 2 + lm.ascent
    return TextPlacement(
      text: s, style: style, x: x, baseline: baseline, width: w, ascent: lm.ascent,
      descent: lm.descent, role: role)
  }

  /// The top of the content, under the banner, the alerts and the reconnect strip.
  var contentTop: Int {
    let alertsShown = !snapshot.alerts.isEmpty
    let summaryShown = snapshot.reconnectSummary != nil
    return m.bannerHeight + (alertsShown ? m.alertHeight : 0) + (summaryShown ? m.alertHeight : 0)
  }

  /// The all-day panel's width, beside the cards.
  var allDayPanelWidth: Int { min(width / 2, max(m.minColumnWidth, width * 3 / 10)) }

  func build() -> BoardLayout {
    if snapshot.isExpo { return buildExpo() }
    if snapshot.view == .recall { return buildRecall() }
    // Active and held tickets, and the cards a mark keeps: VOID, a failure.
    // Rush orders first, then by age; held courses last.
    func rank(_ t: Ticket) -> Int { t.status == .held ? 2 : t.isRush ? 0 : 1 }
    let tickets = snapshot.tickets.filter {
      $0.status.isActive || $0.status == .held || snapshot.cardMarks[$0.id]?.voidedAt != nil
        || snapshot.cardMarks[$0.id]?.failure != nil
    }.sorted {
      let (r0, r1) = (rank($0), rank($1))
      if r0 != r1 { return r0 < r1 }
      return $0.sentAt != $1.sentAt ? $0.sentAt < $1.sentAt : $0.id < $1.id
    }
    let top = contentTop
    let allDay = snapshot.view == .allDay
    let panelW = allDay ? allDayPanelWidth : 0
    let content = Rect(
      x: m.gap, y: top + m.gap, width: width - 2 * m.gap - (allDay ? panelW + m.gap : 0),
      height: height - top - 2 * m.gap)
    let columns = max(1, (content.width + m.gap) / (m.minColumnWidth + m.gap))
    let colW = max(40, (content.width - (columns - 1) * m.gap) / columns)

    var fragments: [CardFragment] = []
    var items: [ItemPlacement] = []
    var page = 0
    var col = 0
    var y = content.y
    func colX(_ c: Int) -> Int { content.x + c * (colW + m.gap) }
    func nextColumn() {
      col += 1
      if col >= columns {
        col = 0
        page += 1
      }
      y = content.y
    }

    let cw = colW - 2 * m.pad
    let padTop = max(3, m.pad / 2)
    for (ti, ticket) in tickets.enumerated() {
      let cardMarks = snapshot.cardMarks[ticket.id] ?? CardMarks()
      let blocks = text.cardBlocks.blocks(
        CardBlockCache.Key(
          items: ticket.items, contentWidth: cw, metrics: m, allergens: snapshot.allergens,
          changed: cardMarks.changedLines ?? [], allergenChecked: cardMarks.allergenChecked)
      ) { makeBlocks(ticket, contentWidth: cw, marks: cardMarks) }
      let mark = snapshot.marks[ticket.id]
      let failureLines =
        cardMarks.failure.map { text.wrap($0, m.metaBold, width: cw) }.map { Array($0.prefix(3)) }
        ?? []
      let smallLH = text.metrics(m.small).lineHeight
      let reasonLH = text.metrics(m.metaBold).lineHeight
      let markH =
        !failureLines.isEmpty
        ? m.pad + reasonLH * failureLines.count + smallLH + m.pad / 2
        : (mark == nil ? 0 : m.stripHeight)
      let barCount = bars(ticket, cardMarks).count
      let headFirst = m.headerHeight + barCount * markBarHeight + m.metaHeight + padTop
      let headCont = m.headerHeight + padTop
      let total = blocks.reduce(0) { $0 + $1.height }
      var remainingBlocks = blocks[...]
      var part = 0
      var pendingLines: [CardLine] = []  // lines of a block split over columns

      // Decide where the ticket starts.
      let full = headFirst + total + m.pad + markH
      if y + full > content.maxY && y > content.y {
        let remaining = content.maxY - y
        // Split here only when both parts get at least two items and this is
        // not the last column of the page; otherwise start a fresh column.
        let firstFits = fitCount(blocks[...], space: remaining - headFirst - m.pad - m.footerHeight)
        // Keep a ticket whole when it fits an empty column and moving it
        // wastes less than half of this one.
        let fitsColumn = full <= content.height
        let canSplit =
          col < columns - 1 && firstFits >= 2 && blocks.count - firstFits >= 2
          && (!fitsColumn || remaining * 2 >= content.height)
        if !canSplit { nextColumn() }
      }

      while true {
        let head = part == 0 ? headFirst : headCont
        let x = colX(col)
        let space = content.maxY - y
        // How much fits: whole remaining blocks, then lines of a tall block.
        var lines: [CardLine] = []
        var itemStarts: [(index: Int, line: Int, height: Int)] = []
        var used = head
        let restHeight =
          pendingLines.reduce(0) { $0 + $1.height } + remainingBlocks.reduce(0) { $0 + $1.height }
        let finishing = used + restHeight + m.pad + markH <= space
        let budget = finishing ? Int.max : space - m.pad - max(m.footerHeight, markH)
        let atTop = y == content.y
        // Lines left over from a block split in the previous fragment (at
        // least one, so a tiny screen still makes progress).
        while let l = pendingLines.first, used + l.height <= budget || (atTop && lines.isEmpty) {
          lines.append(l)
          used += l.height
          pendingLines.removeFirst()
        }
        while pendingLines.isEmpty, let b = remainingBlocks.first {
          if used + b.height <= budget {
            itemStarts.append((b.itemIndex, lines.count, b.height))
            lines += b.lines
            used += b.height
            remainingBlocks.removeFirst()
          } else if lines.isEmpty || b.height > content.height - headCont - m.pad - m.footerHeight {
            // Taller than a column: split it by lines.
            remainingBlocks.removeFirst()
            itemStarts.append((b.itemIndex, lines.count, b.height))
            for l in b.lines {
              if pendingLines.isEmpty && (used + l.height <= budget || (atTop && lines.isEmpty)) {
                lines.append(l)
                used += l.height
              } else {
                pendingLines.append(l)
              }
            }
            if itemStarts.last.map({ $0.line >= lines.count }) ?? false {
              // Not even its first line fitted: it starts in the next part.
              remainingBlocks.insert(b, at: remainingBlocks.startIndex)
              pendingLines.removeAll()
              itemStarts.removeLast()
            }
            break
          } else {
            break
          }
        }
        if lines.isEmpty && !(remainingBlocks.isEmpty && pendingLines.isEmpty) && !atTop {
          nextColumn()
          continue
        }
        let done = remainingBlocks.isEmpty && pendingLines.isEmpty
        let cardH = used + m.pad + (done ? markH : m.footerHeight)
        let rect = Rect(x: x, y: y, width: colW, height: cardH)
        var frag = CardFragment(
          ticketId: ticket.id, ticketIndex: ti, status: ticket.status, page: page, column: col,
          part: part, rect: rect,
          headerRect: Rect(x: x, y: y, width: colW, height: m.headerHeight),
          timerRect: Rect(x: x + m.pad, y: y, width: colW - 2 * m.pad, height: m.headerHeight),
          isContinuation: part > 0, continues: !done, texts: [], boxes: [], items: [],
          itemRects: [], retryRect: nil, cardMarks: cardMarks)
        header(&frag, ticket, contentWidth: cw)
        // Body lines.
        var ly = y + head
        var lineTops: [Int] = []
        for l in lines {
          lineTops.append(ly)
          for t in l.texts { frag.texts.append(t.offsetBy(dx: x + m.pad, dy: ly)) }
          for b in l.boxes {
            frag.boxes.append(
              BoxPlacement(
                rect: Rect(
                  x: b.rect.x + x + m.pad, y: b.rect.y + ly, width: b.rect.width,
                  height: b.rect.height), role: b.role))
          }
          ly += l.height
        }
        let fragIndex = fragments.count
        for s in itemStarts {
          let top = lineTops[s.line]
          let r = Rect(
            x: x + m.pad, y: top, width: cw, height: min(s.height, y + used - top))
          frag.items.append(s.index)
          frag.itemRects.append(r)
          items.append(
            ItemPlacement(ticketId: ticket.id, itemIndex: s.index, fragment: fragIndex, rect: r))
        }
        if !done {
          let nextIsNewPage = col == columns - 1
          let label = nextIsNewPage ? "continued on next page \u{25B8}" : "continued \u{25B8}"
          let s = text.ellipsize(label, m.small, width: cw)
          let w = text.width(s, m.small)
          frag.texts.append(
            place(
              s, m.small, x: x + (colW - w) / 2, top: y + used + m.pad / 2,
              lineHeight: m.footerHeight, role: .continuedFooter))
        } else if !failureLines.isEmpty {
          // The failure's reason, in kitchen words, and the way out.
          let strip = Rect(x: x, y: y + used + m.pad, width: colW, height: markH)
          frag.boxes.append(BoxPlacement(rect: strip, role: .failureStrip))
          var ty = strip.y + m.pad / 2
          for line in failureLines {
            frag.texts.append(
              place(
                line, m.metaBold, x: x + m.pad, top: ty, lineHeight: reasonLH,
                role: .failureReason))
            ty += reasonLH
          }
          let hint = text.ellipsize("TAP: RETRY  \u{00B7}  HOLD: DISMISS", m.small, width: cw)
          frag.texts.append(
            place(hint, m.small, x: x + m.pad, top: ty, lineHeight: smallLH, role: .failureHint))
          frag.retryRect = strip
        } else if let mark {
          let strip = Rect(x: x, y: y + used + m.pad, width: colW, height: m.stripHeight)
          let (label, boxRole, role): (String, BoxRole, TextRole) =
            switch mark {
            case .notSynced: ("Not synced", .notSyncedStrip, .notSynced)
            case .syncFailed: ("Sync failed - tap to retry", .syncFailedStrip, .syncFailed)
            }
          frag.boxes.append(BoxPlacement(rect: strip, role: boxRole))
          let s = text.ellipsize(label, m.small, width: cw)
          let w = text.width(s, m.small)
          frag.texts.append(
            place(
              s, m.small, x: x + (colW - w) / 2, top: strip.y, lineHeight: strip.height,
              role: role))
          if case .syncFailed = mark { frag.retryRect = strip }
        }
        fragments.append(frag)
        y += cardH + m.gap
        if done { break }
        part += 1
        nextColumn()
      }
      if y >= content.maxY - m.headerHeight { nextColumn() }
    }
    let pageCount = max(1, (fragments.last?.page ?? 0) + 1)
    let shownPage = min(max(0, snapshot.page), pageCount - 1)
    let banner = makeBanner(
      tickets: tickets, fragments: fragments, page: shownPage, pageCount: pageCount)
    var layout = BoardLayout(
      width: width, height: height, metrics: m, tickets: tickets, fragments: fragments,
      pageCount: pageCount, page: shownPage, columns: columns, columnWidth: colW,
      contentRect: content, banner: banner, items: items)
    layout.view = snapshot.view
    if allDay {
      layout.panel = makeAllDayPanel(
        Rect(x: content.maxX + m.gap, y: content.y, width: panelW, height: content.height))
    }
    return layout
  }

  /// How many of `blocks` fit, whole, in `space`.
  func fitCount(_ blocks: ArraySlice<CardBlock>, space: Int) -> Int {
    var used = 0
    var n = 0
    for b in blocks {
      used += b.height
      if used > space { break }
      n += 1
    }
    return n
  }

  /// The number, the continuation label and (first part) the meta line.
  func header(_ f: inout CardFragment, _ t: Ticket, contentWidth cw: Int) {
    let x = f.rect.x + m.pad
    let y = f.rect.y
    // Room for a minutes timer; past an hour the renderer clips the number
    // short of the wider timer.
    var timerReserve = text.width("88:88", m.timer) + m.pad
    if t.status == .held && f.cardMarks.voidedAt == nil {
      // A held course has no timer: "course 2 · held" where the timer goes.
      // As much room as the number leaves; smaller type before an ellipsis.
      let avail = max(cw / 3, cw - text.width("#" + cardNumber(t), m.number) - m.pad)
      let full = heldLabel(t)
      let style = text.width(full, m.quantity) <= avail ? m.quantity : m.metaBold
      let label = text.ellipsize(full, style, width: avail)
      let w = text.width(label, style)
      f.texts.append(
        place(label, style, x: x + cw - w, top: y, lineHeight: m.headerHeight, role: .heldLabel))
      timerReserve = max(timerReserve, w + m.pad)
    }
    let number = text.ellipsize("#" + cardNumber(t), m.number, width: cw - timerReserve)
    let num = place(number, m.number, x: x, top: y, lineHeight: m.headerHeight, role: .number)
    f.texts.append(num)
    // Badges after the number: VOID 12:31, or ADDED / NEW, and CHANGED.
    var bx = num.x + num.width + m.pad
    let limitX = x + cw - timerReserve
    for (label, box, role) in badges(f.cardMarks, number: "#" + cardNumber(t)) {
      let lm = text.metrics(m.metaBold)
      let h = min(m.headerHeight - 4, lm.lineHeight + max(4, m.unit / 4))
      let w = text.width(label, m.metaBold) + m.pad
      guard bx + w <= limitX else { break }
      let r = Rect(x: bx, y: y + (m.headerHeight - h) / 2, width: w, height: h)
      f.boxes.append(BoxPlacement(rect: r, role: box))
      f.texts.append(
        place(label, m.metaBold, x: r.x + m.pad / 2, top: r.y, lineHeight: h, role: role))
      bx = r.maxX + m.pad / 2
    }
    if f.isContinuation {
      let avail = limitX - bx
      let s = text.ellipsize("cont.", m.small, width: avail)
      if !s.isEmpty {
        var t = place(
          s, m.small, x: bx, top: y, lineHeight: m.headerHeight,
          role: .continuedLabel)
        t.baseline = num.baseline
        f.texts.append(t)
      }
      return
    }
    // Meta line: order type, table, waiter on the left; status chip on the right.
    var top = y + m.headerHeight
    for bar in bars(t, f.cardMarks) {
      // RUSH, VOID 12:31 / #1042 · ADDED / CHANGED, ALL DONE: full-width bars under the header.
      let r = Rect(x: f.rect.x, y: top, width: f.rect.width, height: markBarHeight)
      f.boxes.append(BoxPlacement(rect: r, role: bar.box))
      let label = text.ellipsize(bar.label, m.quantity, width: cw)
      f.texts.append(
        place(label, m.quantity, x: x, top: r.y, lineHeight: r.height, role: bar.role))
      top = r.maxY
    }
    let voided = f.cardMarks.voidedAt != nil || t.status == .cancelled
    let held = t.status == .held && !voided
    let chipText =
      voided
      ? "VOID"
      : held
        ? "HELD"
        : t.status == .inProgress ? "IN PROGRESS" : t.status == .ready ? "READY" : "QUEUED"
    let chipW = text.width(chipText, m.chip) + m.pad
    let chipH = min(m.metaHeight - 4, text.metrics(m.chip).lineHeight + 4)
    let hasMeta =
      t.orderType != nil || !(t.tableName?.trimmed.isEmpty ?? true)
      || !(t.waiterName?.trimmed.isEmpty ?? true)
    let chipRect = Rect(
      x: hasMeta ? x + cw - chipW : x, y: top + (m.metaHeight - chipH) / 2 + 1, width: chipW,
      height: chipH)
    f.chipRect = chipRect
    f.boxes.append(
      BoxPlacement(
        rect: chipRect,
        role: voided
          ? .chipVoid : held ? .chipHeld : t.status == .inProgress ? .chipInProgress : .chipQueued))
    var chip = place(
      chipText, m.chip, x: chipRect.x + m.pad / 2, top: chipRect.y, lineHeight: chipH,
      role: voided
        ? .badgeVoid : held ? .chipHeld : t.status == .inProgress ? .chipInProgress : .chipQueued)
    chip.width = min(chip.width, chipW - m.pad / 2)
    f.texts.append(chip)

    var parts: [(String, TextStyle, TextRole)] = []
    switch t.orderType {
    case .takeaway?: parts.append(("Takeaway", m.metaBold, .orderType))
    case .delivery?: parts.append(("Delivery", m.metaBold, .orderType))
    case .other(let s)? where !s.isEmpty:
      parts.append((s.prefix(1).uppercased() + s.dropFirst().lowercased(), m.metaBold, .orderType))
    default: break
    }
    if let table = t.tableName?.trimmed, !table.isEmpty {
      parts.append((table, m.metaBold, .place))
    } else if t.orderType == .dineIn {
      parts.append(("Dine-in", m.metaBold, .place))
    }
    if let waiter = t.waiterName?.trimmed, !waiter.isEmpty {
      parts.append((waiter, m.meta, .waiter))
    }
    var px = x
    let limit = chipRect.x - m.pad / 2
    for (i, part) in parts.enumerated() {
      let label = i == 0 ? part.0 : "\u{00B7} " + part.0
      let startX = i == 0 ? px : px + text.width(" ", part.1)
      let s = text.ellipsize(label, part.1, width: limit - startX)
      if s.isEmpty { break }
      let tp = place(s, part.1, x: startX, top: top, lineHeight: m.metaHeight, role: part.2)
      f.texts.append(tp)
      px = tp.x + tp.width
      if s != label { break }
    }
  }

  /// A card's header badges: NEW (short enough for the narrowest header).
  func badges(_ marks: CardMarks, number: String) -> [(String, BoxRole, TextRole)] {
    marks.isNew && marks.voidedAt == nil ? [("NEW", .badgeNew, .badgeNew)] : []
  }

  var markBarHeight: Int { text.metrics(m.quantity).lineHeight + max(4, m.unit / 3) }

  /// "course 2 · held" (a HELD ticket's header, in place of the timer).
  func heldLabel(_ t: Ticket) -> String {
    t.course.map { "course \($0) \u{00B7} held" } ?? "held"
  }

  /// The bars under a card's header, top to bottom: RUSH; the marks' bar
  /// (VOID, ADDED, CHANGED); ALL DONE when every line is marked done.
  func bars(_ t: Ticket, _ marks: CardMarks) -> [(label: String, box: BoxRole, role: TextRole)] {
    var out: [(label: String, box: BoxRole, role: TextRole)] = []
    if t.isRush { out.append(("RUSH", .rushBand, .rush)) }
    if let bar = markBar(marks, number: "#" + cardNumber(t)) { out.append(bar) }
    if t.allItemsDone, marks.voidedAt == nil, t.status.isActive {
      out.append(("\u{2713} ALL DONE", .allDoneBand, .allDone))
    }
    return out
  }

  /// The bar under a card's header, for the marks that change what to cook:
  /// "VOID 12:31", "#1042 · ADDED" (naming the order's first ticket), "CHANGED".
  func markBar(_ marks: CardMarks, number: String) -> (label: String, box: BoxRole, role: TextRole)?
  {
    if let v = marks.voidedAt {
      let at = kitchenClock(v, utcOffsetSeconds: snapshot.clockUTCOffsetSeconds)
      return ("VOID \(at)", .badgeVoid, .badgeVoid)
    }
    var parts: [String] = []
    if let first = marks.addedTo { parts.append("\(first) \u{00B7} ADDED") }
    if marks.changedLines != nil { parts.append("CHANGED") }
    guard !parts.isEmpty else { return nil }
    let label = parts.joined(separator: " \u{00B7} ")
    return marks.addedTo != nil
      ? (label, .badgeAdded, .badgeAdded) : (label, .badgeChanged, .badgeChanged)
  }

  /// The ticket's items as blocks: grouped by course (items without a course
  /// first), each with its modifiers and notes beneath it. Notes and
  /// modifiers naming an allergen get the allergy band; changed items a
  /// highlight.
  func makeBlocks(_ t: Ticket, contentWidth cw: Int, marks: CardMarks) -> [CardBlock] {
    let order = t.items.indices.sorted {
      let a = t.items[$0].course ?? Int.min
      let b = t.items[$1].course ?? Int.min
      return a != b ? a < b : $0 < $1
    }
    let courses = Set(t.items.map { $0.course })
    let showCourses = courses.count > 1
    let qtyWidth = max(
      text.width("00\u{00D7}", m.quantity),
      t.items.map { text.width("\($0.quantity)\u{00D7}", m.quantity) }.max() ?? 0)
    let indent = qtyWidth + max(4, m.unit / 3)
    let nameW = max(20, cw - indent)
    let itemLH = text.metrics(m.item).lineHeight
    let modLH = text.metrics(m.modifier).lineHeight
    let noteLH = text.metrics(m.note).lineHeight + 2
    var blocks: [CardBlock] = []
    var lastCourse: Int?? = .none
    let changed = marks.changedLines ?? []
    var checkShown = !marks.allergenChecked
    let bandPad = max(2, m.unit / 8)
    /// A wrapped text in a band with an icon in the indent: an allergy
    /// (⚠, for a note or a modifier) or a note (»).
    func bandLines(
      _ shown: String, style: TextStyle, lineHeight: Int, indent: Int, icon: String,
      roles: (band: BoxRole, icon: TextRole, text: TextRole)
    ) -> [CardLine] {
      let wrapped = text.wrap(shown, style, width: max(20, nameW - m.pad / 2))
      var out: [CardLine] = []
      for (i, s) in wrapped.enumerated() {
        let first = i == 0
        let last = i == wrapped.count - 1
        var line = CardLine(height: lineHeight + (first ? bandPad : 0) + (last ? bandPad : 0))
        line.boxes.append(
          BoxPlacement(rect: Rect(x: 0, y: 0, width: cw, height: line.height), role: roles.band))
        let top = first ? bandPad : 0
        if first {
          line.texts.append(
            place(
              icon, style, x: max(0, (indent - text.width(icon, style)) / 2), top: top,
              lineHeight: lineHeight, role: roles.icon))
        }
        line.texts.append(
          place(s, style, x: indent, top: top, lineHeight: lineHeight, role: roles.text))
        out.append(line)
      }
      return out
    }
    /// Allergy-band lines for `text` (a note or a modifier).
    func allergyLines(_ shown: String, style: TextStyle, lineHeight: Int, indent: Int) -> [CardLine]
    {
      var out = bandLines(
        shown, style: style, lineHeight: lineHeight, indent: indent, icon: "\u{26A0}",
        roles: (.allergyBand, .allergyIcon, .allergy))
      if !checkShown, !out.isEmpty {
        // "✓ CHECKED" under the first band (allergen_check = on, acknowledged).
        checkShown = true
        let label = text.ellipsize("\u{2713} CHECKED", style, width: cw - indent)
        var line = CardLine(height: lineHeight + 2 * bandPad)
        line.boxes.append(
          BoxPlacement(
            rect: Rect(x: 0, y: 0, width: cw, height: line.height), role: .allergyCheckedChip))
        line.texts.append(
          place(
            label, style, x: indent, top: bandPad, lineHeight: lineHeight, role: .allergyChecked))
        out.append(line)
      }
      return out
    }
    for idx in order {
      let item = t.items[idx]
      var lines: [CardLine] = []
      if showCourses, let c = item.course, lastCourse != .some(c) {
        let label = "COURSE \(c)"
        let w = text.width(label, m.small)
        var line = CardLine(height: m.courseHeight)
        let tx = (cw - w) / 2
        line.texts.append(
          place(label, m.small, x: tx, top: 0, lineHeight: m.courseHeight, role: .course))
        let ry = m.courseHeight / 2
        let ruleH = max(1, m.unit / 11)
        if tx > m.pad {
          line.boxes.append(
            BoxPlacement(
              rect: Rect(x: 0, y: ry, width: tx - m.pad / 2, height: ruleH), role: .courseRule))
          line.boxes.append(
            BoxPlacement(
              rect: Rect(
                x: tx + w + m.pad / 2, y: ry, width: cw - tx - w - m.pad / 2, height: ruleH),
              role: .courseRule))
        }
        lines.append(line)
      }
      lastCourse = .some(item.course)
      // Name, wrapped, with the quantity before its first line. A line
      // marked done is drawn dimmed and struck through.
      let done = item.isDone
      let nameLines = text.wrap(item.name, m.item, width: nameW)
      let qty = "\(item.quantity)\u{00D7}"
      for (i, s) in (nameLines.isEmpty ? [""] : nameLines).enumerated() {
        var line = CardLine(height: itemLH)
        if changed.contains(idx) {
          // A changed line: a highlight behind it, a bar at its left.
          line.boxes.append(
            BoxPlacement(rect: Rect(x: 0, y: 0, width: cw, height: itemLH), role: .changedLine))
        }
        if i == 0 {
          line.texts.append(
            place(
              qty, m.quantity, x: 0, top: 0, lineHeight: itemLH,
              role: done ? .quantityDone : .quantity))
        }
        if !s.isEmpty {
          line.texts.append(
            place(
              s, m.item, x: indent, top: 0, lineHeight: itemLH, role: done ? .itemDone : .itemName))
        }
        lines.append(line)
      }
      for mod in item.modifiers {
        let trimmed = mod.trimmed
        if trimmed.isEmpty { continue }
        if snapshot.allergens.matches(trimmed) {
          lines += allergyLines(
            trimmed.uppercased(), style: m.note, lineHeight: noteLH, indent: indent)
          continue
        }
        for s in text.wrap(trimmed, m.modifier, width: nameW) {
          var line = CardLine(height: modLH)
          line.texts.append(
            place(
              s, m.modifier, x: indent, top: 0, lineHeight: modLH,
              role: done ? .modifierDone : .modifier))
          lines.append(line)
        }
      }
      if let notes = item.notes?.trimmed, !notes.isEmpty, snapshot.allergens.matches(notes) {
        lines += allergyLines(notes.uppercased(), style: m.note, lineHeight: noteLH, indent: indent)
      } else if let notes = item.notes?.trimmed, !notes.isEmpty {
        lines += bandLines(
          notes, style: m.note, lineHeight: noteLH, indent: indent, icon: "\u{00BB}",
          roles: (.noteBand, .noteIcon, .note))
      }
      lines[lines.count - 1].height += m.itemGap
      blocks.append(CardBlock(itemIndex: idx, lines: lines))
    }
    return blocks
  }

  func makeBanner(
    tickets: [Ticket], fragments: [CardFragment], page: Int, pageCount: Int,
    countLabel: String? = nil, emptyText: String? = "No open tickets"
  ) -> BannerLayout {
    let h = m.bannerHeight
    let rect = Rect(x: 0, y: 0, width: width, height: h)
    var texts: [TextPlacement] = []
    var right = width - m.pad
    // Recall button.
    let recallDisabled = snapshot.alerts.contains {
      if case .actionUnavailable(let a) = $0 { return a.lowercased().contains("recall") }
      return false
    }
    let recallLabel = "Recall"
    let rw = text.width(recallLabel, m.bannerBold) + 2 * m.unit
    let rh = h - 2 * max(3, h / 7)
    let recall = Rect(x: right - rw, y: (h - rh) / 2, width: rw, height: rh)
    texts.append(
      place(
        recallLabel, m.bannerBold, x: recall.x + m.unit, top: recall.y, lineHeight: rh,
        role: recallDisabled ? .bannerRecallDisabled : .bannerRecall))
    right = recall.x - m.unit
    // "All day" toggle (issue 14): filled while the panel is shown.
    var allDayRect: Rect?
    if !snapshot.isExpo {
      let label = "All day"
      let aw = text.width(label, m.bannerBold) + 2 * m.unit
      let r = Rect(x: right - aw, y: (h - rh) / 2, width: aw, height: rh)
      texts.append(
        place(
          label, m.bannerBold, x: r.x + m.unit, top: r.y, lineHeight: rh,
          role: snapshot.view == .allDay ? .bannerToggleActive : .bannerToggle))
      allDayRect = r
      right = r.x - m.unit
    }
    // Clock (drawn by the renderer).
    let clockW = text.width("88:88", m.bannerBold)
    let clock = Rect(x: right - clockW, y: 0, width: clockW, height: h)
    right = clock.x - m.unit
    // Page indicator.
    var pageRect: Rect?
    do {
      let later = Set(fragments.filter { $0.page > page && $0.part == 0 }.map(\.ticketId)).count
      let label: String
      if let countLabel, pageCount <= 1 {
        label = countLabel
      } else if pageCount > 1 {
        label =
          "Page \(page + 1)/\(pageCount)" + (later > 0 ? " \u{00B7} \(later) more \u{25B8}" : "")
      } else {
        label = tickets.count == 1 ? "1 ticket" : "\(tickets.count) tickets"
      }
      let s = text.ellipsize(label, m.bannerBold, width: max(0, width / 3))
      let w = text.width(s, m.bannerBold)
      let tp = place(s, m.bannerBold, x: right - w, top: 0, lineHeight: h, role: .bannerPage)
      texts.append(tp)
      pageRect = Rect(x: tp.x - m.pad, y: 0, width: w + 2 * m.pad, height: h)
      right = tp.x - m.unit
    }
    // Station.
    let station = snapshot.station.trimmed
    if !station.isEmpty {
      let s = text.ellipsize(station.uppercased(), m.bannerBold, width: max(0, width / 5))
      if !s.isEmpty {
        let w = text.width(s, m.bannerBold)
        let tp = place(s, m.bannerBold, x: right - w, top: 0, lineHeight: h, role: .bannerStation)
        texts.append(tp)
        right = tp.x - m.unit
      }
    }
    // Item marks the server does not keep: say they stay on this screen.
    var noteRect: Rect?
    if snapshot.itemMarksLocal {
      let s = text.ellipsize("Item marks: this screen only", m.banner, width: max(0, width / 4))
      if !s.isEmpty {
        let w = text.width(s, m.banner)
        let r = Rect(x: right - w - m.unit, y: (h - rh) / 2, width: w + m.unit, height: rh)
        texts.append(
          place(s, m.banner, x: r.x + m.unit / 2, top: r.y, lineHeight: rh, role: .bannerNote))
        noteRect = r
        right = r.x - m.unit
      }
    }
    let status = Rect(x: m.pad, y: 0, width: max(0, right - m.pad), height: h)
    var alertRect: Rect?
    var urgent = false
    if !snapshot.alerts.isEmpty {
      let ar = Rect(x: 0, y: h, width: width, height: m.alertHeight)
      alertRect = ar
      urgent = snapshot.alerts.contains {
        switch $0 {
        case .queueFull, .notAuthorised, .failedOperations: true
        default: false
        }
      }
      let joined = snapshot.alerts.map(alertText).joined(separator: "    \u{2022}    ")
      let s = text.ellipsize("\u{26A0}  " + joined, m.bannerBold, width: width - 2 * m.pad)
      texts.append(place(s, m.bannerBold, x: m.pad, top: ar.y, lineHeight: ar.height, role: .alert))
    }
    var summaryRect: Rect?
    if let summary = snapshot.reconnectSummary {
      let sr = Rect(x: 0, y: alertRect?.maxY ?? h, width: width, height: m.alertHeight)
      summaryRect = sr
      let s = text.ellipsize(
        "\u{2713}  Back online: " + summary, m.bannerBold, width: width - 2 * m.pad)
      texts.append(
        place(s, m.bannerBold, x: m.pad, top: sr.y, lineHeight: sr.height, role: .reconnectSummary))
    }
    if tickets.isEmpty, let s = emptyText {
      let w = text.width(s, m.number)
      let top = (summaryRect?.maxY ?? alertRect?.maxY ?? h)
      texts.append(
        place(
          s, m.number, x: (width - w) / 2, top: top, lineHeight: height - top, role: .empty))
    }
    return BannerLayout(
      rect: rect, statusRect: status, clockRect: clock, recallRect: recall, pageRect: pageRect,
      texts: texts, alertRect: alertRect, alertUrgent: urgent, summaryRect: summaryRect,
      allDayRect: allDayRect, noteRect: noteRect)
  }
}

/// The number on a card: the order number, else the order id's last part
/// (`order-1903` gives `1903`), else its tail.
public func cardNumber(_ t: Ticket) -> String {
  if let n = t.orderNumber?.trimmed, !n.isEmpty { return n }
  if let dash = t.orderId.lastIndex(of: "-") {
    let tail = t.orderId[t.orderId.index(after: dash)...]
    if !tail.isEmpty && tail.count <= 8 { return String(tail) }
  }
  return t.displayNumber
}

extension String {
  var trimmed: String {
    var s = Substring(self)
    while let f = s.first, f.isWhitespace { s.removeFirst() }
    while let l = s.last, l.isWhitespace { s.removeLast() }
    return String(s)
  }
}
