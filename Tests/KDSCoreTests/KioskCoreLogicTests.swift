import Foundation
import KDSCore
import Testing

private func ts(_ s: Int64) -> Timestamp { Timestamp(seconds: 1_764_000_000 + s) }

private func op(
  _ id: String, seq: Int64, ticket: String, kind: TicketAction = .bump,
  state: OperationState = .pending,
  next: Int64 = 0
) -> QueuedOperation {
  QueuedOperation(
    id: id, seq: seq, kind: kind, ticketId: ticket, createdAt: ts(0), nextAttemptAt: ts(next),
    state: state)
}

private func ticket(
  _ id: String, _ status: TicketStatus, sent: Int64 = 0, station: String = "grill"
)
  -> Ticket
{
  Ticket(
    id: id, orderId: "o-\(id)", station: station, status: status, sentAt: ts(sent),
    updatedAt: ts(sent), items: [TicketItem(name: "Burger", quantity: 1)])
}

@Suite struct TicketStateMachineTests {
  @Test func contractTransitions() {
    #expect(
      TicketStateMachine.transition(from: .queued, action: .start) == .change(to: .inProgress))
    #expect(TicketStateMachine.transition(from: .inProgress, action: .bump) == .change(to: .ready))
    #expect(TicketStateMachine.transition(from: .queued, action: .bump) == .change(to: .ready))
    #expect(
      TicketStateMachine.transition(from: .ready, action: .recall) == .change(to: .inProgress))
    #expect(TicketStateMachine.transition(from: .ready, action: .bump) == .noChange)
    #expect(TicketStateMachine.transition(from: .inProgress, action: .start) == .noChange)
  }

  @Test func cancelledAndUnknownAcceptNothing() {
    for action in TicketAction.allCases {
      #expect(TicketStateMachine.transition(from: .cancelled, action: action) == .invalid)
      #expect(TicketStateMachine.transition(from: .unknown("ON_HOLD"), action: action) == .invalid)
    }
    #expect(TicketStateMachine.transition(from: .queued, action: .recall) == .invalid)
    #expect(TicketStateMachine.transition(from: .ready, action: .start) == .invalid)
  }
}

@Suite struct ULIDTests {
  @Test func formatAndTimestamp() throws {
    var g = ULIDGenerator()
    let id = g.next(now: Timestamp(millis: 1_764_000_000_123))
    #expect(id.count == 26)
    #expect(id.allSatisfy { "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains($0) })
    #expect(ULIDGenerator.timestamp(of: id) == Timestamp(millis: 1_764_000_000_123))
    #expect(ULIDGenerator.timestamp(of: "not-a-ulid") == nil)
  }

  @Test func monotonicWithinAMillisecondAndWhenTheClockStepsBack() {
    var g = ULIDGenerator()
    var last = ""
    var ids = Set<String>()
    for i in 0..<10_000 {
      // Same millisecond for long runs, and a step back in the middle.
      let millis: Int64 = i < 5_000 ? 1_000_000 : 999_000
      let id = g.next(now: Timestamp(millis: millis))
      #expect(id > last)
      last = id
      ids.insert(id)
    }
    #expect(ids.count == 10_000)
  }

  @Test func newMillisecondSortsAfter() {
    var g = ULIDGenerator()
    let a = g.next(now: Timestamp(millis: 5))
    let b = g.next(now: Timestamp(millis: 6))
    #expect(a < b)
    #expect(ULIDGenerator.timestamp(of: b)?.millis == 6)
  }
}

@Suite struct QueuePolicyTests {
  let policy = QueuePolicy.standard

