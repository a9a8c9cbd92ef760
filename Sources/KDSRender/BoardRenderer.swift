import KDSCore
import KDSGeometry

#if canImport(Glibc)
  import Glibc
#endif

/// One drawing operation of a frame. Two frames' lists are compared to find
/// what changed: a pixel can only change where an operation differs.
enum DrawOp {
  case fill(Rect, Color)
  case rounded(Rect, radius: Int, Color, corners: Canvas.Corners, outside: Color?)
  case stroke(Rect, radius: Int, width: Int, Color)
  case circle(centerX: Int, centerY: Int, radius: Int, Color)
  case text(TextRun, x: Int, baseline: Int, Color, clip: Rect)

  var bounds: Rect {
    switch self {
    case .fill(let r, _), .rounded(let r, _, _, _, _), .stroke(let r, _, _, _): return r
    case .circle(let cx, let cy, let r, _):
      return Rect(x: cx - r - 1, y: cy - r - 1, width: 2 * r + 3, height: 2 * r + 3)
    case .text(let run, let x, let baseline, _, let clip):
      let ink = run.ink
      return Rect(x: x + ink.x, y: baseline + ink.y, width: ink.width, height: ink.height)
        .intersection(clip)
    }
  }

  static func same(_ a: DrawOp, _ b: DrawOp) -> Bool {
    switch (a, b) {
    case (.fill(let r1, let c1), .fill(let r2, let c2)): return r1 == r2 && c1 == c2
    case (
      .rounded(let r1, let a1, let c1, let k1, let o1),
      .rounded(let r2, let a2, let c2, let k2, let o2)
    ):
      return r1 == r2 && a1 == a2 && c1 == c2 && k1 == k2 && o1 == o2
    case (.stroke(let r1, let a1, let w1, let c1), .stroke(let r2, let a2, let w2, let c2)):
      return r1 == r2 && a1 == a2 && w1 == w2 && c1 == c2
    case (.circle(let x1, let y1, let r1, let c1), .circle(let x2, let y2, let r2, let c2)):
      return x1 == x2 && y1 == y2 && r1 == r2 && c1 == c2
    case (
      .text(let t1, let x1, let b1, let c1, let k1), .text(let t2, let x2, let b2, let c2, let k2)
    ):
      return x1 == x2 && b1 == b2 && c1 == c2 && k1 == k2
        && (t1 === t2 || (t1.style == t2.style && t1.text == t2.text))
    default: return false
    }
  }
}

/// What a frame changed.
public struct FrameDamage: Sendable {
  /// Rectangles (logical pixels) whose pixels were repainted; empty when
  /// nothing changed.
  public var rects: [Rect]
  /// Whether the whole frame was repainted.
  public var full: Bool

  public var isEmpty: Bool { rects.isEmpty }
  /// Total repainted pixels.
  public var area: Int { rects.reduce(0) { $0 + $1.area } }
}

/// Draws `BoardSnapshot`s into a canvas, repainting only what changed since
/// the previous frame. Not thread-safe: one thread renders.
///
///     let renderer = try BoardRenderer(width: 1920, height: 1080)
///     let damage = renderer.render(snapshot)   // draws into renderer.canvas
///     renderer.layout.hitTest(x: 100, y: 200)
public final class BoardRenderer {
  public let width: Int
  public let height: Int
  /// The frame, at the logical size.
  public let canvas: Canvas
  public let text: TextEngine
  public var theme: Theme {
    didSet { invalidate() }
  }
  private var layoutKey: LayoutKey?
  private var currentLayout: BoardLayout?
  private var previousOps: [DrawOp] = []
  private var fragmentRuns: [[TextRun]] = []
  private var bannerRuns: [TextRun] = []
  private var panelRuns: [TextRun] = []
  private var expoRuns: [[TextRun]] = []
  private var needsFull = true
  /// Operations of the last frame (for statistics).
  public private(set) var lastOperationCount = 0

  /// A renderer drawing into its own canvas.
  public init(width: Int, height: Int, text: TextEngine, theme: Theme = .standard) {
    self.width = width
    self.height = height
    self.text = text
    self.theme = theme
    canvas = Canvas(width: width, height: height)
  }

