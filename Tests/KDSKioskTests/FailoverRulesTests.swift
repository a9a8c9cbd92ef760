import Foundation
import KDSCore
import KDSRender
import KDSTestSupport
import Testing

@testable import KDSKiosk
@testable import KDSSync

/// Issue 16: when the kiosk switches servers and when it does not, going
/// back to the first server, the push stream following the polls, and the
/// status. Two real kds-server processes on one SQLite file; a server made
/// to misbehave by a FaultProxy (a real listener forwarding to it).
@Suite("Failover rules: when to switch, going back, the stream follows", .serialized)
struct FailoverRulesTests {
  /// Server A behind a proxy, server B on the same database, tickets sent.
  struct Pair {
    let r: Restaurant
    let b: ServerProcess
    let proxy: FaultProxy
    let ids: [String]
    let token: String
  }

  static func pair(tickets: Int = 3) async throws -> Pair {
    let r = try Restaurant()
    let b = try ServerProcess(dbPath: r.server.dbPath, arguments: ["--rate-limit", "off"])
    let ids = try await r.sendTickets(count: tickets)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    return Pair(
      r: r, b: b, proxy: proxy, ids: ids, token: try r.token("kiosk-grill", stations: ["grill"]))
  }

  static func json(status: Int) -> CannedResponse {
    .json(#"{"error":"test","statusCode":\#(status)}"#, status: status)
  }

  @Test("503 from the first server: the poll and the bumps go to the second at once")
  func serviceUnavailableSwitches() async throws {
    let p = try await Self.pair()
    p.proxy.setDefault(.respond(Self.json(status: 503)))
    let kiosk = try KioskHarness(
      baseURL: "\(p.proxy.baseURL), \(p.b.baseURL)", token: p.token, requestTimeoutMillis: 3_000)
    kiosk.engine.tick()
    // The poll's 503 moved it, and the same poll was answered by B.
    #expect(kiosk.engine.client.serverInUse == p.b.baseURL)
    #expect(kiosk.view.status.connection == .connected)
    #expect(kiosk.shown.count == 3)
    #expect(
      kiosk.logs.count(containing: "server \(p.proxy.baseURL) unreachable: using \(p.b.baseURL)")
        == 1, "\(kiosk.logs.messages)")
    for id in p.ids { #expect(kiosk.core.bump(ticketId: id).isDone) }
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    // No bump went to A after the switch.
    #expect(p.proxy.requests(pathContaining: "/mark-ready").isEmpty)
    for id in p.ids {
      #expect(try p.r.idempotencyRecords(path: "/kds/tickets/\(id)/mark-ready") == 1)
    }
    // The status: the server in use, and A's last error and when.
    let status = kiosk.core.status()
    #expect(status.server == p.b.baseURL)
    let servers = try #require(status.servers)
    #expect(servers.map(\.url) == [p.proxy.baseURL, p.b.baseURL])
    #expect(servers.map(\.active) == [false, true])
    #expect(servers[0].lastError == "HTTP 503")
    #expect(servers[0].lastErrorAt != nil)
    #expect(servers[0].skippedUntil != nil)
    #expect(servers[1].lastError == nil)
    #expect(servers[1].lastAnswerAt != nil)
  }

  @Test("409, 422 and 429 are the server's answer: nothing switches, nothing goes to B")
  func refusalsDoNotSwitch() async throws {
    let p = try await Self.pair()
    let kiosk = try KioskHarness(
      baseURL: "\(p.proxy.baseURL), \(p.b.baseURL)", token: p.token, requestTimeoutMillis: 3_000)
    kiosk.engine.tick()
    #expect(kiosk.shown.count == 3)
    p.proxy.add(
      ProxyRule(
        method: "POST", path: "/kds/tickets/\(p.ids[0])/mark-ready", times: 1,
        action: .respond(Self.json(status: 409))))
    p.proxy.add(
      ProxyRule(
        method: "POST", path: "/kds/tickets/\(p.ids[1])/mark-ready", times: 1,
        action: .respond(Self.json(status: 422))))
    p.proxy.add(
      ProxyRule(
        method: "POST", path: "/kds/tickets/\(p.ids[2])/mark-ready", times: 1,
        action: .respond(
          CannedResponse(
            status: 429, headers: [("Retry-After", "20"), ("Content-Type", "application/json")],
            body: Data(#"{"statusCode":429}"#.utf8)))))
    for id in p.ids { #expect(kiosk.core.bump(ticketId: id).isDone) }
    kiosk.engine.tick()
    #expect(kiosk.engine.client.serverInUse == p.proxy.baseURL)
    let ops = Dictionary(uniqueKeysWithValues: kiosk.view.operations.map { ($0.ticketId, $0) })
    #expect(ops[p.ids[0]]?.state == .failed, "\(ops)")
    #expect(ops[p.ids[1]]?.state == .failed, "\(ops)")
    // 429: waits for Retry-After, on the same server.
    #expect(ops[p.ids[2]]?.state == .pending, "\(ops)")
    // None reached the database (B never saw them; A's answers were the proxy's).
    for id in p.ids {
      #expect(try p.r.idempotencyRecords(path: "/kds/tickets/\(id)/mark-ready") == 0)
    }
    // The rate-limited bump goes, to A, once its Retry-After is over.
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    #expect(kiosk.engine.client.serverInUse == p.proxy.baseURL)
    #expect(p.proxy.requests(pathContaining: "/kds/tickets/\(p.ids[2])/mark-ready").count == 2)
    #expect(try p.r.idempotencyRecords(path: "/kds/tickets/\(p.ids[2])/mark-ready") == 1)
    #expect(kiosk.logs.count(containing: "unreachable: using") == 0, "\(kiosk.logs.messages)")
    let servers = try #require(kiosk.core.status().servers)
    #expect(servers.map(\.active) == [true, false])
    #expect(servers.allSatisfy { $0.lastError == nil }, "\(servers)")
  }

  @Test("A 500 is retried once on the other server; the first stays in use")
  func internalErrorRetriedOnceElsewhere() async throws {
    let p = try await Self.pair(tickets: 1)
    // B behind a proxy of its own too, to count what reaches it.
    let proxyB = try FaultProxy(upstreamPort: p.b.port)
    let kiosk = try KioskHarness(
      baseURL: "\(p.proxy.baseURL), \(proxyB.baseURL)", token: p.token,
      requestTimeoutMillis: 3_000)
    kiosk.engine.tick()
    #expect(kiosk.shown.count == 1)
    let path = "/kds/tickets/\(p.ids[0])/mark-ready"
    // A answers 500 once: the bump is retried on B at once and lands there.
    p.proxy.add(
      ProxyRule(method: "POST", path: path, times: 1, action: .respond(Self.json(status: 500))))
    #expect(kiosk.core.bump(ticketId: p.ids[0]).isDone)
    kiosk.engine.tick()
    #expect(kiosk.view.outstandingCount == 0, "\(kiosk.view.operations)")
    #expect(p.proxy.requests(pathContaining: path).count == 1)
    #expect(proxyB.requests(pathContaining: path).count == 1)
    #expect(try p.r.idempotencyRecords(path: path) == 1)
    #expect(kiosk.engine.client.serverInUse == p.proxy.baseURL)
    #expect(kiosk.core.status().servers?.first?.lastError == "HTTP 500")

    // Both answer 500: one try on each, no more, and the bump waits.
    let ids2 = try await p.r.sendTickets(count: 1)
    kiosk.step(until: { kiosk.view.tickets[ids2[0]] != nil })
    let path2 = "/kds/tickets/\(ids2[0])/mark-ready"
    p.proxy.add(ProxyRule(method: "POST", path: path2, action: .respond(Self.json(status: 500))))
    proxyB.add(ProxyRule(method: "POST", path: path2, action: .respond(Self.json(status: 500))))
    #expect(kiosk.core.bump(ticketId: ids2[0]).isDone)
    kiosk.engine.tick()
    #expect(p.proxy.requests(pathContaining: path2).count == 1)
    #expect(proxyB.requests(pathContaining: path2).count == 1)
    #expect(kiosk.view.operations.first?.state == .pending, "\(kiosk.view.operations)")
    #expect(kiosk.engine.client.serverInUse == p.proxy.baseURL)
  }

  @Test("Back to the first server when its probe answers; a dead one is not flapped to")
  func returnsToThePreferredServer() async throws {
    let p = try await Self.pair()
    let kiosk = try KioskHarness(
      baseURL: "\(p.proxy.baseURL), \(p.b.baseURL)", token: p.token, requestTimeoutMillis: 3_000,
      failbackProbeMillis: 30_000)
    kiosk.engine.tick()
    #expect(kiosk.engine.client.serverInUse == p.proxy.baseURL)
    p.proxy.refuse()
    kiosk.step()
    #expect(kiosk.engine.client.serverInUse == p.b.baseURL)
    #expect(kiosk.view.status.connection == .connected)
    // A stays down: its probe (every 30 s) fails, the kiosk stays on B.
    p.proxy.clearLog()
    kiosk.step(seconds: 35)
    #expect(kiosk.engine.client.serverInUse == p.b.baseURL)
    #expect(kiosk.logs.count(containing: "unreachable: using") == 1, "\(kiosk.logs.messages)")
    #expect(kiosk.core.status().servers?.first?.lastError?.hasPrefix("refused") == true)
    // A comes back: not before the next probe, then the kiosk goes back.
    try p.proxy.resume()
    kiosk.step()
    #expect(kiosk.engine.client.serverInUse == p.b.baseURL)
    #expect(p.proxy.requests.isEmpty, "probed before the interval: \(p.proxy.requests)")
    let back = kiosk.step(
      until: { kiosk.engine.client.serverInUse == p.proxy.baseURL }, steps: 10, seconds: 5)
    #expect(back)
    #expect(
      kiosk.logs.count(containing: "server \(p.proxy.baseURL) answers again: back from") == 1,
      "\(kiosk.logs.messages)")
    // The polls and bumps go to A again.
    p.proxy.clearLog()
    #expect(kiosk.core.bump(ticketId: p.ids[0]).isDone)
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    #expect(p.proxy.requests(pathContaining: "/mark-ready").count == 1)
    #expect(kiosk.core.status().servers.map { $0.map(\.active) } == [true, false])
  }

  @Test("Every server down: each tried in order; the banner names them only then")
  func allDown() async throws {
    let p = try await Self.pair(tickets: 1)
    let kiosk = try KioskHarness(
      baseURL: "\(p.proxy.baseURL), \(p.b.baseURL)", token: p.token, requestTimeoutMillis: 2_000)
    kiosk.engine.tick()
    p.proxy.refuse()
    kiosk.step()
    // One down, the other answers: connected, no server named.
    #expect(kiosk.view.status.connection == .connected)
    #expect(kiosk.core.snapshot().offlineServers == nil)
    #expect(!BoardRenderer.statusText(kiosk.core.snapshot()).contains("no answer"))
    p.b.kill()
    #expect(kiosk.step(until: { kiosk.view.status.connection == .offline }))
    let names = try #require(kiosk.core.snapshot().offlineServers)
    #expect(names.count == 2 && names.allSatisfy { $0.hasPrefix("127.0.0.1:") }, "\(names)")
    let banner = BoardRenderer.statusText(kiosk.core.snapshot())
    #expect(banner.hasPrefix("Offline since "), "\(banner)")
    #expect(banner.contains("no answer from \(names.joined(separator: ", "))"), "\(banner)")
    // A comes back: the kiosk finds it (every server failed: none is skipped).
    try p.proxy.resume()
    #expect(kiosk.step(until: { kiosk.view.status.connection == .connected }))
    #expect(kiosk.engine.client.serverInUse == p.proxy.baseURL)
    #expect(kiosk.core.snapshot().offlineServers == nil)
  }

  @Test("Failover decisions")
  func decisions() {
    func answer(_ status: Int) -> Result<HTTPResponse, HTTPFailure> {
      .success(
        HTTPResponse(
          status: status, body: Data(), bodyTooLarge: false, date: nil, retryAfter: nil,
          contentType: nil, replayed: false))
    }
    for s in [502, 503, 504] { #expect(FailoverDecision.of(answer(s)) == .switchServer) }
    #expect(FailoverDecision.of(answer(500)) == .retryElsewhere)
    for s in [200, 201, 400, 401, 403, 404, 409, 422, 429, 501] {
      #expect(FailoverDecision.of(answer(s)) == .keep, "\(s)")
    }
    for k in [HTTPFailure.Kind.refused, .timeout, .reset, .dns, .tls] {
      #expect(FailoverDecision.of(.failure(HTTPFailure(kind: k, detail: ""))) == .switchServer)
    }
    #expect(
      FailoverDecision.of(.failure(HTTPFailure(kind: .other, detail: "cancelled"))) == .keep)
  }

  @Test("failback_probe: 60s, 60, 2m, 1500ms; out of range refused")
  func failbackProbeKey() throws {
    for (text, seconds) in [("60s", 60.0), ("60", 60), ("2m", 120), ("1500ms", 1.5)] {
      var c = KioskConfiguration()
      try c.apply(text: "failback_probe = \(text)\n", fileName: "kiosk.conf")
      #expect(c.failbackProbe == seconds, "\(text)")
    }
    for bad in ["0", "2h", "soon", "4000s", "-5s"] {
      var c = KioskConfiguration()
      #expect(throws: ConfigError.self, "\(bad)") {
        try c.apply(text: "failback_probe = \(bad)\n", fileName: "kiosk.conf")
      }
    }
  }
}

/// The real kiosk process with `server = A, B`: its push stream follows the
/// polls, and a stream that breaks does not move them.
@Suite("Failover of the push stream (kds-kiosk processes)", .serialized)
struct FailoverStreamTests {
  static func requests(_ server: ServerProcess, _ fragment: String) -> Int {
    server.log().components(separatedBy: "request GET \(fragment)").count - 1
  }

  @Test("The stream follows the polls to B and back to A; the status shows both")
  func streamFollowsThePolls() async throws {
    let r = try Restaurant()
    let b = try ServerProcess(dbPath: r.server.dbPath, arguments: ["--rate-limit", "off"])
    let dir = TempDir()
    let k = try KioskProcess(
      server: "\(r.server.baseURL), \(b.baseURL)",
      token: try r.token("k", stations: ["grill"]), db: dir.file("kiosk.db"),
      socket: dir.file("kiosk.sock"), log: dir.file("kiosk.log"),
      extra: ["--request-timeout", "2", "--failback-probe", "2s"])
    defer { _ = k.terminate() }
    try k.waitReady()
    try #require(
      waitFor("the stream open on A", timeout: 30) { (try? k.status())?.push == "streaming" },
      "kiosk log:\n\(k.log)")
    #expect(Self.requests(r.server, "/kds/stream") >= 1)
    #expect(Self.requests(b, "/kds/stream") == 0)

    r.server.kill()
    let onB = waitFor("the stream open on B", timeout: 60) {
      guard let s = try? k.status() else { return false }
      return s.server == b.baseURL && s.push == "streaming" && Self.requests(b, "/kds/stream") >= 1
    }
    #expect(onB, "kiosk log:\n\(k.log)")
    // Through the stream on B: a POS order reaches the kiosk.
    let pos = b.client(token: r.posToken)
    let order = try await pos.post(
      "/pos/orders",
      json:
        #"{"tableId":"T1","waiterName":"Amina","items":[{"name":"Dish","quantity":1,"station":"grill"}]}"#,
      key: "order-\(UUID().uuidString)")
    let orderId = try #require(order.object?["id"] as? String)
    _ = try await pos.post("/pos/orders/\(orderId)/send-to-kitchen", key: "s-\(UUID().uuidString)")
    #expect(waitFor("the ticket", timeout: 30) { (try? k.status())?.cachedTickets == 1 })

    // `kdsctl status --json`: the server in use and each one's last error.
    let (code, text) = try KioskProcess.ctl(k.socketPath, ["status", "--json"])
    #expect(code == 0, "\(text)")
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(json["server"] as? String == b.baseURL)
    let servers = try #require(json["servers"] as? [[String: Any]])
    #expect(servers.count == 2)
    #expect(servers[0]["url"] as? String == r.server.baseURL)
    #expect(servers[0]["active"] as? Bool == false)
    #expect((servers[0]["lastError"] as? String)?.isEmpty == false, "\(servers)")
    #expect(servers[0]["lastErrorAt"] is String, "\(servers)")
    #expect(servers[1]["url"] as? String == b.baseURL)
    #expect(servers[1]["active"] as? Bool == true)
    let (_, plain) = try KioskProcess.ctl(k.socketPath, ["status"])
    #expect(plain.contains("server:      \(b.baseURL) (in use)"), "\(plain)")
    #expect(plain.contains("server:      \(r.server.baseURL), last error "), "\(plain)")

    // A comes back: the probe (every 2 s) brings the polls, then the stream, back.
    let streamsOnA = Self.requests(r.server, "/kds/stream")
    try r.server.start()
    let backOnA = waitFor("the stream back on A", timeout: 60) {
      guard let s = try? k.status() else { return false }
      return s.server == r.server.baseURL && s.push == "streaming"
        && Self.requests(r.server, "/kds/stream") > streamsOnA
    }
    #expect(backOnA, "kiosk log:\n\(k.log)")
    #expect(k.log.contains("answers again: back from \(b.baseURL)"))
    #expect(k.log.contains("push stream follows the polls to \(r.server.baseURL)"))
  }

  @Test("A stream that fails on A does not move the polls to B")
  func streamBreakDoesNotSwitch() async throws {
    let r = try Restaurant()
    let b = try ServerProcess(dbPath: r.server.dbPath, arguments: ["--rate-limit", "off"])
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    proxy.add(ProxyRule(path: "/kds/stream", action: .respond(.status(503))))
    let dir = TempDir()
    let k = try KioskProcess(
      server: "\(proxy.baseURL), \(b.baseURL)", token: try r.token("k", stations: ["grill"]),
      db: dir.file("kiosk.db"), socket: dir.file("kiosk.sock"), log: dir.file("kiosk.log"),
      extra: ["--request-timeout", "2", "--sync-interval", "0.5"])
    defer { _ = k.terminate() }
    try k.waitReady()
    let tried = waitFor("the stream refused twice", timeout: 30) {
      proxy.requests(pathContaining: "/kds/stream").count >= 2
    }
    #expect(tried, "kiosk log:\n\(k.log)")
    let s = try k.status()
    #expect(s.server == proxy.baseURL)
    #expect(s.connection == "connected")
    #expect(proxy.requests(pathContaining: "/kds/queue").count >= 1)
    #expect(Self.requests(b, "/kds/") == 0, "B got requests:\n\(b.log())")
  }
}

/// Pairing and the setup screen with `server = A, B`.
@Suite("Failover: pairing and the setup screen over a list of servers", .serialized)
struct FailoverPairingTests {
  static func options(_ list: String) -> PairingSession.Options {
    var o = PairingSession.Options(
      serverURL: list, station: "grill", deviceName: "kds-test-1", tokenPath: nil)
    o.firstRetryMillis = 100
    o.maxRetryMillis = 400
    o.requestTimeoutMillis = 2_000
    o.claimWaitSeconds = 1
    return o
  }

  static let pending = ProxyAction.respond(
    .json(#"{"status":"pending","expiresAt":"2099-01-01T00:00:00Z"}"#, status: 202))
  static let approved = ProxyAction.respond(
    .json(#"{"status":"approved","token":"tok-paired-b","station":"grill"}"#))

  @Test("A in trouble (503): the code comes from B, and is claimed on B only")
  func codeFromTheSecondServer() throws {
    let server = try ServerProcess()
    let a = try FaultProxy(upstreamPort: server.port)
    let b = try FaultProxy(upstreamPort: server.port)
    a.setDefault(.respond(.status(503)))
    b.add(ProxyRule(method: "POST", path: "/kds/pairing/claim", times: 1, action: Self.pending))
    b.add(ProxyRule(method: "POST", path: "/kds/pairing/claim", times: 1, action: Self.approved))
    b.add(
      ProxyRule(method: "POST", path: "/kds/pairing", action: PairingTests.codeAnswer("314159")))
    let session = PairingSession(options: Self.options("\(a.baseURL), \(b.baseURL)"))
    session.start()
    defer { session.stop() }
    #expect(waitFor("the code", timeout: 30) { session.state.code == "314159" })
    #expect(session.state.server == b.baseURL)
    #expect(waitFor("approval", timeout: 30) { session.approval != nil })
    #expect(session.approval?.token == "tok-paired-b")
    #expect(a.requests(pathContaining: "/kds/pairing").map(\.path) == ["/kds/pairing"])
    #expect(b.requests(pathContaining: "/kds/pairing/claim").count == 2)
  }

  @Test("A code from A is claimed on A, even while A fails for a moment")
  func claimStaysOnTheIssuer() throws {
    let server = try ServerProcess()
    let a = try FaultProxy(upstreamPort: server.port)
    let b = try FaultProxy(upstreamPort: server.port)
    a.add(ProxyRule(method: "POST", path: "/kds/pairing/claim", times: 1, action: Self.pending))
    a.add(
      ProxyRule(
        method: "POST", path: "/kds/pairing/claim", times: 1, action: .respond(.status(503))))
    a.add(ProxyRule(method: "POST", path: "/kds/pairing/claim", times: 1, action: Self.approved))
    a.add(
      ProxyRule(method: "POST", path: "/kds/pairing", action: PairingTests.codeAnswer("271828")))
    let session = PairingSession(options: Self.options("\(a.baseURL), \(b.baseURL)"))
    session.start()
    defer { session.stop() }
    #expect(waitFor("approval", timeout: 30) { session.approval != nil })
    #expect(session.state.server == a.baseURL)
    #expect(a.requests(pathContaining: "/kds/pairing/claim").count == 3)
    #expect(b.requests.isEmpty, "B got \(b.requests.map(\.request.path))")
  }

  @Test("The setup screen's health check names each server's answer")
  func setupScreenShowsEachServer() throws {
    let server = try ServerProcess()
    let down = try FaultProxy(upstreamPort: server.port)
    down.refuse()
    let state = HealthProbe.check("\(server.baseURL), \(down.baseURL)", caFile: nil)
    let answer = try #require(state.answer)
    #expect(answer.contains("\(server.baseURL) answers (HTTP 200)"), "\(answer)")
    #expect(answer.contains("\(down.baseURL) no answer (refused"), "\(answer)")
    #expect(!state.healthy)
    let one = HealthProbe.check(server.baseURL, caFile: nil)
    #expect(one.answer == "answers (HTTP 200)")
    #expect(one.healthy)
  }
}
