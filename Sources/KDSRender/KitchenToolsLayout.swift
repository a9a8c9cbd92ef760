import KDSCore
import KDSGeometry

/// The all-day panel beside the cards, or the recall list (issue 14): a box
/// with its texts and boxes placed.
public struct ToolPanel: Hashable, Sendable {
  /// A row of the recall list on screen.
  public struct Row: Hashable, Sendable {
    /// Index into the snapshot's `recallList`.
    public var index: Int
    public var rect: Rect
  }
  public enum Kind: Hashable, Sendable {
    case allDay
    case recall
  }
  public var kind: Kind
  public var rect: Rect
  public var texts: [TextPlacement]
  public var boxes: [BoxPlacement]
  /// The all-day counts drawn (all of them, even those that did not fit).
  public var groups: [AllDayGroup] = []
  /// Recall rows on screen: the index into the snapshot's `recallList` and its rectangle.
  public var rows: [Row] = []
  /// The recall list's "Close" button.
  public var closeRect: Rect? = nil
}

/// An order card of the expo screen.
public struct ExpoCard: Hashable, Sendable {
  public var order: ExpoOrder
  public var page: Int
  public var rect: Rect
  /// The header with the number, the table and the age (the renderer draws the age).
  public var headerRect: Rect
  public var timerRect: Rect
  public var texts: [TextPlacement]
  public var boxes: [BoxPlacement]
  /// Each part's row, in `order.parts` order.
  public var partRects: [Rect]
}

/// What a tap means on the kitchen tools (issue 14). Asked before
/// `BoardLayout.hitTest`, which keeps its meaning for cards and the banner.
public enum ToolHit: Hashable, Sendable {
  /// An item line of a card: toggle it done. `index` is into the ticket's `items`.
  case itemLine(ticketId: String, index: Int)
  /// The "All day" button in the banner: show or hide the all-day panel.
  case allDayToggle
  /// A row of the recall list: `index` is into the snapshot's `recallList`.
  case recallRow(index: Int)
  /// The recall list's "Close" button.
  case recallClose
  /// An order card on the expo screen.
  case expoOrder(orderId: String)
}

extension BoardLayout {
  /// The expo cards on the page shown.
  public var visibleExpoCards: [ExpoCard] { expoCards.filter { $0.page == page } }

  /// The kitchen-tools target at (x, y) on the page shown, in logical pixels:
  /// an item line, the "All day" button, a recall row or its "Close", an
  /// expo order. nil: ask `hitTest`.
  public func toolHitTest(x: Int, y: Int) -> ToolHit? {
    if let r = banner.allDayRect, r.contains(x: x, y: y) { return .allDayToggle }
    if let p = panel, p.kind == .recall {
      if let c = p.closeRect, c.contains(x: x, y: y) { return .recallClose }
      for row in p.rows where row.rect.contains(x: x, y: y) { return .recallRow(index: row.index) }
      return nil
    }
    if isExpo {
      for c in expoCards where c.page == page && c.rect.contains(x: x, y: y) {
        return .expoOrder(orderId: c.order.orderId)
      }
      return nil
    }
    for f in visibleFragments where f.rect.contains(x: x, y: y) {
      // The chip and the retry strip keep their meaning.
      if let r = f.retryRect, r.contains(x: x, y: y) { return nil }
      if let r = f.chipRect?.insetBy(dx: -metrics.pad / 2, dy: -metrics.pad / 2),
        r.contains(x: x, y: y)
      {
        return nil
      }
      for (k, r) in f.itemRects.enumerated() where r.contains(x: x, y: y) {
        return .itemLine(ticketId: f.ticketId, index: f.items[k])
      }
      return nil
    }
    return nil
  }
}

