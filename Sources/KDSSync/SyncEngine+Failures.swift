import KDSCore
import KDSStore
import Logging

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// Failed operations in the kitchen's words, and the ways out: retry a
/// card's failures, or dismiss them (the server's copy stands).
extension SyncEngine {
  /// Why an operation failed, in words for a cook ("voided at 12:31",
  /// "already ready on another screen", "server refused: …"), from the
  /// contract's error answers (docs/sync-contract.md, "Kiosk: answers").
  /// `utcOffsetSeconds` turns server times into the kitchen's local time.
  public static func kitchenReason(
    _ outcome: OperationOutcome, kind: TicketAction, status: Int?, body: Data?,
    utcOffsetSeconds: (Timestamp) -> Int
  ) -> String? {
    func local(_ t: Timestamp) -> String {
      kitchenClock(t, utcOffsetSeconds: utcOffsetSeconds(t))
    }
    switch outcome {
    case .rejected(let reason, let serverStatus, let loud):
      let error = body.flatMap(ServerErrorBody.decode)
      let message = error?.message.map(Self.shortMessage)
      if loud { return "server refused: duplicate request (kiosk fault, see the log)" }
      switch (status, serverStatus) {
      case (409?, .cancelled?):
        if let at = error?.currentState?.updatedAt.flatMap({ Timestamp(iso8601: $0) }) {
          return "voided at \(local(at))"
        }
        return "voided"
      case (409?, .ready?):
        return kind == .recall
          ? "server refused: not ready any more" : "already ready on another screen"
      case (409?, .inProgress?):
        return kind == .start ? "already started on another screen" : "already back in progress"
      case (409?, .queued?):
        return "server refused: ticket is back in the queue"
      case (409?, _):
        return "server refused: " + (message ?? "state conflict")
      case (404?, _):
        return "no longer on the server"
      case (410?, _):
        return "voided (gone from the server)"
      case (422?, _):
        return "server refused: " + (message ?? "invalid request")
      case (let code?, _):
        return "server refused (HTTP \(code))" + (message.map { ": \($0)" } ?? "")
      default:
        return "server refused: " + Self.shortMessage(reason)
      }
    case .extensionMissing(let kind):
      return "this server cannot \(kind.rawValue) tickets"
    case .serverTrouble(let status, _):
      return "server kept failing (HTTP \(status))"
    default:
      return nil
    }
  }

  /// A server message, made short enough for a card's line.
  static func shortMessage(_ s: String) -> String {
    let t = s.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    return t.count > 80 ? String(t.prefix(79)) + "\u{2026}" : t
  }

  /// The failed operations, oldest first.
  public func failedOperations(ticketId: String? = nil) -> [QueuedOperation] {
    state.withLock { s in
      s.ops.values.filter { $0.state == .failed && (ticketId == nil || $0.ticketId == ticketId) }
        .sorted { $0.seq < $1.seq }
    }
  }

  /// Dismisses one failed operation: the cook saw the reason and lets the
  /// server's copy stand. It is removed from the queue durably (and from the
  /// recall stack) and logged.
  @discardableResult
  public func dismissFailed(operationId: String) throws(ActionError) -> QueuedOperation {
    let op = state.withLock { s in s.ops[operationId] }
    guard let op, op.state == .failed else {
      throw ActionError(kind: .notAllowed, message: "no failed operation \(operationId)")
    }
    try dismiss([op])
    return op
  }

  /// Dismisses every failed operation of a ticket (a hold on its failure
  /// line, `kdsctl dismiss TICKET`). Returns how many.
  @discardableResult
  public func dismissFailed(ticketId: String) throws(ActionError) -> Int {
    let ops = failedOperations(ticketId: ticketId)
    guard !ops.isEmpty else {
      throw ActionError(kind: .notAllowed, message: "no failed operation on ticket \(ticketId)")
    }
    try dismiss(ops)
    return ops.count
  }

  func dismiss(_ ops: [QueuedOperation]) throws(ActionError) {
    do {
      try store.deleteFailedOperations(ids: ops.map(\.id))
    } catch {
      throw ActionError(kind: .storage, message: "could not dismiss: \(error)")
    }
    state.withLock { s in
      for op in ops where s.ops[op.id]?.state == .failed { s.ops[op.id] = nil }
      s.generation += 1
    }
    for op in ops {
      logger.notice(
        "failed operation dismissed: \(op.kind.rawValue) \(op.id) for ticket \(op.ticketId) (\(op.reason ?? op.lastError ?? "failed"))"
      )
    }
    changes.signal()
  }

  // MARK: the reconnect summary

  /// An operation's answer during a replay after a reconnect.
  func noteReplayed(_ op: QueuedOperation, _ updated: QueuedOperation) {
    state.withLock { s in
      guard s.replay != nil || s.status.connection != .connected else { return }
      if s.replay == nil { s.replay = ReconnectSummary() }
      switch updated.state {
      case .done: s.replay!.sent[op.kind, default: 0] += 1
      case .failed:
        s.replay!.refused.append(
          ReconnectSummary.Refusal(
            ticketId: op.ticketId, kind: op.kind,
            reason: updated.reason ?? updated.lastError ?? "failed"))
      default: break
      }
    }
  }

  /// Ends the replay once nothing is outstanding: the summary is published
  /// (if anything was replayed).
  func finishReplayIfDone(now: Timestamp) {
    let summary = state.withLock { s -> ReconnectSummary? in
      guard var replay = s.replay, !s.ops.values.contains(where: \.isOutstanding) else {
        return nil
      }
      s.replay = nil
      guard !replay.isEmpty else { return nil }
      replay.serial = (s.status.lastReconnect?.serial ?? 0) + 1
      replay.finishedAt = now
      s.status.lastReconnect = replay
      s.generation += 1
      return replay
    }
    if let summary {
      let sent = summary.sent.values.reduce(0, +)
      logger.notice(
        "reconnect replay done: \(sent) sent, \(summary.refused.count) refused, \(summary.newTickets) new tickets"
      )
    }
  }
}
