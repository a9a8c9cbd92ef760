// A loopback HTTP proxy that injects faults between the kiosk and a real
// kds-server: refused connections, black holes, canned answers (500, 503,
// 429 with Retry-After, HTML, malformed JSON, huge bodies), answers lost
// after the server committed, and per-path rules (404 for the extensions).
//
//     let proxy = try FaultProxy(upstreamPort: server.port)
//     proxy.baseURL                      // point the kiosk here
//     proxy.refuse()                     // nothing listens: connection refused
//     proxy.resume()                     // listens again on the same port
//     proxy.add(.init(path: "/start") { _ in .respond(.status(404)) })
//     proxy.setDefault(.respond(.status(503)))

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One request as the proxy saw it.
public struct ProxiedRequest: Sendable {
  public var method: String
  public var path: String
  /// Header names in lowercase.
  public var headers: [String: String]
  public var body: Data
  public var idempotencyKey: String? { headers["idempotency-key"] }
}

/// A canned answer.
public struct CannedResponse: Sendable {
  public var status: Int
  public var headers: [(String, String)]
  public var body: Data

  public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  public static func status(_ code: Int, json: String = "{\"statusCode\":0}") -> CannedResponse {
    CannedResponse(
      status: code, headers: [("Content-Type", "application/json")],
      body: Data(
        json.replacingOccurrences(of: "\"statusCode\":0", with: "\"statusCode\":\(code)").utf8))
  }

  public static func json(_ text: String, status: Int = 200) -> CannedResponse {
    CannedResponse(
      status: status, headers: [("Content-Type", "application/json")], body: Data(text.utf8))
  }

  public static func html(status: Int) -> CannedResponse {
    CannedResponse(
      status: status, headers: [("Content-Type", "text/html; charset=utf-8")],
      body: Data(
        "<html><head><title>\(status) Bad Gateway</title></head><body><h1>\(status)</h1><p>nginx</p></body></html>"
          .utf8))
  }
}

/// What the proxy does with one request.
public enum ProxyAction: Sendable {
  /// Pass it to the server and its answer back.
  case forward
  /// Answer without asking the server.
  case respond(CannedResponse)
  /// A body of `bytes` bytes of JSON-looking filler, with or without Content-Length.
  case hugeBody(bytes: Int, declareLength: Bool)
  /// Pass it to the server (which commits), then close without answering.
  case forwardThenDrop
  /// Pass it to the server, then hold the connection without answering (a timeout).
  case forwardThenHang
  /// Read the request and never answer.
  case hang
  /// Close the connection at once.
  case reset
  /// A 200 declaring `Content-Length: declared` that sends `body` and closes.
  case truncated(body: String, declared: Int)
  /// A chunked 200 that sends a chunk of filler now and then and never ends
  /// (until the client gives up or `reset()`).
  case endlessChunked
  /// Pass it to the server and its answer back with the `Date` header moved
  /// by `seconds`.
  case forwardShiftingDate(seconds: Int)
}

/// A rule: requests whose path contains `path` (and method matches, if
/// given) get `action`, at most `times` times (nil: always).
public final class ProxyRule: @unchecked Sendable {
  public let method: String?
  public let path: String?
  let decide: @Sendable (ProxiedRequest) -> ProxyAction
  var remaining: Int?

  public init(
    method: String? = nil, path: String? = nil, times: Int? = nil,
    _ decide: @escaping @Sendable (ProxiedRequest) -> ProxyAction
  ) {
    self.method = method
    self.path = path
    self.remaining = times
    self.decide = decide
  }

  public convenience init(
    method: String? = nil, path: String? = nil, times: Int? = nil, action: ProxyAction
  ) {
    self.init(method: method, path: path, times: times) { _ in action }
  }
}

public final class FaultProxy: @unchecked Sendable {
  public let upstreamPort: Int
  public private(set) var port: Int = 0
  public var baseURL: String { "http://127.0.0.1:\(port)" }

  private let lock = NSLock()
  private var listenFD: Int32 = -1
  private var rules: [ProxyRule] = []
  private var defaultAction: ProxyAction = .forward
  private var seen: [(ProxiedRequest, String)] = []
  private var hanging: [Int32] = []

  public init(upstreamPort: Int) throws {
    self.upstreamPort = upstreamPort
    try listenOn(port: 0)
  }

  deinit {
    refuse()
    lock.withLock {
      for fd in hanging { close(fd) }
    }
  }

  // MARK: control

