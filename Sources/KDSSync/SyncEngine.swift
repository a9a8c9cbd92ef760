import Dispatch
import KDSCore
import KDSStore
import Logging
import Synchronization

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// The sync loop's settings.
public struct SyncConfig: Sendable {
  public var station: String
  /// Poll `GET /kds/queue` this often (seed 3.2: 5 s).
  public var syncIntervalMillis: Int64 = 5_000
  /// `since` = largest server `updatedAt` received minus this.
  public var overlapMillis: Int64 = 30_000
  /// A full resync (no `since`) this often, and after every reconnect.
  public var fullResyncEveryMillis: Int64 = 600_000
  /// Failing polls for longer than this, or `offlineAfterFailures` in a row: offline.
  public var offlineAfterMillis: Int64 = 30_000
  public var offlineAfterFailures = 3
  /// A ticket with more items than this is refused as unusable (logged, skipped).
  public var maxItemsPerTicket = 200
  public var policy = QueuePolicy.standard
  /// Done operations are kept this long (for `kdsctl queue`), then removed.
  public var doneRetentionMillis: Int64 = 3_600_000
  /// Sent as `X-KDS-Version` on every poll (the server's status page shows it).
  public var version = "unknown"
  /// Sent as `X-KDS-Display` on every poll, e.g. `drm 1920x1080`.
  public var displayDescription: String?

  public init(station: String) { self.station = station }
}

/// The connection as the banner shows it, and what the sync knows of the server.
public struct SyncStatus: Hashable, Sendable {
  public var connection: ConnectionState = .reconnecting
  /// Server time of the last successful poll.
  public var lastSyncAt: Timestamp?
  public var consecutiveFailures = 0
  /// Device time of the first failure of the current run of failures.
  public var failingSince: Timestamp?
  /// Set while the server answers 401 or 403.
  public var authProblem: String?
  /// Set while the server's answers are unusable (malformed, too large...).
  public var badAnswer: String?
  /// Extensions the server lacks (404/405 on start or recall).
  public var disabledActions: Set<TicketAction> = []
  public var clock = ServerClockEstimator()

  public init() {}
}

/// A consistent read of the sync's state, for the screen and the control socket.
public struct SyncView: Sendable {
  /// Changes whenever tickets, operations or the status change.
  public var generation: UInt64
  public var tickets: [String: Ticket]
  /// Operations not done (pending, in flight, failed), in queue order.
  public var operations: [QueuedOperation]
  public var status: SyncStatus
  public var policy: QueuePolicy

  public var outstandingCount: Int { operations.reduce(0) { $0 + ($1.isOutstanding ? 1 : 0) } }
  public var failedCount: Int { operations.reduce(0) { $0 + ($1.state == .failed ? 1 : 0) } }
  public var isQueueFull: Bool { outstandingCount >= policy.maxOutstanding }
}

/// Why a chef's action was refused.
public struct ActionError: Error, Hashable, Sendable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    case unknownTicket, notAllowed, unavailable, queueFull, storage
  }
  public var kind: Kind
  public var message: String
  public var description: String { message }
}

/// What an accepted action did.
public enum ActionResult: Sendable, Equatable {
  /// Durably queued: it is safe to show it as done.
  case queued(QueuedOperation)
  /// Allowed but nothing to do (bump of a ticket already ready).
  case unchanged(TicketStatus)
}

/// The kiosk's sync: polls the server, applies answers to the store, replays
/// the operation queue under the queue policy and keeps the connection state.
///
/// `tick()` does whatever is due at the clock's "now" and returns when it
/// next has work; `start()` runs it on its own thread, woken early by
/// `wake` (a chef acted). Every change is announced on `changes`. Chef
/// actions (`perform`, `recall`, `retry`) may be called from any thread.
public final class SyncEngine: Sendable {
  public let config: SyncConfig
  public let store: KioskStore
  public let client: CurlHTTPClient
  public let clock: any KioskClock
  let logger: Logger
  /// Signalled after every change visible on screen.
  public let changes = WakeSignal()
  /// Signalled to wake the sync thread early.
  public let wake = WakeSignal()

  struct State {
    var tickets: [String: Ticket] = [:]
    var ops: [String: QueuedOperation] = [:]
    var status = SyncStatus()
    var generation: UInt64 = 0
    var cursor: Timestamp?
    var nextPollAt = Timestamp(millis: 0)
    var lastFullSyncAt: Timestamp?
    var lastPruneAt: Timestamp?
    var loggedKinds: Set<String> = []
    var unknownStatuses: Set<String> = []
    var ulid = ULIDGenerator()
  }
  let state: Mutex<State>
  let stopping = Atomic<Bool>(false)

