import KDSCore
import KDSStore
import KDSSync
import Logging

/// Draws a board. The renderer and the display (DRM, fbdev, PNG snapshots)
/// plug in here; `--display none` uses `NullPresenter`.
///
/// Called on the daemon's event-loop thread: on every change and every second.
public protocol BoardPresenter: AnyObject {
  func present(_ snapshot: BoardSnapshot)
}

/// A presenter that draws nothing (headless runs); it counts and keeps the last snapshot.
public final class NullPresenter: BoardPresenter {
  public private(set) var presented = 0
  public private(set) var last: BoardSnapshot?
  public init() {}
  public func present(_ snapshot: BoardSnapshot) {
    presented += 1
    last = snapshot
  }
}

/// What became of a chef's action from the keyboard, bump bar, touch or kdsctl.
public enum KioskActionOutcome: Hashable, Sendable {
  /// Done (for an operation: durably queued, so safe to show as done).
  case done(String)
  /// Refused, with the reason to show.
  case refused(String)

  public var isDone: Bool {
    if case .done = self { return true }
    return false
  }
}

/// The chef's actions, for input devices (keyboard, bump bar, touch). All
/// calls are made on the daemon's event-loop thread.
public protocol KioskActions: AnyObject {
  /// Bumps (marks ready) the selected ticket when it is on the page shown,
  /// otherwise the first card of the page shown.
  @discardableResult func bumpSelected() -> KioskActionOutcome
  /// Starts (QUEUED → IN_PROGRESS) the selected ticket (or the page's first, as `bumpSelected`).
  @discardableResult func startSelected() -> KioskActionOutcome
  /// Un-bumps the ticket bumped last on this screen.
  @discardableResult func recallLast() -> KioskActionOutcome
  /// Puts failed operations back in the queue: the selected ticket's, or all.
  @discardableResult func retryFailed() -> KioskActionOutcome
  func selectNextTicket()
  func selectPreviousTicket()
  func nextPage()
  func previousPage()
  /// Selects a ticket (a tap on its card), or nothing.
  func select(ticketId: String?)
  /// Bumps a given ticket (a tap on its bump button).
  @discardableResult func bump(ticketId: String) -> KioskActionOutcome
  /// Starts a given ticket.
  @discardableResult func start(ticketId: String) -> KioskActionOutcome
  /// Puts one ticket's failed operations back in the queue (a tap on its failure line).
  @discardableResult func retryFailed(ticketId: String) -> KioskActionOutcome
  /// Dismisses one ticket's failed operations (a hold on its failure line):
  /// the cook has seen them and they are not to be retried.
  @discardableResult func dismissFailure(ticketId: String) -> KioskActionOutcome
  /// Issue 14: the highlight moves to the selected card's next line (the
  /// expo: the selected order's next part).
  func selectNextItem()
  /// Toggles the highlighted line of the selected card done.
  @discardableResult func toggleSelectedItem() -> KioskActionOutcome
  /// Toggles line `index` of a ticket done (a tap on the line of a selected card).
  @discardableResult func toggleItem(ticketId: String, index: Int) -> KioskActionOutcome
  /// Shows or hides the all-day counts.
  func toggleAllDay()
  /// Opens or closes the recall list.
  func toggleRecallList()
  /// Closes the recall list or the all-day counts; drops the line highlight.
  func back()
  /// Expo: sends the highlighted part of the selected order back to its station.
  @discardableResult func sendBackSelected() -> KioskActionOutcome
  /// Expo: fires the selected order's next held course.
  @discardableResult func fireNextCourse() -> KioskActionOutcome
  /// Expo: rushes the selected order, or clears its rush.
  @discardableResult func toggleRush() -> KioskActionOutcome
}

