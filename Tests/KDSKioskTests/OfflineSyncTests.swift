import Foundation
import KDSCore
import KDSKiosk
import KDSStore
import KDSSync
import KDSTestSupport
import Testing

@Suite(.serialized) struct OfflineSyncTests {
  /// The offline scenario (docs/sync-contract.md): 10 tickets cached,
  /// network gone, 3 bumped, 2 minutes later the cache still shows the rest,
  /// network back, the server has them READY and another kiosk sees that.
  @Test func seedScenario11_2() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 10)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("kiosk-grill", stations: ["grill"]))
    kiosk.engine.tick()
    #expect(kiosk.shown.count == 10)
    #expect(kiosk.view.status.connection == .connected)

    proxy.refuse()  // the ethernet cable is out
    kiosk.step()
    #expect(kiosk.view.status.connection == .reconnecting)
    for id in ids.prefix(3) {
      #expect(kiosk.core.bump(ticketId: id).isDone)
    }
    var snap = kiosk.core.snapshot()
    #expect(snap.tickets.count == 7)  // off the screen at once, offline
    #expect(Set(snap.tickets.map(\.id)) == Set(ids.dropFirst(3)))
    #expect(snap.pendingOperations == 3)

    kiosk.step(seconds: 60)
    kiosk.step(seconds: 60)  // two minutes later
    snap = kiosk.core.snapshot()
    #expect(snap.connection == .offline)
    #expect(snap.tickets.count == 7)
    #expect(snap.pendingOperations == 3)
    #expect(kiosk.view.operations.allSatisfy { $0.attempts == 0 && $0.state == .pending })
    // A restart while offline serves the same board from the cache.
    let restarted = try KioskHarness(
      baseURL: proxy.baseURL, token: "unused", clock: kiosk.clock, dbPath: kiosk.store.path)
    #expect(Set(restarted.shown.map(\.id)) == Set(ids.dropFirst(3)))

    try proxy.resume()  // cable back in
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    #expect(kiosk.view.status.connection == .connected)
    let server = try await r.statuses()
    for id in ids.prefix(3) { #expect(server[id] == "READY") }
    for id in ids.dropFirst(3) { #expect(server[id] == "QUEUED") }
    for id in ids.prefix(3) {
      #expect(try r.idempotencyRecords(path: "/kds/tickets/\(id)/mark-ready") == 1)
    }

    // Another kiosk (an expo screen with a token for all stations) sees it.
    let expo = try KioskHarness(baseURL: r.server.baseURL, token: try r.token("expo"))
    expo.engine.tick()
    #expect(Set(expo.shown.map(\.id)) == Set(ids.dropFirst(3)))
    for id in ids.prefix(3) { #expect(expo.view.tickets[id]?.status == .ready) }
  }

  @Test func serverKilledAndRestartedMidReplay() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 8)
    let kiosk = try KioskHarness(
      baseURL: r.server.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    #expect(kiosk.shown.count == 8)
    for id in ids { #expect(kiosk.core.bump(ticketId: id).isDone) }
    kiosk.engine.tick()  // the first 5 go (at most 5 in flight)
    #expect(kiosk.view.outstandingCount == 3)
    r.server.kill()
    kiosk.step()
    #expect(kiosk.view.outstandingCount == 3)
    #expect(kiosk.view.status.connection != .connected)
    try r.server.restart()
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    let server = try await r.statuses()
    for id in ids {
      #expect(server[id] == "READY")
      #expect(try r.idempotencyRecords(path: "/kds/tickets/\(id)/mark-ready") == 1)
    }
    #expect(kiosk.view.failedCount == 0)
  }

  @Test func serverErrorsAndRateLimitBackOff() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 3)
    let (a, b, c) = (ids[0], ids[1], ids[2])
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    proxy.add(ProxyRule(path: "/\(a)/", times: 2, action: .respond(.status(500))))
    proxy.add(ProxyRule(path: "/\(b)/", times: 1, action: .respond(.status(503))))
    proxy.add(
      ProxyRule(
        path: "/\(c)/", times: 1,
        action: .respond(CannedResponse(status: 429, headers: [("Retry-After", "60")]))))
    for id in ids { #expect(kiosk.core.bump(ticketId: id).isDone) }
    kiosk.engine.tick()
    func op(_ t: String) -> QueuedOperation? { kiosk.view.operations.first { $0.ticketId == t } }
    #expect(op(a)?.attempts == 1)
    #expect(op(b)?.attempts == 1)
    #expect(op(c)?.attempts == 0)  // 429 does not count
    kiosk.step(seconds: 5)  // backoff 5 s: a fails again, b goes through
    #expect(op(a)?.attempts == 2)
    #expect(op(b) == nil)
    kiosk.step(seconds: 15)
    #expect(op(a) == nil)
    kiosk.step(seconds: 30)  // 50 s after the 429: still waiting
    #expect(proxy.requests(pathContaining: "/\(c)/").count == 1)
    kiosk.step(seconds: 10)
    #expect(op(c) == nil)
    for id in ids {
      let keys = Set(proxy.requests(pathContaining: "/\(id)/").compactMap(\.idempotencyKey))
      #expect(keys.count == 1)  // one key, reused for every retry
    }
    let server = try await r.statuses()
    #expect(ids.allSatisfy { server[$0] == "READY" })
  }

  @Test func tenServerErrorsFailAnOperationAndRetryRevivesIt() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 1)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    proxy.add(ProxyRule(path: "/mark-ready", action: .respond(.html(status: 502))))
    #expect(kiosk.core.bump(ticketId: ids[0]).isDone)
    #expect(kiosk.step(until: { kiosk.view.failedCount == 1 }, steps: 20, seconds: 120))
    #expect(kiosk.view.operations[0].attempts == 10)
    let snap = kiosk.core.snapshot()
    #expect(snap.tickets.map(\.id) == ids)  // back on screen...
    guard case .syncFailed = snap.marks[ids[0]] else {
      Issue.record("no Sync failed mark: \(snap.marks)")
      return
    }
    #expect(snap.alerts.contains(.failedOperations(1)))
    proxy.reset()
    #expect(kiosk.core.retryFailed().isDone)
    kiosk.engine.tick()
    #expect(kiosk.view.operations.isEmpty)
    #expect(try await r.statuses()[ids[0]] == "READY")
  }

  @Test func answerLostAfterCommitIsRetriedWithTheSameKey() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 2)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]),
      requestTimeoutMillis: 1_000)
    kiosk.engine.tick()
    proxy.add(ProxyRule(path: "/\(ids[0])/", times: 1, action: .forwardThenHang))
    proxy.add(ProxyRule(path: "/\(ids[1])/", times: 1, action: .forwardThenDrop))
    for id in ids { #expect(kiosk.core.bump(ticketId: id).isDone) }
    kiosk.engine.tick()  // both reach the server; neither answer reaches the kiosk
    #expect(kiosk.view.outstandingCount == 2)
    // The proxy passed both on: the server commits even though nobody hears it.
    #expect(waitFor("server committed") { (try? syncStatuses(r))?[ids[0]] == "READY" })
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    for id in ids {
      let sent = proxy.requests(pathContaining: "/\(id)/mark-ready")
      #expect(sent.count == 2)
      #expect(Set(sent.compactMap(\.idempotencyKey)).count == 1)
      #expect(try r.idempotencyRecords(path: "/kds/tickets/\(id)/mark-ready") == 1)
    }
    #expect(kiosk.logs.count(containing: "replayed answer") == 2)
    #expect(kiosk.view.failedCount == 0)
  }

  @Test func thirtyMinuteOutageFailsNothing() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 4)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    proxy.refuse()
    for id in ids.prefix(3) { #expect(kiosk.core.bump(ticketId: id).isDone) }
    for _ in 0..<60 { kiosk.step(seconds: 30) }  // 30 minutes
    #expect(kiosk.view.status.connection == .offline)
    #expect(kiosk.view.failedCount == 0)
    #expect(kiosk.view.operations.allSatisfy { $0.attempts == 0 && $0.uncountedAttempts > 3 })
    #expect(kiosk.shown.map(\.id) == [ids[3]])
    try proxy.resume()
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }, steps: 3))
    let server = try await r.statuses()
    #expect(ids.prefix(3).allSatisfy { server[$0] == "READY" })
  }

  @Test func anOperationOutstandingFor23HoursIsGivenUp() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 1)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    proxy.refuse()
    #expect(kiosk.core.bump(ticketId: ids[0]).isDone)
    for _ in 0..<22 { kiosk.step(seconds: 3600) }
    kiosk.step(seconds: 3599)
    #expect(kiosk.view.failedCount == 0)
    kiosk.step(seconds: 1)  // 23 hours after it was queued
    let op = try #require(kiosk.view.operations.first)
    #expect(op.state == .failed)
    #expect(op.lastError?.contains("23 hours") == true)
    #expect(kiosk.core.snapshot().tickets.map(\.id) == ids)  // back, marked failed
    #expect(kiosk.logs.count(containing: "gave up after 23 hours") == 1)
  }

  @Test func unauthorisedShowsAndBurnsNoAttempt() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 2)
    let good = try r.token("k", stations: ["grill"])
    let first = try KioskHarness(baseURL: r.server.baseURL, token: good)
    first.engine.tick()
    // The same kiosk database, now with a token the server does not know.
    let kiosk = try KioskHarness(
      baseURL: r.server.baseURL, token: "not-a-valid-token", clock: first.clock,
      dbPath: first.store.path)
    #expect(kiosk.core.bump(ticketId: ids[0]).isDone)
    for _ in 0..<12 { kiosk.step(seconds: 30) }
    let snap = kiosk.core.snapshot()
    #expect(snap.alerts.contains { if case .notAuthorised = $0 { true } else { false } })
    #expect(kiosk.view.operations.count == 1)
    #expect(kiosk.view.operations[0].attempts == 0)
    #expect(kiosk.view.operations[0].state == .pending)
    #expect(kiosk.logs.count(containing: "Not authorised") == 1)
    #expect(try await r.statuses()[ids[0]] == "QUEUED")
    // A token for another station: 403, also an authorisation problem.
    let fry = try KioskHarness(
      baseURL: r.server.baseURL, token: try r.token("f", stations: ["fry"]), clock: first.clock,
      dbPath: first.store.path)
    fry.engine.tick()
    #expect(fry.view.status.authProblem?.contains("403") == true)
    #expect(fry.view.operations[0].attempts == 0)
    // The right token again: the bump goes through.
    let fixed = try KioskHarness(
      baseURL: r.server.baseURL, token: good, clock: first.clock, dbPath: first.store.path)
    fixed.clock.advance(seconds: 600)
    fixed.engine.tick()
    #expect(fixed.view.outstandingCount == 0)
    #expect(fixed.view.status.authProblem == nil)
    #expect(try await r.statuses()[ids[0]] == "READY")
  }

  @Test func startBumpRecallAgainstTheRealServer() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 2)
    let kiosk = try KioskHarness(
      baseURL: r.server.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    #expect(kiosk.core.start(ticketId: ids[0]).isDone)
    #expect(kiosk.core.bump(ticketId: ids[0]).isDone)
    #expect(kiosk.core.bump(ticketId: ids[1]).isDone)
    #expect(kiosk.shown.isEmpty)
    #expect(kiosk.core.recallLast().isDone)  // ids[1], bumped last
    #expect(kiosk.shown.map(\.id) == [ids[1]])
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    var server = try await r.statuses()
    #expect(server[ids[0]] == "READY")
    #expect(server[ids[1]] == "IN_PROGRESS")
    // Someone else recalls ids[0] on the server; our recall of it is then a
    // state conflict: failed, shown with the server's state, not retried.
    #expect(try await r.post("/kds/tickets/\(ids[0])/recall", key: "other-1").status == 200)
    #expect(kiosk.core.recallLast().isDone)
    kiosk.engine.tick()
    let failed = try #require(kiosk.view.operations.first)
    #expect(failed.state == .failed)
    #expect(failed.serverStatus == .inProgress)
    for _ in 0..<5 { kiosk.step() }
    #expect(kiosk.view.operations.first?.attempts == 0)
    server = try await r.statuses()
    #expect(server[ids[0]] == "IN_PROGRESS")
    guard case .syncFailed = kiosk.core.snapshot().marks[ids[0]] else {
      Issue.record("the conflict is not shown")
      return
    }
  }

  @Test func seedOnlyServerDisablesStartAndRecall() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 3)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    proxy.add(ProxyRule(path: "/start", action: .respond(.status(404))))
    proxy.add(ProxyRule(path: "/recall", action: .respond(CannedResponse(status: 405))))
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    #expect(kiosk.core.start(ticketId: ids[0]).isDone)
    kiosk.engine.tick()
    #expect(kiosk.view.status.disabledActions == [.start])
    #expect(kiosk.core.snapshot().alerts.contains(.actionUnavailable("start")))
    #expect(
      kiosk.core.start(ticketId: ids[1])
        == .refused("start is not available: the server does not support it"))
    #expect(kiosk.core.bump(ticketId: ids[1]).isDone)
    kiosk.engine.tick()
    #expect(kiosk.core.recallLast().isDone)
    kiosk.engine.tick()
    #expect(kiosk.view.status.disabledActions == [.start, .recall])
    #expect(kiosk.core.snapshot().alerts.contains(.actionUnavailable("recall")))
    #expect(
      kiosk.core.recallLast() == .refused("recall is not available: the server does not support it")
    )
    #expect(kiosk.core.bump(ticketId: ids[2]).isDone)
    for _ in 0..<4 { kiosk.step() }
    let server = try await r.statuses()
    #expect(server[ids[1]] == "READY")
    #expect(server[ids[2]] == "READY")
    #expect(server[ids[0]] == "QUEUED")
    #expect(proxy.requests(pathContaining: "/start").count == 1)  // not retried
    #expect(proxy.requests(pathContaining: "/recall").count == 1)
  }

  @Test func queueRefusesTheHundredAndFirstOperation() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 101)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let kiosk = try KioskHarness(
      baseURL: proxy.baseURL, token: try r.token("k", stations: ["grill"]))
    kiosk.engine.tick()
    proxy.refuse()
    for id in ids.prefix(100) { #expect(kiosk.core.bump(ticketId: id).isDone) }
    #expect(kiosk.core.bump(ticketId: ids[100]) == .refused(QueuePolicy.queueFullMessage))
    #expect(kiosk.core.snapshot().alerts.contains(.queueFull))
    #expect(kiosk.shown.map(\.id) == [ids[100]])  // refused, never silently dropped
    try proxy.resume()
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }, steps: 60))
    #expect(!kiosk.core.snapshot().alerts.contains(.queueFull))
    let maxInFlight = proxy.requests.count  // sanity: all went through the proxy
    #expect(maxInFlight >= 100)
  }
}

