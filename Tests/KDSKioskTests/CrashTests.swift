import Foundation
import KDSCore
import KDSTestSupport
import Testing

/// kill -9 of the kiosk at random points while it bumps and replays. Every
/// bump kdsctl acknowledged must reach the server exactly once, and the
/// kiosk's database must pass `PRAGMA integrity_check` after every kill.
/// Rounds: $KDS_CRASH_ROUNDS (default 100).
@Suite(.serialized) struct CrashTests {
  @Test func killNineWhileBumpingAndReplaying() async throws {
    let rounds = ProcessInfo.processInfo.environment["KDS_CRASH_ROUNDS"].flatMap(Int.init) ?? 100
    let r = try Restaurant()
    var unbumped = try await r.sendTickets(count: rounds * 2 + 10)
    let proxy = try FaultProxy(upstreamPort: r.server.port)
    let token = try r.token("kiosk-crash", stations: ["grill"])
    let dir = TempDir()
    let db = dir.file("kiosk.db")
    var acked: [String] = []
    var rng = SystemRandomNumberGenerator()
    var killPoints: [String: Int] = [:]

    for round in 0..<rounds {
      // The network this round: fine, down, or losing answers after commit.
      proxy.reset()
      let network = round == 0 ? 0 : Int.random(in: 0..<4, using: &rng)
      switch network {
      case 1: proxy.refuse()
      case 2:
        try proxy.resume()
        proxy.add(ProxyRule(path: "/mark-ready", action: .forwardThenDrop))
      default: try proxy.resume()
      }
      let kiosk = try KioskProcess(
        server: proxy.baseURL, token: token, db: db, socket: dir.file("ctl-\(round).sock"),
        log: dir.file("kiosk.log"))
      try kiosk.waitReady()
      if round == 0 {
        #expect(waitFor("first sync") { (try? kiosk.status().tickets) == unbumped.count })
      }
      let bumps = Int.random(in: 1...2, using: &rng)
      let point = Int.random(in: 0..<3, using: &rng)
      for i in 0..<bumps {
        let id = unbumped.removeLast()
        if point == 0 && i == bumps - 1 {
          // Kill while this bump is on its way: counted only if kdsctl said ok.
          let ctl = Process()
          ctl.executableURL = URL(fileURLWithPath: try Binaries.kdsctl)
          ctl.arguments = ["bump", "--socket", kiosk.socketPath, id]
          let out = Pipe()
          ctl.standardOutput = out
          ctl.standardError = FileHandle.nullDevice
          try ctl.run()
          usleep(UInt32.random(in: 0..<20_000, using: &rng))  // randomises the kill point
          kiosk.killHard()
          let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
          ctl.waitUntilExit()
          if ctl.terminationStatus == 0 && text.hasPrefix("ok:") { acked.append(id) }
        } else {
          let (code, text) = try KioskProcess.ctl(kiosk.socketPath, ["bump", id])
          if code == 0 && text.hasPrefix("ok:") { acked.append(id) }
        }
      }
      if point == 1 {
        kiosk.killHard()  // right after the acknowledgement
      } else if point == 2 {
        // Randomises the kill point (mid-replay); not a synchronisation.
        usleep(UInt32.random(in: 0..<300_000, using: &rng))
        kiosk.killHard()
      }
      killPoints["\(point)", default: 0] += 1
      let (ok, integrity) = try ServerProcess.run(
        "/usr/bin/sqlite3", [db, "PRAGMA integrity_check;"])
      #expect(
        ok == 0 && integrity.trimmingCharacters(in: .whitespacesAndNewlines) == "ok",
        "round \(round): \(integrity)")
    }

    // Network back: one last run drains the queue.
    proxy.reset()
    try proxy.resume()
    let kiosk = try KioskProcess(
      server: proxy.baseURL, token: token, db: db, socket: dir.file("ctl-final.sock"),
      log: dir.file("kiosk.log"))
    try kiosk.waitReady()
    let drained = waitFor("queue drained", timeout: 120) {
      guard let s = try? kiosk.status() else { return false }
      return s.pendingOps == 0 && s.failedOps == 0
    }
    #expect(drained, "\(String(describing: try? kiosk.status()))")
    #expect(kiosk.terminate() == 0)

    #expect(acked.count >= rounds / 2)
    let server = try syncStatuses(r)
    for id in acked {
      #expect(server[id] == "READY", "acknowledged bump of \(id) lost")
      // Exactly once: one operation (one key) for this ticket reached the server.
      #expect(try r.idempotencyRecords(path: "/kds/tickets/\(id)/mark-ready") == 1, "\(id)")
    }
    let perTicket = try ServerProcess.run(
      "/usr/bin/sqlite3",
      [
        db,
        "SELECT COUNT(*) FROM operations WHERE kind = 'bump' GROUP BY ticketId HAVING COUNT(*) > 1;",
      ])
    #expect(perTicket.1.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    print(
      "crash test: \(rounds) rounds, \(acked.count) acknowledged bumps, kill points \(killPoints)")
  }
}