  /// A renderer drawing with `fonts` (the caller reads the font files).
  public convenience init(width: Int, height: Int, fonts: FontSet) {
    self.init(width: width, height: height, text: TextEngine(fonts: fonts))
  }

  /// Forgets the previous frame: the next `render` repaints everything.
  public func invalidate() {
    needsFull = true
    previousOps = []
  }

  /// The layout of the last rendered snapshot (for hit-testing and pages).
  public var layout: BoardLayout {
    guard let currentLayout else {
      return BoardLayout.make(
        BoardSnapshot(station: "", tickets: [], now: Timestamp(millis: 0)), width: width,
        height: height, text: text)
    }
    return currentLayout
  }

  /// What is at (x, y) (logical pixels) in the last rendered frame.
  public func hitTest(x: Int, y: Int) -> HitTarget? { layout.hitTest(x: x, y: y) }

  /// Draws `snapshot` into `canvas` and returns what changed.
  @discardableResult
  public func render(_ snapshot: BoardSnapshot) -> FrameDamage {
    let key = LayoutKey(
      width: width, height: height, zoom: snapshot.zoom, station: snapshot.station,
      tickets: snapshot.tickets, marks: snapshot.marks, alerts: snapshot.alerts,
      page: snapshot.page, cardMarks: snapshot.cardMarks, allergens: snapshot.allergens,
      reconnectSummary: snapshot.reconnectSummary,
      clockUTCOffsetSeconds: snapshot.clockUTCOffsetSeconds, view: snapshot.view,
      recallList: snapshot.recallList, selectedRecallIndex: snapshot.selectedRecallIndex,
      isExpo: snapshot.isExpo, itemMarksLocal: snapshot.itemMarksLocal)
    let layout: BoardLayout
    if let currentLayout, layoutKey == key {
      layout = currentLayout
    } else {
      layout = BoardLayout.make(snapshot, width: width, height: height, text: text)
      currentLayout = layout
      // Shape the page's text once per layout, not once per frame.
      fragmentRuns = layout.visibleFragments.map { f in f.texts.map { text.run($0.text, $0.style) }
      }
      bannerRuns = layout.banner.texts.map { text.run($0.text, $0.style) }
      panelRuns = (layout.panel?.texts ?? []).map { text.run($0.text, $0.style) }
      expoRuns = layout.visibleExpoCards.map { c in c.texts.map { text.run($0.text, $0.style) } }
      layoutKey = key
    }
    let ops = buildOps(layout, snapshot)
    lastOperationCount = ops.count
    let damage: FrameDamage
    if needsFull {
      damage = FrameDamage(rects: [canvas.bounds], full: true)
    } else {
      damage = BoardRenderer.merge(
        BoardRenderer.changedRects(previousOps, ops, bounds: canvas.bounds),
        bounds: canvas.bounds)
    }
    for r in damage.rects {
      canvas.withClip(r) {
        for op in ops where op.bounds.intersects(r) { draw(op) }
      }
    }
    previousOps = ops
    needsFull = false
    return damage
  }

  /// Where two frames' operation lists differ. The common head and tail are
  /// skipped; a middle of equal length is compared pair by pair (a timer
  /// tick), otherwise every operation of both middles counts (a card added or
  /// removed). A pixel outside all these rectangles is drawn by the same
  /// operations in the same order in both frames, so it cannot have changed.
  static func changedRects(_ old: [DrawOp], _ new: [DrawOp], bounds: Rect) -> [Rect] {
    var head = 0
    let limit = min(old.count, new.count)
    while head < limit && DrawOp.same(old[head], new[head]) { head += 1 }
    var tail = 0
    while tail < limit - head && DrawOp.same(old[old.count - 1 - tail], new[new.count - 1 - tail]) {
      tail += 1
    }
    let oldMiddle = old[head..<(old.count - tail)]
    let newMiddle = new[head..<(new.count - tail)]
    var rects: [Rect] = []
    func add(_ op: DrawOp) {
      let r = op.bounds.intersection(bounds)
      if !r.isEmpty { rects.append(r) }
    }
    if oldMiddle.count == newMiddle.count {
      for (a, b) in zip(oldMiddle, newMiddle) where !DrawOp.same(a, b) {
        add(a)
        add(b)
      }
    } else {
      for op in oldMiddle { add(op) }
      for op in newMiddle { add(op) }
    }
    return rects
  }