@Suite struct HTTPClientTests {
  @Test func readsDateAndMeasuresTheServerClock() async throws {
    let r = try Restaurant()
    let client = CurlHTTPClient(
      config: HTTPClientConfig(baseURL: r.server.baseURL + "/", token: "x"))
    let before = Date()
    let response = try client.send(method: "GET", path: "/health").get()
    #expect(response.status == 200)
    let date = try #require(response.date)
    #expect(abs(Double(date.millis) / 1000 - before.timeIntervalSince1970) < 5)
    // A kiosk whose device clock is 10 minutes slow learns the server's clock.
    let slow = ManualClock(
      start: Timestamp(millis: Int64(Date().timeIntervalSince1970 * 1000) - 600_000))
    let kiosk = try KioskHarness(baseURL: r.server.baseURL, token: try r.token("k"), clock: slow)
    kiosk.engine.tick()
    let offset = kiosk.view.status.clock.offsetMillis
    #expect(abs(offset - 600_000) < 3_000, "offset \(offset)")
  }

  @Test func noAnswerKinds() throws {
    let proxy = try FaultProxy(upstreamPort: 9)
    let port = proxy.port
    proxy.refuse()
    let refused = CurlHTTPClient(
      config: HTTPClientConfig(baseURL: "http://127.0.0.1:\(port)", token: "x"))
    guard case .failure(let f) = refused.send(method: "GET", path: "/health") else {
      Issue.record("expected no answer")
      return
    }
    #expect(f.kind == .refused)
    try proxy.resume()
    proxy.setDefault(.hang)
    let slow = CurlHTTPClient(
      config: HTTPClientConfig(
        baseURL: proxy.baseURL, token: "x", connectTimeoutMillis: 300, requestTimeoutMillis: 300))
    guard case .failure(let t) = slow.send(method: "GET", path: "/health") else {
      Issue.record("expected a timeout")
      return
    }
    #expect(t.kind == .timeout)
    proxy.setDefault(.reset)
    guard case .failure(let e) = slow.send(method: "GET", path: "/health") else {
      Issue.record("expected a reset")
      return
    }
    #expect(e.kind == .reset)
  }

