import ArgumentParser
import Foundation
import KDSCore
import KDSStore
import KDSSync
import KDSSystem

/// `kds-bench kiosk`: applying a 500-ticket answer to the cache, CPU of idle
/// 5-second polling, and resident memory of a headless kiosk with 1,000
/// cached tickets (against a real kds-server on loopback).
struct KioskBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kiosk", abstract: "Kiosk benchmarks: cache apply, idle CPU, memory.")

  @Option(help: "Seconds over which idle CPU is measured.")
  var cpuSeconds: Int = 30

  @Option(help: "Tickets cached for the CPU and memory figures.")
  var tickets: Int = 1_000

  @Option(help: "The kds-kiosk binary to measure (default: next to kds-bench).")
  var kioskBinary: String?

  func run() async throws {
    try applyBenchmark()
    try daemonBenchmark()
  }

  func report(_ name: String, _ value: Double, _ unit: String, target: Double) {
    let ratio = value / target
    print(
      "bench kiosk: \(name): \(String(format: "%.3f", value)) \(unit) (target < \(target) \(unit), ratio \(String(format: "%.2f", ratio)))"
    )
  }

  // MARK: applying an answer

  func applyBenchmark() throws {
    let dir = try scratchFolder("kiosk")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try KioskStore(path: dir + "/kiosk.db")
    var samples: [Double] = []
    for round in 0..<11 {
      let answer = Self.answer(
        count: 500, updatedBase: 1_764_000_000_000 + Int64(round) * 1_000_000)
      let start = SystemClock.monotonicNanoseconds()
      let batch = try TicketBatch.decode(answer)
      let cursor = batch.tickets.map(\.updatedAt).max()
      let applied = try store.apply(tickets: batch.tickets, cursor: cursor)
      let ms = Double(SystemClock.monotonicNanoseconds() - start) / 1e6
      precondition(applied.changed.count == 500)
      if round > 0 { samples.append(ms) }  // the first round warms up
    }
    samples.sort()
    report(
      "apply 500-ticket answer (decode + one transaction), median", samples[samples.count / 2],
      "ms", target: 50)
    print(
      "bench kiosk:   min \(String(format: "%.2f", samples.first!)) ms, max \(String(format: "%.2f", samples.last!)) ms over \(samples.count) runs"
    )
  }

  static func answer(count: Int, updatedBase: Int64) -> Data {
    var parts: [String] = []
    for i in 0..<count {
      let updated = Timestamp(millis: updatedBase + Int64(i)).iso8601
      parts.append(
        #"{"id":"T\#(i)","orderId":"order-\#(i)","orderNumber":"\#(1000 + i)","station":"grill","status":"QUEUED","sentAt":"2025-11-21T14:30:00Z","updatedAt":"\#(updated)","waiterName":"Amina","tableName":"Table \#(i % 30)","orderType":"DINE_IN","slaState":"GREEN","items":[{"id":"it-1","name":"Beef burger","quantity":2,"modifiers":["no onion","extra cheese"],"notes":"allergy: peanuts","course":1},{"id":"it-2","name":"Fries","quantity":1},{"id":"it-3","name":"Side salad","quantity":1,"modifiers":["dressing on the side"]}]}"#
      )
    }
    return Data(("[" + parts.joined(separator: ",") + "]").utf8)
  }

  // MARK: the daemon against a real server

  func daemonBenchmark() throws {
    let bin = BenchServer.binaryFolder
    let dir = try scratchFolder("kiosk")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // A real server on 127.0.0.1, port chosen by the OS.
    let server = try BenchServer(bin: bin, dir: dir)
    defer { server.stop() }
    let baseURL = server.baseURL
    let pos = server.posToken
    let kioskToken = server.kioskToken

    // Tickets for the kiosk to cache, through the POS endpoints.
    let client = CurlHTTPClient(config: HTTPClientConfig(baseURL: baseURL, token: pos))
    for i in 0..<tickets { try createTicket(client, index: i) }
    let burstEnded = SystemClock.monotonicMillis()

    let kiosk = Process()
    kiosk.executableURL = URL(fileURLWithPath: kioskBinary ?? bin + "/kds-kiosk")
    kiosk.arguments = [
      "--server", baseURL, "--station", "grill", "--token", kioskToken, "--db", dir + "/kiosk.db",
      "--display", "none", "--control-socket", dir + "/ctl.sock", "--sync-interval", "5",
      "--log-level", "warning",
    ]
    kiosk.standardError = FileHandle.nullDevice
    try kiosk.run()
    defer {
      kiosk.terminate()
      kiosk.waitUntilExit()
    }
    let socket = dir + "/ctl.sock"
    func cachedTickets() -> Int {
      guard let text = try? Self.run(bin + "/kdsctl", ["status", "--socket", socket, "--json"]),
        let status = try? JSONDecoder().decode(KioskStatus.self, from: Data(text.utf8))
      else { return -1 }
      return status.cachedTickets
    }
    func waitCached(_ n: Int) throws {
      // A bounded wait for a condition (the kiosk's own status).
      let deadline = SystemClock.monotonicMillis() + 90_000
      while SystemClock.monotonicMillis() < deadline {
        if cachedTickets() >= n { return }
        usleep(200_000)
      }
      throw ValidationError("the kiosk cached only \(cachedTickets()) of \(n) tickets")
    }
    try waitCached(tickets)

    let pid = kiosk.processIdentifier
    func measureCPU() throws -> Double {
      let cpu0 = try Self.cpuNanoseconds(pid)
      let t0 = SystemClock.monotonicNanoseconds()
      // The measurement window, not a synchronisation.
      Thread.sleep(forTimeInterval: Double(cpuSeconds))
      let cpu1 = try Self.cpuNanoseconds(pid)
      return Double(cpu1 - cpu0) / Double(SystemClock.monotonicNanoseconds() - t0) * 100
    }
    // Worst case: every cached ticket changed within the last 30 s before the
    // kitchen went quiet, so each poll (since = newest updatedAt - 30 s
    // overlap) fetches and decodes all of them again.
    let worst = try measureCPU()
    report(
      "idle polling every 5 s right after a burst of \(tickets) tickets (all inside the 30 s overlap), CPU",
      worst, "% of a core", target: 0.5)
    // The usual idle: the newest change is alone in the overlap window, so
    // it is made more than 30 s after the burst.
    let settle = 31 - Double(SystemClock.monotonicMillis() - burstEnded) / 1000
    if settle > 0 { Thread.sleep(forTimeInterval: settle) }
    try createTicket(client, index: tickets)
    try waitCached(tickets + 1)
    let idle = try measureCPU()
    report("idle polling every 5 s (steady state), CPU", idle, "% of a core", target: 0.5)
    let (rss, anon) = try Self.rssKilobytes(pid)
    report(
      "RSS of the headless kiosk with \(tickets + 1) cached tickets", Double(rss) / 1024, "MB",
      target: 30)
    print(
      "bench kiosk:   of which anonymous (private heap and stacks) \(String(format: "%.1f", Double(anon) / 1024)) MB; the rest is shared library pages"
    )
  }

  func createTicket(_ client: CurlHTTPClient, index i: Int) throws {
    let created = try client.send(
      method: "POST", path: "/pos/orders",
      body: Data(
        #"{"tableId":"T\#(i)","waiterName":"Amina","items":[{"name":"Beef burger","quantity":2,"station":"grill","modifiers":["no onion"]},{"name":"Fries","quantity":1,"station":"grill"}]}"#
          .utf8),
      headers: [("Idempotency-Key", "bench-order-\(i)")]
    ).get()
    let object = try JSONSerialization.jsonObject(with: created.body) as? [String: Any]
    guard let id = object?["id"] as? String else {
      throw ValidationError("order not created: \(created.status)")
    }
    _ = try client.send(
      method: "POST", path: "/pos/orders/\(id)/send-to-kitchen", body: Data("{}".utf8),
      headers: [("Idempotency-Key", "bench-send-\(i)")]
    ).get()
  }

  /// CPU time of every thread of `pid`, in nanoseconds (/proc/PID/task/*/schedstat).
  static func cpuNanoseconds(_ pid: Int32) throws -> Int {
    var total = 0
    for task in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") {
      guard
        let text = try? String(
          contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8)
      else { continue }  // a thread that just ended
      total += Int(text.split(separator: " ").first ?? "") ?? 0
    }
    return total
  }

  /// VmRSS and RssAnon in kB.
  static func rssKilobytes(_ pid: Int32) throws -> (Int, Int) {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    var rss = 0
    var anon = 0
    for line in status.split(separator: "\n") {
      let value = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
      if line.hasPrefix("VmRSS:") { rss = value }
      if line.hasPrefix("RssAnon:") { anon = value }
    }
    return (rss, anon)
  }

  static func run(_ program: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw ValidationError("\(program) failed") }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
  }
}
