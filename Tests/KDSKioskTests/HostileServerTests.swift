import Foundation
import KDSCore
import KDSStore
import KDSSync
import KDSTestSupport
import Testing

/// Issue 12: a server (a FaultProxy in front of a real kds-server) that
/// answers every way a hostile or broken one could, then becomes sane.
@Suite(.serialized) struct HostileServerTests {
  static let tenYears = 10 * 365 * 86_400

  static func tickets(count: Int) -> String {
    let one = (0..<count).map {
      #"{"id":"FLOOD\#($0)","orderId":"o","station":"grill","status":"QUEUED","sentAt":"2025-11-21T14:30:00Z","updatedAt":"2025-11-21T14:30:00.000Z","items":[{"name":"Pea","quantity":1}]}"#
    }
    return "[" + one.joined(separator: ",") + "]"
  }

  /// Every hostile answer an operation gets, one of each, in turn.
  static func operationAnswers(firstTicket: String) -> [ProxyAction] {
    [
      .respond(
        CannedResponse(
          status: 503, headers: [("Retry-After", "99999999999999999999")],
          body: Data("{}".utf8))),
      .respond(
        CannedResponse(
          status: 429, headers: [("Retry-After", "9999999999999999")], body: Data("{}".utf8))),
      .respond(
        CannedResponse(
          status: 200, headers: [("Content-Type", "text/html")],
          body: Data("<html><body>Accept the terms of the hotel Wi-Fi</body></html>".utf8))),
      .respond(CannedResponse(status: 301, headers: [("Location", "http://192.0.2.1/")])),
      .respond(CannedResponse(status: 302, headers: [("Location", "/login")])),
      .truncated(body: #"{"id":"\#(firstTicket)","status":"RE"#, declared: 4_000),
      .hugeBody(bytes: 17 << 20, declareLength: false),
      .endlessChunked,
    ]
  }

  @Test func hostileAnswersThenSane() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 6)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]),
      requestTimeoutMillis: 2_000)
    kiosk.engine.tick()
    #expect(kiosk.shown.count == 6)

    // The operations' answers, one of each in turn.
    let answers = Self.operationAnswers(firstTicket: ids[0])
    for a in answers {
      proxy.add(ProxyRule(method: "POST", path: "/mark-ready", times: 1, action: a))
    }
    // The polls' answers: a Date ten years ahead, 10,000 tickets, an HTML 200.
    proxy.add(
      ProxyRule(path: "/kds/queue", times: 2, action: .forwardShiftingDate(seconds: Self.tenYears)))
    proxy.add(
      ProxyRule(path: "/kds/queue", times: 1, action: .respond(.json(Self.tickets(count: 10_000)))))
    proxy.add(
      ProxyRule(
        path: "/kds/queue", times: 1,
        action: .respond(
          CannedResponse(
            status: 200, headers: [("Content-Type", "text/html")],
            body: Data("<html>portal</html>".utf8)))))

    for id in ids { #expect(kiosk.core.bump(ticketId: id).isDone) }
    let start = kiosk.clock.now()
    kiosk.engine.tick()
    // A huge Retry-After never pushes an operation more than 5 minutes ahead.
    for op in kiosk.view.operations where op.state == .pending {
      #expect(op.nextAttemptAt.millis(since: start) <= 300_000 + 10_000, "\(op)")
    }
    var sawBadAnswerBanner = false
    let delivered = kiosk.step(
      until: {
        if kiosk.view.status.badAnswer != nil { sawBadAnswerBanner = true }
        return kiosk.view.operations.isEmpty
          && proxy.requests(pathContaining: "/kds/queue").count > 6
          && kiosk.view.status.connection == .connected
      }, steps: 200, seconds: 15)
    #expect(delivered, "\(kiosk.view.operations)")
    #expect(sawBadAnswerBanner)
    // Sane again: every bump landed exactly once, the banner is clear, the
    // clock estimate is back and the flood is gone after a full resync.
    let statuses = try await r.statuses()
    for id in ids {
      #expect(statuses[id] == "READY", "\(id)")
      #expect(try r.idempotencyRecords(path: "/kds/tickets/\(id)/mark-ready") == 1, "\(id)")
    }
    kiosk.step(until: { kiosk.view.tickets.count == 6 }, steps: 200, seconds: 15)
    #expect(kiosk.view.tickets.count == 6)
    #expect(kiosk.view.status.badAnswer == nil)
    // (The test's clock runs ahead of the server's by the steps: not 10 years.)
    #expect(abs(kiosk.view.status.clock.offsetMillis) < 86_400_000)
    #expect(kiosk.shown.isEmpty)
  }

  /// After an acknowledgement without a ticket (a `{}` that did not come from
  /// the server), the server's unchanged copy wins back.
  @Test func serverCopyWinsAfterATicketlessAcknowledgement() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 1)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    proxy.add(
      ProxyRule(method: "POST", path: "/mark-ready", times: 1, action: .respond(.json("{}"))))
    #expect(kiosk.core.bump(ticketId: ids[0]).isDone)
    kiosk.engine.tick()
    #expect(kiosk.view.operations.isEmpty)
    #expect(kiosk.view.tickets[ids[0]]?.status == .ready)
    #expect(try await r.statuses()[ids[0]] == "QUEUED")
    let back = kiosk.step(until: { kiosk.view.tickets[ids[0]]?.status == .queued }, steps: 130)
    #expect(back, "the server's copy never won back")
    #expect(kiosk.shown.map(\.id) == ids)
  }

  @Test func retryAfterIsClamped() {
    let now = Timestamp(seconds: 1_700_000_000)
    #expect(HTTPDate.retryAfterSeconds("99999999999999999999", serverNow: now) == 300)
    #expect(HTTPDate.retryAfterSeconds("9999999999999999", serverNow: now) == 300)
    #expect(HTTPDate.retryAfterSeconds(" 7 ", serverNow: now) == 7)
    #expect(HTTPDate.retryAfterSeconds("-5", serverNow: now) == nil)
    #expect(HTTPDate.retryAfterSeconds("Tue, 14 Nov 2023 22:13:40 GMT", serverNow: now) == 20)
    #expect(HTTPDate.retryAfterSeconds("Tue, 14 Nov 2023 22:00:00 GMT", serverNow: now) == 0)
    #expect(HTTPDate.retryAfterSeconds("Sun, 14 Nov 2083 22:13:40 GMT", serverNow: now) == 300)
    let op = QueuedOperation(id: "A", kind: .bump, ticketId: "T", createdAt: now)
    let later = QueuePolicy.standard.record(.rateLimited(retryAfter: .max), on: op, now: now)
    #expect(later.nextAttemptAt == now.adding(seconds: 300))
  }

  @Test func timestampArithmeticSaturates() {
    let t = Timestamp(millis: 1_700_000_000_000)
    #expect(t.adding(seconds: .max).millis == .max)
    #expect(Timestamp(millis: -2).adding(millis: .min).millis == .min)
    #expect(Timestamp(seconds: .max).millis == .max)
    #expect(Timestamp(seconds: .min).millis == .min)
    #expect(Timestamp(millis: .max).millis(since: Timestamp(millis: .min)) == .max)
    #expect(Timestamp(millis: .min).millis(since: Timestamp(millis: .max)) == .min)
    #expect(t.adding(seconds: 2).millis(since: t) == 2_000)
  }
}
