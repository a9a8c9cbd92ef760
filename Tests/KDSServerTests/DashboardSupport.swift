import Foundation
import KDSTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

extension ServerProcess {
  /// A manager token (`token create --role manager`).
  func createManagerToken(device: String = "manager-1") throws -> String {
    let (status, output) = try Self.run(
      binary, ["token", "create", "--db", dbPath, "--device", device, "--role", "manager"])
    guard status == 0, let last = output.split(separator: "\n").last else {
      throw Failure.commandFailed("token create --role manager failed (\(status)): \(output)")
    }
    return String(last)
  }

  /// `kds-server ARGS --db DB` (the database option after the subcommand path).
  func command(_ path: [String], _ rest: [String]) throws -> (Int32, String) {
    try Self.run(binary, path + ["--db", dbPath] + rest)
  }
}

/// Tickets written straight into the server's database (the server reads its
/// figures from the database on every request), with the times a test needs:
/// no clock to wait for. Through the database's own client (`sqlite3` or
/// `psql`), so it works on either backend.
struct TicketSeeder {
  let server: ServerProcess
  let orderID = "01SEEDORDER0000000000000000"

  init(_ server: ServerProcess) throws {
    self.server = server
    try run(
      """
      INSERT INTO orders (id, number, table_id, waiter_name, order_type, status,
        items_json, next_item, payment_json, created_at, updated_at)
      VALUES ('\(orderID)', 9000, 'table-1', NULL, 'DINE_IN', 'SENT', '[]', 1, NULL, 0, 0)
      ON CONFLICT DO NOTHING
      """)
  }

  func run(_ sql: String) throws {
    let (status, output) = try server.sql(sql)
    guard status == 0 else {
      throw ServerProcess.Failure.commandFailed("seeding failed (\(status)): \(output)")
    }
  }

  /// A ticket at `station`, sent at `sentAt` (ms), ready at `readyAt` if given.
  @discardableResult
  func add(station: String, sentAt: Int64, readyAt: Int64? = nil, status: String? = nil) throws
    -> String
  {
    let id = "T" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(25)
    let state = status ?? (readyAt == nil ? "QUEUED" : "READY")
    precondition(station.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    try run(
      """
      INSERT INTO tickets (id, order_id, order_number, station, status, sent_at, updated_at,
        ready_at, waiter_name, table_name, order_type, items_json)
      VALUES ('\(id)', '\(orderID)', '9000', '\(station)', '\(state)', \(sentAt), \(readyAt ?? sentAt),
        \(readyAt.map(String.init) ?? "NULL"), NULL, 'Table 1', 'DINE_IN', '[]')
      """)
    return id
  }
}

func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// Milliseconds of a local time (the server runs with the test's time zone).
func localMillis(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int) -> Int64 {
  let c = DateComponents(
    calendar: Calendar.current, timeZone: TimeZone.current, year: year, month: month, day: day,
    hour: hour, minute: minute)
  return Int64(c.date!.timeIntervalSince1970 * 1000)
}

/// RFC 3339 with an offset or Z, with or without fractions, to ms.
func parseTime(_ text: String?) -> Int64? {
  guard let text else { return nil }
  let f = ISO8601DateFormatter()
  f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
  if let d = f.date(from: text) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
  f.formatOptions = [.withInternetDateTime]
  return f.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
}

func rfc3339(_ ms: Int64) -> String {
  let f = ISO8601DateFormatter()
  f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
  return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

/// A webhook receiver on 127.0.0.1: answers the first `failFirst` requests
/// with 500, the rest with 204, and keeps every request's body.
final class WebhookReceiver: @unchecked Sendable {
  let port: Int
  private let fd: Int32
  private let lock = NSLock()
  private var bodies: [String] = []
  private var statuses: [Int] = []
  private let failFirst: Int

  init(failFirst: Int) throws {
    self.failFirst = failFirst
    let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard sock >= 0 else { throw ServerProcess.Failure.startFailed("socket: errno \(errno)") }
    var one: Int32 = 1
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, listen(sock, 16) == 0 else {
      close(sock)
      throw ServerProcess.Failure.startFailed("bind/listen: errno \(errno)")
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) }
    }
    fd = sock
    port = Int(UInt16(bigEndian: addr.sin_port))
    let thread = Thread { [self] in serve() }
    thread.start()
  }

  deinit { close(fd) }

  var url: String { "http://127.0.0.1:\(port)/hooks/kds" }

  /// Bodies received so far, with the status each was answered.
  var received: [(body: String, status: Int)] {
    lock.withLock { Array(zip(bodies, statuses)).map { ($0.0, $0.1) } }
  }

  private func serve() {
    while true {
      let client = accept(fd, nil, nil)
      if client < 0 {
        if errno == EINTR { continue }
        return
      }
      handle(client)
      close(client)
    }
  }

  private func handle(_ client: Int32) {
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 8192)
    var tv = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    while true {
      let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
      if n <= 0 { return }
      data += buffer[0..<n]
      guard let end = data.firstRange(of: [13, 10, 13, 10]) else { continue }
      let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
      var length = 0
      for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
        length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
      }
      if data.count - end.upperBound < length { continue }
      let body = String(decoding: data[end.upperBound..<(end.upperBound + length)], as: UTF8.self)
      let status = lock.withLock { () -> Int in
        let s = bodies.count < failFirst ? 500 : 204
        bodies.append(head.hasPrefix("post /hooks/kds ") ? body : "WRONG REQUEST: \(head)")
        statuses.append(s)
        return s
      }
      let answer = Array(
        "HTTP/1.1 \(status) \(status == 500 ? "Internal Server Error" : "No Content")\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
          .utf8)
      _ = answer.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      return
    }
  }
}

/// The station object `name` of a `/status.json` answer.
func stationFigures(_ r: HTTPResult, _ name: String) -> [String: Any]? {
  (r.object?["stations"] as? [[String: Any]])?.first { $0["station"] as? String == name }
}