extension LayoutBuilder {
  /// The all-day panel in `rect`: the counts, as many as fit, then "+ N more".
  func makeAllDayPanel(_ rect: Rect) -> ToolPanel {
    let groups = AllDayCounts.compute(tickets: snapshot.tickets)
    var texts: [TextPlacement] = []
    var boxes: [BoxPlacement] = []
    let x = rect.x + m.pad
    let w = rect.width - 2 * m.pad
    var y = rect.y + m.pad / 2
    let titleLH = text.metrics(m.bannerBold).lineHeight + m.pad
    texts.append(
      place(
        text.ellipsize("ALL DAY \u{00B7} still to cook", m.bannerBold, width: w), m.bannerBold,
        x: x, top: y, lineHeight: titleLH, role: .panelTitle))
    y += titleLH
    boxes.append(
      BoxPlacement(rect: Rect(x: x, y: y, width: w, height: max(2, m.unit / 10)), role: .panelRule))
    y += m.pad / 2
    let countStyle = TextStyle.bold(Int((Double(m.unit) * 1.2).rounded()))
    let nameLH = text.metrics(countStyle).lineHeight + max(2, m.unit / 5)
    let varLH = text.metrics(m.item).lineHeight
    let countW = max(
      text.width("000\u{00D7}", countStyle),
      groups.map { text.width("\($0.quantity)\u{00D7}", countStyle) }.max() ?? 0)
    let indent = countW + m.pad
    let moreLH = text.metrics(m.small).lineHeight + m.pad
    if groups.isEmpty {
      texts.append(
        place(
          text.ellipsize("Nothing left to cook", m.item, width: w), m.item, x: x, top: y + m.pad,
          lineHeight: nameLH, role: .panelEmpty))
    }
    for (gi, g) in groups.enumerated() {
      let nameLines = Array(text.wrap(g.name, m.item, width: max(20, w - indent)).prefix(2))
      let variants = g.variants.map { "(\($0.label) \u{00D7}\($0.quantity))" }
      let variantLines = variants.map {
        Array(text.wrap($0, m.item, width: max(20, w - indent)).prefix(2))
      }
      let need =
        nameLH * max(1, nameLines.count) + varLH * variantLines.reduce(0) { $0 + $1.count }
        + m.pad / 2
      let left = groups.count - gi
      if y + need + (left > 1 ? moreLH : 0) > rect.maxY {
        texts.append(
          place(
            text.ellipsize("+ \(left) more", m.small, width: w), m.small, x: x, top: y,
            lineHeight: moreLH, role: .panelVariant))
        break
      }
      texts.append(
        place(
          "\(g.quantity)\u{00D7}", countStyle, x: x, top: y, lineHeight: nameLH, role: .panelCount))
      for s in nameLines {
        texts.append(place(s, m.item, x: x + indent, top: y, lineHeight: nameLH, role: .panelName))
        y += nameLH
      }
      if nameLines.isEmpty { y += nameLH }
      for lines in variantLines {
        for s in lines {
          texts.append(
            place(s, m.item, x: x + indent, top: y, lineHeight: varLH, role: .panelVariant))
          y += varLH
        }
      }
      y += m.pad / 4
      boxes.append(BoxPlacement(rect: Rect(x: x, y: y, width: w, height: 1), role: .panelRule))
      y += m.pad / 4
    }
    return ToolPanel(kind: .allDay, rect: rect, texts: texts, boxes: boxes, groups: groups)
  }

