import Foundation
import KDSCore
import KDSSync
import KDSTestSupport
import Testing

/// A loopback HTTP listener of the test's own: it accepts, reads each
/// request's head and body, and either never answers (`silent`) or holds
/// every request until `holdUntilOpen` are open at once (or a deadline),
/// then answers 200. It counts the requests open at once.
final class LoopbackListener: @unchecked Sendable {
  let fd: Int32
  let port: Int
  let silent: Bool
  let holdUntilOpen: Int
  private let lock = NSLock()
  private var open = 0
  private var openPosts = 0
  private(set) var maxOpen = 0
  private(set) var maxOpenPosts = 0
  private(set) var accepted = 0
  private(set) var closedByClient = 0
  private(set) var requests = 0
  private var clients: [Int32] = []
  private var released = false

  init(silent: Bool, holdUntilOpen: Int = 0) throws {
    self.silent = silent
    self.holdUntilOpen = holdUntilOpen
    let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    fd = sock
    var on: Int32 = 1
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
        guard bind(sock, p, length) == 0, listen(sock, 64) == 0 else { return -1 }
        return getsockname(sock, p, &length)
      }
    }
    guard bound == 0 else { throw RestaurantError("cannot listen on 127.0.0.1: errno \(errno)") }
    port = Int(UInt16(bigEndian: address.sin_port))
    let thread = Thread { [self] in
      while true {
        let client = accept(fd, nil, nil)
        if client < 0 { return }
        lock.withLock {
          accepted += 1
          clients.append(client)
        }
        Thread { [self] in serve(client) }.start()
      }
    }
    thread.start()
  }

  deinit {
    shutdown(fd, Int32(SHUT_RDWR))
    close(fd)
    for c in lock.withLock({ clients }) { shutdown(c, Int32(SHUT_RDWR)) }
  }

  var baseURL: String { "http://127.0.0.1:\(port)" }
  var counts: (accepted: Int, closed: Int, requests: Int, maxOpen: Int, maxOpenPosts: Int) {
    lock.withLock { (accepted, closedByClient, requests, maxOpen, maxOpenPosts) }
  }

  /// One connection: requests one after the other (keep-alive).
  private func serve(_ client: Int32) {
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      // The head, then the body by its Content-Length.
      var headEnd: Int?
      while headEnd == nil {
        if let r = find(buffer, [13, 10, 13, 10]) {
          headEnd = r + 4
          break
        }
        let n = recv(client, &chunk, chunk.count, 0)
        if n <= 0 {
          lock.withLock { closedByClient += 1 }
          return
        }
        buffer += chunk[0..<n]
      }
      let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self).lowercased()
      var length = 0
      for line in head.components(separatedBy: "\r\n") where line.hasPrefix("content-length:") {
        length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
      }
      while buffer.count < headEnd! + length {
        let n = recv(client, &chunk, chunk.count, 0)
        if n <= 0 {
          lock.withLock { closedByClient += 1 }
          return
        }
        buffer += chunk[0..<n]
      }
      buffer.removeFirst(headEnd! + length)
      let isPost = head.hasPrefix("post")
      lock.withLock {
        requests += 1
        open += 1
        if isPost { openPosts += 1 }
        maxOpen = max(maxOpen, open)
        maxOpenPosts = max(maxOpenPosts, openPosts)
      }
      if silent {
        // Never answers; notices the client closing.
        while recv(client, &chunk, chunk.count, 0) > 0 {}
        lock.withLock { closedByClient += 1 }
        return
      }
      let deadline = Date().addingTimeInterval(10)
      while Date() < deadline && lock.withLock({ !released && open < holdUntilOpen }) {
        usleep(5_000)
      }
      lock.withLock {
        released = true
        open -= 1
        if isPost { openPosts -= 1 }
      }
      let body = isPost ? "{}" : "[]"
      let answer =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
      _ = answer.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }
  }

  private func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for i in 0...(haystack.count - needle.count)
    where haystack[i..<(i + needle.count)].elementsEqual(needle) {
      return i
    }
    return nil
  }
}