  @Test func backoffSchedule() {
    #expect(
      (1...7).map { policy.delaySeconds(beforeAttempt: $0) } == [0, 5, 15, 45, 120, 120, 120])
  }

  func response(_ status: Int, _ body: String = "", retryAfter: Int64? = nil) -> HTTPAnswer {
    .response(status: status, body: Data(body.utf8), retryAfter: retryAfter)
  }

  @Test func statusTable() {
    #expect(policy.classify(response(200, "{}"), kind: .bump) == .succeeded(nil))
    #expect(policy.classify(response(204), kind: .bump) == .succeeded(nil))
    // Not the contract's answer (a portal's page, a body cut short, a
    // redirect): retried as server trouble, never taken as done.
    for (status, body) in [
      (200, "<html>Welcome to the hotel Wi-Fi</html>"), (200, #"{"id":"T","sta"#), (201, ""),
      (200, "[]"), (301, ""), (302, "<html>moved</html>"), (307, ""),
    ] {
      #expect(
        policy.classify(response(status, body), kind: .bump)
          == .serverTrouble(status: status, retryAfter: nil))
    }
    #expect(
      policy.classify(response(409, #"{"conflictType":"IDEMPOTENCY_DUPLICATE"}"#), kind: .bump)
        == .succeeded(nil))
    let conflict = policy.classify(
      response(
        409,
        #"{"statusCode":409,"message":"Cannot recall ticket in status QUEUED","conflictType":"INVALID_STATE_TRANSITION","currentState":{"id":"T","status":"QUEUED","updatedAt":"2025-11-21T14:35:00Z"}}"#
      ), kind: .recall)
    guard case .rejected(_, let server, let loud) = conflict else {
      Issue.record("expected a rejection, got \(conflict)")
      return
    }
    #expect(server == .queued)
    #expect(!loud)
    guard
      case .rejected(_, _, true) = policy.classify(
        response(409, #"{"conflictType":"IDEMPOTENCY_FINGERPRINT_MISMATCH"}"#), kind: .bump)
    else {
      Issue.record("fingerprint mismatch must fail loudly")
      return
    }
    guard case .rejected = policy.classify(response(422, "{}"), kind: .bump) else {
      Issue.record("422 must fail")
      return
    }
    #expect(policy.classify(response(401), kind: .bump) == .unauthorised(status: 401))
    #expect(policy.classify(response(403), kind: .start) == .unauthorised(status: 403))
    #expect(policy.classify(response(404), kind: .start) == .extensionMissing(.start))
    #expect(policy.classify(response(405), kind: .recall) == .extensionMissing(.recall))
    guard case .rejected = policy.classify(response(404), kind: .bump) else {
      Issue.record("404 on mark-ready is not a missing extension")
      return
    }
    #expect(
      policy.classify(response(429, retryAfter: 7), kind: .bump) == .rateLimited(retryAfter: 7))
    for s in [500, 502, 503, 504] {
      #expect(
        policy.classify(response(s), kind: .bump) == .serverTrouble(status: s, retryAfter: nil))
    }
    #expect(
      policy.classify(.noAnswer(reason: "refused"), kind: .bump) == .noAnswer(reason: "refused"))
  }

  @Test func succeededCarriesTheTicket() throws {
    let body = try String(
      decoding: JSONEncoder().encode(ticket("T1", .ready)), as: UTF8.self)
    guard case .succeeded(let t) = policy.classify(response(200, body), kind: .bump) else {
      Issue.record("expected success")
      return
    }
    #expect(t?.id == "T1")
    #expect(t?.status == .ready)
  }

  @Test func tenServerErrorsFailTheOperationNoAnswersNever() {
    var o = op("A", seq: 1, ticket: "T")
    var now = ts(0)
    for i in 1...9 {
      o = policy.record(.serverTrouble(status: 503, retryAfter: nil), on: o, now: now)
      #expect(o.state == .pending)
      #expect(o.attempts == i)
      #expect(o.nextAttemptAt == now.adding(seconds: policy.delaySeconds(beforeAttempt: i + 1)))
      now = o.nextAttemptAt
    }
    o = policy.record(.serverTrouble(status: 500, retryAfter: nil), on: o, now: now)
    #expect(o.state == .failed)
    #expect(o.attempts == 10)

    var p = op("B", seq: 2, ticket: "T")
    for _ in 0..<200 {
      p = policy.record(.noAnswer(reason: "timeout"), on: p, now: now)
      p = policy.record(.unauthorised(status: 401), on: p, now: now)
      p = policy.record(.rateLimited(retryAfter: 1), on: p, now: now)
    }
    #expect(p.state == .pending)
    #expect(p.attempts == 0)
    #expect(p.uncountedAttempts == 600)
  }

  @Test func retryAfterIsHonoured() {
    let o = policy.record(
      .rateLimited(retryAfter: 300), on: op("A", seq: 1, ticket: "T"), now: ts(0))
    #expect(o.nextAttemptAt == ts(300))
    let p = policy.record(
      .serverTrouble(status: 503, retryAfter: 90), on: op("B", seq: 1, ticket: "T"), now: ts(0))
    #expect(p.nextAttemptAt == ts(90))
  }

  @Test func givesUpAfter23Hours() {
    let o = op("A", seq: 1, ticket: "T")
    #expect(!policy.hasExpired(o, now: ts(23 * 3600 - 1)))
    #expect(policy.hasExpired(o, now: ts(23 * 3600)))
    #expect(policy.expire(o).state == .failed)
  }

  @Test func dispatchAtMostFiveNeverTwoPerTicketFIFO() {
    var ops: [QueuedOperation] = []
    for i in 0..<8 { ops.append(op("a\(i)", seq: Int64(i), ticket: "T\(i)")) }
    ops.append(op("b0", seq: 20, ticket: "T0", kind: .recall))
    var chosen = policy.selectForDispatch(ops, now: ts(0))
    #expect(chosen.map(\.id) == ["a0", "a1", "a2", "a3", "a4"])
    // a0 in flight: T0's recall must wait for it.
    ops[0].state = .inFlight
    ops[1].state = .done
    chosen = policy.selectForDispatch(ops, now: ts(0))
    #expect(!chosen.contains { $0.ticketId == "T0" })
    #expect(chosen.count == 4)
    // a later op never overtakes an earlier one of its ticket that is not yet due.
    let waiting = [
      op("x", seq: 1, ticket: "T", next: 100), op("y", seq: 2, ticket: "T", kind: .recall),
    ]
    #expect(policy.selectForDispatch(waiting, now: ts(0)).isEmpty)
    #expect(policy.selectForDispatch(waiting, now: ts(100)).map(\.id) == ["x"])
  }

  @Test func nextDueIgnoresOperationsWaitingBehindTheirTicketsHead() {
    let ops = [
      op("x", seq: 1, ticket: "T", next: 100),
      op("y", seq: 2, ticket: "T", kind: .recall, next: 0),
      op("z", seq: 3, ticket: "U", state: .failed, next: 0),
    ]
    #expect(policy.nextDue(ops) == ts(100))
    #expect(policy.nextDue([op("w", seq: 1, ticket: "V", next: 7)] + ops) == ts(7))
    #expect(policy.nextDue([]) == nil)
  }

  @Test func retriedFailedOperationWaitsForItsTicketsInFlightOne() {
    let ops = [
      op("x", seq: 1, ticket: "T", state: .pending),
      op("y", seq: 2, ticket: "T", kind: .recall, state: .inFlight),
    ]
    #expect(policy.selectForDispatch(ops, now: ts(0)).isEmpty)
  }

  @Test func requestShape() {
    var o = op("01ABC", seq: 1, ticket: "T/1")
    o.readyAt = Timestamp(millis: 1_764_000_000_000)
    #expect(o.path == "/kds/tickets/T%2F1/mark-ready")
    #expect(o.body == #"{"readyAt":"2025-11-24T16:00:00.000Z"}"#)
    #expect(QueuePolicy.queueFullMessage == "Too many offline operations. Please connect to sync.")
  }
}

