import Foundation
import KDSCore
import KDSStore
import KDSSync
import KDSTestSupport
import Testing

/// Issue 12, point 3: the wall clock steps ±2 hours (and a day) under the
/// kiosk; polls, the SLA timers and the queue carry on, on monotonic time.
@Suite(.serialized) struct ClockStepTests {
  @Test func wallClockStepsDoNotStopPollsTimersOrTheQueue() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 3)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    #expect(kiosk.shown.count == 3)
    let serverBefore = kiosk.engine.serverNow()

    func polls() -> Int { proxy.requests(pathContaining: "/kds/queue").count }

    // +2 h: polls go on every 5 s, the timers (server time) do not jump.
    kiosk.clock.stepWall(seconds: 7_200)
    var before = polls()
    kiosk.step()
    #expect(polls() == before + 1)
    #expect(abs(kiosk.engine.serverNow().millis(since: serverBefore)) < 60_000)

    // -2 h twice (to 2 h behind the start): polls still every 5 s.
    kiosk.clock.stepWall(seconds: -7_200)
    before = polls()
    kiosk.step()
    kiosk.clock.stepWall(seconds: -7_200)
    kiosk.step()
    #expect(polls() == before + 2)
    #expect(abs(kiosk.engine.serverNow().millis(since: serverBefore)) < 60_000)

    // The queue: a bump made while the server is away waits out its backoff
    // on monotonic time, across steps both ways, and is not given up when
    // the wall clock leaps a day ahead.
    proxy.refuse()
    #expect(kiosk.core.bump(ticketId: ids[0]).isDone)
    kiosk.engine.tick()
    #expect(kiosk.view.outstandingCount == 1)
    kiosk.clock.stepWall(seconds: 86_400)
    kiosk.step()
    #expect(kiosk.view.failedCount == 0, "\(kiosk.view.operations)")
    kiosk.clock.stepWall(seconds: -86_400 - 7_200)
    try proxy.resume()
    let landed = kiosk.step(until: { kiosk.view.operations.isEmpty }, steps: 30)
    #expect(landed, "\(kiosk.view.operations)")
    #expect(try await r.statuses()[ids[0]] == "READY")
    #expect(try r.idempotencyRecords(path: "/kds/tickets/\(ids[0])/mark-ready") == 1)
    #expect(kiosk.view.status.connection == .connected)
  }

  /// The give-up still comes after 23 hours of (monotonic) time.
  @Test func givesUpAfter23HoursOfRealTime() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 1)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    proxy.refuse()
    #expect(kiosk.core.bump(ticketId: ids[0]).isDone)
    kiosk.engine.tick()
    kiosk.clock.stepWall(seconds: -86_400)
    kiosk.step(seconds: 23 * 3_600)
    #expect(kiosk.view.failedCount == 1)
  }
}

/// Issue 12: the 23-hour give-up is the server's (it forgets idempotency keys
/// after 24 hours of its own clock), and the kiosk's time line must agree.
@Suite struct ServerClockGiveUpTests {
  /// A kiosk behind a proxy with one bump queued, answered 429 (no attempt
  /// counted) for as long as the test runs; the polls get through, with the
  /// server's Date. The restaurant is returned to keep its server running.
  static func bumpRefusedWith429() async throws -> (Restaurant, FaultProxy, KioskHarness) {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 1)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    proxy.add(
      ProxyRule(
        method: "POST", path: "/mark-ready", times: 1_000,
        action: .respond(CannedResponse(status: 429, body: Data("{}".utf8)))))
    #expect(kiosk.core.bump(ticketId: ids[0]).isDone)
    kiosk.engine.tick()
    return (r, proxy, kiosk)
  }

  @Test func giveUpWaitsForTheServersClock() async throws {
    let (r, proxy, kiosk) = try await Self.bumpRefusedWith429()
    defer { withExtendedLifetime(r) {} }
    let op = try #require(kiosk.view.operations.first)
    #expect(op.queuedAtServer != nil, "queued with the server's time")
    // 23 hours pass on the kiosk's time line (the test's clock), while the
    // real server's clock, read from its Date headers, hardly moves.
    for _ in 0..<23 { kiosk.step(seconds: 3_600) }
    kiosk.step(seconds: 60)
    #expect(
      kiosk.view.failedCount == 0, "the server's clock says minutes: \(kiosk.view.operations)")
    // Now the server's Date says 23 hours (and a bit) have passed as well.
    proxy.setDefault(.forwardShiftingDate(seconds: 23 * 3_600 + 120))
    kiosk.step(seconds: 60)
    kiosk.step(seconds: 60)
    let failed = try #require(kiosk.view.operations.first)
    #expect(failed.state == .failed)
    #expect(failed.lastError?.contains("23 hours") == true)
  }

  @Test func aDateYearsAheadGivesNothingUp() async throws {
    let (r, proxy, kiosk) = try await Self.bumpRefusedWith429()
    defer { withExtendedLifetime(r) {} }
    proxy.setDefault(.forwardShiftingDate(seconds: HostileServerTests.tenYears))
    kiosk.step(seconds: 3_600)
    #expect(kiosk.view.failedCount == 0, "\(kiosk.view.operations)")
    #expect(kiosk.view.operations.first?.state == .pending)
  }

  @Test func ageIsTheSmallerOfTheTwoClocks() {
    let policy = QueuePolicy.standard
    let t0 = Timestamp(seconds: 1_700_000_000)
    var op = QueuedOperation(id: "A", kind: .bump, ticketId: "T", createdAt: t0)
    #expect(policy.age(of: op, now: t0.adding(seconds: 60), serverNow: nil) == 60_000)
    op.queuedAtServer = t0.adding(seconds: 3_600)
    let later = t0.adding(seconds: 86_400)
    #expect(policy.age(of: op, now: later, serverNow: later.adding(seconds: 3_600)) == 86_400_000)
    #expect(policy.age(of: op, now: later, serverNow: t0.adding(seconds: 7_200)) == 3_600_000)
    #expect(!policy.hasExpired(op, now: later, serverNow: t0.adding(seconds: 7_200)))
    #expect(policy.hasExpired(op, now: later, serverNow: later.adding(seconds: 3_600)))
  }
}