  var policy: QueuePolicy { config.policy }

  public init(
    config: SyncConfig, store: KioskStore, client: CurlHTTPClient, clock: any KioskClock,
    logger: Logger = Logger(label: "kds.sync")
  ) throws {
    self.config = config
    self.store = store
    self.client = client
    self.clock = clock
    self.logger = logger
    var s = State()
    for t in try store.loadTickets() { s.tickets[t.id] = t }
    for op in try store.operations() { s.ops[op.id] = op }
    s.cursor = try store.cursor()
    if let offset = try store.setting("clock.offsetMillis").flatMap(Int64.init) {
      s.status.clock = ServerClockEstimator(offsetMillis: offset, samples: 1)
    }
    s.status.lastSyncAt = try store.setting("sync.lastSyncAt").flatMap(Int64.init).map(
      Timestamp.init(millis:))
    state = Mutex(s)
  }

  // MARK: reading

  public func view() -> SyncView {
    state.withLock { s in
      SyncView(
        generation: s.generation, tickets: s.tickets,
        operations: s.ops.values.sorted { $0.seq < $1.seq }, status: s.status, policy: policy)
    }
  }

  /// The server's clock now.
  public func serverNow() -> Timestamp {
    let now = clock.now()
    return state.withLock { $0.status.clock.serverTime(at: now) }
  }

  // MARK: the loop

  /// Runs `tick()` on a thread of its own until `stop()`.
  public func start() {
    spawnThread { [self] in
      while !stopping.load(ordering: .relaxed) {
        let next = tick()
        let wait = next.millis(since: clock.now())
        if wait > 0 { wake.wait(timeoutMillis: Int(min(wait, 60_000))) }
      }
    }
  }

  /// Stops the loop after the current tick (requests in flight are abandoned;
  /// their operations are retried with the same key on the next start).
  public func stop() {
    stopping.store(true, ordering: .relaxed)
    wake.signal()
  }

  /// What the kiosk says of itself on each poll, in headers a server without
  /// the status-page extension ignores.
  func selfReport(_ s: State) -> [(String, String)] {
    var pending = 0
    var failed = 0
    for op in s.ops.values {
      if op.state == .failed { failed += 1 } else if op.isOutstanding { pending += 1 }
    }
    var headers = [
      ("X-KDS-Version", config.version),
      ("X-KDS-Connection", s.status.connection.rawValue),
      ("X-KDS-Pending-Ops", String(pending)),
      ("X-KDS-Failed-Ops", String(failed)),
    ]
    if let display = config.displayDescription { headers.append(("X-KDS-Display", display)) }
    return headers
  }

  enum Job {
    case poll(since: Timestamp?, report: [(String, String)])
    case operation(QueuedOperation)
  }

  struct Exchange {
    var result: Result<HTTPResponse, HTTPFailure>
    var sent: Timestamp
    var received: Timestamp
  }

  /// Does what is due now: expires and dispatches operations, polls if due,
  /// and applies the answers. Returns the device time of the next due work.
  @discardableResult
  public func tick() -> Timestamp {
    let now = clock.now()
    let before = state.withLock { ($0.generation, $0.status) }
    var changed: [QueuedOperation] = []
    let (dispatch, poll) = state.withLock { s -> ([QueuedOperation], Job?) in
      for (id, op) in s.ops where op.state == .pending {
        if policy.hasExpired(op, now: now) {
          let expired = policy.expire(op)
          s.ops[id] = expired
          changed.append(expired)
          logger.error(
            "operation \(op.id) (\(op.kind.rawValue) \(op.ticketId)) gave up after 23 hours")
        } else if s.status.disabledActions.contains(op.kind) {
          let failed = policy.record(.extensionMissing(op.kind), on: op, now: now)
          s.ops[id] = failed
          changed.append(failed)
        }
      }
      var chosen = policy.selectForDispatch(Array(s.ops.values), now: now)
      for i in chosen.indices {
        chosen[i].state = .inFlight
        s.ops[chosen[i].id] = chosen[i]
      }
      var poll: Job?
      if now >= s.nextPollAt {
        s.nextPollAt = now.adding(millis: config.syncIntervalMillis)
        let full =
          s.cursor == nil || s.lastFullSyncAt == nil || s.status.consecutiveFailures > 0
          || s.status.connection != .connected
          || now.millis(since: s.lastFullSyncAt!) >= config.fullResyncEveryMillis
        poll = .poll(
          since: full ? nil : s.cursor!.adding(millis: -config.overlapMillis),
          report: selfReport(s))
      }
      if !changed.isEmpty || !chosen.isEmpty { s.generation += 1 }
      return (chosen, poll)
    }
    persist(changed + dispatch, finishedAt: now)

    var jobs: [Job] = dispatch.map { .operation($0) }
    if let poll { jobs.append(poll) }
    let exchanges = run(jobs)

    let done = clock.now()
    var finished: [QueuedOperation] = []
    for (job, exchange) in zip(jobs, exchanges) {
      switch job {
      case .operation(let op): finished.append(handleOperation(op, exchange, now: done))
      case .poll(let since, _): handlePoll(full: since == nil, exchange, now: done)
      }
    }
    persist(finished, finishedAt: done)
    pruneIfDue(now: done)

    let (after, next) = state.withLock { s -> ((UInt64, SyncStatus), Timestamp) in
      var next = s.nextPollAt
      if let due = policy.nextDue(Array(s.ops.values)), due < next { next = due }
      return ((s.generation, s.status), next)
    }
    if after.0 != before.0 || after.1 != before.1 { changes.signal() }
    return next
  }