  /// Stops listening: new connections are refused (ECONNREFUSED).
  public func refuse() {
    let fd = lock.withLock { () -> Int32 in
      let fd = listenFD
      listenFD = -1
      return fd
    }
    if fd >= 0 {
      shutdown(fd, Int32(SHUT_RDWR))
      close(fd)
    }
  }

  /// Listens again on the same port.
  public func resume() throws {
    guard lock.withLock({ listenFD < 0 }) else { return }
    try listenOn(port: port)
  }

  public func setDefault(_ action: ProxyAction) { lock.withLock { defaultAction = action } }

  public func add(_ rule: ProxyRule) { lock.withLock { rules.append(rule) } }

  /// Back to plain forwarding, no rules; hanging connections are closed.
  public func reset() {
    lock.withLock {
      rules.removeAll()
      defaultAction = .forward
      for fd in hanging { shutdown(fd, Int32(SHUT_RDWR)) }
      hanging.removeAll()
    }
  }

  /// Every request seen so far, with the action taken ("forward", "respond 503", ...).
  public var requests: [(request: ProxiedRequest, action: String)] {
    lock.withLock { seen.map { ($0.0, $0.1) } }
  }

  public func requests(pathContaining fragment: String) -> [ProxiedRequest] {
    requests.filter { $0.request.path.contains(fragment) }.map(\.request)
  }

  public func clearLog() { lock.withLock { seen.removeAll() } }

  // MARK: serving

