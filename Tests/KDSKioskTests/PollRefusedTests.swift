import Foundation
import KDSCore
import KDSKiosk
import KDSSync
import KDSTestSupport
import Testing

/// A 4xx answer to a poll (400, 404, 422) is a configuration problem: the
/// banner says so, the kiosk is not "offline", and it clears once the server
/// answers the poll again.
@Suite(.serialized) struct PollRefusedTests {
  @Test(arguments: [400, 404, 422])
  func aRefusedPollIsAConfigurationAlert(status: Int) async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 2)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    #expect(kiosk.shown.count == ids.count)
    proxy.add(
      ProxyRule(
        path: "/kds/queue",
        action: .respond(.json(#"{"error":"unknown station"}"#, status: status))))
    for _ in 0..<3 { kiosk.step(seconds: 5) }
    let alerts = kiosk.core.snapshot().alerts.map(KioskCore.text(of:))
    #expect(
      alerts.contains {
        $0.contains("refused this station's poll (HTTP \(status))")
          && $0.contains("check station/server")
      }, "\(alerts)")
    #expect(kiosk.view.status.connection == .connected)
    #expect(kiosk.logs.messages.filter { $0.contains("refused this station's poll") }.count == 1)
    proxy.reset()
    kiosk.step()
    #expect(
      !kiosk.core.snapshot().alerts.map(KioskCore.text(of:)).contains { $0.contains("refused") })
  }
}
