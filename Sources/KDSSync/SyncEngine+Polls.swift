import KDSCore
import KDSStore
import Logging

/// Answers to polls: tickets into the cache (only usable ones, in one
/// transaction), the cursor, the connection state and the loggers' episodes.
extension SyncEngine {
  // MARK: answers to polls

  func handlePoll(full: Bool, _ exchange: Exchange, now: Timestamp) {
    defer { if full { endFullPoll() } }
    let response: HTTPResponse
    switch exchange.result {
    case .failure(let failure):
      pollFailed(now: now, reason: "no answer (\(failure))")
      return
    case .success(let r):
      response = r
    }
    sampleClock(response, exchange)
    switch response.status {
    case 200..<300:
      break
    case 401, 403:
      noteAuthProblem(status: response.status)
      markReachable(now: now)
      return
    case 400, 404, 422:
      // The server is there and refuses this station's poll: a configuration
      // problem to show as such, not "offline" (docs/sync-contract.md, Kiosk: polling).
      let text =
        "The server refused this station's poll (HTTP \(response.status)): check station/server"
      logOnce("poll-refused-\(response.status)", text)
      state.withLock { $0.status.badAnswer = text }
      markReachable(now: now)
      return
    case 429:
      let wait = response.retryAfterSeconds ?? 0
      state.withLock { s in
        let until = now.adding(seconds: wait)
        if until > s.nextPollAt { s.nextPollAt = until }
      }
      pollFailed(now: now, reason: "rate limited (HTTP 429, retry after \(wait) s)")
      return
    default:
      if !response.isJSON {
        logOnce(
          "html-\(response.status)",
          "bad answer from the server: HTTP \(response.status) with \(response.contentType ?? "no type") body"
        )
      }
      pollFailed(now: now, reason: "HTTP \(response.status)")
      return
    }
    noteServerSettings(response)
    if response.bodyTooLarge {
      badAnswer(
        "too-large", "answer larger than \(client.config.maxResponseBytes) bytes refused", now: now)
      return
    }
    if !response.isJSON {
      badAnswer("not-json", "answer is \(response.contentType ?? "?"), not JSON", now: now)
      return
    }
    let batch: TicketBatch
    do {
      batch = try TicketBatch.decode(response.body)
    } catch {
      badAnswer("malformed", "not a JSON array of tickets: \(describe(error))", now: now)
      return
    }
    let (accepted, usable) = acceptable(batch.tickets)
    let complete = usable && batch.skipped.isEmpty
    for (index, reason) in batch.skipped {
      logOnce("bad-ticket", "bad ticket in the answer skipped (index \(index)): \(reason)")
    }
    // Beside a push stream, a full resync and the stream's tickets are
    // applied one after the other, never interleaved (see `PushStream.Gate`).
    let changes = push.gate.withLock { gate -> AppliedChanges? in
      let changes = applyTickets(accepted, full: full, complete: complete, now: now)
      if full, complete, !gate.pushedDuringFullPoll.isEmpty {
        _ = applyTickets(gate.pushedDuringFullPoll, full: false, complete: false, now: nil)
      }
      return changes
    }
    guard let changes else { return }
    let (wasConnected, serverTime) = state.withLock { s -> (Bool, Timestamp) in
      s.status.usablePolls += 1
      if full { s.lastFullSyncAt = now }
      // A wholly usable answer ends an episode of bad ones: log them again next time.
      if complete { s.loggedKinds.removeAll() }
      s.status.badAnswer = nil
      s.status.authProblem = nil
      s.status.lastSyncAt = s.status.clock.serverTime(at: now)
      return (s.status.connection == .connected, s.status.lastSyncAt!)
    }
    if !changes.changed.isEmpty || !changes.removed.isEmpty {
      logger.info(
        "sync\(full ? " (full)" : ""): \(changes.changed.count) tickets updated, \(changes.removed.count) removed"
      )
    }
    markReachable(now: now)
    if full || !wasConnected {
      let offset = state.withLock { $0.status.clock.offsetMillis }
      try? store.setSetting("clock.offsetMillis", String(offset))
      try? store.setSetting("sync.lastSyncAt", String(serverTime.millis))
    }
  }

  /// The tickets of an answer (a poll's or the push stream's) the kiosk can
  /// use: its station's, with a sane number of items. `complete` is false
  /// when any was set aside (logged once).
  func acceptable(_ tickets: [Ticket]) -> (accepted: [Ticket], complete: Bool) {
    var accepted: [Ticket] = []
    accepted.reserveCapacity(tickets.count)
    var complete = true
    for t in tickets {
      if t.station != config.station && config.station != BoardComposition.expoStation {
        logOnce("wrong-station", "ticket \(t.id) of station \(t.station) skipped")
        complete = false
      } else if t.items.count > config.maxItemsPerTicket {
        logOnce(
          "too-many-items",
          "ticket \(t.id) with \(t.items.count) items skipped (limit \(config.maxItemsPerTicket))")
        complete = false
      } else {
        if case .unknown(let value) = t.status { noteUnknownStatus(value, ticket: t.id) }
        accepted.append(t)
      }
    }
    return (accepted, complete)
  }

