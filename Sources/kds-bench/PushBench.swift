import ArgumentParser
import Foundation
import KDSCore
import KDSStore
import KDSSync
import KDSSystem
import Logging

/// `kds-bench push`: the time from a POS order sent to the kitchen to the
/// ticket in the kiosk's cache, through the push stream (the poll at 60 s,
/// so only the stream can bring it) and through the 5 s poll alone, against
/// a real kds-server on loopback. p50 and p99; goal: push p99 ≤ 250 ms.
struct PushBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "push", abstract: "POS order to kiosk cache: push stream vs 5 s poll.")

  @Option(help: "Orders timed through the push stream.")
  var pushSamples: Int = 200

  @Option(help: "Orders timed through the poll alone (each waits up to 5 s).")
  var pollSamples: Int = 24

  func run() async throws {
    let bin = BenchServer.binaryFolder
    let dir = try scratchFolder("push")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let server = try BenchServer(bin: bin, dir: dir)
    defer { server.stop() }
    let baseURL = server.baseURL
    let pos = server.posToken
    let kioskToken = server.kioskToken
    let posClient = CurlHTTPClient(config: HTTPClientConfig(baseURL: baseURL, token: pos))

    let push = try measure(
      "push", dir: dir, baseURL: baseURL, token: kioskToken, pos: posClient, mode: .auto,
      intervalMillis: 60_000, samples: pushSamples, jitterMillis: 0)
    report("push", push, target: 250)
    let poll = try measure(
      "poll", dir: dir, baseURL: baseURL, token: kioskToken, pos: posClient, mode: .off,
      intervalMillis: 5_000, samples: pollSamples, jitterMillis: 5_000)
    report("poll (5 s)", poll, target: nil)
  }

  /// Prints the figures; returns the p99 (ms).
  @discardableResult
  func report(_ name: String, _ samples: [Double], target: Double?, bench: String = "push")
    -> Double
  {
    let sorted = samples.sorted()
    func pct(_ p: Double) -> Double {
      sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }
    let p50 = pct(0.5)
    let p99 = pct(0.99)
    var line =
      "bench \(bench): POS order to kiosk cache via \(name): p50 \(String(format: "%.1f", p50)) ms, p99 \(String(format: "%.1f", p99)) ms, max \(String(format: "%.1f", sorted.last!)) ms over \(sorted.count) orders"
    if let target {
      line += " (target p99 ≤ \(Int(target)) ms, ratio \(String(format: "%.2f", p99 / target)))"
    }
    print(line)
    return p99
  }

  /// A kiosk engine (real store, real libcurl) on its own thread; orders
  /// one at a time; the time each ticket first shows in the engine's view.
  func measure(
    _ name: String, dir: String, baseURL: String, token: String, pos: CurlHTTPClient,
    mode: PushMode, intervalMillis: Int64, samples: Int, jitterMillis: Int
  ) throws -> [Double] {
    let store = try KioskStore(path: dir + "/kiosk-\(name).db")
    var config = SyncConfig(station: "grill")
    config.syncIntervalMillis = intervalMillis
    config.push = mode
    var logger = Logger(label: "kds.sync")
    logger.logLevel = .warning
    let engine = try SyncEngine(
      config: config, store: store,
      client: CurlHTTPClient(config: HTTPClientConfig(baseURL: baseURL, token: token)),
      clock: WallClock(), logger: logger)
    engine.start()
    defer { engine.stop() }
    if mode == .auto {
      let deadline = SystemClock.monotonicMillis() + 30_000
      while engine.view().status.push != .streaming {
        guard SystemClock.monotonicMillis() < deadline else {
          throw ValidationError("the push stream did not open")
        }
        engine.changes.wait(timeoutMillis: 100)
      }
    }
    var latencies: [Double] = []
    for i in 0..<samples {
      if jitterMillis > 0 {
        // Orders come at any moment of the poll's period (a measurement
        // spread, not a synchronisation).
        usleep(UInt32.random(in: 0..<UInt32(jitterMillis)) * 1000)
      }
      let id = try createOrder(pos, index: i, name: name)
      let t0 = SystemClock.monotonicNanoseconds()
      let sent = try pos.send(
        method: "POST", path: "/pos/orders/\(id)/send-to-kitchen", body: Data("{}".utf8),
        headers: [("Idempotency-Key", "bench-\(name)-send-\(i)")]
      ).get()
      let object = try JSONSerialization.jsonObject(with: sent.body) as? [String: Any]
      guard let ticket = (object?["tickets"] as? [[String: Any]])?.first?["id"] as? String else {
        throw ValidationError("send to kitchen: HTTP \(sent.status)")
      }
      let deadline = SystemClock.monotonicMillis() + 30_000
      while engine.view().tickets[ticket] == nil {
        guard SystemClock.monotonicMillis() < deadline else {
          throw ValidationError("ticket \(ticket) never reached the kiosk (\(name))")
        }
        engine.changes.wait(timeoutMillis: 50)
      }
      latencies.append(Double(SystemClock.monotonicNanoseconds() - t0) / 1e6)
    }
    return latencies
  }

  func createOrder(_ client: CurlHTTPClient, index i: Int, name: String) throws -> String {
    let created = try client.send(
      method: "POST", path: "/pos/orders",
      body: Data(
        #"{"tableId":"T\#(i)","waiterName":"Amina","items":[{"name":"Beef burger","quantity":1,"station":"grill"}]}"#
          .utf8),
      headers: [("Idempotency-Key", "bench-\(name)-order-\(i)")]
    ).get()
    let object = try JSONSerialization.jsonObject(with: created.body) as? [String: Any]
    guard let id = object?["id"] as? String else {
      throw ValidationError("order not created: HTTP \(created.status)")
    }
    return id
  }
}
