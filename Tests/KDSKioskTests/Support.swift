import Foundation
import KDSCore
import KDSKiosk
import KDSStore
import KDSSync
import KDSTestSupport
import Logging

/// Log lines kept in memory, so tests can check what was logged (and how often).
final class LogRecorder: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [(Logger.Level, String)] = []

  func append(_ level: Logger.Level, _ message: String) {
    lock.withLock { lines.append((level, message)) }
  }

  var messages: [String] { lock.withLock { lines.map(\.1) } }

  func count(containing fragment: String) -> Int {
    messages.filter { $0.contains(fragment) }.count
  }

  func logger(_ label: String) -> Logger {
    var logger = Logger(label: label) { _ in RecordingHandler(recorder: self) }
    logger.logLevel = .debug
    return logger
  }
}

struct RecordingHandler: LogHandler {
  let recorder: LogRecorder
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .debug

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    recorder.append(event.level, "\(event.message)")
  }
}

/// A fresh temporary folder, removed at deinit.
final class TempDir: @unchecked Sendable {
  let path: String
  init() {
    path = NSTemporaryDirectory() + "kds-kiosk-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
  func file(_ name: String) -> String { path + "/" + name }
}

/// An in-process kiosk (store, sync engine, core) on an injectable clock,
/// talking to a real server (directly or through a FaultProxy) with libcurl.
final class KioskHarness: @unchecked Sendable {
  let dir = TempDir()
  let clock: ManualClock
  let logs = LogRecorder()
  let store: KioskStore
  let engine: SyncEngine
  let core: KioskCore
  let station: String

  init(
    baseURL: String, token: String, station: String = "grill", requestTimeoutMillis: Int = 5_000,
    clock: ManualClock = ManualClock(), dbPath: String? = nil, seed: [Ticket] = [],
    failbackProbeMillis: Int64 = 60_000, configure: (inout SyncConfig) -> Void = { _ in }
  ) throws {
    self.clock = clock
    self.station = station
    store = try KioskStore(path: dbPath ?? dir.file("kiosk.db"))
    if !seed.isEmpty { _ = try store.apply(tickets: seed, cursor: nil) }
    var config = SyncConfig(station: station)
    configure(&config)
    var clientConfig = HTTPClientConfig(
      baseURL: baseURL, token: token, connectTimeoutMillis: requestTimeoutMillis,
      requestTimeoutMillis: requestTimeoutMillis)
    clientConfig.failbackProbeMillis = failbackProbeMillis
    let client = CurlHTTPClient(config: clientConfig)
    engine = try SyncEngine(
      config: config, store: store, client: client, clock: clock, logger: logs.logger("kds.sync"))
    core = KioskCore(engine: engine, thresholds: .standard, logger: logs.logger("kds.kiosk"))
  }

  /// Moves the clock on and does whatever the sync has due.
  func step(seconds: Int64 = 5) {
    clock.advance(seconds: seconds)
    engine.tick()
  }

  /// Steps (5 s of kiosk time each) until `condition` holds, at most `steps` times.
  @discardableResult
  func step(until condition: () -> Bool, steps: Int = 40, seconds: Int64 = 5) -> Bool {
    for _ in 0..<steps {
      if condition() { return true }
      step(seconds: seconds)
    }
    return condition()
  }

  var view: SyncView { engine.view() }
  var shown: [Ticket] { core.snapshot().tickets }
}

/// Waits for a condition with a deadline (a bounded poll of a condition, not a sleep).
@discardableResult
func waitFor(
  _ what: String, timeout: TimeInterval = 60, _ condition: () throws -> Bool
) rethrows -> Bool {
  let deadline = Date().addingTimeInterval(timeout)
  while Date() < deadline {
    if try condition() { return true }
    usleep(20_000)
  }
  return try condition()
}
