import Foundation
import KDSCore
import KDSKiosk
import KDSStore
import KDSSync
import KDSTestSupport
import Testing

/// The kiosk follows the server's SLA thresholds (`X-KDS-SLA` on every poll,
/// set with `kds-server settings set`) unless its configuration sets its own.
@Suite struct ServerSLATests {
  @Test func kioskFollowsTheServersThresholdsUnlessSetExplicitly() async throws {
    let restaurant = try Restaurant()
    let server = restaurant.server
    for (key, value) in [("sla.amber", "2m"), ("sla.red", "4m")] {
      let (status, out) = try ServerProcess.run(
        server.binary, ["settings", "set", "--db", server.dbPath, key, value])
      #expect(status == 0, "\(out)")
    }
    let token = try restaurant.token("kiosk-grill", stations: ["grill"])
    let kiosk = try KioskHarness(baseURL: server.baseURL, token: token)
    // Configured without sla_* keys: the kiosk starts on its stored (standard) ones.
    #expect(kiosk.core.snapshot().thresholds == .standard)
    let wanted = SLAThresholds(orangeAfter: 120, redAfter: 240)
    // The running server reads its settings within a second; each step is a real poll.
    let followed = waitFor("the kiosk to learn the server's thresholds", timeout: 30) {
      kiosk.step()
      return kiosk.view.status.serverThresholds == wanted
    }
    #expect(followed)
    #expect(kiosk.core.snapshot().thresholds == wanted)
    #expect(kiosk.logs.count(containing: "server SLA thresholds: amber after 120 s") == 1)

    // The configuration's own thresholds win when set explicitly.
    var config = KioskConfiguration()
    try config.apply(text: "sla_orange_after = 60\nsla_red_after = 90\n", fileName: "kiosk.conf")
    #expect(config.thresholdsExplicit)
    kiosk.core.thresholds = config.thresholds
    kiosk.core.thresholdsExplicit = config.thresholdsExplicit
    #expect(kiosk.core.snapshot().thresholds == SLAThresholds(orangeAfter: 60, redAfter: 90))
    var plain = KioskConfiguration()
    try plain.apply(text: "station = grill\n", fileName: "kiosk.conf")
    #expect(!plain.thresholdsExplicit)

    // A kiosk that starts again (offline, say) uses the last thresholds it had.
    let again = try SyncEngine(
      config: SyncConfig(station: "grill"), store: kiosk.store,
      client: CurlHTTPClient(config: HTTPClientConfig(baseURL: server.baseURL, token: token)),
      clock: kiosk.clock)
    #expect(again.view().status.serverThresholds == nil)
    again.restoreServerThresholds()
    #expect(again.view().status.serverThresholds == wanted)
  }

  @Test func headerParsing() {
    #expect(
      SLAThresholds(serverHeader: "amber=300; red=600")
        == SLAThresholds(orangeAfter: 300, redAfter: 600))
    #expect(
      SLAThresholds(serverHeader: " red = 90 ;amber=30; later=1")
        == SLAThresholds(orangeAfter: 30, redAfter: 90))
    #expect(SLAThresholds(serverHeader: "amber=600; red=300") == nil)
    #expect(SLAThresholds(serverHeader: "amber=300") == nil)
    #expect(SLAThresholds(serverHeader: "amber=-5; red=600") == nil)
    #expect(SLAThresholds(serverHeader: "amber=x; red=600") == nil)
    #expect(SLAThresholds(serverHeader: "") == nil)
  }
}
