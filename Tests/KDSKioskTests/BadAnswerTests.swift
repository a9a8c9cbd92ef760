import Foundation
import KDSCore
import KDSKiosk
import KDSStore
import KDSSync
import KDSTestSupport
import Testing

@Suite(.serialized) struct BadAnswerTests {
  static let good =
    #"{"id":"GOOD1","orderId":"o","station":"grill","status":"QUEUED","sentAt":"2025-11-21T14:30:00Z","updatedAt":"2099-01-01T00:00:00.000Z","items":[{"name":"Soup","quantity":1}]}"#

  static var tenThousandItems: String {
    let items = (0..<10_000).map { #"{"name":"Pea \#($0)","quantity":1}"# }.joined(separator: ",")
    return
      #"[{"id":"HUGE1","orderId":"o","station":"grill","status":"QUEUED","sentAt":"2025-11-21T14:30:00Z","updatedAt":"2099-01-01T00:00:00.000Z","items":[\#(items)]}, \#(good)]"#
  }

  /// Each bad answer leaves the cache as it was where it is unusable, is
  /// logged once however often it comes, and the kiosk carries on.
  @Test(arguments: [
    ("malformed", ProxyAction.respond(.json(#"[{"id": "A", "orderId": "#))),
    ("too-large-declared", ProxyAction.hugeBody(bytes: 50 << 20, declareLength: true)),
    ("too-large-streamed", ProxyAction.hugeBody(bytes: 50 << 20, declareLength: false)),
    (
      "html-200",
      ProxyAction.respond(
        CannedResponse(
          status: 200, headers: [("Content-Type", "text/html")],
          body: Data("<html>oops</html>".utf8)))
    ),
    ("html-502", ProxyAction.respond(.html(status: 502))),
    ("object", ProxyAction.respond(.json(#"{"tickets": []}"#))),
  ])
  func unusableAnswerLeavesTheCacheAlone(kind: String, action: ProxyAction) async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 3)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    let before = try kiosk.store.loadTickets().sorted { $0.id < $1.id }
    #expect(before.map(\.id) == ids.sorted())
    proxy.add(ProxyRule(path: "/kds/queue", action: action))
    for _ in 0..<4 { kiosk.step(seconds: 5) }
    #expect(try kiosk.store.loadTickets().sorted { $0.id < $1.id } == before)
    #expect(kiosk.shown.count == 3)
    let errors = kiosk.logs.messages.filter { $0.contains("bad answer from the server") }
    #expect(errors.count == 1, "\(kind): \(errors)")
    #expect(kiosk.view.status.connection != .connected)
    // Bumps still queue (and replay: the POST path is not affected).
    #expect(kiosk.core.bump(ticketId: ids[0]).isDone)
    kiosk.engine.tick()
    #expect(kiosk.view.outstandingCount == 0)
    proxy.reset()
    kiosk.step()
    #expect(kiosk.view.status.connection == .connected)
    #expect(kiosk.view.tickets[ids[0]]?.status == .ready)
  }

  /// Answers that are partly usable: the bad tickets are skipped and logged
  /// once, the rest is applied.
  static func partlyBad(_ kind: String) -> (body: String, badId: String, logged: String) {
    switch kind {
    case "10000 items":
      return (tenThousandItems, "HUGE1", "items skipped")
    case "wrong types":
      return (
        #"[{"id": 42, "orderId": "o", "station": "grill", "status": "QUEUED", "sentAt": 5, "updatedAt": "2099-01-01T00:00:00Z", "items": "none"}, \#(good)]"#,
        "42", "bad ticket in the answer skipped"
      )
    default:
      return (
        #"[{"id": "BADITEMS", "orderId": "o", "station": "grill", "status": "QUEUED", "sentAt": "2025-11-21T14:30:00Z", "updatedAt": "2099-01-01T00:00:00Z", "items": [{"name": 7, "quantity": "two"}]}, \#(good)]"#,
        "BADITEMS", "bad ticket in the answer skipped"
      )
    }
  }

  @Test(arguments: ["10000 items", "wrong types", "wrong item types"])
  func partlyBadAnswerAppliesTheRest(kind: String) async throws {
    let (body, badId, logged) = Self.partlyBad(kind)
    let r = try Restaurant()
    _ = try await r.sendTickets(count: 1)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    proxy.add(ProxyRule(path: "/kds/queue", action: .respond(.json(body))))
    for _ in 0..<3 { kiosk.step() }
    #expect(kiosk.view.tickets["GOOD1"] != nil, "\(kind)")
    #expect(kiosk.view.tickets[badId] == nil)
    #expect(kiosk.logs.count(containing: logged) == 1, "\(kind): \(kiosk.logs.messages)")
    #expect(kiosk.view.status.connection == .connected)
  }

  @Test func unknownStatusIsKeptNotShownAndLoggedOnce() async throws {
    let r = try Restaurant()
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    let odd = Self.good.replacingOccurrences(of: "GOOD1", with: "ODD1").replacingOccurrences(
      of: "QUEUED", with: "ON_HOLD")
    proxy.add(ProxyRule(path: "/kds/queue", action: .respond(.json("[\(odd), \(Self.good)]"))))
    for _ in 0..<3 { kiosk.step() }
    #expect(kiosk.view.tickets["ODD1"]?.status == .unknown("ON_HOLD"))
    #expect(try kiosk.store.loadTickets().contains { $0.id == "ODD1" })
    #expect(kiosk.shown.map(\.id) == ["GOOD1"])
    #expect(kiosk.logs.count(containing: "unknown ticket status ON_HOLD") == 1)
  }
}
