import CCurl
import KDSCore
import Synchronization

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// How the kiosk talks to its server.
public struct HTTPClientConfig: Sendable {
  /// `http://host:port` or `https://...`, no trailing slash needed.
  public var baseURL: String
  /// The device token (`Authorization: Bearer`). Never logged.
  public var token: String
  public var connectTimeoutMillis: Int
  /// The whole request, connection included.
  public var requestTimeoutMillis: Int
  /// A CA bundle to trust instead of the system store (for a private server CA).
  public var caFile: String?
  /// Larger answers are refused (the transfer is stopped, nothing is kept).
  public var maxResponseBytes: Int

  public init(
    baseURL: String, token: String, connectTimeoutMillis: Int = 3_000,
    requestTimeoutMillis: Int = 10_000, caFile: String? = nil, maxResponseBytes: Int = 16 << 20
  ) {
    var base = baseURL
    while base.hasSuffix("/") { base.removeLast() }
    self.baseURL = base
    self.token = token
    self.connectTimeoutMillis = min(connectTimeoutMillis, requestTimeoutMillis)
    self.requestTimeoutMillis = requestTimeoutMillis
    self.caFile = caFile
    self.maxResponseBytes = maxResponseBytes
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
/// size of an answer. Safe to use from several threads at once: each request
/// takes an easy handle of its own from a pool and gives it back, so the
/// handle's connection (keep-alive, and a TLS session) serves the next one.
public final class CurlHTTPClient: Sendable {
  public let config: HTTPClientConfig
  /// Idle easy handles, each with its open connection (addresses as integers:
  /// a handle is used by one thread at a time, taken out under the lock).
  let idle = Mutex<[UInt]>([])
  /// Set by `cancelRequests()`: requests on the wire end within a second
  /// (libcurl's progress callback), new ones fail at once.
  let cancelled = CancelFlag()

  /// libcurl's one-time set-up: nil when it worked, else why it did not.
  public static let initFailure: String? = {
    let code = curl_global_init(Int(CURL_GLOBAL_ALL))
    guard code != CURLE_OK else { return nil }
    let reason = String(cString: curl_easy_strerror(code))
    return "libcurl could not be initialised (curl_global_init: \(reason))"
  }()

  public init(config: HTTPClientConfig) {
    self.config = config
    _ = Self.initFailure
  }

  deinit {
    for address in idle.withLock({ $0 }) {
      if let handle = UnsafeMutableRawPointer(bitPattern: address) { curl_easy_cleanup(handle) }
    }
  }

  /// Ends the requests in flight (within about a second) and refuses new ones
  /// until `allowRequests()`: the sync is stopping.
  public func cancelRequests() { cancelled.flag.store(true, ordering: .relaxed) }

  public func allowRequests() { cancelled.flag.store(false, ordering: .relaxed) }

  /// An idle handle (reset, its connection kept) or a new one.
  func takeHandle() -> UnsafeMutableRawPointer? {
    if let address = idle.withLock({ $0.popLast() }),
      let handle = UnsafeMutableRawPointer(bitPattern: address)
    {
      curl_easy_reset(handle)
      return handle
    }
    return curl_easy_init()
  }

  /// Gives a handle back for the next request; at most 8 are kept.
  func giveBack(_ handle: UnsafeMutableRawPointer) {
    let kept = idle.withLock { pool -> Bool in
      guard pool.count < 8 else { return false }
      pool.append(UInt(bitPattern: handle))
      return true
    }
    if !kept { curl_easy_cleanup(handle) }
  }

  /// Sends `method path` (path with query, starting with `/`).
  public func send(
    method: String, path: String, body: Data? = nil, headers: [(String, String)] = []
  ) -> Result<HTTPResponse, HTTPFailure> {
    if let failure = Self.initFailure {
      return .failure(HTTPFailure(kind: .other, detail: failure))
    }
    guard let handle = takeHandle() else {
      return .failure(HTTPFailure(kind: .other, detail: "curl_easy_init failed"))
    }
    defer { giveBack(handle) }
    if cancelled.flag.load(ordering: .relaxed) {
      return .failure(HTTPFailure(kind: .other, detail: "cancelled: the sync is stopping"))
    }
    let sink = ResponseSink(limit: config.maxResponseBytes, cancelled: cancelled)
    let sinkPointer = Unmanaged.passRetained(sink)
    defer { sinkPointer.release() }

    var list: UnsafeMutablePointer<curl_slist>? = nil
    defer { curl_slist_free_all(list) }
    var allHeaders = [
      ("Authorization", "Bearer \(config.token)"), ("Accept", "application/json"),
      ("Expect", ""), ("User-Agent", "kds-kiosk/1"),
    ]
    if body != nil { allHeaders.append(("Content-Type", "application/json")) }
    allHeaders += headers
    for (name, value) in allHeaders {
      list = curl_slist_append(list, "\(name): \(value)")
    }

    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    let url = config.baseURL + path
    let config = self.config
    // libcurl holds the error buffer's address from CURLOPT_ERRORBUFFER until
    // it is unset: the transfer, the reading of the message and the unsetting
    // all happen inside the scope where that address is valid.
    let (code, errorText) = errorBuffer.withUnsafeMutableBufferPointer {
      errorBuf -> (CURLcode, String) in
      defer { kds_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, nil) }
      let code: CURLcode = url.withCString { urlC in
        kds_curl_setopt_ptr(handle, CURLOPT_URL, urlC)
        kds_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        kds_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, config.connectTimeoutMillis)
        kds_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, config.requestTimeoutMillis)
        kds_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        kds_curl_setopt_off(
          handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(config.maxResponseBytes))
        kds_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuf.baseAddress)
        kds_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, list)
        kds_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION, curlWriteBody)
        kds_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, sinkPointer.toOpaque())
        kds_curl_setopt_write(handle, CURLOPT_HEADERFUNCTION, curlWriteHeader)
        kds_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, sinkPointer.toOpaque())
        kds_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
        kds_curl_setopt_ptr(
          handle, CURLOPT_XFERINFOFUNCTION, unsafeBitCast(curlProgress, to: UnsafeRawPointer.self))
        kds_curl_setopt_ptr(handle, CURLOPT_XFERINFODATA, sinkPointer.toOpaque())
        // libcurl copies string options, so the temporary C strings may go.
        "http,https".withCString { _ = kds_curl_setopt_ptr(handle, CURLOPT_PROTOCOLS_STR, $0) }
        if let caFile = config.caFile {
          caFile.withCString { _ = kds_curl_setopt_ptr(handle, CURLOPT_CAINFO, $0) }
        }
        switch method {
        case "GET": kds_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        case "POST": kds_curl_setopt_long(handle, CURLOPT_POST, 1)
        default:
          method.withCString { _ = kds_curl_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, $0) }
        }
        if let body {
          kds_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
          body.withUnsafeBytes { raw in
            _ = kds_curl_setopt_ptr(handle, CURLOPT_COPYPOSTFIELDS, raw.baseAddress)
          }
        }
        return curl_easy_perform(handle)
      }
      return (code, code == CURLE_OK ? "" : String(cString: errorBuf.baseAddress!))
    }
    var status = 0
    kds_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
    let tooLarge =
      status > 0
      && (code == CURLE_FILESIZE_EXCEEDED || (code == CURLE_WRITE_ERROR && sink.tooLarge))
    if code == CURLE_OK || tooLarge {
      return .success(
        HTTPResponse(
          status: status, body: tooLarge ? Data() : sink.body, bodyTooLarge: tooLarge,
          date: sink.date, retryAfter: sink.retryAfter, contentType: sink.contentType,
          replayed: sink.replayed, slaHeader: sink.sla))
    }
    let detail = errorText.isEmpty ? String(cString: curl_easy_strerror(code)) : errorText
    return .failure(HTTPFailure(kind: Self.kind(of: code), detail: detail))
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

