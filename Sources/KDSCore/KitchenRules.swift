/// Why a chef's action was refused.
public struct ActionError: Error, Hashable, Sendable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    case unknownTicket, notAllowed, unavailable, queueFull, storage
  }
  public var kind: Kind
  public var message: String
  public var description: String { message }

  public init(kind: Kind, message: String) {
    self.kind = kind
    self.message = message
  }
}

/// What an accepted action did.
public enum ActionResult: Sendable, Equatable {
  /// Durably queued: it is safe to show it as done.
  case queued(QueuedOperation)
  /// Allowed but nothing to do (bump of a ticket already ready).
  case unchanged(TicketStatus)
  /// Done on this kiosk only, nothing sent (an item mark the server lacks).
  case local(String)

  /// One line for the chef, the log and kdsctl.
  public var message: String {
    switch self {
    case .queued(let op): "queued \(op.kind.rawValue) \(op.id) for ticket \(op.ticketId)"
    case .unchanged(let status): "nothing to do: the ticket is \(status.wire)"
    case .local(let what): what
    }
  }
}

/// What the kitchen's rules decided about an action.
public enum KitchenDecision: Hashable, Sendable {
  /// Queue an operation: the ticket goes from one status to the other on screen at once.
  case enqueue(from: TicketStatus, to: TicketStatus)
  /// Allowed, nothing to do: the ticket stays in this status.
  case unchanged(TicketStatus)
}

/// The kitchen's rules, in one place and without I/O: given the board as this
/// kiosk sees it (the cached tickets and its own operations not done), may a
/// chef's action happen, and what does the board look like after it. The sync
/// engine asks these rules, under its lock, before it queues anything; the
/// screen's selection follows them too.
public struct KitchenBoardState: Sendable {
  public var station: String
  public var tickets: [String: Ticket]
  /// The kiosk's operations not done, in any order.
  public var operations: [QueuedOperation]
  /// Extensions the server lacks (404/405).
  public var disabledActions: Set<TicketAction>
  public var maxOutstanding: Int

  public init(
    station: String, tickets: [String: Ticket], operations: [QueuedOperation],
    disabledActions: Set<TicketAction> = [],
    maxOutstanding: Int = QueuePolicy.standard
      .maxOutstanding
  ) {
    self.station = station
    self.tickets = tickets
    self.operations = operations
    self.disabledActions = disabledActions
    self.maxOutstanding = maxOutstanding
  }

  public var outstandingCount: Int { operations.reduce(0) { $0 + ($1.isOutstanding ? 1 : 0) } }
  public var isQueueFull: Bool { outstandingCount >= maxOutstanding }

  /// What the screen shows for a ticket now: its cached status with this
  /// kiosk's outstanding operations applied (nil: no such ticket here).
  public func shownStatus(of ticketId: String) -> TicketStatus? {
    shownTicket(ticketId)?.status
  }

  /// An expo screen (`station = expo`): it sees and acts on every station's tickets.
  public var isExpo: Bool { station == BoardComposition.expoStation }

  /// The ticket as the screen shows it now (its own and its order's
  /// outstanding operations applied); nil: no such ticket on this screen.
  public func shownTicket(_ ticketId: String) -> Ticket? {
    guard let ticket = tickets[ticketId], isExpo || ticket.station == station else { return nil }
    return BoardComposition.optimistic(
      ticket, operations: operations.lazy.filter { $0.affects(ticket) })
  }

  /// The tickets of an order as this screen shows them, by id.
  public func shownOrder(_ orderId: String) -> [Ticket] {
    tickets.values.filter { $0.orderId == orderId && (isExpo || $0.station == station) }
      .sorted { $0.id < $1.id }.compactMap { shownTicket($0.id) }
  }

  /// Item-level bump: may line `itemIndex` of the ticket be marked done (or
  /// not done), and what is it. `.success(nil)`: it is already so.
  public func decideItem(ticketId: String, itemIndex: Int, done: Bool) -> Result<
    TicketItem?, ActionError
  > {
    guard let ticket = shownTicket(ticketId) else {
      return .failure(
        ActionError(kind: .unknownTicket, message: "no ticket \(ticketId) on this screen"))
    }
    guard ticket.items.indices.contains(itemIndex) else {
      return .failure(
        ActionError(
          kind: .notAllowed,
          message: "ticket \(ticketId) has no line \(itemIndex + 1) (\(ticket.items.count) lines)"))
    }
    let kind: TicketAction = done ? .markDone : .markUndone
    guard TicketStateMachine.apply(kind, to: ticket.status) != nil else {
      return .failure(
        ActionError(
          kind: .notAllowed,
          message: "cannot mark a line of ticket \(ticketId): it is \(ticket.status.wire)"))
    }
    let item = ticket.items[itemIndex]
    return .success(item.isDone == done ? nil : item)
  }