  @Test func customCAFileIsUsedForTLS() throws {
    // A real TLS server on 127.0.0.1 with a certificate of a private CA made
    // here: trusted with that CA's file, refused without it or with another CA.
    let pki = try TestPKI()
    let server = try TLSServer(cert: pki.serverCert, key: pki.serverKey)
    defer { server.stop() }
    func send(caFile: String?) -> Result<HTTPResponse, HTTPFailure> {
      CurlHTTPClient(
        config: HTTPClientConfig(
          baseURL: "https://127.0.0.1:\(server.port)", token: "x", requestTimeoutMillis: 5_000,
          caFile: caFile)
      ).send(method: "GET", path: "/")
    }
    switch send(caFile: pki.caCert) {
    case .success(let response): #expect(response.status == 200)
    case .failure(let f): Issue.record("the right CA was refused: \(f)")
    }
    for wrong in [nil, pki.otherCACert] {
      guard case .failure(let f) = send(caFile: wrong) else {
        Issue.record(
          "a server certificate of an unknown CA was accepted (CA file \(wrong ?? "none"))")
        continue
      }
      #expect(f.kind == .tls, "\(f)")
      #expect(f.detail.lowercased().contains("certificate"), "\(f)")
    }
  }
}

/// A CA, a second CA and a server certificate for 127.0.0.1 signed by the
/// first, made with the `openssl` command in a temporary folder.
final class TestPKI {
  let dir = TempDir()
  var caCert: String { dir.file("ca.pem") }
  var otherCACert: String { dir.file("other-ca.pem") }
  var serverCert: String { dir.file("server.pem") }
  var serverKey: String { dir.file("server.key") }