  /// Applies usable tickets to the store (newer `updatedAt` wins; a full and
  /// complete answer also removes what the server no longer holds) and to
  /// the engine's state, and moves the cursor. Nil if the store failed.
  func applyTickets(_ accepted: [Ticket], full: Bool, complete: Bool, now: Timestamp?)
    -> AppliedChanges?
  {
    let cursor = accepted.map(\.updatedAt).max()
    var changes = AppliedChanges()
    do {
      // An empty incremental answer (the idle case) writes nothing.
      if !accepted.isEmpty || (full && complete) {
        changes = try store.apply(
          tickets: accepted, cursor: cursor,
          fullResyncOf: full && complete ? config.station : nil,
          fullResyncAll: full && complete && config.station == BoardComposition.expoStation)
      }
    } catch {
      logger.error("could not store the sync answer: \(error)")
      return nil
    }
    state.withLock { s in
      let arrived = changes.changed.filter { s.tickets[$0.id] == nil && $0.status.isActive }.count
      if s.status.connection != .connected && s.status.usablePolls > 0
        && (s.replay != nil || s.ops.values.contains(where: \.isOutstanding))
      {
        // A reconnect with operations to replay: count what happens.
        if s.replay == nil { s.replay = ReconnectSummary() }
        s.replay!.newTickets += arrived
      }
      for t in changes.changed { s.tickets[t.id] = t }
      for id in changes.removed { s.tickets[id] = nil }
      if let cursor, cursor > (s.cursor ?? Timestamp(millis: Int64.min)) { s.cursor = cursor }
      if !changes.changed.isEmpty || !changes.removed.isEmpty { s.generation += 1 }
    }
    return changes
  }

  func badAnswer(_ kind: String, _ message: String, now: Timestamp) {
    logOnce(kind, "bad answer from the server: \(message); cache left as it was")
    state.withLock { $0.status.badAnswer = "Bad answer from the server: \(message)" }
    pollFailed(now: now, reason: message, quiet: true)
  }

  /// A status the kiosk does not know: the ticket is kept, not shown; the value is logged once.
  func noteUnknownStatus(_ value: String, ticket: String) {
    let first = state.withLock { $0.unknownStatuses.insert(value).inserted }
    if first {
      logger.warning(
        "unknown ticket status \(value) (ticket \(ticket)): kept in the cache, not shown")
    }
  }

  func logOnce(_ kind: String, _ message: String) {
    let first = state.withLock { $0.loggedKinds.insert(kind).inserted }
    if first { logger.error("\(message)") }
  }

  func pollFailed(now: Timestamp, reason: String, quiet: Bool = false) {
    let (old, new) = state.withLock { s -> (ConnectionState, ConnectionState) in
      let old = s.status.connection
      s.status.consecutiveFailures += 1
      let since = s.status.failingSince ?? now
      s.status.failingSince = since
      let offline =
        s.status.consecutiveFailures >= config.offlineAfterFailures
        || now.millis(since: since) > config.offlineAfterMillis
      s.status.connection = offline ? .offline : .reconnecting
      return (old, s.status.connection)
    }
    if old != new {
      logger.warning("connection: \(new.rawValue) (\(reason))")
    } else if !quiet {
      logger.debug("sync failed: \(reason)")
    }
  }

  /// The server answered: connected. After a run of failures, operations
  /// that waited for the network go at once, and the loggers may speak again.
  func markReachable(now: Timestamp) {
    let (old, released, reconnected) = state.withLock {
      s -> (ConnectionState, [QueuedOperation], Bool) in
      let old = s.status.connection
      let reconnected = s.status.consecutiveFailures > 0
      var released: [QueuedOperation] = []
      if s.status.consecutiveFailures > 0 || old != .connected {
        for (id, op) in s.ops
        where op.state == .pending && op.lastResult == .noAnswer && op.nextAttemptAt > now {
          var op = op
          op.nextAttemptAt = now
          s.ops[id] = op
          released.append(op)
        }
      }
      s.status.consecutiveFailures = 0
      s.status.failingSince = nil
      s.status.connection = .connected
      return (old, released, reconnected)
    }
    if reconnected { retryPushOnReconnect() }
    if old != .connected {
      logger.notice("connection: connected")
      if !released.isEmpty { wake.signal() }
    }
    persist(released, finishedAt: now)
  }

  /// A full poll is sent: tickets the stream pushes meanwhile are kept to
  /// apply again after its answer.
  func beginFullPoll() {
    push.gate.withLock { $0.fullPollsInFlight += 1 }
  }

  func endFullPoll() {
    push.gate.withLock { gate in
      gate.fullPollsInFlight = max(0, gate.fullPollsInFlight - 1)
      if gate.fullPollsInFlight == 0 { gate.pushedDuringFullPoll = [] }
    }
  }

  func pruneIfDue(now: Timestamp) {
    let due = state.withLock { s -> Bool in
      guard s.lastPruneAt == nil || now.millis(since: s.lastPruneAt!) >= 600_000 else {
        return false
      }
      s.lastPruneAt = now
      return true
    }
    guard due else { return }
    try? store.pruneDoneOperations(finishedBefore: now.adding(millis: -config.doneRetentionMillis))
  }
}
