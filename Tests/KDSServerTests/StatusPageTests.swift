import Foundation
import KDSTestSupport
import Testing

@Suite struct StatusPageTests {
  @Test func kiosksReportOnEveryPollAndSilentOnesShowOffline() async throws {
    let f = try Fixture(arguments: ["--kiosk-offline-after", "15"], replicas: 1)
    let hotToken = try f.server.createToken(device: "kiosk-hot", stations: ["hot"])
    let hot = f.server.client(token: hotToken)

    // Before any poll: both station devices are listed as never connected.
    let before = try await f.pos.get("/status.json")
    #expect(before.status == 200)
    let beforeKiosks = try #require(before.object?["kiosks"] as? [[String: Any]])
    #expect(
      Set(beforeKiosks.compactMap { $0["device"] as? String }) == ["kiosk-grill", "kiosk-hot"])
    #expect(beforeKiosks.allSatisfy { $0["state"] as? String == "never" })

    // The grill kiosk polls and describes itself. The status read must come
    // within the 15 s silence limit of the poll: on a loaded machine two
    // requests can be further apart, so the pair is asked again until one is.
    var grill: [String: Any] = [:]
    try await waitUntil(timeout: 180, "a status read within the silence limit of a poll") {
      let poll = try await f.grill.send(
        "GET", "/kds/queue?station=grill",
        headers: [
          "X-KDS-Version": "0.1.0", "X-KDS-Connection": "reconnecting", "X-KDS-Pending-Ops": "4",
          "X-KDS-Failed-Ops": "1", "X-KDS-Display": "drm 1920x1080",
        ])
      #expect(poll.status == 200)
      let after = try await f.pos.get("/status.json")
      grill =
        (after.object?["kiosks"] as? [[String: Any]])?.first {
          $0["device"] as? String == "kiosk-grill"
        } ?? [:]
      return grill["state"] as? String == "connected"
    }
    #expect(grill["state"] as? String == "connected")
    #expect(grill["connection"] as? String == "reconnecting")
    #expect(grill["pendingOps"] as? Int == 4)
    #expect(grill["failedOps"] as? Int == 1)
    #expect(grill["display"] as? String == "drm 1920x1080")
    #expect(grill["version"] as? String == "0.1.0")

    // Junk in the headers is not trusted.
    _ = try await hot.send(
      "GET", "/kds/queue?station=hot",
      headers: [
        "X-KDS-Pending-Ops": "-3", "X-KDS-Connection": "<script>", "X-KDS-Display": "<b>x</b>",
      ])
    let html = try await f.pos.get("/status")
    #expect(html.status == 200)
    #expect(html.header("Content-Type")?.hasPrefix("text/html") == true)
    #expect(html.text.contains("kiosk-grill") && html.text.contains("kiosk-hot"))
    #expect(!html.text.contains("<b>x</b>") && html.text.contains("&lt;b&gt;x&lt;/b&gt;"))
    #expect(!html.text.contains("<script>"))

    // Silent past the limit (15 s here: on a loaded machine a poll and the
    // next status read can be seconds apart): offline. Wait on the condition, bounded.
    let deadline = Date().addingTimeInterval(60)
    var state = ""
    while Date() < deadline {
      let r = try await f.pos.get("/status.json")
      state =
        ((r.object?["kiosks"] as? [[String: Any]])?.first {
          $0["device"] as? String == "kiosk-grill"
        }?["state"] as? String) ?? ""
      if state == "offline" { break }
      try await Task.sleep(for: .milliseconds(200))
    }
    #expect(state == "offline")
  }

  @Test func statusNeedsAManagerTokenAndAcceptsItAsBasicPassword() async throws {
    let f = try Fixture(replicas: 1)
    let anonymous = f.server.client(token: nil)
    let denied = try await anonymous.get("/status")
    #expect(denied.status == 401)
    #expect(denied.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
    expectError(try await f.grill.get("/status.json"), 403)
    let basic = Data("manager:\(f.posToken)".utf8).base64EncodedString()
    let viaBrowser = try await anonymous.send(
      "GET", "/status", headers: ["Authorization": "Basic \(basic)"])
    #expect(viaBrowser.status == 200)
    let wrong = Data("manager:nope".utf8).base64EncodedString()
    let rejected = try await anonymous.send(
      "GET", "/status", headers: ["Authorization": "Basic \(wrong)"])
    #expect(rejected.status == 401)
  }
}
