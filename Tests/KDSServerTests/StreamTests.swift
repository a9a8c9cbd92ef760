import Foundation
import KDSTestSupport
import Testing

/// A raw HTTP/1.1 client for one Server-Sent Events stream over loopback:
/// reads on a thread of its own, de-chunks the body, parses the events.
final class SSEReader: @unchecked Sendable {
  struct Event {
    var id: String?
    var type: String
    var data: String
  }
  private let lock = NSLock()
  private var raw: [UInt8] = []
  private var closed = false
  private let fd: Int32

  init(port: Int, path: String, headers: [String: String]) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let r = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard r == 0 else { throw POSIXError(.ECONNREFUSED) }
    var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
    for (name, value) in headers { request += "\(name): \(value)\r\n" }
    request += "\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    let thread = Thread { [self] in
      var buffer = [UInt8](repeating: 0, count: 4096)
      while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        lock.withLock { raw += buffer[0..<n] }
      }
      lock.withLock { closed = true }
    }
    thread.start()
  }

  deinit { close() }

  func close() { shutdown(fd, Int32(SHUT_RDWR)) }

  var isClosed: Bool { lock.withLock { closed } }

  /// Status, headers (lower-cased names) and the de-chunked body so far.
  func parsed() -> (status: Int, headers: [String: String], body: String)? {
    let bytes = lock.withLock { raw }
    let text = String(decoding: bytes, as: UTF8.self)
    guard let end = text.range(of: "\r\n\r\n") else { return nil }
    let lines = text[..<end.lowerBound].components(separatedBy: "\r\n")
    let status = Int(lines[0].split(separator: " ")[1]) ?? 0
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
        .trimmingCharacters(in: .whitespaces)
    }
    let headerBytes = text[..<end.upperBound].utf8.count
    var rest = Array(bytes[headerBytes...])
    guard headers["transfer-encoding"]?.lowercased() == "chunked" else {
      return (status, headers, String(decoding: rest, as: UTF8.self))
    }
    var chunks: [UInt8] = []
    while let cr = rest.firstIndex(of: 0x0D), cr + 1 < rest.count, rest[cr + 1] == 0x0A {
      guard let size = Int(String(decoding: rest[..<cr], as: UTF8.self), radix: 16), size > 0,
        rest.count >= cr + 2 + size
      else { break }
      chunks += rest[(cr + 2)..<(cr + 2 + size)]
      rest = Array(rest[min(rest.count, cr + 4 + size)...])
    }
    let body = String(decoding: chunks, as: UTF8.self)
    return (status, headers, body)
  }

  /// The complete events so far, and the comment lines.
  func events() -> (events: [Event], comments: [String]) {
    guard let body = parsed()?.body else { return ([], []) }
    var events: [Event] = []
    var comments: [String] = []
    for block in body.components(separatedBy: "\n\n").dropLast() {
      var event = Event(id: nil, type: "message", data: "")
      var data: [String] = []
      for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
        if line.hasPrefix(":") {
          comments.append(String(line.dropFirst()).trimmingCharacters(in: .whitespaces))
        } else if line.hasPrefix("id: ") {
          event.id = String(line.dropFirst(4))
        } else if line.hasPrefix("event: ") {
          event.type = String(line.dropFirst(7))
        } else if line.hasPrefix("data: ") {
          data.append(String(line.dropFirst(6)))
        }
      }
      if !data.isEmpty {
        event.data = data.joined(separator: "\n")
        events.append(event)
      }
    }
    return (events, comments)
  }

  /// The ticket events, decoded.
  func tickets() -> [(id: String?, ticket: [String: Any])] {
    events().events.filter { $0.type == "ticket" }.compactMap { e in
      guard let object = try? JSONSerialization.jsonObject(with: Data(e.data.utf8)),
        let ticket = object as? [String: Any]
      else { return nil }
      return (e.id, ticket)
    }
  }
}

@Suite("Push stream (GET /kds/stream)", .serialized)
struct StreamTests {
  func open(
    _ f: Fixture, token: String?, query: String = "station=grill", lastEventID: String? = nil
  )
    throws -> SSEReader
  {
    var headers: [String: String] = [:]
    if let token { headers["Authorization"] = "Bearer \(token)" }
    if let lastEventID { headers["Last-Event-ID"] = lastEventID }
    return try SSEReader(port: f.server.port, path: "/kds/stream?\(query)", headers: headers)
  }

  /// Waits until the stream's first bytes (its opening comment) are in:
  /// from then on a change reaches it.
  func waitOpen(_ reader: SSEReader) async throws {
    try await waitUntil("the stream opens") { !reader.events().comments.isEmpty }
  }