/// The kiosk's state for the screen: tickets and queue from the sync engine,
/// plus the selection and page; turns them into `BoardSnapshot`s and carries
/// out chef actions and control-socket requests. Not thread-safe: use it from
/// the event-loop thread (the engine it drives is thread-safe).
public final class KioskCore: KioskActions {
  public let engine: SyncEngine
  public var thresholds: SLAThresholds
  /// The configuration sets the thresholds (`sla_orange_after`,
  /// `sla_red_after`): they win over the server's (`X-KDS-SLA`).
  public var thresholdsExplicit = false
  public var zoom: Double = 1.0
  /// The number of pages the layout made of the last snapshot, when the renderer knows it.
  public var pageCount: Int?
  /// Tickets per page when no screen lays the board out (`--display none`):
  /// the keys' page rules then cut the board's order into pages of this size.
  public var headlessPageSize = 8
  /// The tickets on each page as the screen last laid them out (nil: no screen).
  public private(set) var screenPages: BoardPages?
  /// A press-and-hold in progress (touch, `kdsctl input hold`): on the snapshot
  /// for the renderer; set by the input bridge, which runs its timer.
  public var hold: HoldIndicator?
  /// The selected card: a ticket id (on the expo: an order id).
  public private(set) var selectedTicketId: String?
  public private(set) var page = 0
  /// What the screen shows: tickets, the all-day counts, or the recall list (issue 14).
  public private(set) var boardView: BoardView = .tickets
  /// The highlighted row of the recall list.
  public private(set) var selectedRecallIndex: Int?
  /// The highlighted line of the selected card (the expo: part of the order).
  public private(set) var selectedItemIndex: Int?
  /// The recall list as last read from the store (while it is open).
  var recallEntries: [RecallEntry] = []
  /// The sync generation `recallEntries` was read at.
  var recallGeneration: UInt64?
  /// The expo's orders in screen order, as of the last snapshot.
  public private(set) var expoOrders: [ExpoOrder] = []
  let logger: Logger
  /// Lines the banner shows for as long as the daemon runs (a corrupt
  /// database set aside at start-up, say); `kdsctl status` lists them too.
  public var notices: [String] = []
  /// The last action refused because the store could not save it (a full
  /// disk): on the banner until an action is saved again.
  public private(set) var storageProblem: String?
  var composition: (generation: UInt64, result: BoardComposition.Result)?
  /// NEW, ADDED, CHANGED and VOID (issue 11); see `CardMarker`.
  public var marker = CardMarker()
  var markerGeneration: UInt64?
  /// The words that give a note or a modifier the allergy band (`allergens =`).
  public var allergens: AllergenList = .standard
  /// `allergen_check = on`: a card with an allergy band needs a first bump
  /// that acknowledges the band ("✓ checked"); the second bump sends.
  public var allergenCheck = false
  /// Acknowledged allergy bands: ticket id → server time of the check.
  public private(set) var allergenChecked: [String: Timestamp] = [:]
  /// How long the reconnect strip stays (20 s).
  public var reconnectSummaryMillis: Int64 = 20_000
  var reconnectShown: (serial: Int, since: Int64)?

  public init(
    engine: SyncEngine, thresholds: SLAThresholds, logger: Logger = Logger(label: "kds.kiosk")
  ) {
    self.engine = engine
    self.thresholds = thresholds
    self.logger = logger
  }

  public var station: String { engine.config.station }

  /// An expo screen (`station = expo`): one card per order (issue 14).
  public var isExpo: Bool { station == BoardComposition.expoStation }

  /// The thresholds the screen uses: the configuration's when set
  /// explicitly, else the server's when it sent them, else the stored ones.
  public func effectiveThresholds(_ status: SyncStatus) -> SLAThresholds {
    thresholdsExplicit ? thresholds : (status.serverThresholds ?? thresholds)
  }

  // MARK: snapshots

  /// The board as it stands: active tickets after this kiosk's outstanding
  /// operations (a bump is off the screen at once, online or not).
  public func snapshot() -> BoardSnapshot {
    let view = engine.view()
    let composed: BoardComposition.Result
    if let cached = composition, cached.generation == view.generation {
      // Nothing changed since the last frame but the clock: reuse the board.
      composed = cached.result
    } else {
      composed = BoardComposition.compose(
        cache: view.tickets.values, operations: view.operations, station: station,
        itemMarks: view.localItemMarks, expo: isExpo)
      composition = (view.generation, composed)
    }
    let now = monotonicNow
    let serverNow = engine.serverNow()
    if markerGeneration != view.generation {
      marker.observe(
        active: composed.tickets, cache: view.tickets, serverNow: serverNow, now: now,
        baseline: view.status.usablePolls == 0, actedOn: Set(view.operations.map(\.ticketId)))
      markerGeneration = view.generation
      allergenChecked = allergenChecked.filter { id, _ in
        composed.tickets.contains { $0.id == id }
      }
    } else {
      marker.expire(now: now)
    }
    let (tickets, cardMarks) = markedBoard(view, composed, now: now)
    if isExpo {
      expoOrders = ExpoBoard.orders(from: tickets)
      if let s = selectedTicketId, !expoOrders.contains(where: { $0.orderId == s }) {
        selectedTicketId = nil
      }
    } else {
      // VOID and failure cards can be selected too (a bump bar acknowledges a VOID).
      selectedTicketId = KitchenSelection.kept(selectedTicketId, shown: tickets)
    }
    selectedItemIndex = keptItemIndex(tickets)
    var snap = BoardSnapshot(
      station: station, tickets: tickets, now: serverNow,
      connection: view.status.connection, lastSyncAt: view.status.lastSyncAt,
      pendingOperations: view.outstandingCount,
      alerts: Self.alerts(view)
        + (notices + [storageProblem].compactMap { $0 }).map { .message($0) },
      marks: composed.marks, selectedTicketId: selectedTicketId, page: page,
      thresholds: effectiveThresholds(view.status), zoom: zoom)
    snap.hold = hold
    snap.cardMarks = cardMarks
    snap.allergens = allergens
    if view.status.connection != .connected {
      snap.offlineSince = view.status.failingSinceServerTime
      // With several servers, the banner names them only when none answers.
      let client = engine.client
      if view.status.connection == .offline, client.config.servers.count > 1,
        client.allServersDown
      {
        snap.offlineServers = client.config.servers.map(Self.hostPort)
      }
    }
    snap.reconnectSummary = reconnectSummary(view, now: now)
    snap.view = boardView
    snap.isExpo = isExpo
    snap.itemMarksLocal = view.itemMarksLocal
    snap.selectedItemIndex = selectedItemIndex
    if boardView == .recall {
      // Every bump and recall (here, kdsctl, a replay) may change the list.
      if recallGeneration != view.generation {
        refreshRecallList()
        recallGeneration = view.generation
      }
      snap.recallList = recallEntries
      if let i = selectedRecallIndex, !recallEntries.indices.contains(i) {
        selectedRecallIndex = recallEntries.isEmpty ? nil : recallEntries.count - 1
      }
      snap.selectedRecallIndex = selectedRecallIndex
    }
    // Only while something moves: idle frames stay identical.
    if isAnimating(atMonotonicMillis: now) { snap.frameMillis = now }
    return snap
  }