  /// Overlapping or nearby rectangles merged; everything when they cover
  /// most of the screen.
  static func merge(_ input: [Rect], bounds: Rect) -> FrameDamage {
    var rects = input
    var merged = true
    while merged {
      merged = false
      var i = 0
      while i < rects.count {
        var j = i + 1
        while j < rects.count {
          let a = rects[i]
          let b = rects[j]
          let u = a.union(b)
          // Merge when they touch or when the union wastes little.
          if a.insetBy(dx: -2, dy: -2).intersects(b) || u.area <= a.area + b.area + 64 * 64 {
            rects[i] = u
            rects.remove(at: j)
            merged = true
          } else {
            j += 1
          }
        }
        i += 1
      }
    }
    let area = rects.reduce(0) { $0 + $1.area }
    if rects.count > 48 || area * 2 > bounds.area {
      return FrameDamage(rects: [bounds], full: true)
    }
    return FrameDamage(rects: rects, full: false)
  }

  private func draw(_ op: DrawOp) {
    switch op {
    case .fill(let r, let c): canvas.fill(r, c)
    case .rounded(let r, let radius, let c, let corners, let outside):
      canvas.fillRounded(r, radius: radius, c, corners: corners, outside: outside)
    case .stroke(let r, let radius, let w, let c):
      canvas.strokeRounded(r, radius: radius, lineWidth: w, c)
    case .circle(let cx, let cy, let r, let c):
      canvas.fillCircle(centerX: Double(cx), centerY: Double(cy), radius: Double(r), c)
    case .text(let run, let x, let baseline, let c, let clip):
      canvas.withClip(clip) { text.draw(run, on: canvas, x: x, baseline: baseline, color: c) }
    }
  }

  // MARK: building a frame

