import ArgumentParser
import Foundation
import KDSServer
import KDSSystem

#if canImport(Glibc)
  import Glibc
#endif

/// `kds-bench server`: kds-server over loopback, with a keep-alive HTTP/1.1
/// client on raw sockets (one thread per connection). The server runs in
/// this process on 127.0.0.1 (port 0) with a fresh database in a temp
/// folder, the rate limit off and request logging off; everything else
/// (group commit, synchronous=FULL, idempotency) is as in production.
struct ServerBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "server",
    abstract: "kds-server: idempotent mark-ready, queue with 500 tickets, empty since polls.")

  @Option(help: "Concurrent clients for mark-ready.")
  var clients = 32

  @Option(help: "Seconds per throughput measurement.")
  var seconds: Double = 5

  func run() async throws {
    let dir = try scratchFolder("server")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var options = ServerOptions(databasePath: dir + "/bench.db")
    options.host = "127.0.0.1"
    options.port = 0
    options.rateLimit = nil
    options.logRequests = false
    options.frameworkLogLevel = .critical
    let service = try await KDSService(options: options)
    let pos = try await DeviceTokens.create(in: service.store, device: "bench-pos", stations: [])
    let grill = try await DeviceTokens.create(
      in: service.store, device: "bench-grill", stations: ["grill"])

    let (portStream, portCont) = AsyncStream<Int>.makeStream()
    let server = Task {
      try await KDSHTTPServer.run(service: service) { _, port in portCont.yield(port) }
    }
    var iterator = portStream.makeAsyncIterator()
    guard let port = await iterator.next() else { throw CleanExit.message("server did not start") }
    say(
      "bench server: kds-server in-process on 127.0.0.1:\(port), \(clients) clients, \(seconds) s runs"
    )

    // 500 tickets on the grill station, through the POS endpoints.
    let ticketIDs = try seedTickets(port: port, token: pos, count: 500)
    say("bench server: seeded \(ticketIDs.count) grill tickets")

    // 1. Idempotent mark-ready: every request has its own Idempotency-Key
    //    (so every one is a write: the key and its answer are stored).
    let keyCounter = Counter()
    let markReady = try runLoad(port: port, clients: clients, seconds: seconds) { client, n in
      let ticket = ticketIDs[(client * 7919 + n) % ticketIDs.count]
      let key = "bench-\(client)-\(n)-\(keyCounter.next())"
      return Self.request(
        "POST", "/kds/tickets/\(ticket)/mark-ready", token: grill, body: "{}", key: key)
    }
    report(
      "idempotent mark-ready", markReady, rateTarget: 2000, p99TargetMs: 25)

    // 2. GET /kds/queue with 500 tickets on the station (one client, sequential).
    let full = Self.request("GET", "/kds/queue?station=grill", token: grill)
    let queue = try runLoad(port: port, clients: 1, seconds: min(seconds, 3)) { _, _ in full }
    let size = try Self.single(port: port, full).bodyLength
    say(
      "bench server: GET /kds/queue (500 tickets, \(size) bytes): \(format(queue.rate)) req/s, "
        + "p50 \(format(queue.p50Ms)) ms, p99 \(format(queue.p99Ms)) ms "
        + "(target p50 < 5 ms, ratio \(format(queue.p50Ms / 5)) of budget)")

    // 3. Empty since polls: since = the newest updatedAt on the station.
    let newest = try newestStamp(port: port, token: grill)
    let poll = Self.request("GET", "/kds/queue?station=grill&since=\(newest)", token: grill)
    let emptyAnswer = try Self.single(port: port, poll)
    guard emptyAnswer.bodyLength == 2 else {
      throw CleanExit.message("since poll was not empty (\(emptyAnswer.bodyLength) bytes)")
    }
    let polls = try runLoad(port: port, clients: 16, seconds: seconds) { _, _ in poll }
    say(
      "bench server: empty since polls (16 clients): \(format(polls.rate)) req/s, "
        + "p50 \(format(polls.p50Ms)) ms, p99 \(format(polls.p99Ms)) ms "
        + "(target >= 10000/s, ratio \(format(polls.rate / 10_000)))")

    server.cancel()
    _ = try? await server.value
  }

  func report(_ name: String, _ r: LoadResult, rateTarget: Double, p99TargetMs: Double) {
    say(
      "bench server: \(name) (\(clients) clients): \(format(r.rate)) req/s "
        + "(target >= \(Int(rateTarget))/s, ratio \(format(r.rate / rateTarget))), "
        + "p50 \(format(r.p50Ms)) ms, p99 \(format(r.p99Ms)) ms "
        + "(target p99 < \(Int(p99TargetMs)) ms, ratio \(format(r.p99Ms / p99TargetMs)) of budget), "
        + "non-2xx \(r.failures) of \(r.count)")
  }

  // MARK: setup

  func seedTickets(port: Int, token: String, count: Int) throws -> [String] {
    let conn = try KeepAliveConnection(port: port)
    var ids: [String] = []
    for n in 0..<count {
      let body =
        #"{"tableId":"table-\#(n % 24 + 1)","waiterName":"Amina","orderType":"DINE_IN","items":[{"name":"Beef burger","quantity":2,"station":"grill","modifiers":["no onion","extra cheese"],"notes":"allergy: peanuts","course":2},{"name":"Goat skewers","quantity":1,"station":"grill","modifiers":["spicy"]}]}"#
      let created = try conn.roundTrip(
        Self.request("POST", "/pos/orders", token: token, body: body, key: "seed-\(n)"),
        keepBody: true)
      guard created.status == 201, let id = Self.field("id", in: created.body) else {
        throw CleanExit.message("seeding failed: \(created.status)")
      }
      let sent = try conn.roundTrip(
        Self.request("POST", "/pos/orders/\(id)/send-to-kitchen", token: token, body: "{}"),
        keepBody: true)
      guard sent.status == 200, let range = sent.body.firstRange(of: Array("\"tickets\":[".utf8)),
        let ticket = Self.field("id", in: Array(sent.body[range.upperBound...]))
      else { throw CleanExit.message("send-to-kitchen failed: \(sent.status)") }
      ids.append(ticket)
    }
    return ids
  }

  func newestStamp(port: Int, token: String) throws -> String {
    let conn = try KeepAliveConnection(port: port)
    let r = try conn.roundTrip(
      Self.request("GET", "/kds/queue?station=grill", token: token), keepBody: true)
    let text = String(decoding: r.body, as: UTF8.self)
    var newest = ""
    var rest = Substring(text)
    while let range = rest.range(of: "\"updatedAt\":\"") {
      let stamp = rest[range.upperBound...].prefix(24)
      if stamp > newest { newest = String(stamp) }
      rest = rest[range.upperBound...]
    }
    return newest
  }

  static func field(_ name: String, in body: [UInt8]) -> String? {
    let text = String(decoding: body, as: UTF8.self)
    guard let r = text.range(of: "\"\(name)\":\"") else { return nil }
    return String(text[r.upperBound...].prefix { $0 != "\"" })
  }

  static func request(
    _ method: String, _ path: String, token: String, body: String? = nil, key: String? = nil
  ) -> [UInt8] {
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
    if let key { head += "Idempotency-Key: \(key)\r\n" }
    if let body {
      head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    } else {
      head += "\r\n"
    }
    return Array(head.utf8)
  }

  static func single(port: Int, _ request: [UInt8]) throws -> KeepAliveConnection.Answer {
    try KeepAliveConnection(port: port).roundTrip(request, keepBody: true)
  }

  // MARK: load

  struct LoadResult {
    var count: Int
    var failures: Int
    var rate: Double
    var p50Ms: Double
    var p99Ms: Double
  }

  /// `clients` threads, each with one keep-alive connection, sending
  /// `makeRequest(client, n)` back to back for `seconds`.
  func runLoad(
    port: Int, clients: Int, seconds: Double,
    _ makeRequest: @escaping @Sendable (Int, Int) -> [UInt8]
  ) throws -> LoadResult {
    try runLoad(ports: [port], clients: clients, seconds: seconds, makeRequest)
  }

  /// The same, client `c` on `ports[c % ports.count]` (replicas in turn).
  func runLoad(
    ports: [Int], clients: Int, seconds: Double,
    _ makeRequest: @escaping @Sendable (Int, Int) -> [UInt8]
  ) throws -> LoadResult {
    let results = LoadCollector()
    let group = DispatchGroup()
    let start = SystemClock.monotonicNanoseconds()
    let end = start + UInt64(seconds * 1e9)
    for client in 0..<clients {
      group.enter()
      let thread = Thread {
        defer { group.leave() }
        var latencies: [UInt64] = []
        latencies.reserveCapacity(100_000)
        var failures = 0
        do {
          let conn = try KeepAliveConnection(port: ports[client % ports.count])
          var n = 0
          while SystemClock.monotonicNanoseconds() < end {
            let request = makeRequest(client, n)
            let t0 = SystemClock.monotonicNanoseconds()
            let answer = try conn.roundTrip(request, keepBody: false)
            latencies.append(SystemClock.monotonicNanoseconds() - t0)
            if !(200..<300).contains(answer.status) { failures += 1 }
            n += 1
          }
        } catch {
          results.error(String(describing: error))
        }
        results.add(latencies, failures: failures)
      }
      thread.stackSize = 1 << 20
      thread.start()
    }
    group.wait()
    let elapsed = Double(SystemClock.monotonicNanoseconds() - start) / 1e9
    if let e = results.firstError { throw CleanExit.message("load client failed: \(e)") }
    var all = results.latencies
    all.sort()
    func pct(_ p: Double) -> Double {
      guard !all.isEmpty else { return .nan }
      return Double(all[min(all.count - 1, Int(Double(all.count) * p))]) / 1e6
    }
    return LoadResult(
      count: all.count, failures: results.failures, rate: Double(all.count) / elapsed,
      p50Ms: pct(0.50), p99Ms: pct(0.99))
  }
}