  @Test("A ticket sent to the kitchen arrives as an event, its id its updatedAt")
  func newTicketEvent() async throws {
    let f = try Fixture()
    let reader = try open(f, token: f.grillToken)
    try await waitOpen(reader)
    let head = try #require(reader.parsed())
    #expect(head.status == 200)
    #expect(head.headers["content-type"]?.hasPrefix("text/event-stream") == true)
    #expect(head.headers["x-kds-heartbeat"] == "15.000")
    let placed = try await placeOrder(f.pos, items: [("Beef burger", "grill")])
    let ticketID = try #require(placed.tickets["grill"])
    try await waitUntil("the ticket event") {
      reader.tickets().contains { $0.ticket["id"] as? String == ticketID }
    }
    let event = try #require(reader.tickets().first { $0.ticket["id"] as? String == ticketID })
    #expect(event.ticket["station"] as? String == "grill")
    #expect(event.ticket["status"] as? String == "QUEUED")
    #expect(event.id == event.ticket["updatedAt"] as? String)
    // The same JSON as the queue's item.
    let queue = try await f.grill.get("/kds/queue?station=grill")
    let item = try #require(queue.array?.first { $0["id"] as? String == ticketID })
    #expect(item["updatedAt"] as? String == event.id)
    #expect((item["items"] as? [Any])?.count == (event.ticket["items"] as? [Any])?.count)
    // A kiosk action reaches the stream too.
    let started = try await f.grill.post("/kds/tickets/\(ticketID)/start", key: newKey())
    #expect(started.status == 200)
    try await waitUntil("the start event") {
      reader.tickets().contains {
        $0.ticket["id"] as? String == ticketID && $0.ticket["status"] as? String == "IN_PROGRESS"
      }
    }
  }

  @Test("Station scoping: another station's tickets never come; another station's stream is 403")
  func stationScoping() async throws {
    let f = try Fixture()
    let forbidden = try open(f, token: f.grillToken, query: "station=bar")
    try await waitUntil("the 403") { forbidden.parsed() != nil }
    #expect(forbidden.parsed()?.status == 403)
    let missing = try open(f, token: f.grillToken, query: "")
    try await waitUntil("the 422") { missing.parsed() != nil }
    #expect(missing.parsed()?.status == 422)

    let reader = try open(f, token: f.grillToken)
    try await waitOpen(reader)
    let first = try await placeOrder(f.pos, items: [("Mojito", "bar")])
    let second = try await placeOrder(
      f.pos, items: [("Beef burger", "grill"), ("Lemonade", "bar")])
    let grillID = try #require(second.tickets["grill"])
    try await waitUntil("the grill ticket") {
      reader.tickets().contains { $0.ticket["id"] as? String == grillID }
    }
    // Changes arrive in order: the bar tickets, older or of the same write, would be here by now.
    #expect(reader.tickets().allSatisfy { $0.ticket["station"] as? String == "grill" })
    #expect(!reader.tickets().contains { $0.ticket["id"] as? String == first.tickets["bar"] })
  }

  @Test("No token or an unknown one: 401, as on /kds/queue")
  func unauthorised() async throws {
    let f = try Fixture()
    for token in [nil, "not-a-token"] as [String?] {
      let reader = try open(f, token: token)
      try await waitUntil("the answer") { reader.parsed() != nil }
      #expect(reader.parsed()?.status == 401)
      #expect(reader.parsed()?.body.contains("\"statusCode\":401") == true)
    }
  }

  @Test("Resume with Last-Event-ID (or since): only the tickets after it, then live changes")
  func resume() async throws {
    let f = try Fixture()
    let firstReader = try open(f, token: f.grillToken)
    try await waitOpen(firstReader)
    let a = try await placeOrder(f.pos, items: [("Beef burger", "grill")])
    let aID = try #require(a.tickets["grill"])
    try await waitUntil("ticket a") {
      firstReader.tickets().contains { $0.ticket["id"] as? String == aID }
    }
    let lastID = try #require(firstReader.tickets().last?.id)
    firstReader.close()
    let b = try await placeOrder(f.pos, items: [("Chicken wings", "grill")])
    let bID = try #require(b.tickets["grill"])

    let resumed = try open(f, token: f.grillToken, lastEventID: lastID)
    try await waitUntil("ticket b on resume") {
      resumed.tickets().contains { $0.ticket["id"] as? String == bID }
    }
    #expect(!resumed.tickets().contains { $0.ticket["id"] as? String == aID })
    // `since` does the same.
    let bySince = try open(
      f, token: f.grillToken,
      query:
        "station=grill&since=\(lastID.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
    )
    try await waitUntil("ticket b by since") {
      bySince.tickets().contains { $0.ticket["id"] as? String == bID }
    }
    #expect(bySince.tickets().map { $0.ticket["id"] as? String } == [bID])
    // Then live.
    let c = try await placeOrder(f.pos, items: [("Ribs", "grill")])
    let cID = try #require(c.tickets["grill"])
    try await waitUntil("ticket c live") {
      resumed.tickets().contains { $0.ticket["id"] as? String == cID }
    }
    // A bad Last-Event-ID is a clear 422.
    let bad = try open(f, token: f.grillToken, lastEventID: "yesterday")
    try await waitUntil("the 422") { bad.parsed() != nil }
    #expect(bad.parsed()?.status == 422)
  }

  @Test("Heartbeats at the configured interval, and SIGTERM ends open streams")
  func heartbeatAndShutdown() async throws {
    let f = try Fixture(arguments: ["--stream-heartbeat", "0.2"])
    let reader = try open(f, token: f.grillToken)
    try await waitUntil("three heartbeats") {
      reader.events().comments.filter { $0 == "heartbeat" }.count >= 3
    }
    #expect(reader.parsed()?.headers["x-kds-heartbeat"] == "0.200")
    // Graceful shutdown does not wait for the stream forever.
    let status = f.server.terminate()
    #expect(status == 0)
    try await waitUntil("the stream ends") { reader.isClosed }
  }
}