  /// The monotonic clock of the marks and animations (the engine's clock).
  public var monotonicNow: Int64 { engine.clock.monotonicMillis() }

  /// The tickets to draw and their marks: the active ones, the VOID cards,
  /// and the cards of tickets with a failed operation that are no longer
  /// active (a bump refused because the ticket was voided): a failure stays
  /// on its card until retried or dismissed.
  func markedBoard(_ view: SyncView, _ composed: BoardComposition.Result, now: Int64)
    -> ([Ticket], [String: CardMarks])
  {
    var marks = marker.marks(at: now)
    var tickets = composed.tickets
    var drawn = Set(tickets.map(\.id))
    for t in marker.voidedTickets(at: now) where drawn.insert(t.id).inserted {
      tickets.append(t)
    }
    for op in view.operations where op.state == .failed {
      var m = marks[op.ticketId] ?? CardMarks()
      if m.failure == nil { m.failure = Self.failureLine(op) }
      if !drawn.contains(op.ticketId), let cached = view.tickets[op.ticketId],
        cached.station == station || isExpo
      {
        drawn.insert(op.ticketId)
        tickets.append(cached)
        if cached.status == .cancelled, m.voidedAt == nil { m.voidedAt = cached.updatedAt }
      }
      marks[op.ticketId] = m
    }
    for (id, _) in allergenChecked { marks[id, default: CardMarks()].allergenChecked = true }
    if tickets.count != composed.tickets.count {
      tickets.sort(by: BoardComposition.screenOrder)
    }
    return (tickets, marks.filter { !$0.value.isEmpty })
  }

  /// A failed operation's line on its card: "Bump refused: voided at 12:31".
  public static func failureLine(_ op: QueuedOperation) -> String {
    let action: String =
      switch op.kind {
      case .bump: "Bump"
      case .start: "Start"
      case .recall: "Recall"
      case .markDone: "Line done"
      case .markUndone: "Line undone"
      case .rush: "Rush"
      case .unrush: "Rush cleared"
      case .serve: "Serve"
      case .fireCourse: "Fire course"
      }
    return "\(action) refused: \(op.reason ?? op.lastError ?? "sync failed")"
  }

  /// The reconnect strip's text, for 20 s after a reconnect's replay:
  /// "7 bumps sent · 1 refused (#1042 voided at 12:31) · 3 new tickets".
  func reconnectSummary(_ view: SyncView, now: Int64) -> String? {
    guard let summary = view.status.lastReconnect else { return nil }
    if reconnectShown?.serial != summary.serial { reconnectShown = (summary.serial, now) }
    guard let shown = reconnectShown, now - shown.since < reconnectSummaryMillis else {
      return nil
    }
    return Self.summaryText(summary) { id in
      view.tickets[id].map { "#" + ($0.orderNumber ?? $0.displayNumber) } ?? "#?"
    }
  }

  public static func summaryText(
    _ summary: ReconnectSummary, number: (String) -> String
  ) -> String {
    var parts: [String] = []
    for kind in TicketAction.allCases where kind != .markUndone && kind != .unrush {
      // A line's marks and undos count together, a rush and its clearing too.
      let paired: TicketAction? =
        kind == .markDone ? .markUndone : (kind == .rush ? .unrush : nil)
      let n = (summary.sent[kind] ?? 0) + (paired.flatMap { summary.sent[$0] } ?? 0)
      guard n > 0 else { continue }
      let noun: String =
        switch kind {
        case .bump: n == 1 ? "bump" : "bumps"
        case .start: n == 1 ? "start" : "starts"
        case .recall: n == 1 ? "recall" : "recalls"
        case .markDone, .markUndone: n == 1 ? "line mark" : "line marks"
        case .rush, .unrush: n == 1 ? "rush" : "rushes"
        case .serve: n == 1 ? "order served" : "orders served"
        case .fireCourse: n == 1 ? "course fired" : "courses fired"
        }
      parts.append("\(n) \(noun) sent")
    }
    if !summary.refused.isEmpty {
      let first = summary.refused[0]
      var s = "\(summary.refused.count) refused (\(number(first.ticketId)) \(first.reason)"
      if summary.refused.count > 1 { s += ", \u{2026}" }
      parts.append(s + ")")
    }
    if summary.newTickets > 0 {
      parts.append("\(summary.newTickets) new ticket\(summary.newTickets == 1 ? "" : "s")")
    }
    return parts.joined(separator: " \u{00B7} ")
  }