/// A new folder for one benchmark's files (the caller removes it).
func scratchFolder(_ bench: String) throws -> String {
  let dir = NSTemporaryDirectory() + "kds-bench-\(bench)-" + UUID().uuidString
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  return dir
}

/// Prints a line at once (unbuffered), so figures and log lines stay in order.
func say(_ line: String) {
  FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func format(_ v: Double) -> String {
  if v.isNaN { return "n/a" }
  if v >= 100 { return String(Int(v.rounded())) }
  let scaled = (v * 100).rounded() / 100
  return "\(scaled)"
}

final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0
  func next() -> Int {
    lock.withLock {
      value += 1
      return value
    }
  }
}

final class LoadCollector: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var latencies: [UInt64] = []
  private(set) var failures = 0
  private(set) var firstError: String?

  func add(_ l: [UInt64], failures f: Int) {
    lock.withLock {
      latencies += l
      failures += f
    }
  }

  func error(_ e: String) { lock.withLock { if firstError == nil { firstError = e } } }
}

/// A blocking HTTP/1.1 keep-alive connection to 127.0.0.1.
final class KeepAliveConnection {
  struct Answer {
    var status: Int
    var bodyLength: Int
    var body: [UInt8]
  }

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  let fd: Int32
  private var buffer: [UInt8] = []
  private var scratch = [UInt8](repeating: 0, count: 1 << 16)