  /// The recall list, full screen under the banner: the last bumped tickets,
  /// newest first, the selected row highlighted, a hint line at the bottom.
  func buildRecall() -> BoardLayout {
    let top = contentTop
    let rect = Rect(
      x: m.gap, y: top + m.gap, width: width - 2 * m.gap, height: height - top - 2 * m.gap)
    var texts: [TextPlacement] = []
    var boxes: [BoxPlacement] = []
    let x = rect.x + m.pad
    let w = rect.width - 2 * m.pad
    let titleStyle = m.number
    let titleH = text.metrics(titleStyle).lineHeight + m.pad
    // Close button at the right of the title line.
    let closeLabel = "Close"
    let cw = text.width(closeLabel, m.bannerBold) + 2 * m.unit
    let closeRect = Rect(x: rect.maxX - cw - m.pad, y: rect.y, width: cw, height: titleH)
    boxes.append(BoxPlacement(rect: closeRect, role: .listClose))
    texts.append(
      place(
        closeLabel, m.bannerBold, x: closeRect.x + m.unit, top: closeRect.y, lineHeight: titleH,
        role: .listClose))
    let list = snapshot.recallList
    let title = list.isEmpty ? "RECALL" : "RECALL \u{00B7} last \(list.count) bumped"
    texts.append(
      place(
        text.ellipsize(title, titleStyle, width: closeRect.x - x - m.pad), titleStyle, x: x,
        top: rect.y, lineHeight: titleH, role: .listTitle))
    // Hint line at the bottom.
    let hintStyle = m.bannerBold
    let hintH = text.metrics(hintStyle).lineHeight + m.pad
    let hintTop = rect.maxY - hintH
    texts.append(
      place(
        text.ellipsize(
          "\u{2191}\u{2193} choose  \u{00B7}  BUMP: recall  \u{00B7}  BACK: close",
          hintStyle, width: w), hintStyle, x: x, top: hintTop, lineHeight: hintH, role: .listHint))
    // Rows, large enough to read from 2 m.
    let rowStyle = TextStyle.bold(Int((Double(m.unit) * 1.5).rounded()))
    let rowTextStyle = TextStyle.regular(Int((Double(m.unit) * 1.5).rounded()))
    let rowH = text.metrics(rowStyle).lineHeight + m.pad * 2
    let rowsTop = rect.y + titleH + m.pad
    let fit = max(1, (hintTop - m.pad - rowsTop + m.gap) / (rowH + m.gap))
    let selected = snapshot.selectedRecallIndex.map { min(max(0, $0), max(0, list.count - 1)) }
    let first = max(0, min(list.count - fit, (selected ?? 0) - fit + 1))
    var rows: [ToolPanel.Row] = []
    if list.isEmpty {
      texts.append(
        place(
          text.ellipsize("Nothing bumped on this screen yet", rowTextStyle, width: w),
          rowTextStyle, x: x, top: rowsTop, lineHeight: rowH, role: .listEmpty))
    }
    let numberW = max(
      text.width("#00000", rowStyle),
      list.map { text.width("#" + $0.orderNumber, rowStyle) }.max() ?? 0)
    let timeW = text.width("bumped 88:88", rowTextStyle)
    var y = rowsTop
    for i in first..<min(list.count, first + fit) {
      let e = list[i]
      let r = Rect(x: rect.x, y: y, width: rect.width, height: rowH)
      let isSel = i == selected
      boxes.append(BoxPlacement(rect: r, role: isSel ? .listRowSelected : .listRow))
      let num = text.ellipsize("#" + e.orderNumber, rowStyle, width: min(numberW, w / 3))
      texts.append(place(num, rowStyle, x: x, top: y, lineHeight: rowH, role: .listNumber))
      let tx = x + min(numberW, w / 3) + 2 * m.unit
      if let table = e.tableName?.trimmed, !table.isEmpty {
        let s = text.ellipsize(table, rowTextStyle, width: max(0, w - timeW - tx + x - m.unit))
        texts.append(place(s, rowTextStyle, x: tx, top: y, lineHeight: rowH, role: .listTable))
      }
      let at =
        "bumped " + kitchenClock(e.bumpedAt, utcOffsetSeconds: snapshot.clockUTCOffsetSeconds)
      let atW = text.width(at, rowTextStyle)
      texts.append(
        place(at, rowTextStyle, x: x + w - atW, top: y, lineHeight: rowH, role: .listTime))
      rows.append(ToolPanel.Row(index: i, rect: r))
      y += rowH + m.gap
    }
    let banner = makeBanner(
      tickets: [], fragments: [], page: 0, pageCount: 1,
      countLabel: list.count == 1 ? "1 bumped" : "\(list.count) bumped", emptyText: nil)
    var layout = BoardLayout(
      width: width, height: height, metrics: m, tickets: [], fragments: [], pageCount: 1,
      page: 0, columns: 1, columnWidth: rect.width, contentRect: rect, banner: banner, items: [])
    layout.view = .recall
    layout.panel = ToolPanel(
      kind: .recall, rect: rect, texts: texts, boxes: boxes, rows: rows, closeRect: closeRect)
    return layout
  }

