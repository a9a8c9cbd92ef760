import KDSCore
import KDSStore
import Logging
import Synchronization

/// Chef actions: what may happen is `KitchenBoardState`'s to decide; the
/// engine checks and queues under one hold of its lock, so two actions at once
/// (a double tap, a bump bar and kdsctl) cannot both pass the same check.
extension SyncEngine {
  /// The kitchen's view of the state, for the rules.
  func kitchen(_ s: State) -> KitchenBoardState {
    KitchenBoardState(
      station: config.station, tickets: s.tickets, operations: Array(s.ops.values),
      disabledActions: s.status.disabledActions, maxOutstanding: policy.maxOutstanding)
  }

  /// Queues `kind` on a ticket, durably, before returning: the caller may show it done.
  /// `allergenCheckedAt`: the cook acknowledged the allergy band then (a
  /// bump's extension field; see docs/sync-contract.md, "Allergen check").
  public func perform(
    _ kind: TicketAction, ticketId: String, allergenCheckedAt: Timestamp? = nil
  ) throws(ActionError) -> ActionResult {
    try enqueue(kind, ticketId: ticketId) { s in
      switch kitchen(s).decide(kind, ticketId: ticketId) {
      case .failure(let refusal): return .failure(refusal)
      case .success(.unchanged(let status)): return .success(.unchanged(status))
      case .success(.enqueue): return .success(nil)
      }
    } build: { op, s, now in
      if kind == .bump {
        op.readyAt = s.status.clock.serverTime(at: now)
        op.allergenCheckedAt = allergenCheckedAt
      }
    }
  }

  /// Checks (`decide`: nil to queue, or the answer without queueing) and
  /// queues one operation under one hold of the lock, durably; logs, wakes
  /// the sync and announces the change.
  func enqueue(
    _ kind: TicketAction, ticketId: String,
    decide: (State) -> Result<ActionResult?, ActionError>,
    build: (inout QueuedOperation, State, Timestamp) -> Void
  ) throws(ActionError) -> ActionResult {
    let now = schedule.now()
    let result = state.withLock { s -> Result<ActionResult, ActionError> in
      switch decide(s) {
      case .failure(let refusal): return .failure(refusal)
      case .success(let answer?): return .success(answer)
      case .success(nil): break
      }
      var op = QueuedOperation(
        id: s.ulid.next(now: now), kind: kind, ticketId: ticketId, createdAt: now,
        queuedAtServer: s.status.clock.measuredTime(at: now))
      build(&op, s, now)
      do {
        // The durable write happens under the lock: the check above still holds.
        let stored = try store.enqueue(op, maxOutstanding: policy.maxOutstanding)
        s.ops[stored.id] = stored
        s.generation += 1
        return .success(.queued(stored))
      } catch let error as StoreError where error.isQueueFull {
        s.generation += 1
        return .failure(ActionError(kind: .queueFull, message: QueuePolicy.queueFullMessage))
      } catch {
        return .failure(
          ActionError(kind: .storage, message: "could not save the action: \(error)"))
      }
    }
    switch result {
    case .success(let done):
      if case .queued = done {
        logger.info("\(done.message)")
        wake.signal()
        changes.signal()
      }
    case .failure(let error) where error.kind == .queueFull:
      logger.error("\(kind.rawValue) of ticket \(ticketId) refused: \(error.message)")
      changes.signal()
    case .failure(let error) where error.kind == .storage:
      logger.error("could not queue \(kind.rawValue) of ticket \(ticketId): \(error.message)")
    case .failure:
      break
    }
    return try result.get()
  }

  /// Recalls the ticket bumped last on this kiosk that is still ready.
  public func recallLast() throws(ActionError) -> ActionResult {
    let candidates: [String]
    do {
      candidates = try store.recentlyBumped()
    } catch {
      throw ActionError(kind: .storage, message: "could not read the recall stack: \(error)")
    }
    let target = state.withLock { kitchen($0).recallTarget(recentlyBumped: candidates) }
    // `perform` checks again under the lock: a ticket recalled meanwhile is refused.
    return try perform(.recall, ticketId: target.get())
  }

  /// Recalls a ticket of the recall list (`kdsctl recall TICKET`, the
  /// recall list's bump): it must be READY on this screen.
  public func recall(ticketId: String) throws(ActionError) -> ActionResult {
    try perform(.recall, ticketId: ticketId)
  }

  /// The recall list (issue 14): the last 50 tickets bumped on this screen, newest first.
  public func recallList() throws(ActionError) -> [RecallEntry] {
    do {
      return try store.recallList()
    } catch {
      throw ActionError(kind: .storage, message: "could not read the recall list: \(error)")
    }
  }

  /// Puts a failed operation back in the queue (a tap on "Sync failed").
  /// One older than 22 hours gets a new key: the server is about to forget the old one.
  public func retry(operationId: String) throws(ActionError) -> QueuedOperation {
    let now = schedule.now()
    let result = state.withLock { s -> Result<QueuedOperation, ActionError> in
      guard var op = s.ops[operationId], op.state == .failed else {
        return .failure(
          ActionError(kind: .notAllowed, message: "no failed operation \(operationId)"))
      }
      if case .failure(let refusal) = kitchen(s).mayRetry() { return .failure(refusal) }
      let serverNow = s.status.clock.measuredTime(at: now)
      if policy.age(of: op, now: now, serverNow: serverNow) >= 22 * 3_600_000 {
        op.id = s.ulid.next(now: now)
        op.createdAt = now
        op.queuedAtServer = serverNow
        s.ops[operationId] = nil
      }
      op.state = .pending
      op.attempts = 0
      op.uncountedAttempts = 0
      op.lastError = nil
      op.lastResult = nil
      op.serverStatus = nil
      op.reason = nil
      op.nextAttemptAt = now
      s.ops[op.id] = op
      s.status.disabledActions.remove(op.kind)
      s.generation += 1
      return .success(op)
    }
    let op = try result.get()
    persist([op], finishedAt: now)
    logger.info("retry of \(op.kind.rawValue) \(op.id) for ticket \(op.ticketId)")
    wake.signal()
    changes.signal()
    return op
  }

  /// Retries every failed operation (of one ticket, if given). Returns how many.
  @discardableResult
  public func retryFailed(ticketId: String? = nil) -> Int {
    let ids = state.withLock { s in
      s.ops.values.filter { $0.state == .failed && (ticketId == nil || $0.ticketId == ticketId) }
        .sorted { $0.seq < $1.seq }.map(\.id)
    }
    var n = 0
    for id in ids where (try? retry(operationId: id)) != nil { n += 1 }
    return n
  }
}
