import CCurl
import Dispatch
import KDSCore
import KDSSystem
import Logging
import Synchronization

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// How the kiosk talks to its server.
public struct HTTPClientConfig: Sendable {
  /// `http://host:port` or `https://...`, no trailing slash needed: the
  /// first of `servers`.
  public var baseURL: String
  /// The servers to try, in order (`server = https://a:8443, https://b:8443`):
  /// on no answer or a 502/503/504 the client moves to the next (`FailoverDecision`).
  public var servers: [String]
  /// The device token (`Authorization: Bearer`). Never logged.
  public var token: String
  public var connectTimeoutMillis: Int
  /// The whole request, connection included.
  public var requestTimeoutMillis: Int
  /// A CA bundle to trust instead of the system store (for a private server CA).
  public var caFile: String?
  /// Larger answers are refused (the transfer is stopped, nothing is kept).
  public var maxResponseBytes: Int
  /// With several servers: while one after the first is in use, the ones
  /// before it are probed this often (`failback_probe`), and a server that
  /// failed is skipped this long unless every server failed.
  public var failbackProbeMillis: Int64 = 60_000

  public init(
    baseURL: String, token: String, connectTimeoutMillis: Int = 3_000,
    requestTimeoutMillis: Int = 10_000, caFile: String? = nil, maxResponseBytes: Int = 16 << 20
  ) {
    servers = Self.serverList(baseURL)
    self.baseURL = servers.first ?? baseURL
    self.token = token
    self.connectTimeoutMillis = min(connectTimeoutMillis, requestTimeoutMillis)
    self.requestTimeoutMillis = requestTimeoutMillis
    self.caFile = caFile
    self.maxResponseBytes = maxResponseBytes
  }

  /// `https://a:8443, https://b:8443` as its URLs, trailing slashes removed;
  /// a single URL is a list of one.
  public static func serverList(_ value: String) -> [String] {
    value.split(separator: ",").compactMap { part in
      var url = String(part.trimmingSpaces)
      while url.hasSuffix("/") { url.removeLast() }
      return url.isEmpty ? nil : url
    }
  }
}

/// One HTTP answer.
public struct HTTPResponse: Sendable {
  public var status: Int
  public var body: Data
  /// The body was larger than the limit: the transfer was stopped and `body` is empty.
  public var bodyTooLarge: Bool
  /// The server's `Date` header.
  public var date: Timestamp?
  /// The raw `Retry-After` header.
  public var retryAfter: String?
  public var contentType: String?
  /// `Idempotent-Replayed: true`: the server replayed a stored answer.
  public var replayed: Bool
  /// `X-KDS-SLA: amber=300; red=600`: the server's thresholds (ServerSettings.swift).
  public var slaHeader: String? = nil

  /// `Retry-After` in seconds from now.
  public var retryAfterSeconds: Int64? {
    retryAfter.flatMap { HTTPDate.retryAfterSeconds($0, serverNow: date) }
  }

  /// Whether the body claims to be JSON (a missing Content-Type is tolerated).
  public var isJSON: Bool {
    guard let contentType else { return true }
    return contentType.lowercased().contains("json")
  }
}

/// A request that got no answer: why, in one line, and what kind of failure.
public struct HTTPFailure: Error, Sendable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    case refused, timeout, dns, tls, reset, other
  }
  public var kind: Kind
  public var detail: String
  public var description: String { "\(kind.rawValue): \(detail)" }
}

/// An HTTP client on libcurl: `CURLOPT_NOSIGNAL`, connect and total
/// timeouts, TLS with the system CA store (or a CA file), and a cap on the
/// size of an answer. Every request goes through one libcurl multi handle
/// driven by a thread of its own (`CurlMultiDriver`): requests run
/// concurrently, connections are kept alive between them (an idle kiosk
/// opens no new connection), and `cancelRequests()` ends those in flight at
/// once. Safe to use from any thread.
public final class CurlHTTPClient: Sendable {
  public let config: HTTPClientConfig
  /// The multi handle's thread; nil if libcurl could not make one.
  let driver: CurlMultiDriver?
  /// Set by `cancelRequests()`: new requests fail at once until `allowRequests()`.
  let cancelled = Atomic<Bool>(false)
  /// The servers, the one in use and each one's health (ServerList.swift).
  let list: Mutex<ServerList>
  /// The time of the failover's bookkeeping (backoffs, probes, "last error
  /// at"): the sync engine gives its own clock (`useClock`).
  let clockBox = Mutex<@Sendable () -> Timestamp>({ Timestamp(millis: SystemClock.wallMillis()) })
  /// Logs (once per switch) that the client moves to another server; the
  /// sync engine gives its logger (`logSwitchesTo`).
  let switchLogger = Mutex(Logger(label: "kds.sync"))

