import KDSCore
import KDSStore
import Logging

/// The kitchen tools (issue 14; docs/sync-contract.md, "Extension: kitchen
/// tools"): item marks, rush, serve, fire course and send back, each a
/// durable operation with its own idempotency key, offline too. Item marks
/// the server lacks (404/405) stay on this kiosk: kept in the store, laid over
/// the cache on every frame, and never in the way of a bump.
extension SyncEngine {
  /// Whether item marks stay on this kiosk: the server answered 404/405 to
  /// one, or marks kept here are still on screen (after a restart, the next
  /// mark asks the server again).
  public var itemMarksLocal: Bool {
    state.withLock { Self.itemMarksLocal($0) }
  }

  static func itemMarksLocal(_ s: State) -> Bool {
    s.status.disabledActions.contains(.markDone) || !s.localItemMarks.isEmpty
  }

  /// Marks line `itemIndex` of a ticket done (`done` true) or not done;
  /// `done` nil toggles it. Queued like any operation; when the server lacks
  /// item marks, kept on this kiosk at once.
  public func markItem(ticketId: String, itemIndex: Int, done: Bool? = nil) throws(ActionError)
    -> ActionResult
  {
    let current = state.withLock { s -> Result<(Ticket, Bool), ActionError> in
      guard let ticket = shownTicket(s, ticketId) else {
        return .failure(
          ActionError(kind: .unknownTicket, message: "no ticket \(ticketId) on this screen"))
      }
      return .success((ticket, s.status.disabledActions.contains(.markDone)))
    }
    let (ticket, local) = try current.get()
    let wanted =
      done ?? !(ticket.items.indices.contains(itemIndex) && ticket.items[itemIndex].isDone)
    let kind: TicketAction = wanted ? .markDone : .markUndone
    let item = ticket.items.indices.contains(itemIndex) ? ticket.items[itemIndex] : nil
    if local || (item != nil && (item!.id ?? "").isEmpty) {
      return try markLocally(ticketId: ticketId, itemIndex: itemIndex, done: wanted)
    }
    return try enqueue(kind, ticketId: ticketId) { s in
      switch kitchen(s).decideItem(ticketId: ticketId, itemIndex: itemIndex, done: wanted) {
      case .failure(let refusal): return .failure(refusal)
      case .success(nil): return .success(.unchanged(ticket.status))
      case .success(_?): return .success(nil)
      }
    } build: { op, s, now in
      op.itemId = item?.id
      if wanted { op.readyAt = s.status.clock.serverTime(at: now) }
    }
  }

  /// The ticket as the screen shows it: the local item marks and the
  /// outstanding operations applied.
  func shownTicket(_ s: State, _ ticketId: String) -> Ticket? {
    var k = kitchen(s)
    if let local = s.localItemMarks[ticketId], let cached = k.tickets[ticketId] {
      k.tickets[ticketId] = BoardComposition.overlay(local, on: cached)
    }
    return k.shownTicket(ticketId)
  }

  /// An item mark kept on this kiosk only (the server lacks them).
  func markLocally(ticketId: String, itemIndex: Int, done: Bool) throws(ActionError)
    -> ActionResult
  {
    let now = schedule.now()
    let result = state.withLock { s -> Result<(String, Timestamp?, TicketStatus)?, ActionError> in
      var k = kitchen(s)
      if let local = s.localItemMarks[ticketId], let cached = k.tickets[ticketId] {
        k.tickets[ticketId] = BoardComposition.overlay(local, on: cached)
      }
      switch k.decideItem(ticketId: ticketId, itemIndex: itemIndex, done: done) {
      case .failure(let refusal): return .failure(refusal)
      case .success(nil): return .success(nil)
      case .success(let item?):
        let key = BoardComposition.itemKey(item, index: itemIndex)
        let at = done ? s.status.clock.serverTime(at: now) : nil
        do {
          try store.setLocalItemMark(ticketId: ticketId, itemKey: key, doneAt: at)
        } catch {
          return .failure(
            ActionError(kind: .storage, message: "could not save the item mark: \(error)"))
        }
        if let at {
          s.localItemMarks[ticketId, default: [:]][key] = at
        } else {
          s.localItemMarks[ticketId]?[key] = nil
        }
        s.generation += 1
        return .success((key, at, k.shownStatus(of: ticketId) ?? .queued))
      }
    }
    switch result {
    case .failure(let error): throw error
    case .success(nil):
      return .unchanged(state.withLock { kitchen($0).shownStatus(of: ticketId) } ?? .queued)
    case .success(let (key, at, _)?):
      let what =
        "line \(itemIndex + 1) of ticket \(ticketId) marked \(at == nil ? "not done" : "done") on this screen only (the server lacks item marks)"
      logger.info("\(what) [\(key)]")
      changes.signal()
      return .local(what)
    }
  }