/// Where libcurl writes one answer: the body (up to a limit) and the headers we use.
/// Whether the client's requests are to end now.
final class CancelFlag: Sendable {
  let flag = Atomic<Bool>(false)
}

/// libcurl's progress callback (about once a second, and on every read): a
/// non-zero answer aborts the transfer.
private let curlProgress:
  @convention(c) (UnsafeMutableRawPointer?, curl_off_t, curl_off_t, curl_off_t, curl_off_t) ->
    Int32 = { user, _, _, _, _ in
      guard let user else { return 0 }
      let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
      return sink.cancelled.flag.load(ordering: .relaxed) ? 1 : 0
    }

final class ResponseSink {
  let limit: Int
  var body = Data()
  var tooLarge = false
  var date: Timestamp?
  var retryAfter: String?
  var contentType: String?
  var replayed = false
  var sla: String?
  let cancelled: CancelFlag

  init(limit: Int, cancelled: CancelFlag) {
    self.limit = limit
    self.cancelled = cancelled
  }

  func header(_ line: Substring) {
    if line.hasPrefix("HTTP/") {
      // A new status line (after a 100 Continue, say): forget earlier headers.
      date = nil
      retryAfter = nil
      contentType = nil
      replayed = false
      sla = nil
      return
    }
    guard let colon = line.firstIndex(of: ":") else { return }
    let name = line[..<colon].lowercased()
    let value = line[line.index(after: colon)...].trimmingSpaces
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

private let curlWriteBody: kds_curl_write_cb = { data, size, count, user in
  guard let data, let user else { return 0 }
  let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
  let n = size * count
  if sink.body.count + n > sink.limit {
    sink.tooLarge = true
    return 0  // stops the transfer: CURLE_WRITE_ERROR
  }
  sink.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: n)
  return n
}

private let curlWriteHeader: kds_curl_write_cb = { data, size, count, user in
  guard let data, let user else { return 0 }
  let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
  let n = size * count
  let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(data), count: n)
  sink.header(Substring(String(decoding: bytes, as: UTF8.self)))
  return n
}
