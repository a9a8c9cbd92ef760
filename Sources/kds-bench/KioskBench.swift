import ArgumentParser
import Foundation
import KDSCore
import KDSStore
import KDSSync

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
    let dir = NSTemporaryDirectory() + "kds-bench-kiosk-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try KioskStore(path: dir + "/kiosk.db")
    var samples: [Double] = []
    for round in 0..<11 {
      let answer = Self.answer(
        count: 500, updatedBase: 1_764_000_000_000 + Int64(round) * 1_000_000)
      let start = DispatchTime.now().uptimeNanoseconds
      let batch = try TicketBatch.decode(answer)
      let cursor = batch.tickets.map(\.updatedAt).max()
      let applied = try store.apply(tickets: batch.tickets, cursor: cursor)
      let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
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
    let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
      .deletingLastPathComponent().path
    let dir = NSTemporaryDirectory() + "kds-bench-kiosk-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }

    // A real server on 127.0.0.1, port chosen by the OS.
    let server = Process()
    server.executableURL = URL(fileURLWithPath: bin + "/kds-server")
    server.arguments = [
      "serve", "--db", dir + "/server.db", "--host", "127.0.0.1", "--port", "0", "--rate-limit",
      "off",
    ]
    let out = Pipe()
    server.standardOutput = out
    server.standardError = FileHandle.nullDevice
    try server.run()
    defer {
      server.terminate()
      server.waitUntilExit()
    }
    var buffer = Data()
    var baseURL: String?
    while baseURL == nil {
      let chunk = out.fileHandleForReading.availableData
      guard !chunk.isEmpty else { throw ValidationError("kds-server exited before listening") }
      buffer.append(chunk)
      for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n")
      where line.hasPrefix("kds-server listening on ") {
        baseURL = String(line.dropFirst("kds-server listening on ".count))
      }
    }
    let pos = try Self.run(
      bin + "/kds-server", ["token", "create", "--db", dir + "/server.db", "--device", "pos"])
    let kioskToken = try Self.run(
      bin + "/kds-server",
      ["token", "create", "--db", dir + "/server.db", "--device", "k", "--station", "grill"])

    // Tickets for the kiosk to cache, through the POS endpoints.
    let client = CurlHTTPClient(config: HTTPClientConfig(baseURL: baseURL!, token: pos))
    for i in 0..<tickets {
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

    let kiosk = Process()
    kiosk.executableURL = URL(fileURLWithPath: bin + "/kds-kiosk")
    kiosk.arguments = [
      "--server", baseURL!, "--station", "grill", "--token", kioskToken, "--db", dir + "/kiosk.db",
      "--display", "none", "--control-socket", dir + "/ctl.sock", "--sync-interval", "5",
      "--log-level", "warning",
    ]
    kiosk.standardError = FileHandle.nullDevice
    try kiosk.run()
    defer {
      kiosk.terminate()
      kiosk.waitUntilExit()
    }
    // Wait (bounded) for the first full sync.
    let deadline = Date().addingTimeInterval(60)
    var cached = 0
    while Date() < deadline {
      if let text = try? Self.run(
        bin + "/kdsctl", ["status", "--socket", dir + "/ctl.sock", "--json"]),
        let status = try? JSONDecoder().decode(KioskStatus.self, from: Data(text.utf8))
      {
        cached = status.cachedTickets
        if cached >= tickets { break }
      }
      usleep(200_000)
    }
    guard cached >= tickets else {
      throw ValidationError("the kiosk cached only \(cached) tickets")
    }

    let pid = kiosk.processIdentifier
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    let cpu0 = try Self.cpuTicks(pid)
    let t0 = Date()
    // The measurement window, not a synchronisation.
    Thread.sleep(forTimeInterval: Double(cpuSeconds))
    let cpu1 = try Self.cpuTicks(pid)
    let elapsed = Date().timeIntervalSince(t0)
    let percent = Double(cpu1 - cpu0) / ticks / elapsed * 100
    report("idle polling every 5 s, CPU over \(cpuSeconds) s", percent, "% of a core", target: 0.5)
    let rss = try Self.rssKilobytes(pid)
    report(
      "RSS of the headless kiosk with \(cached) cached tickets", Double(rss) / 1024, "MB",
      target: 30)
  }

  static func cpuTicks(_ pid: Int32) throws -> Int {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // Fields after the ")" closing the command name: utime is 14th, stime 15th overall.
    let rest = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
    return Int(rest[11])! + Int(rest[12])!
  }

  static func rssKilobytes(_ pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
      return Int(line.split(separator: " ")[1]) ?? 0
    }
    return 0
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