  /// libcurl's one-time set-up: nil when it worked, else why it did not.
  public static let initFailure: String? = {
    let code = curl_global_init(Int(CURL_GLOBAL_ALL))
    guard code != CURLE_OK else { return nil }
    let reason = String(cString: curl_easy_strerror(code))
    return "libcurl could not be initialised (curl_global_init: \(reason))"
  }()

  public init(config: HTTPClientConfig) {
    self.config = config
    let urls = config.servers.isEmpty ? [config.baseURL] : config.servers
    list = Mutex(
      ServerList(
        urls: urls, probeMillis: max(1, config.failbackProbeMillis),
        backoffMillis: max(1, config.failbackProbeMillis)))
    driver = Self.initFailure == nil ? CurlMultiDriver() : nil
  }

  deinit { driver?.shutdown() }

  /// Ends the requests in flight at once (their completions get a
  /// "cancelled" failure) and refuses new ones until `allowRequests()`: the
  /// sync is stopping.
  public func cancelRequests() {
    cancelled.store(true, ordering: .sequentiallyConsistent)
    driver?.cancelAll(reason: "cancelled: the sync is stopping")
  }

  public func allowRequests() { cancelled.store(false, ordering: .sequentiallyConsistent) }

  /// Where the "server A unreachable: using B" lines go.
  public func logSwitchesTo(_ logger: Logger) { switchLogger.withLock { $0 = logger } }

  /// The clock of the failover's bookkeeping (the sync engine's).
  public func useClock(_ now: @escaping @Sendable () -> Timestamp) {
    clockBox.withLock { $0 = now }
  }

  func now() -> Timestamp { clockBox.withLock { $0 }() }

  /// The base URL of the server in use.
  public var serverInUse: String {
    list.withLock { $0.entries[$0.active].url }
  }

  /// The index in `config.servers` of the server in use.
  public var activeServerIndex: Int { list.withLock { $0.active } }

  /// Every server, in order, with its health (`kdsctl status --json`).
  public func serverReport() -> [ServerStatus] {
    let now = now()
    return list.withLock { $0.report(now: now) }
  }

  /// Whether every server of the list failed recently (the banner names
  /// them then, and only then).
  public var allServersDown: Bool {
    let now = now()
    return list.withLock { $0.allDown(now: now) }
  }

  /// Failover (docs/deploy.md, "When the kiosk switches servers"): notes
  /// what server `index` answered and returns where an idempotent request
  /// that failed there goes next (nil: the answer stands).
  func noteOutcome(
    _ result: Result<HTTPResponse, HTTPFailure>, index: Int, tried: [Int]
  ) -> Int? {
    let decision = FailoverDecision.of(result)
    let now = now()
    let (moved, next, urls, allDown) = list.withLock {
      l -> ((from: Int, to: Int)?, Int?, [String], Bool) in
      let urls = l.entries.map(\.url)
      switch decision {
      case .keep:
        if case .success = result { l.answered(index, now: now) }
        return (nil, nil, urls, false)
      case .retryElsewhere, .switchServer:
        let reason: String
        switch result {
        case .success(let r): reason = "HTTP \(r.status)"
        case .failure(let f): reason = f.description
        }
        let moved = l.failed(index, reason: reason, decision: decision, now: now)
        return (moved, l.retryTarget(tried: tried, now: now), urls, l.allDown(now: now))
      }
    }
    if let moved {
      let why: String
      switch result {
      case .success(let r): why = "HTTP \(r.status)"
      case .failure(let f): why = f.kind.rawValue
      }
      let logger = switchLogger.withLock { $0 }
      let line: Logger.Message =
        "server \(urls[moved.from]) unreachable: using \(urls[moved.to]) (\(why))"
      // Every server down: each is tried in turn; the connection's own line says offline.
      if allDown { logger.debug(line) } else { logger.warning(line) }
    }
    return next
  }

  /// The servers to probe now (those before the one in use), if due.
  public func failbackProbesDue() -> [Int] {
    let now = now()
    return list.withLock { $0.probeDue(now: now) }
  }

  /// When the next failback probe is due (nil while the first server is in use).
  public var nextFailbackProbe: Timestamp? {
    list.withLock { $0.active > 0 ? $0.nextProbeAt : nil }
  }

  /// A probe of server `index` answered 2xx: back to it if it comes first.
  public func probeAnswered(_ index: Int) {
    let now = now()
    let (moved, urls) = list.withLock { l in
      (l.probeAnswered(index, now: now), l.entries.map(\.url))
    }
    if let moved {
      let logger = switchLogger.withLock { $0 }
      logger.notice("server \(urls[moved.to]) answers again: back from \(urls[moved.from])")
    }
  }

  /// A probe of server `index` failed: it stays skipped.
  public func probeFailed(_ index: Int, reason: String) {
    let now = now()
    list.withLock {
      _ = $0.failed(index, reason: reason, decision: .switchServer, now: now)
    }
  }