/// Tickets of station grill for a cache seed.
func grillTickets(_ count: Int) throws -> [Ticket] {
  let now = Date().timeIntervalSince1970
  let list = (0..<count).map { i in
    let stamp = Timestamp(millis: Int64(now * 1000) + Int64(i)).iso8601
    return #"""
      {"id":"T-\#(i)-\#(UUID().uuidString.prefix(8))","orderId":"o-\#(i)","orderNumber":"\#(100 + i)",
       "station":"grill","status":"QUEUED","sentAt":"\#(stamp)","updatedAt":"\#(stamp)",
       "tableName":"T\#(i)","orderType":"DINE_IN","items":[{"id":"i-\#(i)","name":"Burger","quantity":1}]}
      """#
  }
  let batch = try TicketBatch.decode(Data(("[" + list.joined(separator: ",") + "]").utf8))
  try #require(batch.tickets.count == count, "seed tickets: \(batch.skipped)")
  return batch.tickets
}

@Suite("Sync transport: the multi handle and the push stream", .serialized)
struct PushStreamTests {
  @Test("stop() aborts transfers in flight at once; the operation stays queued")
  func stopCancelsInFlight() throws {
    let listener = try LoopbackListener(silent: true)
    let seed = try grillTickets(1)
    // A minute's request timeout: only the cancellation can end the request soon.
    let kiosk = try KioskHarness(
      baseURL: listener.baseURL, token: "t", requestTimeoutMillis: 60_000, clock: ManualClock(),
      seed: seed)
    // Queued before the start: the first tick sends it with the poll.
    #expect(kiosk.core.bump(ticketId: seed[0].id).isDone)
    kiosk.engine.start()
    let inFlight = waitFor("the operation on the wire", timeout: 30) {
      kiosk.view.operations.first?.state == .inFlight && listener.counts.requests >= 2
    }
    try #require(inFlight, "never in flight: \(listener.counts)")
    let started = Date()
    kiosk.engine.stop()
    let took = Date().timeIntervalSince(started)
    #expect(took < 3, "stop took \(took) s")
    // Nothing lost: the bump waits in the queue (memory and disk) for the next start.
    let op = try #require(kiosk.view.operations.first)
    #expect(op.ticketId == seed[0].id)
    #expect(op.state == .pending)
    let stored = try kiosk.store.operations()
    #expect(stored.count == 1 && stored.first?.state == .pending)
    // The connections were closed by the kiosk, not left hanging.
    #expect(
      waitFor("the listener sees the connections closed", timeout: 10) {
        listener.counts.closed >= 2
      })
  }

  @Test(
    "Five operations go at once (one multi handle, not a thread each), on kept-alive connections")
  func fiveOperationsConcurrently() throws {
    let listener = try LoopbackListener(silent: false, holdUntilOpen: 6)
    let seed = try grillTickets(7)
    let kiosk = try KioskHarness(
      baseURL: listener.baseURL, token: "t", requestTimeoutMillis: 30_000, clock: ManualClock(),
      seed: seed)
    for t in seed { #expect(kiosk.core.bump(ticketId: t.id).isDone) }
    kiosk.engine.start()
    defer { kiosk.engine.stop() }
    let done = waitFor("every bump acknowledged", timeout: 60) {
      kiosk.view.operations.isEmpty
    }
    #expect(done, "operations left: \(kiosk.view.operations.map(\.state))")
    let counts = listener.counts
    // The policy's five operations and the poll, all open at the server at once.
    #expect(counts.maxOpenPosts == 5, "\(counts)")
    #expect(counts.maxOpen == 6, "\(counts)")
    // 7 bumps and a poll or more over at most 6 connections: kept alive.
    #expect(counts.requests >= 8)
    #expect(counts.accepted <= 6, "\(counts)")
  }

  func kiosk(_ server: String, token: String, dir: TempDir, extra: [String]) throws -> KioskProcess
  {
    let k = try KioskProcess(
      server: server, token: token, db: dir.file("kiosk.db"), socket: dir.file("kiosk.sock"),
      log: dir.file("kiosk.log"), extra: extra)
    try k.waitReady()
    return k
  }

  @Test("A POS order reaches the kiosk's cache through the stream, not a poll")
  func pushDeliversWithoutPoll() async throws {
    let r = try Restaurant()
    let dir = TempDir()
    let k = try kiosk(
      r.server.baseURL, token: try r.token("k", stations: ["grill"]), dir: dir,
      extra: ["--sync-interval", "60", "--request-timeout", "2"])
    defer { _ = k.terminate() }
    let streaming = waitFor("the stream open", timeout: 30) {
      (try? k.status())?.push == "streaming"
    }
    try #require(streaming, "kiosk log:\n\(k.log)")
    #expect(try k.status().pollIntervalSeconds == 60)
    let polls = r.server.log().components(separatedBy: "request GET /kds/queue").count - 1
    let ids = try await r.sendTickets(count: 1)
    let arrived = waitFor("the ticket in the kiosk's cache", timeout: 30) {
      (try? k.status())?.cachedTickets == 1
    }
    #expect(arrived, "kiosk log:\n\(k.log)")
    // No poll brought it.
    #expect(r.server.log().components(separatedBy: "request GET /kds/queue").count - 1 == polls)
    #expect(try k.status().tickets == 1, "\(ids) on screen")
  }

  @Test("The stream breaks: polls go back to 5 s at once; the stream reopens with the server")
  func streamBreaksAndReconnects() async throws {
    let r = try Restaurant()
    let dir = TempDir()
    let k = try kiosk(
      r.server.baseURL, token: try r.token("k", stations: ["grill"]), dir: dir,
      extra: ["--request-timeout", "2"])
    defer { _ = k.terminate() }
    try #require(
      waitFor("the stream open", timeout: 30) { (try? k.status())?.push == "streaming" },
      "kiosk log:\n\(k.log)")
    #expect(try k.status().pollIntervalSeconds == 30)
    r.server.kill()
    let broken = waitFor("polling every 5 s", timeout: 30) {
      guard let s = try? k.status() else { return false }
      return s.push == "connecting" && s.pollIntervalSeconds == 5
    }
    #expect(broken, "kiosk log:\n\(k.log)")
    #expect(k.log.contains("push stream lost"))
    try r.server.start()
    let back = waitFor("the stream open again", timeout: 60) {
      guard let s = try? k.status() else { return false }
      return s.push == "streaming" && s.pollIntervalSeconds == 30
    }
    #expect(back, "kiosk log:\n\(k.log)")
    _ = try await r.sendTickets(count: 2)
    #expect(waitFor("the tickets", timeout: 20) { (try? k.status())?.cachedTickets == 2 })
  }

  @Test("A server without the stream (404): polling every 5 s as before")
  func seedOnlyServerPolls() async throws {
    let r = try Restaurant()
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    proxy.add(ProxyRule(path: "/kds/stream", action: .respond(.status(404))))
    let dir = TempDir()
    let k = try kiosk(
      proxy.baseURL, token: try r.token("k", stations: ["grill"]), dir: dir,
      extra: ["--request-timeout", "2"])
    defer { _ = k.terminate() }
    let unsupported = waitFor("the stream known missing", timeout: 30) {
      (try? k.status())?.push == "unsupported"
    }
    #expect(unsupported, "kiosk log:\n\(k.log)")
    #expect(try k.status().pollIntervalSeconds == 5)
    #expect(k.log.contains("the server has no push stream"))
    _ = try await r.sendTickets(count: 1)
    #expect(waitFor("the ticket by a poll", timeout: 30) { (try? k.status())?.cachedTickets == 1 })
    // Remembered: not asked again at every poll.
    #expect(proxy.requests(pathContaining: "/kds/stream").count == 1)
  }
}