  static func alerts(_ view: SyncView) -> [BoardAlert] {
    var alerts: [BoardAlert] = []
    if let auth = view.status.authProblem { alerts.append(.notAuthorised(auth)) }
    if view.isQueueFull { alerts.append(.queueFull) }
    if view.failedCount > 0 { alerts.append(.failedOperations(view.failedCount)) }
    // Item marks the server lacks stay on this screen: the banner says so
    // (`itemMarksLocal`), they are not "unavailable".
    for action in TicketAction.allCases
    where view.status.disabledActions.contains(action) && !action.isItemMark {
      alerts.append(.actionUnavailable(action.rawValue))
    }
    if let bad = view.status.badAnswer { alerts.append(.message(bad)) }
    let damaged = view.status.damagedRecords
    if damaged > 0 {
      alerts.append(
        .message(
          "\(damaged) damaged record\(damaged == 1 ? "" : "s") set aside (see kdsctl status)"))
    }
    return alerts
  }

  /// One line of text per alert (the control socket, logs).
  public static func text(of alert: BoardAlert) -> String {
    switch alert {
    case .queueFull: QueuePolicy.queueFullMessage
    case .notAuthorised(let s): s
    case .failedOperations(let n): "Sync failed - tap to retry (\(n) operation\(n == 1 ? "" : "s"))"
    case .actionUnavailable(let a):
      "\(a.capitalized) is not available: the server does not support it"
    case .message(let s): s
    }
  }

  // MARK: KioskActions

  func outcome(_ body: () throws(ActionError) -> ActionResult) -> KioskActionOutcome {
    switch noted(Result { () throws(ActionError) in try body() }) {
    case .success(let result): .done(result.message)
    case .failure(let error): .refused(error.message)
    }
  }

  /// Keeps a storage failure on the banner (and clears it once an action is
  /// saved): a bump the disk refused must not look done.
  func noted(_ r: Result<ActionResult, ActionError>) -> Result<ActionResult, ActionError> {
    switch r {
    case .success(.queued): storageProblem = nil
    case .success: break
    case .failure(let e) where e.kind == .storage:
      storageProblem = "Action NOT saved (storage error): \(e.message)"
      logger.error("action refused by the store: \(e.message)")
    case .failure: break
    }
    return r
  }

  var visibleTickets: [Ticket] { snapshot().tickets }

  @discardableResult
  public func bump(ticketId: String) -> KioskActionOutcome {
    if isExpo { return serve(orderId: orderId(of: ticketId)) }
    let before = visibleTickets
    if acknowledgeVoid(ticketId) {
      selectedTicketId = KitchenSelection.afterRemoving(
        ticketId, selected: selectedTicketId, shown: before)
      return .done("VOID acknowledged: nothing sent")
    }
    marker.touch(ticketId)
    let checkedAt: Timestamp?
    switch allergenStep(ticketId, shown: before) {
    case .checkedNow: return .done(Self.allergensCheckedMessage)
    case .send(let at): checkedAt = at
    }
    let result = outcome { () throws(ActionError) in
      try engine.perform(.bump, ticketId: ticketId, allergenCheckedAt: checkedAt)
    }
    if result.isDone {
      // The selection moves to the ticket that took the bumped one's place.
      selectedTicketId = KitchenSelection.afterRemoving(
        ticketId, selected: selectedTicketId, shown: before)
    }
    return result
  }

  @discardableResult
  public func start(ticketId: String) -> KioskActionOutcome {
    if acknowledgeVoid(ticketId) { return .done("VOID acknowledged: nothing sent") }
    marker.touch(ticketId)
    return outcome { () throws(ActionError) in try engine.perform(.start, ticketId: ticketId) }
  }

  static let allergensCheckedMessage = "allergens checked: bump again to send"

  enum AllergenStep {
    /// The first bump of a ticket with an allergy band: the band is checked.
    case checkedNow
    /// Bump, with the check's time if there was one.
    case send(checkedAt: Timestamp?)
  }

  /// `allergen_check = on`: the first bump of a ticket with an allergy band
  /// only acknowledges the band ("✓ checked"); the next one sends.
  func allergenStep(_ ticketId: String, shown: [Ticket]) -> AllergenStep {
    guard allergenCheck, let ticket = shown.first(where: { $0.id == ticketId }),
      ticket.status.isActive, allergens.matches(ticket)
    else { return .send(checkedAt: nil) }
    if let at = allergenChecked[ticketId] { return .send(checkedAt: at) }
    allergenChecked[ticketId] = engine.serverNow()
    logger.info("allergens of ticket \(ticketId) checked; the next bump sends it")
    return .checkedNow
  }