  /// The expo screen: one card per order, each station's part with its
  /// state, in columns and pages like the cards.
  func buildExpo() -> BoardLayout {
    let orders = ExpoBoard.orders(from: snapshot.tickets)
    let top = contentTop
    let content = Rect(
      x: m.gap, y: top + m.gap, width: width - 2 * m.gap, height: height - top - 2 * m.gap)
    let columns = max(1, (content.width + m.gap) / (m.minColumnWidth + m.gap))
    let colW = max(40, (content.width - (columns - 1) * m.gap) / columns)
    let cw = colW - 2 * m.pad
    let rowStyle = m.quantity
    let rowH = text.metrics(rowStyle).lineHeight + max(4, m.unit / 3)
    let barH = markBarHeight
    var cards: [ExpoCard] = []
    var page = 0
    var col = 0
    var y = content.y
    for o in orders {
      let h =
        m.headerHeight + (o.allReady ? barH : 0) + (o.isRush ? barH : 0)
        + rowH * max(1, o.parts.count) + m.pad
      let cardH = min(h, content.height)
      if y + cardH > content.maxY && y > content.y {
        col += 1
        if col >= columns {
          col = 0
          page += 1
        }
        y = content.y
      }
      let x = content.x + col * (colW + m.gap)
      let rect = Rect(x: x, y: y, width: colW, height: cardH)
      let header = Rect(x: x, y: y, width: colW, height: m.headerHeight)
      var texts: [TextPlacement] = []
      var boxes: [BoxPlacement] = []
      // Header: number and table; the age goes right (the renderer draws it).
      let timerReserve = text.width("88:88", m.timer) + m.pad
      let num = text.ellipsize("#" + o.orderNumber, m.number, width: cw - timerReserve)
      let np = place(
        num, m.number, x: x + m.pad, top: y, lineHeight: m.headerHeight, role: .expoNumber)
      texts.append(np)
      if let table = o.tableName {
        let tx = np.x + np.width + m.pad
        let s = text.ellipsize(table, m.metaBold, width: x + m.pad + cw - timerReserve - tx)
        if !s.isEmpty {
          var tp = place(s, m.metaBold, x: tx, top: y, lineHeight: m.headerHeight, role: .expoPlace)
          tp.baseline = np.baseline
          texts.append(tp)
        }
      }
      var ry = header.maxY
      if o.isRush {
        let r = Rect(x: x, y: ry, width: colW, height: barH)
        boxes.append(BoxPlacement(rect: r, role: .rushBand))
        texts.append(
          place("RUSH", m.quantity, x: x + m.pad, top: ry, lineHeight: barH, role: .rush))
        ry += barH
      }
      if o.allReady {
        let r = Rect(x: x, y: ry, width: colW, height: barH)
        boxes.append(BoxPlacement(rect: r, role: .expoReadyBar))
        texts.append(
          place(
            text.ellipsize("\u{2713} READY TO SERVE", m.quantity, width: cw), m.quantity,
            x: x + m.pad, top: ry, lineHeight: barH, role: .expoBar))
        ry += barH
      }
      var partRects: [Rect] = []
      let markW = text.width("\u{2713}", rowStyle) + m.pad
      for p in o.parts {
        let r = Rect(x: x, y: ry, width: colW, height: rowH)
        partRects.append(r)
        guard r.maxY <= rect.maxY else {
          ry += rowH
          continue
        }
        let (state, role): (String, TextRole) =
          switch p.status {
          case .ready: ("READY", .expoReady)
          case .inProgress: ("in progress", .expoInProgress)
          case .held: ("held", .expoHeld)
          case .cancelled: ("void", .expoVoid)
          default: ("queued", .expoQueued)
          }
        let mark = p.status == .ready ? "\u{2713}" : "\u{25CB}"
        texts.append(
          place(
            mark, rowStyle, x: x + m.pad, top: ry, lineHeight: rowH,
            role: p.status == .ready ? .expoReady : .expoMark))
        let sw = text.width(state, rowStyle)
        texts.append(
          place(state, rowStyle, x: x + m.pad + cw - sw, top: ry, lineHeight: rowH, role: role))
        var station = p.station.trimmed.uppercased()
        if let c = p.course,
          p.status == .held
            || o.parts.contains(where: { $0.station == p.station && $0.course != c })
        {
          station += " \u{00B7} c\(c)"
        }
        let s = text.ellipsize(station, rowStyle, width: max(0, cw - markW - sw - m.pad))
        texts.append(
          place(s, rowStyle, x: x + m.pad + markW, top: ry, lineHeight: rowH, role: .expoStation))
        ry += rowH
      }
      cards.append(
        ExpoCard(
          order: o, page: page, rect: rect, headerRect: header,
          timerRect: Rect(x: x + m.pad, y: y, width: colW - 2 * m.pad, height: m.headerHeight),
          texts: texts, boxes: boxes, partRects: partRects))
      y += cardH + m.gap
    }
    let pageCount = max(1, (cards.last?.page ?? 0) + 1)
    let shownPage = min(max(0, snapshot.page), pageCount - 1)
    let ready = orders.filter(\.allReady).count
    var label = orders.count == 1 ? "1 order" : "\(orders.count) orders"
    if ready > 0 { label += " \u{00B7} \(ready) ready" }
    var banner = makeBanner(
      tickets: snapshot.tickets, fragments: [], page: shownPage, pageCount: 1, countLabel: label,
      emptyText: nil)
    if pageCount > 1 {
      banner = makeBanner(
        tickets: snapshot.tickets, fragments: [], page: shownPage, pageCount: pageCount,
        emptyText: nil)
    }
    if orders.isEmpty {
      let s = "No open orders"
      let w = text.width(s, m.number)
      banner.texts.append(
        place(s, m.number, x: (width - w) / 2, top: top, lineHeight: height - top, role: .empty))
    }
    var layout = BoardLayout(
      width: width, height: height, metrics: m, tickets: [], fragments: [], pageCount: pageCount,
      page: shownPage, columns: columns, columnWidth: colW, contentRect: content, banner: banner,
      items: [])
    layout.isExpo = true
    layout.expoCards = cards
    return layout
  }
}