  /// Expo: serves the order (every ticket READY): each ticket becomes SERVED.
  public func serve(orderId: String) throws(ActionError) -> ActionResult {
    let target = state.withLock { kitchen($0).decideServe(orderId: orderId) }
    let (ticketId, _) = try target.get()
    return try enqueue(.serve, ticketId: ticketId) { s in
      switch kitchen(s).decideServe(orderId: orderId) {
      case .failure(let refusal): return .failure(refusal)
      case .success((_, .unchanged(let status))): return .success(.unchanged(status))
      case .success((let id, .enqueue)) where id == ticketId: return .success(nil)
      case .success:
        return .failure(ActionError(kind: .notAllowed, message: "the order changed: try again"))
      }
    } build: { op, _, _ in
      op.orderId = orderId
    }
  }

  /// Expo: fires course `course` of the order (its HELD tickets become QUEUED).
  public func fireCourse(orderId: String, course: Int) throws(ActionError) -> ActionResult {
    let target = state.withLock { kitchen($0).decideFire(orderId: orderId, course: course) }
    let (ticketId, _) = try target.get()
    return try enqueue(.fireCourse, ticketId: ticketId) { s in
      switch kitchen(s).decideFire(orderId: orderId, course: course) {
      case .failure(let refusal): return .failure(refusal)
      case .success((_, .unchanged(let status))): return .success(.unchanged(status))
      case .success: return .success(nil)
      }
    } build: { op, _, _ in
      op.orderId = orderId
      op.course = course
    }
  }

  /// Expo: rushes the ticket's order (or clears the rush).
  public func rush(ticketId: String, rush: Bool = true) throws(ActionError) -> ActionResult {
    try enqueue(rush ? .rush : .unrush, ticketId: ticketId) { s in
      switch kitchen(s).decideRush(ticketId: ticketId, rush: rush) {
      case .failure(let refusal): return .failure(refusal)
      case .success(.unchanged(let status)): return .success(.unchanged(status))
      case .success: return .success(nil)
      }
    } build: { op, s, _ in
      op.orderId = s.tickets[ticketId]?.orderId
    }
  }

  /// Expo: sends a station's ticket back (the ordinary recall, of any station).
  public func sendBack(ticketId: String) throws(ActionError) -> ActionResult {
    try perform(.recall, ticketId: ticketId)
  }

  /// An item mark the server answered 404/405 to: kept on this kiosk (the
  /// operation is done, the line stays marked here), and from now on item
  /// marks go straight to the store. Call with the lock held.
  func keepLocally(_ op: QueuedOperation, _ s: inout State) -> QueuedOperation {
    var done = op
    done.state = .done
    done.lastError = nil
    done.lastResult = nil
    guard let ticket = s.tickets[op.ticketId] else { return done }
    let index = ticket.items.firstIndex { $0.id == op.itemId }
    guard let index else { return done }
    let key = BoardComposition.itemKey(ticket.items[index], index: index)
    let at = op.kind == .markDone ? (op.readyAt ?? op.createdAt) : nil
    do {
      try store.setLocalItemMark(ticketId: op.ticketId, itemKey: key, doneAt: at)
      if let at {
        s.localItemMarks[op.ticketId, default: [:]][key] = at
      } else {
        s.localItemMarks[op.ticketId]?[key] = nil
      }
    } catch {
      logger.error("could not keep the item mark of ticket \(op.ticketId) here: \(error)")
    }
    return done
  }

  /// The server lacks item marks: note it (the banner says so).
  func noteItemMarksLocal(_ s: inout State) {
    guard !s.status.disabledActions.contains(.markDone) else { return }
    s.status.disabledActions.formUnion([.markDone, .markUndone])
    logger.warning(
      "the server does not support item marks (HTTP 404/405): they stay on this kiosk")
  }
}