@Suite struct BoardCompositionTests {
  @Test func pendingBumpHidesTicketFailedOneShowsItAgain() {
    let cache = [
      ticket("A", .queued, sent: 1), ticket("B", .inProgress, sent: 0), ticket("C", .ready),
    ]
    let ops = [
      op("1", seq: 1, ticket: "A"),
      op("2", seq: 2, ticket: "C", kind: .recall),
    ]
    let r = BoardComposition.compose(cache: cache, operations: ops)
    #expect(r.tickets.map(\.id) == ["B", "C"])
    #expect(r.tickets.last?.status == .inProgress)
    #expect(r.marks["A"] == .notSynced)
    #expect(r.marks["C"] == .notSynced)
    var failed = ops
    failed[0].state = .failed
    failed[0].lastError = "HTTP 422"
    let f = BoardComposition.compose(cache: cache, operations: failed)
    #expect(f.tickets.map(\.id) == ["B", "C", "A"])
    #expect(f.marks["A"] == .syncFailed(reason: "HTTP 422"))
  }

  @Test func unknownAndCancelledAreNotShown() {
    let cache = [
      ticket("A", .unknown("ON_HOLD")), ticket("B", .cancelled), ticket("C", .queued),
      ticket("D", .queued, station: "fry"),
    ]
    let r = BoardComposition.compose(cache: cache, operations: [], station: "grill")
    #expect(r.tickets.map(\.id) == ["C"])
  }
}

@Suite struct ServerClockTests {
  @Test func httpDates() {
    #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT")?.iso8601 == "1994-11-06T08:49:37.000Z")
    #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
    #expect(HTTPDate.retryAfterSeconds("120", serverNow: nil) == 120)
    let now = HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT")
    #expect(HTTPDate.retryAfterSeconds("Sun, 06 Nov 1994 08:50:07 GMT", serverNow: now) == 30)
  }

  @Test func offsetFollowsTheServer() {
    var e = ServerClockEstimator()
    // The device is 90 s behind the server.
    let device = Timestamp(millis: 1_764_000_000_000)
    e.add(
      serverDate: Timestamp(seconds: 1_764_000_090), sent: device,
      received: device.adding(millis: 20))
    #expect(abs(e.offsetMillis - 90_000) <= 1000)
    // SLA from the server's clock: sent 6 minutes ago by the server's clock is orange.
    let t = Ticket(
      id: "A", orderId: "o", station: "grill", status: .queued,
      sentAt: Timestamp(seconds: 1_764_000_090 - 360), updatedAt: Timestamp(seconds: 0), items: [])
    #expect(t.localSLAState(now: e.serverTime(at: device), thresholds: .standard) == .orange)
    #expect(t.localSLAState(now: device, thresholds: .standard) == .green)
    #expect(
      t.localSLAState(
        now: e.serverTime(at: device), thresholds: SLAThresholds(orangeAfter: 60, redAfter: 120))
        == .red)
  }
}