  private func buildOps(_ layout: BoardLayout, _ snap: BoardSnapshot) -> [DrawOp] {
    var ops: [DrawOp] = []
    ops.reserveCapacity(64 + layout.visibleFragments.count * 40)
    let t = theme
    let m = layout.metrics
    let frags = layout.visibleFragments
    // Background: only where no card is, so each pixel is painted once.
    ops.append(.fill(layout.banner.rect, t.bannerBackground))
    let top =
      layout.banner.summaryRect?.maxY ?? layout.banner.alertRect?.maxY ?? layout.banner.rect.maxY
    if let ar = layout.banner.alertRect {
      ops.append(.fill(ar, layout.banner.alertUrgent ? t.alertUrgent : t.alertNotice))
    }
    if let sr = layout.banner.summaryRect { ops.append(.fill(sr, t.summaryStrip)) }
    let content = layout.contentRect
    let bg = t.background
    ops.append(.fill(Rect(x: 0, y: top, width: width, height: content.y - top), bg))
    ops.append(.fill(Rect(x: 0, y: content.maxY, width: width, height: height - content.maxY), bg))
    var x = 0
    for c in 0..<layout.columns {
      let cx = content.x + c * (layout.columnWidth + m.gap)
      ops.append(.fill(Rect(x: x, y: content.y, width: cx - x, height: content.height), bg))
      var y = content.y
      for f in frags where f.column == c {
        ops.append(.fill(Rect(x: cx, y: y, width: layout.columnWidth, height: f.rect.y - y), bg))
        y = f.rect.maxY
      }
      ops.append(
        .fill(Rect(x: cx, y: y, width: layout.columnWidth, height: content.maxY - y), bg))
      x = cx + layout.columnWidth
    }
    ops.append(.fill(Rect(x: x, y: content.y, width: width - x, height: content.height), bg))

    for (fi, f) in frags.enumerated() {
      let runs = fragmentRuns[fi]
      let ticket = layout.tickets[f.ticketIndex]
      let state = snap.thresholds.state(sentAt: ticket.sentAt, now: snap.now)
      let voided = f.cardMarks.voidedAt != nil
      // A held course: grey, no SLA colour, no timer.
      let held = ticket.status == .held && !voided
      var headerColor = voided ? t.voidHeader : held ? t.heldHeader : t.header(state)
      let headerText = voided ? t.voidHeaderText : held ? t.heldHeaderText : t.headerText(state)
      let body =
        voided
        ? t.voidBody : held ? t.heldBody : f.status == .inProgress ? t.cardInProgress : t.cardQueued
      if let start = f.cardMarks.pulseStartMillis, !voided {
        headerColor = BoardRenderer.pulsed(
          headerColor, toward: t.pulse, start: start, at: snap.frameMillis)
      }
      ops.append(.rounded(f.headerRect, radius: m.radius, headerColor, corners: .top, outside: bg))
      let bodyRect = Rect(
        x: f.rect.x, y: f.headerRect.maxY, width: f.rect.width,
        height: f.rect.maxY - f.headerRect.maxY)
      ops.append(.rounded(bodyRect, radius: m.radius, body, corners: .bottom, outside: bg))
      if snap.selectedTicketId == ticket.id, let sel = snap.selectedItemIndex,
        let k = f.items.firstIndex(of: sel)
      {
        // The bump bar's line cursor: the selected line highlighted, a bar at its left.
        let r = f.itemRects[k]
        let barW = max(3, m.pad / 2)
        ops.append(
          .fill(
            Rect(x: f.rect.x + barW, y: r.y, width: f.rect.width - 2 * barW, height: r.height),
            t.selectedLine))
        ops.append(
          .fill(Rect(x: f.rect.x + barW, y: r.y, width: barW, height: r.height), t.selectedLineBar))
      }
      for b in f.boxes {
        switch b.role {
        case .noteBand: ops.append(.fill(b.rect, t.noteBand))
        case .allergyBand: ops.append(.fill(b.rect, t.allergyBand))
        case .courseRule: ops.append(.fill(b.rect, t.courseRule))
        case .chipQueued:
          ops.append(
            .rounded(b.rect, radius: b.rect.height / 2, t.chipQueued, corners: .all, outside: body))
        case .chipInProgress:
          ops.append(
            .rounded(
              b.rect, radius: b.rect.height / 2, t.chipInProgress, corners: .all, outside: body))
        case .notSyncedStrip:
          ops.append(
            .rounded(b.rect, radius: m.radius, t.notSyncedStrip, corners: .bottom, outside: bg))
        case .syncFailedStrip:
          ops.append(
            .rounded(b.rect, radius: m.radius, t.syncFailedStrip, corners: .bottom, outside: bg))
        case .failureStrip:
          ops.append(
            .rounded(b.rect, radius: m.radius, t.failureStrip, corners: .bottom, outside: bg))
        case .badgeNew:
          ops.append(
            .rounded(
              b.rect, radius: b.rect.height / 4, t.badgeNew, corners: .all, outside: headerColor))
        case .badgeAdded: ops.append(.fill(b.rect, t.badgeAdded))
        case .badgeChanged: ops.append(.fill(b.rect, t.badgeChanged))
        case .badgeVoid: ops.append(.fill(b.rect, t.badgeVoid))
        case .chipVoid:
          ops.append(
            .rounded(b.rect, radius: b.rect.height / 2, t.badgeVoid, corners: .all, outside: body))
        case .changedLine:
          ops.append(.fill(b.rect, t.changedLine))
          ops.append(
            .fill(
              Rect(
                x: b.rect.x - m.pad / 2 - 1, y: b.rect.y, width: max(3, m.pad / 2),
                height: b.rect.height),
              t.changedBar))
        case .allergyCheckedChip: ops.append(.fill(b.rect, t.allergyChecked))
        case .rushBand: ops.append(.fill(b.rect, t.rush))
        case .allDoneBand: ops.append(.fill(b.rect, t.allDone))
        case .chipHeld:
          ops.append(
            .rounded(b.rect, radius: b.rect.height / 2, t.heldHeader, corners: .all, outside: body))
        case .panel, .panelRule, .listRow, .listRowSelected, .listClose, .expoReadyBar:
          break
        }
      }
      // The timer, right-aligned in the header; the number never runs under it.
      let (timerRun, timerX, headerClip) = headerTimer(
        since: ticket.sentAt, snap, timerRect: f.timerRect, headerRect: f.headerRect, m)
      for (ti, tp) in f.texts.enumerated() {
        let color: Color
        switch tp.role {
        case .number, .continuedLabel: color = headerText
        case .orderType: color = t.metaTakeaway
        case .place: color = t.metaPlace
        case .waiter: color = t.metaWaiter
        case .chipQueued: color = t.chipQueuedText
        case .chipInProgress: color = t.chipInProgressText
        case .quantity: color = tp.text.hasPrefix("1\u{00D7}") ? t.quantityOne : t.quantityMany
        case .itemName: color = t.itemText
        case .modifier: color = t.modifier
        case .note, .noteIcon: color = t.noteText
        case .allergy, .allergyIcon: color = t.allergyText
        case .course: color = t.courseText
        case .continuedFooter: color = t.continued
        case .notSynced, .syncFailed: color = t.stripText
        case .badgeNew: color = t.badgeNewText
        case .badgeAdded: color = t.badgeAddedText
        case .badgeChanged: color = t.badgeChangedText
        case .badgeVoid: color = t.badgeVoidText
        case .failureReason: color = t.failureText
        case .failureHint: color = t.failureHint
        case .allergyChecked: color = t.allergyCheckedText
        case .quantityDone, .itemDone, .modifierDone: color = t.doneText
        case .rush: color = t.rushText
        case .allDone: color = t.allDoneText
        case .heldLabel: color = t.heldHeaderText
        case .chipHeld: color = t.heldHeaderText
        default: color = held ? t.heldText : t.itemText
        }
        let inHeader = tp.role == .number || tp.role == .continuedLabel
        ops.append(
          .text(
            runs[ti], x: tp.x, baseline: tp.baseline, color, clip: inHeader ? headerClip : f.rect))
        if voided && [.number, .quantity, .itemName, .modifier, .allergy].contains(tp.role) {
          // VOID: struck through, so nobody cooks it.
          let thick = max(3, m.unit / 6)
          let mid = tp.baseline - tp.ascent * 2 / 5
          ops.append(
            .fill(
              Rect(x: tp.x - 2, y: mid - thick / 2, width: tp.width + 4, height: thick),
              tp.role == .number ? t.voidHeaderText : t.voidStrike))
        } else if [.quantityDone, .itemDone, .modifierDone].contains(tp.role) {
          // A line marked done: struck through, dimmed.
          let thick = max(2, m.unit / 9)
          let mid = tp.baseline - tp.ascent * 2 / 5
          ops.append(
            .fill(
              Rect(x: tp.x - 2, y: mid - thick / 2, width: tp.width + 4, height: thick),
              t.doneStrike))
        }
      }
      let lm = text.metrics(m.timer)
      let baseline = f.timerRect.y + (f.timerRect.height - lm.lineHeight + 1) / 2 + lm.ascent
      if !held {
        ops.append(
          .text(timerRun, x: timerX, baseline: baseline, headerText, clip: f.headerRect))
      }
      if let start = f.cardMarks.pulseStartMillis, !voided,
        let strength = BoardRenderer.pulseStrength(start: start, at: snap.frameMillis)
      {
        // The NEW card's outline beats with its header.
        ops.append(
          .stroke(
            f.rect, radius: m.radius, width: m.selectionWidth,
            t.pulse.over(bg, alpha: UInt8((strength * 255).rounded()))))
      }
      if snap.selectedTicketId == ticket.id {
        ops.append(.stroke(f.rect, radius: m.radius, width: m.selectionWidth, t.selection))
      }
    }
    toolOps(&ops, layout, snap)
    holdIndicatorOps(&ops, layout, snap)
    bannerOps(&ops, layout, snap)
    return ops
  }