  /// A VOID card acknowledged (a tap or an action on it): it leaves the
  /// screen; nothing is sent.
  func acknowledgeVoid(_ ticketId: String) -> Bool {
    guard marker.acknowledgeVoid(ticketId) else { return false }
    logger.info("VOID of ticket \(ticketId) acknowledged")
    return true
  }

  /// Dismisses a card's failed operations (a hold on its failure line):
  /// the server's copy of the ticket stands.
  @discardableResult
  public func dismissFailure(ticketId: String) -> KioskActionOutcome {
    do {
      let n = try engine.dismissFailed(ticketId: ticketId)
      return .done("\(n) failed operation\(n == 1 ? "" : "s") dismissed")
    } catch {
      return .refused(error.message)
    }
  }

  @discardableResult
  public func bumpSelected() -> KioskActionOutcome {
    if boardView == .recall { return recallHighlighted() }
    return actOnSelected(.bump)
  }

  @discardableResult
  public func startSelected() -> KioskActionOutcome { actOnSelected(.start) }

  /// Bumps or starts the selected ticket when it is on the page shown, or
  /// the first card of the page shown.
  func actOnSelected(_ kind: TicketAction) -> KioskActionOutcome {
    guard let id = KitchenSelection.target(selected: selectedTicketId, page: page, pages: pages)
    else { return .refused("no ticket to \(kind.rawValue)") }
    return kind == .bump ? bump(ticketId: id) : start(ticketId: id)
  }

  @discardableResult
  public func recallLast() -> KioskActionOutcome {
    outcome { () throws(ActionError) in try engine.recallLast() }
  }

  @discardableResult
  public func retryFailed() -> KioskActionOutcome {
    var n = 0
    if let id = selectedTicketId { n = engine.retryFailed(ticketId: id) }
    if n == 0 { n = engine.retryFailed() }
    return n == 0 ? .refused("no failed operation") : .done("\(n) operation(s) queued again")
  }

  @discardableResult
  public func retryFailed(ticketId: String) -> KioskActionOutcome {
    marker.touch(ticketId)
    let n = engine.retryFailed(ticketId: ticketId)
    return n == 0
      ? .refused("no failed operation for ticket \(ticketId)")
      : .done("\(n) operation(s) queued again")
  }

  public func selectNextTicket() { moveSelection(by: 1) }
  public func selectPreviousTicket() { moveSelection(by: -1) }

  func moveSelection(by delta: Int) {
    if boardView == .recall {
      moveRecallHighlight(by: delta)
      return
    }
    selectedItemIndex = nil
    (selectedTicketId, page) = KitchenSelection.moved(
      by: delta, selected: selectedTicketId, page: page, pages: pages)
    if let id = selectedTicketId { marker.touch(id) }
  }

  public func nextPage() { turnPage(to: page + 1) }

  public func previousPage() { turnPage(to: page - 1) }

  func turnPage(to newPage: Int) {
    (selectedTicketId, page) = KitchenSelection.turned(
      to: newPage, selected: selectedTicketId, pages: pages)
  }

  /// The pages the keys act on: the screen's, or without one the board's
  /// order cut into pages of `headlessPageSize`.
  public var pages: BoardPages {
    screenPages ?? .chunked(shownIds, pageSize: headlessPageSize)
  }

  /// The screen laid the board out (after each frame): the keys follow its
  /// pages from now on. The page stays within them; a selection that is no
  /// longer on the page shown is dropped (keys act on what is shown).
  public func layoutChanged(pages: BoardPages) {
    var pages = pages
    if isExpo {
      // The expo's cards are orders: a page listing ticket ids lists their orders.
      let order = Dictionary(
        engine.view().tickets.values.map { ($0.id, $0.orderId) }, uniquingKeysWith: { a, _ in a })
      pages = BoardPages(
        pages: pages.pages.map { ids in
          var seen = Set<String>()
          return ids.map { order[$0] ?? $0 }.filter { seen.insert($0).inserted }
        })
    }
    screenPages = pages
    pageCount = pages.count
    page = pages.clamped(page)
    if let s = selectedTicketId, !pages.ids(onPage: page).contains(s) { selectedTicketId = nil }
  }

  /// A tap on a VOID card acknowledges it; on another card, the card's marks are seen.
  public func select(ticketId: String?) {
    if ticketId != selectedTicketId { selectedItemIndex = nil }
    if isExpo {
      selectedTicketId = ticketId.map(orderId(of:))
      return
    }
    if let id = ticketId {
      if acknowledgeVoid(id) {
        if selectedTicketId == id { selectedTicketId = nil }
        return
      }
      marker.touch(id)
    }
    selectedTicketId = ticketId
  }