  /// The base URL of server `index`.
  func base(_ index: Int) -> String {
    list.withLock { $0.entries.indices.contains(index) ? $0.entries[index].url : config.baseURL }
  }

  /// The header lines of every request (the token, never logged).
  func headerLines(body: Bool, accept: String, _ headers: [(String, String)]) -> [String] {
    var all = [
      ("Authorization", "Bearer \(config.token)"), ("Accept", accept),
      ("Expect", ""), ("User-Agent", "kds-kiosk/1"),
    ]
    // No token (pairing, a health check): no Authorization header at all.
    if config.token.isEmpty { all.removeFirst() }
    if body { all.append(("Content-Type", "application/json")) }
    all += headers
    return all.map { "\($0.0): \($0.1)" }
  }

  /// Starts `method path` (path with query, starting with `/`) on the
  /// server in use; `completion` runs once with the answer, on the client's
  /// thread (keep it short). An idempotent request (GET, or one with an
  /// `Idempotency-Key`) that gets no answer or a 502/503/504 is sent again
  /// at once to the next server (each at most once); after a 500, to one
  /// other server (`FailoverDecision`). `server` pins the request to one
  /// server, without failover (a failback probe, a pairing claim).
  /// Returns the first transfer's id, nil if it failed at once.
  @discardableResult
  public func submit(
    method: String, path: String, body: Data? = nil, headers: [(String, String)] = [],
    server: Int? = nil,
    completion: @escaping @Sendable (Result<HTTPResponse, HTTPFailure>) -> Void
  ) -> UInt64? {
    let idempotent =
      server == nil
      && (method == "GET" || method == "HEAD"
        || headers.contains { $0.0.lowercased() == "idempotency-key" })
    return attempt(
      method: method, path: path, body: body, headers: headers,
      index: server ?? activeServerIndex, tried: [], retried500: false, pinned: server != nil,
      idempotent: idempotent, completion: completion)
  }

  func attempt(
    method: String, path: String, body: Data?, headers: [(String, String)], index: Int,
    tried: [Int], retried500: Bool, pinned: Bool, idempotent: Bool,
    completion: @escaping @Sendable (Result<HTTPResponse, HTTPFailure>) -> Void
  ) -> UInt64? {
    submit(
      CurlRequest(
        method: method, url: base(index) + path,
        headers: headerLines(body: body != nil, accept: "application/json", headers), body: body,
        connectTimeoutMillis: config.connectTimeoutMillis,
        timeoutMillis: config.requestTimeoutMillis, idleTimeoutMillis: nil,
        maxResponseBytes: config.maxResponseBytes, caFile: config.caFile, stream: nil,
        completion: { [self] result in
          if pinned {
            completion(result)
            return
          }
          let tried = tried + [index]
          let next = noteOutcome(result, index: index, tried: tried)
          let decision = FailoverDecision.of(result)
          let again =
            idempotent && !cancelled.load(ordering: .sequentiallyConsistent)
            && (decision == .switchServer || (decision == .retryElsewhere && !retried500))
          guard again, let next else {
            completion(result)
            return
          }
          _ = attempt(
            method: method, path: path, body: body, headers: headers, index: next, tried: tried,
            retried500: retried500 || decision == .retryElsewhere, pinned: false,
            idempotent: idempotent, completion: completion)
        }))
  }

  /// Opens a long-lived `GET path` on the server in use, whose 2xx body
  /// goes to `handlers` as it arrives (no total timeout; aborted when
  /// nothing arrives for `idleTimeoutMillis`). `completion` runs when it
  /// ends, with the answer (a non-2xx status and its body) or the failure.
  /// A stream's end never switches servers (the polls notice a dead
  /// server); the stream follows the server the polls use (`server`).
  @discardableResult
  func openStream(
    path: String, headers: [(String, String)], idleTimeoutMillis: Int, server: Int,
    handlers: StreamHandlers,
    completion: @escaping @Sendable (Result<HTTPResponse, HTTPFailure>) -> Void
  ) -> UInt64? {
    submit(
      CurlRequest(
        method: "GET", url: base(server) + path,
        headers: headerLines(body: false, accept: "text/event-stream", headers), body: nil,
        connectTimeoutMillis: config.connectTimeoutMillis, timeoutMillis: 0,
        idleTimeoutMillis: idleTimeoutMillis, maxResponseBytes: config.maxResponseBytes,
        caFile: config.caFile, stream: handlers, completion: completion))
  }