  /// A card's age, right-aligned in its timer area, and the clip that keeps
  /// the header's other texts (the number) from running under it.
  private func headerTimer(
    since sentAt: Timestamp, _ snap: BoardSnapshot, timerRect: Rect, headerRect: Rect,
    _ m: BoardMetrics
  ) -> (run: TextRun, x: Int, clip: Rect) {
    let elapsed = max(0, snap.now.millis(since: sentAt)) / 1000
    let run = text.run(formatElapsed(seconds: elapsed), m.timer)
    let x = timerRect.maxX - run.width
    let clip = Rect(
      x: headerRect.x, y: headerRect.y, width: x - m.pad / 2 - headerRect.x,
      height: headerRect.height)
    return (run, x, clip)
  }

  private func bannerOps(_ ops: inout [DrawOp], _ layout: BoardLayout, _ snap: BoardSnapshot) {
    let t = theme
    let m = layout.metrics
    let b = layout.banner
    if let r = b.noteRect {
      ops.append(
        .rounded(r, radius: r.height / 2, t.localNote, corners: .all, outside: t.bannerBackground))
    }
    if let r = b.allDayRect, snap.view == .allDay, !snap.isExpo {
      ops.append(
        .rounded(r, radius: m.radius, t.toggleActive, corners: .all, outside: t.bannerBackground))
    }
    for (ti, tp) in b.texts.enumerated() {
      let color: Color
      switch tp.role {
      case .bannerToggle: color = t.recallText
      case .bannerToggleActive: color = t.toggleActiveText
      case .bannerNote: color = t.localNoteText
      case .bannerStation: color = t.station
      case .bannerPage: color = layout.pageCount > 1 ? t.pageMore : t.pageOne
      case .bannerRecall: color = t.recallText
      case .bannerRecallDisabled: color = t.recallDisabled
      case .alert: color = b.alertUrgent ? t.alertUrgentText : t.alertNoticeText
      case .reconnectSummary: color = t.summaryText
      case .empty: color = t.empty
      default: color = t.statusText
      }
      let clip =
        tp.role == .alert
        ? (b.alertRect ?? b.rect)
        : tp.role == .reconnectSummary
          ? (b.summaryRect ?? b.rect) : (tp.role == .empty ? canvasBounds : b.rect)
      ops.append(
        .text(bannerRuns[ti], x: tp.x, baseline: tp.baseline, color, clip: clip))
    }
    if let r = b.allDayRect, snap.view != .allDay {
      ops.append(.stroke(r, radius: m.radius, width: max(2, m.unit / 10), t.recallBorder))
    }
    let recallDisabled = b.texts.contains { $0.role == .bannerRecallDisabled }
    ops.append(
      .stroke(
        b.recallRect, radius: m.radius, width: max(2, m.unit / 10),
        recallDisabled ? t.recallDisabled : t.recallBorder))
    // Clock.
    let clock = text.run(
      kitchenClock(snap.now, utcOffsetSeconds: snap.clockUTCOffsetSeconds), m.bannerBold)
    let lm = text.metrics(m.bannerBold)
    let baseline = (b.rect.height - lm.lineHeight + 1) / 2 + lm.ascent
    ops.append(
      .text(clock, x: b.clockRect.maxX - clock.width, baseline: baseline, t.clock, clip: b.rect))
    // Connection status (see docs/sync-contract.md).
    let status = statusText(snap)
    let sr = b.statusRect
    switch snap.connection {
    case .connected:
      let r = max(4, m.unit * 3 / 10)
      let s = text.ellipsize(status, m.banner, width: max(0, sr.width - 3 * r))
      ops.append(.circle(centerX: sr.x + r, centerY: b.rect.height / 2, radius: r, t.connectedDot))
      ops.append(
        .text(
          text.run(s, m.banner), x: sr.x + 3 * r, baseline: baseline, t.statusText, clip: sr))
    case .reconnecting, .offline:
      let fill = snap.connection == .offline ? t.offline : t.reconnecting
      let ink = snap.connection == .offline ? t.offlineText : t.reconnectingText
      let s = text.ellipsize(status, m.bannerBold, width: max(0, sr.width - 2 * m.unit))
      let run = text.run(s, m.bannerBold)
      let ph = b.rect.height - 2 * max(3, b.rect.height / 7)
      let pill = Rect(
        x: sr.x - m.pad / 2, y: (b.rect.height - ph) / 2, width: run.width + 2 * m.unit, height: ph)
      ops.append(.rounded(pill, radius: ph / 2, fill, corners: .all, outside: t.bannerBackground))
      ops.append(.text(run, x: pill.x + m.unit, baseline: baseline, ink, clip: pill))
    }
  }