  // MARK: control socket

  /// The state `kdsctl status` prints.
  /// Whether the screen animates at `millis` (monotonic): a hold in progress,
  /// a NEW header pulse. The daemon then draws at animation rate, not once a second.
  public func isAnimating(atMonotonicMillis millis: Int64) -> Bool {
    hold != nil || marker.isPulsing(at: millis)
  }

  /// `http://kds-a:8080` as `kds-a:8080` (the banner's short form).
  static func hostPort(_ url: String) -> String {
    var s = Substring(url)
    if let r = s.range(of: "://") { s = s[r.upperBound...] }
    return String(s)
  }

  public func status() -> KioskStatus {
    let view = engine.view()
    let snap = snapshot()
    var status = KioskStatus(
      station: station, connection: view.status.connection.rawValue,
      lastSyncAt: view.status.lastSyncAt?.iso8601, pendingOps: view.outstandingCount,
      failedOps: view.failedCount, tickets: snap.tickets.count, cachedTickets: view.tickets.count,
      alerts: snap.alerts.map(Self.text(of:)),
      disabledActions: TicketAction.allCases.filter { view.status.disabledActions.contains($0) }
        .map(\.rawValue),
      serverClockOffsetMillis: view.status.clock.offsetMillis, selectedTicketId: selectedTicketId,
      page: page)
    status.damagedRecords = view.status.damagedRecords
    status.selected = selectedTicketId
    status.pageCount = pageCount
    // The daemon fills the cards from the screen's layout; none without one.
    status.cards = []
    status.failures = view.operations.filter { $0.state == .failed }.map {
      FailureStatus(
        ticketId: $0.ticketId, operationId: $0.id, kind: $0.kind.rawValue,
        reason: $0.reason ?? $0.lastError ?? "failed")
    }
    status.push = view.status.push.rawValue
    status.pollIntervalSeconds = Double(engine.pollIntervalMillis()) / 1000
    status.server = engine.client.serverInUse
    status.servers = engine.client.serverReport()
    status.view = boardView.rawValue
    status.itemMarksLocal = snap.itemMarksLocal
    status.selectedItem = selectedItemIndex
    if isExpo { status.orders = expoOrders.map(OrderStatus.init) }
    if boardView == .recall { status.recallList = snap.recallList }
    return status
  }

  /// Answers one control-socket request.
  public func handle(_ request: ControlRequest) -> ControlResponse {
    func respond(_ r: Result<ActionResult, ActionError>) -> ControlResponse {
      switch noted(r) {
      case .success(let result):
        var response = ControlResponse(ok: true, message: result.message)
        if case .queued(let op) = result { response.operation = OperationInfo(op) }
        return response
      case .failure(let e):
        return .failure(e.message)
      }
    }
    switch request.cmd {
    case "status":
      return ControlResponse(ok: true, status: status())
    case "bump", "start":
      guard let ticket = request.ticket, !ticket.isEmpty else {
        return .failure("\(request.cmd) needs a ticket id")
      }
      if isExpo && request.cmd == "bump" {
        // The expo's bump serves the ticket's order.
        let order = orderId(of: ticket)
        return respond(Result { () throws(ActionError) in try engine.serve(orderId: order) })
      }
      let kind: TicketAction = request.cmd == "bump" ? .bump : .start
      // Like a cook's action: a VOID card is acknowledged, an allergy band
      // checked first (allergen_check = on).
      if acknowledgeVoid(ticket) {
        return ControlResponse(ok: true, message: "VOID acknowledged: nothing sent")
      }
      marker.touch(ticket)
      var checkedAt: Timestamp?
      if kind == .bump {
        switch allergenStep(ticket, shown: visibleTickets) {
        case .checkedNow: return ControlResponse(ok: true, message: Self.allergensCheckedMessage)
        case .send(let at): checkedAt = at
        }
      }
      return respond(
        Result { () throws(ActionError) in
          try engine.perform(kind, ticketId: ticket, allergenCheckedAt: checkedAt)
        })
    case "recall":
      // `kdsctl recall TICKET`: any ticket of the recall list; without one, the last bumped.
      if let ticket = request.ticket, !ticket.isEmpty {
        return respond(Result { () throws(ActionError) in try engine.recall(ticketId: ticket) })
      }
      return respond(Result { () throws(ActionError) in try engine.recallLast() })
    case "serve":
      guard let order = request.order ?? request.ticket.map(orderId(of:)), !order.isEmpty else {
        return .failure("serve needs an order id (or a ticket of the order)")
      }
      return respond(Result { () throws(ActionError) in try engine.serve(orderId: order) })
    case "fire":
      guard let order = request.order ?? request.ticket.map(orderId(of:)), !order.isEmpty,
        let course = request.course
      else { return .failure("fire needs an order id and a course") }
      return respond(
        Result { () throws(ActionError) in try engine.fireCourse(orderId: order, course: course) })
    case "rush":
      guard let ticket = request.ticket, !ticket.isEmpty else {
        return .failure("rush needs a ticket id")
      }
      return respond(
        Result { () throws(ActionError) in
          try engine.rush(ticketId: ticket, rush: request.rush ?? true)
        })
    case "send-back":
      guard let ticket = request.ticket, !ticket.isEmpty else {
        return .failure("send-back needs a ticket id")
      }
      return respond(Result { () throws(ActionError) in try engine.sendBack(ticketId: ticket) })
    case "item":
      guard let ticket = request.ticket, !ticket.isEmpty, let item = request.item else {
        return .failure("item needs a ticket id and a line number")
      }
      return respond(
        Result { () throws(ActionError) in
          try engine.markItem(ticketId: ticket, itemIndex: item, done: request.done)
        })
    case "view":
      guard let name = request.view, let v = BoardView(rawValue: name) else {
        return .failure("view: tickets, all-day or recall")
      }
      show(v)
      return ControlResponse(ok: true, message: "showing \(v.rawValue)")
    case "queue":
      do {
        let ops = try engine.store.operations(includeDone: true)
        return ControlResponse(ok: true, operations: ops.map(OperationInfo.init))
      } catch {
        return .failure("could not read the queue: \(error)")
      }
    case "retry":
      guard let op = request.op, !op.isEmpty else { return .failure("retry needs an operation id") }
      do {
        let retried = try engine.retry(operationId: op)
        return ControlResponse(
          ok: true, message: "queued again: \(retried.kind.rawValue) \(retried.id)",
          operation: OperationInfo(retried))
      } catch {
        return .failure(error.message)
      }
    case "dismiss":
      if let op = request.op, !op.isEmpty {
        do {
          let dismissed = try engine.dismissFailed(operationId: op)
          return ControlResponse(
            ok: true, message: "dismissed: \(dismissed.kind.rawValue) \(dismissed.id)",
            operation: OperationInfo(dismissed))
        } catch {
          return .failure(error.message)
        }
      }
      guard let ticket = request.ticket, !ticket.isEmpty else {
        return .failure("dismiss needs a ticket id (or an operation id)")
      }
      switch dismissFailure(ticketId: ticket) {
      case .done(let m): return ControlResponse(ok: true, message: m)
      case .refused(let m): return .failure(m)
      }
    default:
      return .failure("unknown command \(request.cmd)")
    }
  }
}

