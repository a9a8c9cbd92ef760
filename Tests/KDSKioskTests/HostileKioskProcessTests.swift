import Foundation
import KDSCore
import KDSTestSupport
import Testing

/// Issue 12: the real `kds-kiosk` binary (not the engine in-process) behind a
/// server that answers every hostile way in turn, then becomes sane. The
/// kiosk stays up, says so on its banner, and every bump lands exactly once.
///
/// Two answers carry a Retry-After beyond the 5-minute clamp, so the last
/// bumps land about 300 s after they were refused: the test's deadline allows it.
@Suite struct HostileKioskProcessTests {
  @Test func theRealKioskSurvivesAHostileServerAndDeliversEveryBumpOnce() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 6)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let dir = TempDir()
    let kiosk = try KioskProcess(
      server: proxy.baseURL, token: try r.token("k", stations: ["grill"]),
      db: dir.file("kiosk.db"), socket: dir.file("ctl.sock"), log: dir.file("kiosk.log"),
      extra: ["--sync-interval", "0.2", "--request-timeout", "2"])
    defer { _ = kiosk.terminate() }
    try kiosk.waitReady()
    #expect(waitFor("the tickets") { (try? kiosk.status().tickets) == 6 })

    let operationAnswers = HostileServerTests.operationAnswers(firstTicket: ids[0])
    for a in operationAnswers {
      proxy.add(ProxyRule(method: "POST", path: "/mark-ready", times: 1, action: a))
    }
    // The polls: a Date ten years ahead, 10,000 tickets, then a portal's HTML
    // page until the server is sane again.
    proxy.add(
      ProxyRule(
        path: "/kds/queue", times: 2,
        action: .forwardShiftingDate(seconds: HostileServerTests.tenYears)))
    proxy.add(
      ProxyRule(
        path: "/kds/queue", times: 1,
        action: .respond(.json(HostileServerTests.tickets(count: 10_000)))))
    proxy.add(
      ProxyRule(
        path: "/kds/queue",
        action: .respond(
          CannedResponse(
            status: 200, headers: [("Content-Type", "text/html")],
            body: Data("<html>portal</html>".utf8)))))

    for id in ids {
      let (code, out) = try KioskProcess.ctl(kiosk.socketPath, ["bump", id])
      #expect(code == 0, "bump \(id): \(out)")
    }
    // Every hostile answer is served, and the banner says what is wrong.
    var alerts: [String] = []
    let hostileServed = waitFor("every hostile answer served and the banner", timeout: 120) {
      alerts = (try? kiosk.status().alerts) ?? []
      return proxy.requests(pathContaining: "/mark-ready").count >= operationAnswers.count
        && alerts.contains { $0.hasPrefix("Bad answer from the server") }
    }
    #expect(hostileServed, "alerts: \(alerts); requests: \(proxy.requests(pathContaining: "/"))")
    #expect(kiosk.process.isRunning, "the kiosk died:\n\(kiosk.log.suffix(3_000))")

    // Sane again.
    proxy.reset()
    var status: KioskStatus?
    var server: [String: String] = [:]
    let delivered = waitFor("every bump delivered", timeout: 420) {
      status = try? kiosk.status()
      guard let s = status, s.pendingOps == 0, s.failedOps == 0, s.connection == "connected",
        s.alerts.isEmpty
      else { return false }
      server = (try? syncStatuses(r)) ?? [:]
      return ids.allSatisfy { server[$0] == "READY" }
    }
    #expect(delivered, "status: \(String(describing: status)); server: \(server)")
    #expect(kiosk.process.isRunning, "the kiosk died:\n\(kiosk.log.suffix(3_000))")
    for id in ids {
      #expect(try r.idempotencyRecords(path: "/kds/tickets/\(id)/mark-ready") == 1, "\(id)")
    }
    // The flood of 10,000 is gone after a full resync; the clock is not years off.
    let flooded = waitFor("the flood gone") { ((try? kiosk.status())?.cachedTickets ?? .max) <= 6 }
    #expect(flooded, "\(String(describing: try? kiosk.status()))")
    let final = try kiosk.status()
    #expect(abs(final.serverClockOffsetMillis) < 86_400_000)
    #expect(final.tickets == 0)
    #expect(kiosk.log.contains("not JSON") || kiosk.log.contains("Bad answer"))
    #expect(!kiosk.log.contains("Fatal error"))
  }
}