  private var canvasBounds: Rect { canvas.bounds }

  /// "Connected - Last sync: 3 seconds ago" and the other status lines (see
  /// docs/sync-contract.md).
  public static func statusText(_ snap: BoardSnapshot) -> String {
    func queued(_ n: Int) -> String { n == 1 ? "1 update queued" : "\(n) updates queued" }
    switch snap.connection {
    case .connected:
      guard let last = snap.lastSyncAt else { return "Connected" }
      let s = max(0, snap.now.millis(since: last)) / 1000
      let age: String
      if s < 60 {
        age = s == 1 ? "1 second ago" : "\(s) seconds ago"
      } else if s < 3600 {
        age = s / 60 == 1 ? "1 minute ago" : "\(s / 60) minutes ago"
      } else {
        age = s / 3600 == 1 ? "1 hour ago" : "\(s / 3600) hours ago"
      }
      return "Connected - Last sync: \(age)"
    case .reconnecting:
      return snap.pendingOperations > 0
        ? "Reconnecting... (\(queued(snap.pendingOperations)))" : "Reconnecting..."
    case .offline:
      if let servers = snap.offlineServers, !servers.isEmpty {
        // Every server of the list is down: the banner names them.
        let at = snap.offlineSince.map {
          " since " + kitchenClock($0, utcOffsetSeconds: snap.clockUTCOffsetSeconds)
        }
        let queue = snap.pendingOperations > 0 ? " - \(queued(snap.pendingOperations))" : ""
        return "Offline\(at ?? "") - no answer from \(servers.joined(separator: ", "))\(queue)"
      }
      if let since = snap.offlineSince {
        // "Offline since 12:31 - 3 updates queued" (the kitchen's local time).
        let at = kitchenClock(since, utcOffsetSeconds: snap.clockUTCOffsetSeconds)
        return snap.pendingOperations > 0
          ? "Offline since \(at) - \(queued(snap.pendingOperations))"
          : "Offline since \(at) - Showing cached tickets"
      }
      return snap.pendingOperations > 0
        ? "Offline - Showing cached tickets (\(queued(snap.pendingOperations)))"
        : "Offline - Showing cached tickets"
    }
  }