  func submit(_ request: CurlRequest) -> UInt64? {
    if let failure = Self.initFailure {
      request.completion(.failure(HTTPFailure(kind: .other, detail: failure)))
      return nil
    }
    guard let driver else {
      request.completion(.failure(HTTPFailure(kind: .other, detail: "curl_multi_init failed")))
      return nil
    }
    if cancelled.load(ordering: .sequentiallyConsistent) {
      request.completion(
        .failure(HTTPFailure(kind: .other, detail: "cancelled: the sync is stopping")))
      return nil
    }
    let id = driver.submit(request)
    // A cancel that raced the submission: the driver ends this one too.
    if cancelled.load(ordering: .sequentiallyConsistent) {
      driver.cancel(id, reason: "cancelled: the sync is stopping")
    }
    return id
  }

  /// Ends one transfer (a stream): its completion gets a failure.
  func cancel(_ id: UInt64, reason: String) { driver?.cancel(id, reason: reason) }

  /// Sends `method path` (path with query, starting with `/`) and waits for the answer.
  /// `server` pins it to one server of the list (no failover).
  public func send(
    method: String, path: String, body: Data? = nil, headers: [(String, String)] = [],
    server: Int? = nil
  ) -> Result<HTTPResponse, HTTPFailure> {
    let box = AnswerBox()
    submit(method: method, path: path, body: body, headers: headers, server: server) {
      box.set($0)
    }
    return box.wait()
  }

  static func kind(of code: CURLcode) -> HTTPFailure.Kind {
    switch code {
    case CURLE_COULDNT_CONNECT: .refused
    case CURLE_OPERATION_TIMEDOUT: .timeout
    case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: .dns
    case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
      CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
      CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
      .tls
    case CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE: .reset
    default: .other
    }
  }
}

/// One answer to wait for (`send`).
final class AnswerBox: Sendable {
  let value = Mutex<Result<HTTPResponse, HTTPFailure>?>(nil)
  let semaphore = DispatchSemaphore(value: 0)
  func set(_ r: Result<HTTPResponse, HTTPFailure>) {
    value.withLock { $0 = r }
    semaphore.signal()
  }
  func wait() -> Result<HTTPResponse, HTTPFailure> {
    semaphore.wait()
    return value.withLock { $0! }
  }
}

/// Where libcurl writes one answer: the body (up to a limit, or to a
/// stream's handler) and the headers we use. Used on the driver's thread only.
final class ResponseSink {
  let limit: Int
  var body = Data()
  var tooLarge = false
  var status = 0
  var date: Timestamp?
  var retryAfter: String?
  var contentType: String?
  var replayed = false
  var sla: String?
  var headers: [String: String] = [:]
  let stream: StreamHandlers?
  var streaming = false
  /// Monotonic time of the last byte received (the idle limit of a stream).
  var lastActivity: Int64 = 0
  /// A stream's idle limit (ms), set by the request then by `onOpen`.
  var idleTimeoutMillis: Int?

  init(limit: Int, stream: StreamHandlers?) {
    self.limit = limit
    self.stream = stream
  }

  func header(_ line: Substring) {
    lastActivity = SystemClock.monotonicMillis()
    if line.hasPrefix("HTTP/") {
      // A new status line (after a 100 Continue, say): forget earlier headers.
      let parts = line.split(separator: " ")
      status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
      headers = [:]
      date = nil
      retryAfter = nil
      contentType = nil
      replayed = false
      sla = nil
      return
    }
    if line.trimmingSpaces.isEmpty {
      // The end of the headers: a 2xx answer to a stream opens it.
      if let stream, (200..<300).contains(status), !streaming {
        streaming = true
        if let idle = stream.onOpen(status, headers) { idleTimeoutMillis = idle }
      }
      return
    }
    guard let colon = line.firstIndex(of: ":") else { return }
    let name = line[..<colon].lowercased()
    let value = line[line.index(after: colon)...].trimmingSpaces
    headers[name] = value
    switch name {
    case "date": date = HTTPDate.parse(value)
    case "retry-after": retryAfter = value
    case "content-type": contentType = value
    case "idempotent-replayed": replayed = value.lowercased() == "true"
    case "x-kds-sla": sla = String(value)
    default: break
    }
  }
}

let curlWriteBody: kds_curl_write_cb = { data, size, count, user in
  guard let data, let user else { return 0 }
  let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
  let n = size * count
  sink.lastActivity = SystemClock.monotonicMillis()
  if sink.streaming, let stream = sink.stream {
    let keep = stream.onBody(UnsafeRawBufferPointer(start: UnsafeRawPointer(data), count: n))
    return keep ? n : 0
  }
  if sink.body.count + n > sink.limit {
    sink.tooLarge = true
    return 0  // stops the transfer: CURLE_WRITE_ERROR
  }
  sink.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: n)
  return n
}

let curlWriteHeader: kds_curl_write_cb = { data, size, count, user in
  guard let data, let user else { return 0 }
  let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
  let n = size * count
  let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(data), count: n)
  sink.header(Substring(String(decoding: bytes, as: UTF8.self)))
  return n
}