// MARK: kitchen tools (issue 14)

extension KioskCore {
  /// The ids the keys move through, in screen order: tickets (the expo: orders).
  var shownIds: [String] {
    let snap = snapshot()
    return isExpo ? expoOrders.map(\.orderId) : snap.tickets.map(\.id)
  }

  /// The order of a ticket (an order id stays itself).
  func orderId(of id: String) -> String {
    engine.view().tickets[id]?.orderId ?? id
  }

  /// The selected card's ticket (station screens).
  var selectedTicket: Ticket? {
    guard !isExpo, let id = selectedTicketId else { return nil }
    return snapshot().tickets.first { $0.id == id }
  }

  /// The selected order (the expo).
  var selectedOrder: ExpoOrder? {
    guard isExpo else { return nil }
    _ = snapshot()
    return expoOrders.first { $0.orderId == selectedTicketId }
  }

  /// The line highlight, kept while its card has that line.
  func keptItemIndex(_ tickets: [Ticket]) -> Int? {
    guard let i = selectedItemIndex, let id = selectedTicketId else { return nil }
    if isExpo {
      return expoOrders.first { $0.orderId == id }.flatMap {
        $0.parts.indices.contains(i) ? i : nil
      }
    }
    return tickets.first { $0.id == id }.flatMap { $0.items.indices.contains(i) ? i : nil }
  }

  public func selectNextItem() {
    if selectedTicketId == nil || !shownIds.contains(selectedTicketId!) {
      selectedTicketId = KitchenSelection.target(
        selected: selectedTicketId, page: page, pages: pages)
      selectedItemIndex = nil
    }
    let count: Int
    if isExpo {
      count = selectedOrder?.parts.count ?? 0
    } else {
      count = selectedTicket?.items.count ?? 0
    }
    guard count > 0 else {
      selectedItemIndex = nil
      return
    }
    selectedItemIndex = selectedItemIndex.map { ($0 + 1) % count } ?? 0
  }

  @discardableResult
  public func toggleSelectedItem() -> KioskActionOutcome {
    if isExpo { return sendBackSelected() }
    guard let ticket = selectedTicket else { return .refused("no card selected: select one first") }
    // No line highlighted: the first line not yet done.
    let index = selectedItemIndex ?? ticket.items.firstIndex { !$0.isDone }
    guard let index else { return .refused("every line of ticket \(ticket.displayNumber) is done") }
    selectedItemIndex = index
    return toggleItem(ticketId: ticket.id, index: index)
  }