  /// Expo: may the order be served (every ticket not CANCELLED is READY),
  /// and which ticket carries the operation. `.unchanged(.served)` when it is
  /// already served.
  public func decideServe(orderId: String) -> Result<
    (ticketId: String, decision: KitchenDecision), ActionError
  > {
    guard isExpo else {
      return .failure(ActionError(kind: .notAllowed, message: "serve is for the expo screen"))
    }
    if disabledActions.contains(.serve) { return .failure(Self.unavailable(.serve)) }
    let order = shownOrder(orderId)
    let live = order.filter { $0.status != .cancelled }
    guard let first = live.first else {
      return .failure(
        order.isEmpty
          ? ActionError(kind: .unknownTicket, message: "no order \(orderId) on this screen")
          : ActionError(kind: .notAllowed, message: "order \(orderId) is voided"))
    }
    if live.allSatisfy({ $0.status == .served }) {
      return .success((first.id, .unchanged(.served)))
    }
    let waiting = live.filter { $0.status != .ready }
    guard waiting.isEmpty else {
      let names = Set(waiting.map(\.station)).sorted().joined(separator: ", ")
      return .failure(
        ActionError(
          kind: .notAllowed,
          message: "order \(first.displayNumber) is not ready: waiting for \(names)"))
    }
    return .success((first.id, .enqueue(from: .ready, to: .served)))
  }

  /// Expo: may course `course` of the order be fired (a ticket of it is HELD).
  public func decideFire(orderId: String, course: Int) -> Result<
    (ticketId: String, decision: KitchenDecision), ActionError
  > {
    guard isExpo else {
      return .failure(ActionError(kind: .notAllowed, message: "fire course is for the expo screen"))
    }
    if disabledActions.contains(.fireCourse) { return .failure(Self.unavailable(.fireCourse)) }
    let tickets = shownOrder(orderId).filter { $0.course == course }
    guard let first = tickets.first else {
      return .failure(
        ActionError(kind: .unknownTicket, message: "order \(orderId) has no course \(course) here"))
    }
    guard let held = tickets.first(where: { $0.status == .held }) else {
      return .success((first.id, .unchanged(first.status)))
    }
    return .success((held.id, .enqueue(from: .held, to: .queued)))
  }

  /// Expo: may the ticket's order be rushed (or the rush cleared).
  public func decideRush(ticketId: String, rush: Bool) -> Result<KitchenDecision, ActionError> {
    guard isExpo else {
      return .failure(ActionError(kind: .notAllowed, message: "rush is set on the expo screen"))
    }
    let kind: TicketAction = rush ? .rush : .unrush
    if disabledActions.contains(kind) { return .failure(Self.unavailable(kind)) }
    guard let ticket = shownTicket(ticketId) else {
      return .failure(
        ActionError(kind: .unknownTicket, message: "no ticket \(ticketId) on this screen"))
    }
    guard TicketStateMachine.apply(kind, to: ticket.status) != nil else {
      return .failure(
        ActionError(
          kind: .notAllowed, message: "cannot rush ticket \(ticketId): it is \(ticket.status.wire)")
      )
    }
    return .success(
      ticket.isRush == rush
        ? .unchanged(ticket.status) : .enqueue(from: ticket.status, to: ticket.status))
  }

  /// May `kind` happen to the ticket, and what does it become.
  public func decide(_ kind: TicketAction, ticketId: String) -> Result<
    KitchenDecision, ActionError
  > {
    guard let status = shownStatus(of: ticketId) else {
      return .failure(
        ActionError(kind: .unknownTicket, message: "no ticket \(ticketId) on this screen"))
    }
    if disabledActions.contains(kind) { return .failure(Self.unavailable(kind)) }
    if isExpo && (kind == .bump || kind == .start) {
      return .failure(
        ActionError(
          kind: .notAllowed,
          message:
            "the expo does not \(kind.rawValue) tickets: it serves orders (the stations bump)"
        ))
    }
    switch TicketStateMachine.transition(from: status, action: kind) {
    case .invalid:
      return .failure(
        ActionError(
          kind: .notAllowed,
          message: "cannot \(kind.rawValue) ticket \(ticketId): it is \(status.wire)"))
    case .noChange:
      return .success(.unchanged(status))
    case .change(let to):
      return .success(.enqueue(from: status, to: to))
    }
  }

  /// The ticket the recall button brings back: the one bumped last on this
  /// kiosk (`recentlyBumped`, most recent first) that the screen shows as ready.
  public func recallTarget(recentlyBumped: [String]) -> Result<String, ActionError> {
    if disabledActions.contains(.recall) { return .failure(Self.unavailable(.recall)) }
    for id in recentlyBumped where shownStatus(of: id) == .ready { return .success(id) }
    return .failure(ActionError(kind: .notAllowed, message: "nothing to recall"))
  }

  /// May a failed operation go back in the queue (the queue has room).
  public func mayRetry() -> Result<Void, ActionError> {
    isQueueFull
      ? .failure(ActionError(kind: .queueFull, message: QueuePolicy.queueFullMessage))
      : .success(())
  }

