import CCurl
import Dispatch
import KDSSystem
import KDSTime
import Logging
import Synchronization

/// Screen alerts to a webhook (`--alert-webhook URL`): one JSON POST per
/// event, in order, each tried up to `attempts` times with a doubling pause
/// (1 s, 2 s, ...) until the receiver answers 2xx.
///
///     {"event":"screen-offline","device":"kiosk-grill","station":"grill",
///      "since":"2026-12-01T12:00:05.123Z","at":"2026-12-01T12:01:06.000Z"}
///
/// `since` is the screen's last poll; `event` is `screen-offline` (silent for
/// longer than `--alert-after`) or `screen-online` (it polled again).
final class WebhookSender: Sendable {
  let url: String
  let attempts: Int
  let firstPauseMillis: Int64
  let logger: Logger
  private let stream: AsyncStream<JSONValue>
  private let input: AsyncStream<JSONValue>.Continuation

  init(url: String, attempts: Int = 3, firstPauseMillis: Int64 = 1000, logger: Logger) {
    self.url = url
    self.attempts = max(1, attempts)
    self.firstPauseMillis = firstPauseMillis
    self.logger = logger
    let pair = AsyncStream.makeStream(of: JSONValue.self)
    stream = pair.stream
    input = pair.continuation
  }

  func enqueue(_ event: JSONValue) { input.yield(event) }

  /// Delivers the events one after the other until cancelled.
  func run() async {
    for await event in stream {
      if Task.isCancelled { return }
      await deliver(event)
    }
  }

  func deliver(_ event: JSONValue) async {
    let body = event.bytes
    let name = event["event"]?.stringValue ?? "?"
    let device = event["device"]?.stringValue ?? "?"
    var pause = firstPauseMillis
    for attempt in 1...attempts {
      let result = await Self.post(url: url, body: body)
      switch result {
      case .success(let status) where (200..<300).contains(status):
        logger.info("webhook delivered event=\(name) device=\(device) attempt=\(attempt)")
        return
      case .success(let status):
        logger.warning(
          "webhook refused event=\(name) device=\(device) attempt=\(attempt) status=\(status)")
      case .failure(let error):
        logger.warning(
          "webhook failed event=\(name) device=\(device) attempt=\(attempt) error=\"\(error)\"")
      }
      if attempt < attempts {
        do { try await Task.sleep(for: .milliseconds(pause)) } catch { return }
        pause *= 2
      }
    }
    logger.error("webhook gave up event=\(name) device=\(device) after \(attempts) attempts")
  }

  struct PostError: Error, CustomStringConvertible {
    var description: String
  }

  /// One POST with libcurl (HTTP or HTTPS with the system's CAs), on a
  /// dispatch thread: 5 s to connect, 10 s in all.
  static func post(url: String, body: [UInt8]) async -> Result<Int, PostError> {
    await withCheckedContinuation { cont in
      DispatchQueue.global().async {
        cont.resume(returning: postBlocking(url: url, body: body))
      }
    }
  }

  static let curlReady: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

  static func postBlocking(url: String, body: [UInt8]) -> Result<Int, PostError> {
    guard curlReady, let handle = curl_easy_init() else {
      return .failure(PostError(description: "libcurl could not be initialised"))
    }
    defer { curl_easy_cleanup(handle) }
    var headers: UnsafeMutablePointer<curl_slist>? = nil
    headers = curl_slist_append(headers, "Content-Type: application/json")
    headers = curl_slist_append(headers, "User-Agent: kds-server")
    headers = curl_slist_append(headers, "Expect:")
    defer { curl_slist_free_all(headers) }
    let code: CURLcode = url.withCString { urlText in
      body.withUnsafeBufferPointer { bytes in
        _ = kds_curl_setopt_ptr(handle, CURLOPT_URL, urlText)
        _ = kds_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = kds_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, 5000)
        _ = kds_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, 10_000)
        _ = kds_curl_setopt_long(handle, CURLOPT_POST, 1)
        _ = kds_curl_setopt_ptr(handle, CURLOPT_POSTFIELDS, bytes.baseAddress)
        _ = kds_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, bytes.count)
        _ = kds_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, headers)
        _ = kds_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION, discardBody)
        return curl_easy_perform(handle)
      }
    }
    guard code == CURLE_OK else {
      return .failure(PostError(description: String(cString: curl_easy_strerror(code))))
    }
    var status = 0
    _ = kds_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
    return .success(status)
  }
}

private let discardBody: kds_curl_write_cb = { _, size, count, _ in size * count }

/// Watches the screens: one that has been silent for longer than
/// `--alert-after` is alerted once (a log line, the top of `/status`, the
/// webhook); when it polls again the alert is cleared (and `screen-online`
/// goes to the webhook).
struct ScreenAlerts {
  let service: KDSService

  func run() async {
    let interval = service.options.alertCheckIntervalSeconds
    while !Task.isCancelled {
      await check(now: SystemClock.wallMillis())
      do { try await Task.sleep(for: .milliseconds(Int64(interval * 1000))) } catch { return }
    }
  }

  func check(now: Int64) async {
    let limit = Int64(service.options.alertAfterSeconds * 1000)
    for report in service.kiosks.takeNewlySilent(limit: limit, now: now) {
      service.logger.warning(
        "screen offline alert device=\(report.device) station=\(report.station) since=\(RFC3339.format(millis: report.seenAt))"
      )
      let device = report.device
      do {
        try await service.store.write { db in
          try ScreenTable.setAlerted(db, device: device, at: now)
        }
      } catch {
        service.logger.error("cannot save the alert of \(device): \(error)")
      }
      service.webhook?.enqueue(Self.event("screen-offline", report, now: now))
    }
  }

  static func event(_ name: String, _ report: KioskReport, now: Int64) -> JSONValue {
    .object([
      ("event", .string(name)), ("device", .string(report.device)),
      ("station", .string(report.station)),
      ("since", .string(RFC3339.format(millis: report.seenAt))),
      ("at", .string(RFC3339.format(millis: now))),
    ])
  }
}

extension KDSService {
  /// A kiosk's poll: its report in memory, in `screens` when due, and the
  /// end of its offline alert if it had one.
  func notePoll(_ report: KioskReport) async {
    let recorded = kiosks.note(report)
    if recorded.cameBack {
      logger.notice("screen back online device=\(report.device) station=\(report.station)")
      webhook?.enqueue(ScreenAlerts.event("screen-online", report, now: report.seenAt))
    }
    guard recorded.save else { return }
    // Awaited (first poll, a change, or every 30 s): the list must survive
    // a restart that follows at once.
    do {
      try await store.write { db in try ScreenTable.save(db, report, alertedAt: nil) }
    } catch {
      logger.error("cannot save screen \(report.device): \(error)")
    }
  }
}
