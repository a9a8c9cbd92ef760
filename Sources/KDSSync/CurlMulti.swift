import CCurl
import KDSCore
import KDSSystem
import Synchronization

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// One request for the multi driver, built by `CurlHTTPClient`.
struct CurlRequest: Sendable {
  var method: String
  var url: String
  var headers: [String]
  var body: Data?
  var connectTimeoutMillis: Int
  /// The whole transfer; 0: no limit (a stream).
  var timeoutMillis: Int
  /// The transfer is aborted (a timeout) when no byte arrived for this long.
  var idleTimeoutMillis: Int?
  var maxResponseBytes: Int
  var caFile: String?
  /// A stream: a 2xx answer's body goes to these handlers as it arrives.
  var stream: StreamHandlers?
  var completion: @Sendable (Result<HTTPResponse, HTTPFailure>) -> Void
}

/// What a streaming transfer calls, on the driver's thread, as its answer
/// arrives: `onOpen` once the headers of a 2xx answer are in, then `onBody`
/// with each piece of the body.
/// `onOpen` may answer a new idle limit (ms); `onBody` answers false to end the transfer.
struct StreamHandlers: Sendable {
  var onOpen: @Sendable (_ status: Int, _ headers: [String: String]) -> Int?
  var onBody: @Sendable (UnsafeRawBufferPointer) -> Bool
}

/// The requests of one `CurlHTTPClient` on one libcurl multi handle, driven
/// by one thread (`curl_multi_poll`/`curl_multi_perform`): every transfer
/// runs concurrently with the others on a connection from the multi's cache
/// (keep-alive: an idle kiosk opens no new connection), TLS sessions and DNS
/// answers are shared, and `curl_multi_wakeup` interrupts the wait when a
/// request is submitted or cancelled. Completions run on the driver's thread.
final class CurlMultiDriver: Sendable {
  struct Inbox {
    var submitted: [(id: UInt64, request: CurlRequest)] = []
    var cancelled: [UInt64: String] = [:]
    var cancelAll: String?
    var shutdown = false
    var nextID: UInt64 = 1
    var threadStarted = false
  }
  let inbox = Mutex(Inbox())
  /// The multi handle's address (`curl_multi_wakeup` may be called from any thread).
  let multiAddress: UInt
  /// Transfers at once: more wait in libcurl's queue (CURLMOPT_MAX_TOTAL_CONNECTIONS).
  static let maxConnections = 12

  init?() {
    guard let multi = curl_multi_init() else { return nil }
    kds_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, Self.maxConnections)
    kds_curl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, Self.maxConnections)
    multiAddress = UInt(bitPattern: multi)
  }

  var multi: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: multiAddress)! }

  /// Queues `request`; its completion runs once (on the driver's thread).
  @discardableResult
  func submit(_ request: CurlRequest) -> UInt64 {
    let (id, start) = inbox.withLock { box -> (UInt64, Bool) in
      let id = box.nextID
      box.nextID += 1
      box.submitted.append((id, request))
      let start = !box.threadStarted
      box.threadStarted = true
      return (id, start)
    }
    if start {
      let driver = self
      spawnThread { driver.runLoop() }
    }
    curl_multi_wakeup(multi)
    return id
  }

  /// Ends one transfer (its completion gets a failure saying `reason`).
  func cancel(_ id: UInt64, reason: String) {
    inbox.withLock { $0.cancelled[id] = reason }
    curl_multi_wakeup(multi)
  }

  /// Ends every transfer submitted so far.
  func cancelAll(reason: String) {
    inbox.withLock { box in
      box.cancelAll = reason
      for (id, _) in box.submitted { box.cancelled[id] = reason }
    }
    curl_multi_wakeup(multi)
  }

  /// Ends every transfer and the thread; the multi handle is freed by the thread.
  func shutdown() {
    let running = inbox.withLock { box -> Bool in
      box.shutdown = true
      return box.threadStarted
    }
    if running {
      curl_multi_wakeup(multi)
    } else {
      curl_multi_cleanup(multi)
    }
  }

  /// The driver's thread.
  func runLoop() {
    let loop = MultiLoop(multi: multi)
    while true {
      let box = inbox.withLock { box -> Inbox in
        let taken = box
        box.submitted = []
        box.cancelled = [:]
        box.cancelAll = nil
        return taken
      }
      if box.shutdown {
        loop.finishAll(HTTPFailure(kind: .other, detail: "cancelled: the client is closed"))
        for (_, request) in box.submitted {
          request.completion(
            .failure(HTTPFailure(kind: .other, detail: "cancelled: the client is closed")))
        }
        loop.close()
        return
      }
      if let reason = box.cancelAll {
        loop.finishAll(HTTPFailure(kind: .other, detail: reason))
      }
      for (id, reason) in box.cancelled {
        loop.finish(id: id, HTTPFailure(kind: .other, detail: reason))
      }
      for (id, request) in box.submitted {
        if let reason = box.cancelled[id] {
          request.completion(.failure(HTTPFailure(kind: .other, detail: reason)))
        } else {
          loop.start(id: id, request)
        }
      }
      loop.perform()
      let wait = loop.waitMillis()
      curl_multi_poll(multi, nil, 0, Int32(wait), nil)
    }
  }
}