  /// The status a cached ticket takes when the server acknowledged `kind`
  /// without sending the ticket back (nil: leave it as it is).
  public static func acknowledgedStatus(after kind: TicketAction, cached: TicketStatus)
    -> TicketStatus?
  {
    guard let target = TicketStateMachine.apply(kind, to: cached), target != cached else {
      return nil
    }
    return target
  }

  static func unavailable(_ kind: TicketAction) -> ActionError {
    ActionError(
      kind: .unavailable,
      message: "\(kind.rawValue) is not available: the server does not support it")
  }
}

/// The board's pages as the screen shows them: for each page, the ids of the
/// tickets with a card on it, in screen (reading) order. A ticket too long
/// for one column may have cards on two pages; it is listed on both.
public struct BoardPages: Hashable, Sendable {
  public var pages: [[String]]

  public init(pages: [[String]]) { self.pages = pages }

  /// Without a screen (`--display none`): the board's order cut into pages
  /// of `pageSize` tickets (see `KioskCore.headlessPageSize`).
  public static func chunked(_ ids: [String], pageSize: Int) -> BoardPages {
    let size = max(1, pageSize)
    return BoardPages(
      pages: stride(from: 0, to: ids.count, by: size).map {
        Array(ids[$0..<min(ids.count, $0 + size)])
      })
  }

  /// At least one (an empty board has one empty page).
  public var count: Int { max(1, pages.count) }

  /// The tickets on page `p` (none for a page that does not exist).
  public func ids(onPage p: Int) -> [String] { pages.indices.contains(p) ? pages[p] : [] }

  /// `p` within the pages there are.
  public func clamped(_ p: Int) -> Int { min(max(0, p), count - 1) }

  /// The first page with a card of ticket `id`.
  public func page(of id: String) -> Int? { pages.firstIndex { $0.contains(id) } }
}

/// The screen's selection, by the kitchen's rules: pure functions of the
/// tickets shown (in screen order) and the current selection. Every key acts
/// on the page shown: a selection on another page does not count, and moving
/// the selection past a page's edge turns the page (see docs/touch-and-keys.md).
public enum KitchenSelection {
  /// The ticket a "bump" or "start" key acts on: the selected one when it is
  /// on the page shown, otherwise the first card of that page.
  public static func target(selected: String?, page: Int, pages: BoardPages) -> String? {
    let shown = pages.ids(onPage: page)
    if let selected, shown.contains(selected) { return selected }
    return shown.first
  }

  /// The selection moved `delta` cards on the page shown. Past the page's
  /// last card it moves onto the next page's first card, and the page turns
  /// (backward likewise); at the board's ends it stays. With nothing selected
  /// on the page shown, the page's first (forward) or last (backward) card.
  public static func moved(by delta: Int, selected: String?, page: Int, pages: BoardPages)
    -> (selected: String?, page: Int)
  {
    let page = pages.clamped(page)
    let shown = pages.ids(onPage: page)
    guard !shown.isEmpty else { return (nil, page) }
    guard let selected, let i = shown.firstIndex(of: selected) else {
      return ((delta >= 0 ? shown.first : shown.last), page)
    }
    let j = i + delta
    if shown.indices.contains(j) { return (shown[j], page) }
    if j >= shown.count {
      guard page + 1 < pages.count else { return (shown.last, page) }
      // A ticket continued from this page is skipped: its next card is the
      // one the cook has not seen yet.
      let next = pages.ids(onPage: page + 1)
      return (next.first { $0 != selected } ?? next.first ?? selected, page + 1)
    }
    guard page > 0 else { return (shown.first, page) }
    let previous = pages.ids(onPage: page - 1)
    return (previous.last { $0 != selected } ?? previous.last ?? selected, page - 1)
  }

  /// The page turned to `newPage` (clamped): a selection moves onto the new
  /// page's first card (it stays if its ticket is on that page too); no
  /// selection stays none.
  public static func turned(to newPage: Int, selected: String?, pages: BoardPages)
    -> (selected: String?, page: Int)
  {
    let page = pages.clamped(newPage)
    guard let selected else { return (nil, page) }
    let shown = pages.ids(onPage: page)
    return (shown.contains(selected) ? selected : shown.first, page)
  }

  /// The selection after `ticketId` left the board (bumped): the ticket that
  /// takes its place, or the last one, or nothing. A selection elsewhere stays.
  public static func afterRemoving(_ ticketId: String, selected: String?, shown: [Ticket])
    -> String?
  {
    guard selected == ticketId || selected == nil,
      let i = shown.firstIndex(where: { $0.id == ticketId })
    else { return selected }
    let rest = shown.filter { $0.id != ticketId }
    return rest.isEmpty ? nil : rest[min(i, rest.count - 1)].id
  }

  /// A selection of a ticket no longer shown is dropped.
  public static func kept(_ selected: String?, shown: [Ticket]) -> String? {
    guard let selected, shown.contains(where: { $0.id == selected }) else { return nil }
    return selected
  }

  /// The next page, not past the last when the page count is known.
  public static func nextPage(after page: Int, pageCount: Int?) -> Int {
    guard let pageCount else { return page + 1 }
    return min(page + 1, max(0, pageCount - 1))
  }
}