  @discardableResult
  public func toggleItem(ticketId: String, index: Int) -> KioskActionOutcome {
    marker.touch(ticketId)
    return outcome { () throws(ActionError) in
      try engine.markItem(ticketId: ticketId, itemIndex: index)
    }
  }

  public func toggleAllDay() { show(boardView == .allDay ? .tickets : .allDay) }

  public func toggleRecallList() { show(boardView == .recall ? .tickets : .recall) }

  public func back() {
    if boardView != .tickets {
      show(.tickets)
    } else {
      selectedItemIndex = nil
    }
  }

  /// Shows a view; the recall list opens on its newest row.
  public func show(_ view: BoardView) {
    boardView = view
    if view == .recall {
      refreshRecallList()
      selectedRecallIndex = recallEntries.isEmpty ? nil : 0
    } else {
      selectedRecallIndex = nil
      recallEntries = []
    }
  }

  /// Reads the recall list again (it changes with every bump and recall).
  func refreshRecallList() {
    do {
      recallEntries = try engine.recallList()
    } catch {
      logger.error("\(error.message)")
      recallEntries = []
    }
  }

  /// A tap on a row of the recall list: the first tap highlights it, a tap
  /// on the highlighted row recalls it (a tap alone never acts on a ticket
  /// it did not first select).
  @discardableResult public func tapRecallRow(_ index: Int) -> KioskActionOutcome {
    guard recallEntries.indices.contains(index) else { return .refused("no such row") }
    if selectedRecallIndex == index { return recallHighlighted() }
    selectedRecallIndex = index
    return .refused("highlighted; tap again to recall")
  }

  func moveRecallHighlight(by delta: Int) {
    guard !recallEntries.isEmpty else {
      selectedRecallIndex = nil
      return
    }
    let i = (selectedRecallIndex ?? -1) + delta
    selectedRecallIndex = min(max(0, i), recallEntries.count - 1)
  }

  /// The recall list's bump: recalls the highlighted ticket.
  func recallHighlighted() -> KioskActionOutcome {
    guard let i = selectedRecallIndex, recallEntries.indices.contains(i) else {
      return .refused("nothing to recall")
    }
    let entry = recallEntries[i]
    let result = outcome { () throws(ActionError) in try engine.recall(ticketId: entry.ticketId) }
    if result.isDone {
      refreshRecallList()
      if recallEntries.isEmpty {
        selectedRecallIndex = nil
      } else {
        selectedRecallIndex = min(i, recallEntries.count - 1)
      }
    }
    return result
  }

  /// Expo: serves an order; the selection moves to the order that takes its place.
  func serve(orderId: String) -> KioskActionOutcome {
    let before = expoOrders.map(\.orderId)
    let result = outcome { () throws(ActionError) in try engine.serve(orderId: orderId) }
    if result.isDone, selectedTicketId == orderId || selectedTicketId == nil,
      let i = before.firstIndex(of: orderId)
    {
      let rest = before.filter { $0 != orderId }
      selectedTicketId = rest.isEmpty ? nil : rest[min(i, rest.count - 1)]
      selectedItemIndex = nil
    }
    return result
  }

  @discardableResult
  public func sendBackSelected() -> KioskActionOutcome {
    guard isExpo else { return .refused("send back is for the expo screen") }
    guard let order = selectedOrder ?? targetOrder() else { return .refused("no order selected") }
    // The highlighted part, or the only READY one.
    let ready = order.parts.filter(\.isReady)
    let part: ExpoPart? =
      selectedItemIndex.flatMap { order.parts.indices.contains($0) ? order.parts[$0] : nil }
      ?? (ready.count == 1 ? ready[0] : nil)
    guard let part else {
      return .refused("choose the station to send back (next item) on order \(order.orderNumber)")
    }
    return outcome { () throws(ActionError) in try engine.sendBack(ticketId: part.ticketId) }
  }

  @discardableResult
  public func fireNextCourse() -> KioskActionOutcome {
    guard isExpo else { return .refused("fire course is for the expo screen") }
    guard let order = selectedOrder ?? targetOrder() else { return .refused("no order selected") }
    guard let course = order.parts.filter(\.isHeld).compactMap(\.course).min() else {
      return .refused("order \(order.orderNumber) has no held course")
    }
    return outcome { () throws(ActionError) in
      try engine.fireCourse(orderId: order.orderId, course: course)
    }
  }

  @discardableResult
  public func toggleRush() -> KioskActionOutcome {
    guard isExpo else { return .refused("rush is set on the expo screen") }
    guard let order = selectedOrder ?? targetOrder(), let part = order.parts.first else {
      return .refused("no order selected")
    }
    return outcome { () throws(ActionError) in
      try engine.rush(ticketId: part.ticketId, rush: !order.isRush)
    }
  }

  /// The order a key acts on without a selection: the page's first.
  func targetOrder() -> ExpoOrder? {
    let id = KitchenSelection.target(selected: selectedTicketId, page: page, pages: pages)
    return expoOrders.first { $0.orderId == id }
  }
}