/// The driver thread's own state: the transfers on the multi handle.
final class MultiLoop {
  final class Transfer {
    let id: UInt64
    let easy: UnsafeMutableRawPointer
    let sink: ResponseSink
    let sinkPointer: Unmanaged<ResponseSink>
    var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer: UnsafeMutablePointer<CChar>
    let request: CurlRequest

    init(id: UInt64, easy: UnsafeMutableRawPointer, request: CurlRequest) {
      self.id = id
      self.easy = easy
      self.request = request
      sink = ResponseSink(limit: request.maxResponseBytes, stream: request.stream)
      sink.idleTimeoutMillis = request.idleTimeoutMillis
      sinkPointer = Unmanaged.passRetained(sink)
      errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
      errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }
  }

  let multi: UnsafeMutableRawPointer
  let share: UnsafeMutableRawPointer?
  var transfers: [UInt: Transfer] = [:]
  var byID: [UInt64: UInt] = [:]

  init(multi: UnsafeMutableRawPointer) {
    self.multi = multi
    // One thread uses the share handle: no lock callbacks needed.
    share = curl_share_init()
    if let share {
      kds_curl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue))
      kds_curl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue))
    }
  }

  func close() {
    curl_multi_cleanup(multi)
    if let share { curl_share_cleanup(share) }
  }

  func start(id: UInt64, _ request: CurlRequest) {
    guard let easy = curl_easy_init() else {
      request.completion(.failure(HTTPFailure(kind: .other, detail: "curl_easy_init failed")))
      return
    }
    let t = Transfer(id: id, easy: easy, request: request)
    for line in request.headers { t.headerList = curl_slist_append(t.headerList, line) }
    let opaque = t.sinkPointer.toOpaque()
    request.url.withCString { _ = kds_curl_setopt_ptr(easy, CURLOPT_URL, $0) }
    kds_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
    kds_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMillis)
    kds_curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, request.timeoutMillis)
    kds_curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
    if request.stream == nil {
      kds_curl_setopt_off(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(request.maxResponseBytes))
    }
    kds_curl_setopt_ptr(easy, CURLOPT_ERRORBUFFER, t.errorBuffer)
    kds_curl_setopt_ptr(easy, CURLOPT_HTTPHEADER, t.headerList)
    kds_curl_setopt_write(easy, CURLOPT_WRITEFUNCTION, curlWriteBody)
    kds_curl_setopt_ptr(easy, CURLOPT_WRITEDATA, opaque)
    kds_curl_setopt_write(easy, CURLOPT_HEADERFUNCTION, curlWriteHeader)
    kds_curl_setopt_ptr(easy, CURLOPT_HEADERDATA, opaque)
    if let share { kds_curl_setopt_ptr(easy, CURLOPT_SHARE, share) }
    // libcurl copies string options, so the temporary C strings may go.
    "http,https".withCString { _ = kds_curl_setopt_ptr(easy, CURLOPT_PROTOCOLS_STR, $0) }
    if let caFile = request.caFile {
      caFile.withCString { _ = kds_curl_setopt_ptr(easy, CURLOPT_CAINFO, $0) }
    }
    switch request.method {
    case "GET": kds_curl_setopt_long(easy, CURLOPT_HTTPGET, 1)
    case "POST": kds_curl_setopt_long(easy, CURLOPT_POST, 1)
    default:
      request.method.withCString { _ = kds_curl_setopt_ptr(easy, CURLOPT_CUSTOMREQUEST, $0) }
    }
    if let body = request.body {
      kds_curl_setopt_long(easy, CURLOPT_POSTFIELDSIZE, body.count)
      body.withUnsafeBytes { raw in
        _ = kds_curl_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, raw.baseAddress)
      }
    }
    t.sink.lastActivity = SystemClock.monotonicMillis()
    let code = curl_multi_add_handle(multi, easy)
    guard code == CURLM_OK else {
      release(t)
      let text = String(cString: curl_multi_strerror(code))
      request.completion(
        .failure(HTTPFailure(kind: .other, detail: "curl_multi_add_handle: \(text)")))
      return
    }
    transfers[UInt(bitPattern: easy)] = t
    byID[id] = UInt(bitPattern: easy)
  }

  /// Moves every transfer on, completes those done and those silent too long.
  func perform() {
    var running: Int32 = 0
    curl_multi_perform(multi, &running)
    var left: Int32 = 0
    while let message = curl_multi_info_read(multi, &left) {
      guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
        let t = transfers[UInt(bitPattern: easy)]
      else { continue }
      complete(t, code: message.pointee.data.result)
    }
    let now = SystemClock.monotonicMillis()
    for t in Array(transfers.values) {
      if let idle = t.sink.idleTimeoutMillis, now - t.sink.lastActivity > Int64(idle) {
        finish(
          id: t.id,
          HTTPFailure(kind: .timeout, detail: "nothing received for \(idle) ms: connection lost"))
      }
    }
  }

  /// How long `curl_multi_poll` may wait (libcurl shortens it for its own timers).
  func waitMillis() -> Int {
    var wait: Int64 = 60_000
    let now = SystemClock.monotonicMillis()
    for t in transfers.values {
      if let idle = t.sink.idleTimeoutMillis {
        wait = min(wait, t.sink.lastActivity + Int64(idle) + 1 - now)
      }
    }
    return Int(max(1, wait))
  }

  func complete(_ t: MultiLoop.Transfer, code: CURLcode) {
    var status = 0
    kds_curl_getinfo_long(t.easy, CURLINFO_RESPONSE_CODE, &status)
    let sink = t.sink
    let tooLarge =
      status > 0
      && (code == CURLE_FILESIZE_EXCEEDED || (code == CURLE_WRITE_ERROR && sink.tooLarge))
    let result: Result<HTTPResponse, HTTPFailure>
    if code == CURLE_OK || tooLarge {
      result = .success(
        HTTPResponse(
          status: status, body: tooLarge ? Data() : sink.body, bodyTooLarge: tooLarge,
          date: sink.date, retryAfter: sink.retryAfter, contentType: sink.contentType,
          replayed: sink.replayed, slaHeader: sink.sla))
    } else {
      let text = String(cString: t.errorBuffer)
      let detail = text.isEmpty ? String(cString: curl_easy_strerror(code)) : text
      result = .failure(HTTPFailure(kind: CurlHTTPClient.kind(of: code), detail: detail))
    }
    remove(t)
    t.request.completion(result)
  }

  func finish(id: UInt64, _ failure: HTTPFailure) {
    guard let address = byID[id], let t = transfers[address] else { return }
    remove(t)
    t.request.completion(.failure(failure))
  }

  func finishAll(_ failure: HTTPFailure) {
    for id in Array(byID.keys) { finish(id: id, failure) }
  }

  func remove(_ t: MultiLoop.Transfer) {
    curl_multi_remove_handle(multi, t.easy)
    transfers[UInt(bitPattern: t.easy)] = nil
    byID[t.id] = nil
    release(t)
  }

  /// Frees the easy handle (its connection stays in the multi's cache) and the transfer's buffers.
  func release(_ t: MultiLoop.Transfer) {
    kds_curl_setopt_ptr(t.easy, CURLOPT_ERRORBUFFER, nil)
    curl_easy_cleanup(t.easy)
    curl_slist_free_all(t.headerList)
    t.headerList = nil
    t.errorBuffer.deallocate()
    t.sinkPointer.release()
  }
}