  init(port: Int) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SystemError("socket") }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard rc == 0 else {
      let code = errno
      close(fd)
      throw SystemError("connect to 127.0.0.1:\(port)", code: code)
    }
  }

  deinit { close(fd) }

  func roundTrip(_ request: [UInt8], keepBody: Bool) throws -> Answer {
    var sent = 0
    while sent < request.count {
      let n = request[sent...].withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      guard n > 0 else { throw SystemError("send") }
      sent += n
    }
    while true {
      if let answer = try takeAnswer(keepBody: keepBody) { return answer }
      let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n < 0 { throw SystemError("recv") }
      guard n > 0 else { throw Failure(description: "connection closed by the server") }
      buffer.append(contentsOf: scratch[0..<n])
    }
  }

  private static let headerEnd: [UInt8] = [13, 10, 13, 10]
  private static let lengthName = Array("content-length:".utf8)

  private func takeAnswer(keepBody: Bool) throws -> Answer? {
    guard let end = buffer.firstRange(of: Self.headerEnd) else { return nil }
    // "HTTP/1.1 200 OK"
    guard buffer.count > 12 else { return nil }
    let status = Int(buffer[9] - 48) * 100 + Int(buffer[10] - 48) * 10 + Int(buffer[11] - 48)
    var length = 0
    var i = 0
    let head = buffer[0..<end.lowerBound]
    // Find the Content-Length header, case-insensitively.
    while i < head.count {
      guard let lineEnd = head[i...].firstIndex(of: 10) else { break }
      let line = head[i..<lineEnd]
      if line.count > Self.lengthName.count,
        zip(line.prefix(Self.lengthName.count), Self.lengthName).allSatisfy({
          $0 | 0x20 == $1 | 0x20
        })
      {
        var v = 0
        for c in line.dropFirst(Self.lengthName.count) where c >= 48 && c <= 57 {
          v = v * 10 + Int(c - 48)
        }
        length = v
      }
      i = lineEnd + 1
    }
    let total = end.upperBound + length
    guard buffer.count >= total else { return nil }
    let body = keepBody ? Array(buffer[end.upperBound..<total]) : []
    buffer.removeFirst(total)
    return Answer(status: status, bodyLength: length, body: body)
  }
}
