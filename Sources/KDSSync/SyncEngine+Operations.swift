import KDSCore
import KDSStore
import Logging

/// Answers to operations: the queue policy classifies each answer, the
/// engine logs it, stores what the server acknowledged and notes the
/// connection's troubles (401/403, missing extensions).
extension SyncEngine {
  // MARK: answers to operations

  func handleOperation(_ op: QueuedOperation, _ exchange: Exchange, now: Timestamp)
    -> QueuedOperation
  {
    let answer: HTTPAnswer
    switch exchange.result {
    case .failure(let failure):
      answer = .noAnswer(reason: failure.description)
    case .success(let response):
      sampleClock(response, exchange)
      answer = .response(
        status: response.status, body: response.body, retryAfter: response.retryAfterSeconds)
    }
    let outcome = policy.classify(answer, kind: op.kind)
    if case .extensionMissing = outcome, op.kind.isItemMark {
      // The server lacks item marks: this one, and the next, stay on this kiosk.
      let kept = state.withLock { s in
        noteItemMarksLocal(&s)
        let kept = keepLocally(op, &s)
        s.ops[op.id] = nil
        s.generation += 1
        return kept
      }
      logger.notice("item mark \(op.id) of ticket \(op.ticketId) kept on this kiosk")
      return kept
    }
    var updated = policy.record(outcome, on: op, now: now)
    if updated.state == .failed {
      let response = try? exchange.result.get()
      updated.reason = Self.kitchenReason(
        outcome, kind: op.kind, status: response?.status, body: response?.body,
        utcOffsetSeconds: config.utcOffsetSeconds)
    }
    let opName = "\(op.kind.rawValue) \(op.id) for ticket \(op.ticketId)"
    switch outcome {
    case .succeeded(let ticket):
      let replayed = (try? exchange.result.get().replayed) ?? false
      logger.info("operation done: \(opName)\(replayed ? " (replayed answer)" : "")")
      applyAcknowledged(op, ticket: ticket)
      state.withLock { $0.status.authProblem = nil }
    case .rejected(let reason, _, let loud):
      if loud {
        logger.critical("operation FAILED: \(opName): \(reason)")
      } else {
        logger.warning("operation failed: \(opName): \(reason)")
      }
    case .extensionMissing(let kind):
      logger.warning(
        "the server does not support \(kind.rawValue) (HTTP 404/405): action disabled; \(opName) failed"
      )
      state.withLock { _ = $0.status.disabledActions.insert(kind) }
    case .unauthorised(let status):
      noteAuthProblem(status: status)
    case .serverTrouble(let status, _):
      let tail = updated.state == .failed ? "; sync failed, waiting for a retry" : ""
      logger.warning(
        "operation attempt \(updated.attempts) failed: \(opName): HTTP \(status)\(tail)")
    case .rateLimited(let retryAfter):
      logger.notice("operation rate limited: \(opName), retry after \(retryAfter ?? 0) s")
    case .noAnswer(let reason):
      logger.debug("operation got no answer: \(opName): \(reason)")
    }
    state.withLock { s in
      if updated.state == .done {
        s.ops[op.id] = nil
      } else {
        s.ops[op.id] = updated
      }
      s.generation += 1
    }
    noteReplayed(op, updated)
    return updated
  }

  /// The server acknowledged `op`: store the ticket it answered with, or, if
  /// the answer held none, the ticket (for an order-level operation, every
  /// ticket of the order it affects) as the operation leaves it (keeping the
  /// cached `updatedAt`, so the server's next version replaces it).
  func applyAcknowledged(_ op: QueuedOperation, ticket: Ticket?) {
    let isExpo = config.station == BoardComposition.expoStation
    do {
      if let ticket, ticket.id == op.ticketId, isExpo || ticket.station == config.station,
        !op.kind.isOrderLevel
      {
        if try store.upsert(ticket) {
          state.withLock { $0.tickets[ticket.id] = ticket }
          return
        }
      }
      let affected = state.withLock { s in s.tickets.values.filter { op.affects($0) } }
      for cached in affected {
        let updated = op.applied(to: cached)
        guard updated != cached, try store.setLocal(updated) else { continue }
        state.withLock { $0.tickets[updated.id] = updated }
      }
    } catch {
      logger.error("could not store the acknowledged ticket \(op.ticketId): \(error)")
    }
  }

  func noteAuthProblem(status: Int) {
    let text =
      status == 401
      ? "Not authorised: the server refused this kiosk's token (HTTP 401)"
      : "Not authorised: this token may not use station \(config.station) (HTTP 403)"
    let first = state.withLock { s -> Bool in
      let first = s.status.authProblem == nil
      s.status.authProblem = text
      return first
    }
    if first { logger.error("\(text); operations wait, no attempt counted") }
  }

  func sampleClock(_ response: HTTPResponse, _ exchange: Exchange) {
    guard let date = response.date else { return }
    state.withLock {
      $0.status.clock.add(serverDate: date, sent: exchange.sent, received: exchange.received)
    }
  }
}
