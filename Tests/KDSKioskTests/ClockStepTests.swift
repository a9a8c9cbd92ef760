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