  func persist(_ ops: [QueuedOperation], finishedAt: Timestamp) {
    do {
      try store.update(ops, finishedAt: finishedAt)
    } catch {
      logger.error("could not save \(ops.count) operation states: \(error)")
    }
  }

  /// Runs the requests concurrently (at most 5 operations and one poll).
  func run(_ jobs: [Job]) -> [Exchange] {
    let slots = ExchangeSlots(count: jobs.count)
    DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
      let sent = clock.now()
      let result: Result<HTTPResponse, HTTPFailure>
      switch jobs[i] {
      case .poll(let since, let report):
        var path = "/kds/queue?station=\(percentEncodePathSegment(config.station))"
        if let since { path += "&since=\(percentEncodePathSegment(since.iso8601))" }
        result = client.send(method: "GET", path: path, headers: report)
      case .operation(let op):
        result = client.send(
          method: "POST", path: op.path, body: Data(op.body.utf8),
          headers: [("Idempotency-Key", op.id)])
      }
      slots.set(i, Exchange(result: result, sent: sent, received: clock.now()))
    }
    return slots.all()
  }

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
    let updated = policy.record(outcome, on: op, now: now)
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
    return updated
  }

  /// The server acknowledged `op`: store the ticket it answered with, or, if
  /// the answer held none, the status the operation leads to (keeping the
  /// cached `updatedAt`, so the server's next version replaces it).
  func applyAcknowledged(_ op: QueuedOperation, ticket: Ticket?) {
    do {
      if let ticket, ticket.id == op.ticketId, ticket.station == config.station {
        if try store.upsert(ticket) {
          state.withLock { $0.tickets[ticket.id] = ticket }
        }
        return
      }
      guard let cached = state.withLock({ $0.tickets[op.ticketId] }),
        let target = TicketStateMachine.apply(op.kind, to: cached.status), target != cached.status,
        let updated = try store.setLocalStatus(ticketId: op.ticketId, status: target)
      else { return }
      state.withLock { $0.tickets[updated.id] = updated }
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

  // MARK: answers to polls

  func handlePoll(full: Bool, _ exchange: Exchange, now: Timestamp) {
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
    var accepted: [Ticket] = []
    accepted.reserveCapacity(batch.tickets.count)
    var complete = batch.skipped.isEmpty
    for (index, reason) in batch.skipped {
      logOnce("bad-ticket", "bad ticket in the answer skipped (index \(index)): \(reason)")
    }
    for t in batch.tickets {
      if t.station != config.station {
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
    let cursor = accepted.map(\.updatedAt).max()
    var changes = AppliedChanges()
    do {
      // An empty incremental answer (the idle case) writes nothing.
      if !accepted.isEmpty || (full && complete) {
        changes = try store.apply(
          tickets: accepted, cursor: cursor, fullResyncOf: full && complete ? config.station : nil)
      }
    } catch {
      logger.error("could not store the sync answer: \(error)")
      return
    }
    let (wasConnected, serverTime) = state.withLock { s -> (Bool, Timestamp) in
      for t in changes.changed { s.tickets[t.id] = t }
      for id in changes.removed { s.tickets[id] = nil }
      if let cursor, cursor > (s.cursor ?? Timestamp(millis: Int64.min)) { s.cursor = cursor }
      if !changes.changed.isEmpty || !changes.removed.isEmpty { s.generation += 1 }
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
    let (old, released) = state.withLock { s -> (ConnectionState, [QueuedOperation]) in
      let old = s.status.connection
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
      return (old, released)
    }
    if old != .connected {
      logger.notice("connection: connected")
      if !released.isEmpty { wake.signal() }
    }
    persist(released, finishedAt: now)
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

  // MARK: chef actions

  /// Queues `kind` on a ticket, durably, before returning: the caller may show it done.
  public func perform(_ kind: TicketAction, ticketId: String) throws(ActionError) -> ActionResult {
    let now = clock.now()
    let (ticket, ops, disabled, serverNow) = state.withLock {
      s -> (Ticket?, [QueuedOperation], Bool, Timestamp) in
      (
        s.tickets[ticketId], s.ops.values.filter { $0.ticketId == ticketId },
        s.status.disabledActions.contains(kind), s.status.clock.serverTime(at: now)
      )
    }
    guard let ticket, ticket.station == config.station else {
      throw ActionError(kind: .unknownTicket, message: "no ticket \(ticketId) on this screen")
    }
    if disabled {
      throw ActionError(
        kind: .unavailable,
        message: "\(kind.rawValue) is not available: the server does not support it")
    }
    let status = BoardComposition.optimisticStatus(of: ticket, operations: ops)
    switch TicketStateMachine.transition(from: status, action: kind) {
    case .invalid:
      throw ActionError(
        kind: .notAllowed,
        message: "cannot \(kind.rawValue) ticket \(ticketId): it is \(status.wire)")
    case .noChange:
      return .unchanged(status)
    case .change:
      break
    }
    let id = state.withLock { $0.ulid.next(now: now) }
    var op = QueuedOperation(
      id: id, kind: kind, ticketId: ticketId, readyAt: kind == .bump ? serverNow : nil,
      createdAt: now)
    do {
      op = try store.enqueue(op, maxOutstanding: policy.maxOutstanding)
    } catch let error as StoreError where error.isQueueFull {
      logger.error(
        "\(kind.rawValue) of ticket \(ticketId) refused: \(QueuePolicy.queueFullMessage)")
      state.withLock { $0.generation += 1 }
      changes.signal()
      throw ActionError(kind: .queueFull, message: QueuePolicy.queueFullMessage)
    } catch {
      logger.error("could not queue \(kind.rawValue) of ticket \(ticketId): \(error)")
      throw ActionError(kind: .storage, message: "could not save the action: \(error)")
    }
    state.withLock { s in
      s.ops[op.id] = op
      s.generation += 1
    }
    logger.info("queued \(kind.rawValue) \(op.id) for ticket \(ticketId)")
    wake.signal()
    changes.signal()
    return .queued(op)
  }

  /// Recalls the ticket bumped last on this kiosk that is still ready.
  public func recallLast() throws(ActionError) -> ActionResult {
    if state.withLock({ $0.status.disabledActions.contains(.recall) }) {
      throw ActionError(
        kind: .unavailable, message: "recall is not available: the server does not support it")
    }
    let candidates: [String]
    do {
      candidates = try store.recentlyBumped()
    } catch {
      throw ActionError(kind: .storage, message: "could not read the recall stack: \(error)")
    }
    let view = view()
    for id in candidates {
      guard let t = view.tickets[id] else { continue }
      if BoardComposition.optimisticStatus(of: t, operations: view.operations) == .ready {
        return try perform(.recall, ticketId: id)
      }
    }
    throw ActionError(kind: .notAllowed, message: "nothing to recall")
  }

  /// Puts a failed operation back in the queue (a tap on "Sync failed").
  /// One older than 22 hours gets a new key: the server is about to forget the old one.
  public func retry(operationId: String) throws(ActionError) -> QueuedOperation {
    let now = clock.now()
    let result = state.withLock { s -> Result<QueuedOperation, ActionError> in
      guard var op = s.ops[operationId], op.state == .failed else {
        return .failure(
          ActionError(kind: .notAllowed, message: "no failed operation \(operationId)"))
      }
      let outstanding = s.ops.values.reduce(0) { $0 + ($1.isOutstanding ? 1 : 0) }
      guard outstanding < policy.maxOutstanding else {
        return .failure(ActionError(kind: .queueFull, message: QueuePolicy.queueFullMessage))
      }
      if now.millis(since: op.createdAt) >= 22 * 3_600_000 {
        op.id = s.ulid.next(now: now)
        op.createdAt = now
        s.ops[operationId] = nil
      }
      op.state = .pending
      op.attempts = 0
      op.uncountedAttempts = 0
      op.lastError = nil
      op.lastResult = nil
      op.serverStatus = nil
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

/// One slot per concurrent request.
final class ExchangeSlots: Sendable {
  let slots: Mutex<[Int: SyncEngine.Exchange]>
  let count: Int
  init(count: Int) {
    self.count = count
    slots = Mutex([:])
  }
  func set(_ i: Int, _ e: SyncEngine.Exchange) { slots.withLock { $0[i] = e } }
  func all() -> [SyncEngine.Exchange] { slots.withLock { s in (0..<count).map { s[$0]! } } }
}