  private func listenOn(port wanted: Int) throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ProxyError("socket: errno \(errno)") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(wanted).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, listen(fd, 64) == 0 else {
      let e = errno
      close(fd)
      throw ProxyError("bind/listen 127.0.0.1:\(wanted): errno \(e)")
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &len) }
    }
    port = Int(UInt16(bigEndian: addr.sin_port))
    lock.withLock { listenFD = fd }
    let thread = Thread { [weak self] in
      while true {
        let c = accept(fd, nil, nil)
        if c < 0 {
          if errno == EINTR { continue }
          return
        }
        guard let self else {
          close(c)
          return
        }
        Thread.detachNewThread { self.serve(c) }
      }
    }
    thread.start()
  }

  private func action(for request: ProxiedRequest) -> ProxyAction {
    lock.withLock {
      for rule in rules {
        if let m = rule.method, m != request.method { continue }
        if let p = rule.path, !request.path.contains(p) { continue }
        if let r = rule.remaining {
          if r <= 0 { continue }
          rule.remaining = r - 1
        }
        return rule.decide(request)
      }
      return defaultAction
    }
  }

  private func record(_ request: ProxiedRequest, _ action: String) {
    lock.withLock { seen.append((request, action)) }
  }

  private func serve(_ client: Int32) {
    var keepOpen = false
    defer { if !keepOpen { close(client) } }
    guard let (raw, request) = readRequest(client) else { return }
    let action = action(for: request)
    switch action {
    case .forward:
      record(request, "forward")
      if let answer = forward(raw) { sendAll(client, answer) }
    case .respond(let canned):
      record(request, "respond \(canned.status)")
      sendAll(client, render(canned))
    case .hugeBody(let bytes, let declare):
      record(request, "huge body \(bytes)")
      var head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: \(httpDate())\r\n"
      head += declare ? "Content-Length: \(bytes)\r\n" : ""
      head += "Connection: close\r\n\r\n"
      guard sendAll(client, Data(head.utf8)) else { return }
      var chunk = Data("[".utf8)
      chunk.append(Data(repeating: UInt8(ascii: " "), count: 65_535))
      var sent = 0
      while sent < bytes {
        let part = chunk.prefix(min(chunk.count, bytes - sent))
        guard sendAll(client, part) else { return }
        sent += part.count
      }
    case .forwardThenDrop:
      record(request, "forward then drop")
      _ = forward(raw)
    case .forwardThenHang:
      record(request, "forward then hang")
      _ = forward(raw)
      holdUntilClosed(client)
      keepOpen = true
    case .hang:
      record(request, "hang")
      holdUntilClosed(client)
      keepOpen = true
    case .truncated(let body, let declared):
      record(request, "truncated \(body.utf8.count)/\(declared)")
      let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: \(httpDate())\r\nContent-Length: \(declared)\r\nConnection: close\r\n\r\n"
      sendAll(client, Data((head + body).utf8))
    case .endlessChunked:
      record(request, "endless chunked")
      let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: \(httpDate())\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[   \r\n"
      guard sendAll(client, Data(head.utf8)) else { return }
      lock.withLock { hanging.append(client) }
      // A drip of one byte every 200 ms: never idle long enough for a
      // low-speed limit, never done.
      var pause = timespec(tv_sec: 0, tv_nsec: 200_000_000)
      while sendAll(client, Data("1\r\n \r\n".utf8)) { nanosleep(&pause, nil) }
      lock.withLock { hanging.removeAll { $0 == client } }
    case .forwardShiftingDate(let seconds):
      record(request, "forward, Date moved \(seconds) s")
      guard let answer = forward(raw) else { return }
      sendAll(client, Self.shiftingDate(answer, by: seconds))
    case .reset:
      record(request, "reset")
      var lingerOff = linger(l_onoff: 1, l_linger: 0)
      setsockopt(client, SOL_SOCKET, SO_LINGER, &lingerOff, socklen_t(MemoryLayout<linger>.size))
    }
  }

  /// Keeps the connection open, unanswered, until the client gives up or `reset()`.
  private func holdUntilClosed(_ fd: Int32) {
    lock.withLock { hanging.append(fd) }
    var buffer = [UInt8](repeating: 0, count: 1024)
    while true {
      let n = recv(fd, &buffer, buffer.count, 0)
      if n > 0 { continue }
      if n < 0 && errno == EINTR { continue }
      break
    }
    lock.withLock { hanging.removeAll { $0 == fd } }
    close(fd)
  }

  private func readRequest(_ fd: Int32) -> (Data, ProxiedRequest)? {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    var headerEnd: Range<Data.Index>?
    var contentLength = 0
    var request: ProxiedRequest?
    while true {
      if request == nil, let end = data.range(of: Data("\r\n\r\n".utf8)) {
        headerEnd = end
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let first = lines.removeFirst().split(separator: " ")
        guard first.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
          guard let colon = line.firstIndex(of: ":") else { continue }
          headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
            .trimmingCharacters(in: .whitespaces)
        }
        contentLength = headers["content-length"].flatMap { Int($0) } ?? 0
        request = ProxiedRequest(
          method: String(first[0]), path: String(first[1]), headers: headers, body: Data())
      }
      if let end = headerEnd, var r = request, data.count - end.upperBound >= contentLength {
        r.body = data[end.upperBound..<(end.upperBound + contentLength)]
        return (data, r)
      }
      let n = recv(fd, &buffer, buffer.count, 0)
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { return nil }
      data.append(contentsOf: buffer[0..<n])
    }
  }

  /// Sends the request to the server with `Connection: close` and reads the whole answer.
  private func forward(_ raw: Data) -> Data? {
    guard let end = raw.range(of: Data("\r\n\r\n".utf8)) else { return nil }
    let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
    var lines = head.components(separatedBy: "\r\n").filter {
      !$0.lowercased().hasPrefix("connection:")
    }
    lines.append("Connection: close")
    var out = Data((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    out.append(raw[end.upperBound...])

    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(upstreamPort).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard rc == 0, sendAll(fd, out) else { return nil }
    var answer = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
      let n = recv(fd, &buffer, buffer.count, 0)
      if n > 0 {
        answer.append(contentsOf: buffer[0..<n])
        continue
      }
      if n < 0 && errno == EINTR { continue }
      break
    }
    return answer.isEmpty ? nil : answer
  }

  @discardableResult
  private func sendAll(_ fd: Int32, _ data: Data) -> Bool {
    var offset = 0
    let bytes = [UInt8](data)
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes {
        send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { return false }
      offset += n
    }
    return true
  }

  private func render(_ r: CannedResponse) -> Data {
    var head =
      "HTTP/1.1 \(r.status) Canned\r\nDate: \(httpDate())\r\nContent-Length: \(r.body.count)\r\nConnection: close\r\n"
    for (k, v) in r.headers { head += "\(k): \(v)\r\n" }
    var out = Data((head + "\r\n").utf8)
    out.append(r.body)
    return out
  }

  /// `answer` with its `Date` header replaced by one `seconds` away from now.
  static func shiftingDate(_ answer: Data, by seconds: Int) -> Data {
    guard let end = answer.range(of: Data("\r\n\r\n".utf8)) else { return answer }
    let head = String(decoding: answer[..<end.lowerBound], as: UTF8.self)
    var lines = head.components(separatedBy: "\r\n").filter {
      !$0.lowercased().hasPrefix("date:")
    }
    lines.append("Date: \(httpDate(Date().addingTimeInterval(Double(seconds))))")
    var out = Data(lines.joined(separator: "\r\n").utf8)
    out.append(answer[end.lowerBound...])
    return out
  }

  private func httpDate() -> String { Self.httpDate(Date()) }

  static func httpDate(_ date: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return f.string(from: date)
  }
}

struct ProxyError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