  init() throws {
    for name in ["ca", "other-ca"] {
      try openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=KDS test \(name)",
        "-keyout", dir.file("\(name).key"), "-out", dir.file("\(name).pem"))
    }
    try openssl(
      "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", serverKey,
      "-out", dir.file("server.csr"))
    try "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n".write(
      toFile: dir.file("server.ext"), atomically: true, encoding: .utf8)
    try openssl(
      "x509", "-req", "-in", dir.file("server.csr"), "-CA", caCert, "-CAkey", dir.file("ca.key"),
      "-CAcreateserial", "-days", "2", "-extfile", dir.file("server.ext"), "-out", serverCert)
  }

  func openssl(_ arguments: String...) throws {
    let (status, output) = try ServerProcess.run("/usr/bin/openssl", arguments)
    guard status == 0 else {
      throw TestFailure("openssl \(arguments.joined(separator: " ")) failed: \(output)")
    }
  }
}

/// `openssl s_server -www` on a free port of 127.0.0.1, ready when its port accepts.
final class TLSServer {
  let process = Process()
  let port: Int

  init(cert: String, key: String) throws {
    port = try freeLoopbackPort()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = [
      "s_server", "-accept", "127.0.0.1:\(port)", "-cert", cert, "-key", key, "-www", "-quiet",
    ]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let ready = waitFor("s_server on port \(port)", timeout: 20) {
      process.isRunning && loopbackPortAccepts(port)
    }
    guard ready else {
      stop()
      throw TestFailure("openssl s_server did not start on port \(port)")
    }
  }

  func stop() {
    guard process.isRunning else { return }
    // SIGKILL: the child inherits the test thread's signal mask, which may block SIGTERM.
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}

struct TestFailure: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}

/// A port of 127.0.0.1 nobody listens on now (bound to port 0, then released).
func freeLoopbackPort() throws -> Int {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw TestFailure("socket failed") }
  defer { close(fd) }
  var addr = loopback(port: 0)
  let bound = withUnsafePointer(to: &addr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
  }
  guard bound == 0 else { throw TestFailure("bind failed") }
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  _ = withUnsafeMutablePointer(to: &addr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
  }
  return Int(UInt16(bigEndian: addr.sin_port))
}

/// Whether something accepts TCP connections on `port` of 127.0.0.1.
func loopbackPortAccepts(_ port: Int) -> Bool {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { return false }
  defer { close(fd) }
  var addr = loopback(port: port)
  return withUnsafePointer(to: &addr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
    }
  }
}

func loopback(port: Int) -> sockaddr_in {
  var addr = sockaddr_in()
  addr.sin_family = sa_family_t(AF_INET)
  addr.sin_port = UInt16(port).bigEndian
  addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
  return addr
}
