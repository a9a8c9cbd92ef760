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
  /// Every "now" of the sync: the wall clock at start, then monotonic time.
  let schedule: ScheduleClock
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
    /// A reconnect's replay being counted (see `finishReplayIfDone`).
    var replay: ReconnectSummary?
    /// Item marks kept on this kiosk (the server lacks them): ticket id →
    /// line key → done at (issue 14).
    var localItemMarks: [String: [String: Timestamp]] = [:]
  }
  let state: Mutex<State>
  let stopping = Atomic<Bool>(false)
  /// The push stream beside the poll (SyncEngine+Push.swift).
  let push = PushStream()
  /// Signalled by the loop's thread when it ends (`stop()` waits for it).
  let loopEnded = LoopEnd()

  var policy: QueuePolicy { config.policy }

  public init(
    config: SyncConfig, store: KioskStore, client: CurlHTTPClient, clock: any KioskClock,
    logger: Logger = Logger(label: "kds.sync")
  ) throws {
    self.config = config
    self.store = store
    self.client = client
    self.clock = clock
    schedule = ScheduleClock(clock)
    self.logger = logger
    client.logSwitchesTo(logger)
    let schedule = self.schedule
    client.useClock { schedule.now() }
    var s = State()
    for t in try store.loadTickets() { s.tickets[t.id] = t }
    // The wall clock may have stepped while the kiosk was down: no operation
    // waits longer than the longest backoff or Retry-After from now.
    let latest = schedule.now().adding(seconds: HTTPDate.maxRetryAfterSeconds)
    for var op in try store.operations() {
      if op.nextAttemptAt > latest { op.nextAttemptAt = latest }
      s.ops[op.id] = op
    }
    s.cursor = try store.cursor()
    s.localItemMarks = try store.localItemMarks()
    if let offset = try store.setting("clock.offsetMillis").flatMap(Int64.init) {
      s.status.clock = ServerClockEstimator(offsetMillis: offset, samples: 1)
    }
    s.status.lastSyncAt = try store.setting("sync.lastSyncAt").flatMap(Int64.init).map(
      Timestamp.init(millis:))
    s.status.damagedRecords = try store.quarantineCount()
    state = Mutex(s)
    for record in store.takeQuarantined() { logger.error("\(record)") }
  }

  /// Logs the rows the store set aside since the last look (one line each)
  /// and counts them for the banner and `kdsctl status`.
  func noteQuarantined() {
    let records = store.takeQuarantined()
    guard !records.isEmpty else { return }
    for record in records { logger.error("\(record)") }
    state.withLock { s in
      s.status.damagedRecords += records.count
      s.generation += 1
    }
  }

  // MARK: reading

  public func view() -> SyncView {
    state.withLock { s in
      var v = SyncView(
        generation: s.generation, tickets: s.tickets,
        operations: s.ops.values.sorted { $0.seq < $1.seq }, status: s.status, policy: policy)
      v.localItemMarks = s.localItemMarks
      v.itemMarksLocal = Self.itemMarksLocal(s)
      return v
    }
  }

  /// The server's clock now.
  public func serverNow() -> Timestamp {
    let now = schedule.now()
    return state.withLock { $0.status.clock.serverTime(at: now) }
  }

  // MARK: the loop

  /// Runs `tick()` on a thread of its own until `stop()`.
  public func start() {
    stopping.store(false, ordering: .relaxed)
    client.allowRequests()
    startPush()
    loopEnded.begin()
    spawnThread { [self] in
      while !stopping.load(ordering: .relaxed) {
        let next = tick()
        let wait = next.millis(since: schedule.now())
        if wait > 0 { wake.wait(timeoutMillis: Int(min(wait, 60_000))) }
      }
      loopEnded.end()
    }
  }

  /// Stops the loop and returns once it has ended (at most `timeoutMillis`):
  /// requests in flight are cancelled at once, their operations retried
  /// with the same key on the next start; the push stream is closed.
  public func stop(timeoutMillis: Int = 5_000) {
    stopping.store(true, ordering: .relaxed)
    client.cancelRequests()
    stopPush()
    wake.signal()
    loopEnded.wait(timeoutMillis: timeoutMillis)
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
    /// A failback probe of server `server` (before the one in use): a cheap
    /// incremental poll whose answer is not applied, only checked.
    case probe(server: Int, since: Timestamp)
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
    noteQuarantined()
    let now = schedule.now()
    let before = state.withLock { ($0.generation, $0.status) }
    var changed: [QueuedOperation] = []
    let (dispatch, poll) = state.withLock { s -> ([QueuedOperation], Job?) in
      let serverNow = s.status.clock.measuredTime(at: now)
      for (id, op) in s.ops where op.state == .pending {
        if policy.hasExpired(op, now: now, serverNow: serverNow) {
          var expired = policy.expire(op)
          expired.reason = "not sent: no connection for 23 hours"
          s.ops[id] = expired
          changed.append(expired)
          logger.error(
            "operation \(op.id) (\(op.kind.rawValue) \(op.ticketId)) gave up after 23 hours")
        } else if op.kind.isItemMark && s.status.disabledActions.contains(op.kind) {
          // The server lacks item marks: this one stays here too.
          let kept = keepLocally(op, &s)
          s.ops[id] = nil
          changed.append(kept)
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
        s.nextPollAt = now.adding(millis: pollIntervalMillis())
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
    if case .poll(let since, _)? = poll, since == nil { beginFullPoll() }
    let pushDue = maintainPush(now: now)

    var jobs: [Job] = dispatch.map { .operation($0) }
    if let poll { jobs.append(poll) }
    let probeSince = state.withLock { s in s.cursor ?? s.status.clock.serverTime(at: now) }
    for server in client.failbackProbesDue() {
      jobs.append(.probe(server: server, since: probeSince))
    }
    let exchanges = run(jobs)

    let done = schedule.now()
    var finished: [QueuedOperation] = []
    for (job, exchange) in zip(jobs, exchanges) {
      switch job {
      case .operation(let op): finished.append(handleOperation(op, exchange, now: done))
      case .poll(let since, _): handlePoll(full: since == nil, exchange, now: done)
      case .probe(let server, _): handleProbe(server: server, exchange)
      }
    }
    // The push stream follows the server the polls use now.
    followActiveServer(now: done)
    persist(finished, finishedAt: done)
    finishReplayIfDone(now: done)
    pruneIfDue(now: done)

    let (after, next) = state.withLock { s -> ((UInt64, SyncStatus), Timestamp) in
      var next = s.nextPollAt
      if let due = policy.nextDue(Array(s.ops.values)), due < next { next = due }
      if let pushDue, pushDue < next { next = pushDue }
      if let probe = client.nextFailbackProbe, probe < next { next = probe }
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

  /// Runs the requests of one tick (at most `policy.maxInFlight` operations
  /// and one poll) all at once on the client's multi handle (no thread per
  /// request), and returns when the last has its answer, timed out or was
  /// cancelled by `stop()`. Connections stay open from one tick to the next.
  func run(_ jobs: [Job]) -> [Exchange] {
    let slots = ExchangeSlots(count: jobs.count)
    let group = DispatchGroup()
    for (i, job) in jobs.enumerated() {
      group.enter()
      let sent = schedule.now()
      let schedule = self.schedule
      let (method, path, body, headers) = request(for: job)
      var pinned: Int?
      if case .probe(let server, _) = job { pinned = server }
      client.submit(method: method, path: path, body: body, headers: headers, server: pinned) {
        result in
        slots.set(i, Exchange(result: result, sent: sent, received: schedule.now()))
        group.leave()
      }
    }
    group.wait()
    return slots.all()
  }

  /// The request of a job.
  func request(for job: Job) -> (String, String, Data?, [(String, String)]) {
    switch job {
    case .poll(let since, let report):
      var path = "/kds/queue?station=\(percentEncodePathSegment(config.station))"
      if let since { path += "&since=\(percentEncodePathSegment(since.iso8601))" }
      return ("GET", path, nil, report)
    case .operation(let op):
      return ("POST", op.path, Data(op.body.utf8), [("Idempotency-Key", op.id)])
    case .probe(_, let since):
      let path =
        "/kds/queue?station=\(percentEncodePathSegment(config.station))&since=\(percentEncodePathSegment(since.iso8601))"
      return ("GET", path, nil, [])
    }
  }

  /// A failback probe's answer: a 2xx JSON answer brings the kiosk back to
  /// that server (docs/deploy.md, "Going back to the first server").
  func handleProbe(server: Int, _ exchange: Exchange) {
    switch exchange.result {
    case .success(let r) where (200..<300).contains(r.status) && r.isJSON && !r.bodyTooLarge:
      client.probeAnswered(server)
    case .success(let r):
      client.probeFailed(server, reason: "HTTP \(r.status)")
    case .failure(let f):
      client.probeFailed(server, reason: f.description)
    }
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