  private func statusText(_ snap: BoardSnapshot) -> String { BoardRenderer.statusText(snap) }

  /// A NEW card's header: three pulses over the pulse's 3 s, toward `pulse`
  /// and back (a header, never the whole screen).
  static func pulsed(_ base: Color, toward pulse: Color, start: Int64, at now: Int64) -> Color {
    guard let strength = pulseStrength(start: start, at: now) else { return base }
    // At most a third of the way: the header's text stays readable.
    return pulse.over(base, alpha: UInt8((strength * 90).rounded()))
  }

  /// 0...1, three beats over 3 s from `start`; nil outside them.
  static func pulseStrength(start: Int64, at now: Int64) -> Double? {
    let elapsed = now - start
    guard elapsed >= 0, elapsed < 3_000 else { return nil }
    let phase = Double(elapsed % 1_000) / 1_000
    return 0.5 - 0.5 * cos(2 * Double.pi * phase)
  }

}

@available(*, unavailable)
extension BoardRenderer: Sendable {}

// MARK: the kitchen tools (issue 14)

extension BoardRenderer {
  /// The all-day panel, the recall list, the expo's order cards.
  fileprivate func toolOps(_ ops: inout [DrawOp], _ layout: BoardLayout, _ snap: BoardSnapshot) {
    let t = theme
    let m = layout.metrics
    if let p = layout.panel {
      let bg = t.background
      if p.kind == .allDay {
        ops.append(
          .rounded(p.rect, radius: m.radius, t.panelBackground, corners: .all, outside: bg))
      }
      for b in p.boxes {
        switch b.role {
        case .panelRule: ops.append(.fill(b.rect, t.panelRule))
        case .listRow:
          ops.append(.rounded(b.rect, radius: m.radius, t.listRow, corners: .all, outside: bg))
        case .listRowSelected:
          ops.append(
            .rounded(b.rect, radius: m.radius, t.listRowSelected, corners: .all, outside: bg))
          ops.append(.stroke(b.rect, radius: m.radius, width: m.selectionWidth, t.selection))
        case .listClose:
          ops.append(.stroke(b.rect, radius: m.radius, width: max(2, m.unit / 10), t.recallBorder))
        default: ops.append(.fill(b.rect, t.panelRule))
        }
      }
      let selected = p.rows.first { $0.index == snap.selectedRecallIndex }?.rect
      for (i, tp) in p.texts.enumerated() {
        let onSelected = selected.map { $0.contains(x: tp.x, y: tp.baseline) } ?? false
        let color: Color
        switch tp.role {
        case .panelTitle: color = t.panelTitle
        case .panelCount: color = t.panelCount
        case .panelName: color = t.panelName
        case .panelVariant: color = t.panelVariant
        case .panelEmpty, .listEmpty: color = t.empty
        case .listTitle: color = t.panelTitle
        case .listNumber: color = t.listText
        case .listTable: color = onSelected ? t.listText : t.listTextDim
        case .listTime: color = onSelected ? t.listText : t.listTextDim
        case .listHint: color = t.listHint
        case .listClose: color = t.recallText
        default: color = t.listText
        }
        ops.append(.text(panelRuns[i], x: tp.x, baseline: tp.baseline, color, clip: p.rect))
      }
    }
    guard layout.isExpo else { return }
    let bg = t.background
    for (ci, c) in layout.visibleExpoCards.enumerated() {
      let ready = c.order.allReady
      let state = snap.thresholds.state(sentAt: c.order.sentAt, now: snap.now)
      let headerColor = ready ? t.expoReadyHeader : t.header(state)
      let headerText = ready ? t.headerTextGreen : t.headerText(state)
      ops.append(.rounded(c.headerRect, radius: m.radius, headerColor, corners: .top, outside: bg))
      let body = Rect(
        x: c.rect.x, y: c.headerRect.maxY, width: c.rect.width,
        height: c.rect.maxY - c.headerRect.maxY)
      ops.append(
        .rounded(
          body, radius: m.radius, ready ? t.expoReadyBody : t.cardQueued, corners: .bottom,
          outside: bg))
      for b in c.boxes {
        switch b.role {
        case .rushBand: ops.append(.fill(b.rect, t.rush))
        case .expoReadyBar: ops.append(.fill(b.rect, t.allDone))
        default: ops.append(.fill(b.rect, t.panelRule))
        }
      }
      let runs = expoRuns[ci]
      let (timerRun, timerX, headerClip) = headerTimer(
        since: c.order.sentAt, snap, timerRect: c.timerRect, headerRect: c.headerRect, m)
      for (i, tp) in c.texts.enumerated() {
        let color: Color
        var clip = c.rect
        switch tp.role {
        case .expoNumber, .expoPlace:
          color = headerText
          clip = headerClip
        case .rush: color = t.rushText
        case .expoBar: color = t.allDoneText
        case .expoReady: color = t.partReady
        case .expoInProgress: color = t.partInProgress
        case .expoQueued, .expoMark: color = t.partQueued
        case .expoHeld, .expoVoid: color = t.partHeld
        default: color = t.itemText
        }
        ops.append(.text(runs[i], x: tp.x, baseline: tp.baseline, color, clip: clip))
      }
      let lm = text.metrics(m.timer)
      let baseline = c.timerRect.y + (c.timerRect.height - lm.lineHeight + 1) / 2 + lm.ascent
      ops.append(.text(timerRun, x: timerX, baseline: baseline, headerText, clip: c.headerRect))
      if ready {
        ops.append(.stroke(c.rect, radius: m.radius, width: m.selectionWidth, t.partReady))
      }
    }
  }
}
