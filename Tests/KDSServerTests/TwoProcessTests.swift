import Foundation
import KDSTestSupport
import Synchronization
import Testing

/// Two kds-server processes on one SQLite file (docs/deploy.md, "Two
/// servers"): one idempotency record and one effect per key whichever process
/// answers, `updatedAt` strictly increasing across both, and the push stream
/// of one hearing the writes of the other.
@Suite("Two server processes on one database file", .serialized)
struct TwoProcessTests {
  struct Pair: Sendable {
    let a: ServerProcess
    let b: ServerProcess
    let posToken: String
    let grillToken: String

    init() throws {
      a = try ServerProcess()
      b = try ServerProcess(dbPath: a.dbPath)
      posToken = try a.createToken(device: "pos-1")
      grillToken = try a.createToken(device: "kiosk-grill", stations: ["grill"])
    }

    /// The POS client of A (even n) or B (odd n).
    func pos(_ n: Int) -> LoopbackHTTPClient {
      (n % 2 == 0 ? a : b).client(token: posToken)
    }
    func grill(_ n: Int) -> LoopbackHTTPClient {
      (n % 2 == 0 ? a : b).client(token: grillToken)
    }
  }

  @Test("Concurrent same-key requests on both processes: one effect, identical answers")
  func sameKeyOnBothProcesses() async throws {
    let p = try Pair()
    let keys = (0..<6).map { _ in newKey() }
    for (k, key) in keys.enumerated() {
      let body = orderJSON(table: "table-\(k)", items: [("Beef burger", "grill")])
      let answers = try await withThrowingTaskGroup(of: HTTPResult.self) { group in
        for n in 0..<8 {
          group.addTask { try await p.pos(n).post("/pos/orders", json: body, key: key) }
        }
        var all: [HTTPResult] = []
        for try await r in group { all.append(r) }
        return all
      }
      #expect(answers.allSatisfy { $0.status == 201 }, "\(answers)")
      #expect(Set(answers.map(\.body)).count == 1, "every answer for \(key) is the same")
      #expect(answers.filter { $0.header("Idempotent-Replayed") == nil }.count == 1)
    }
    for n in 0..<2 {
      let orders = try await p.pos(n).get("/pos/orders")
      #expect(orders.array?.count == keys.count, "one order per key, seen from both: \(orders)")
    }
    let (status, output) = try p.a.sql(
      "SELECT COUNT(*) FROM idempotency_keys WHERE path = '/pos/orders'")
    #expect(status == 0, "\(output)")
    #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(keys.count)")
  }

  @Test(
    "Interleaved writes on both: updatedAt strictly increasing, the since cursor misses nothing")
  func sinceCursorAcrossProcesses() async throws {
    let p = try Pair()
    let total = 24
    let placed = PlacedIDs()
    // A poller following the `since` cursor on A while both processes write.
    let poller = Task { () -> [String: String] in
      var seen: [String: String] = [:]
      var cursor: String? = nil
      let deadline = Date(timeIntervalSinceNow: 120)
      while Date() < deadline {
        let path = "/kds/queue?station=grill" + (cursor.map { "&since=\($0)" } ?? "")
        let r = try await p.grill(0).get(path)
        try #require(r.status == 200, "\(r)")
        for t in r.array ?? [] {
          let stamp = t["updatedAt"] as! String
          if let c = cursor { #expect(stamp > c, "an answer's tickets are after the cursor") }
          seen[t["id"] as! String] = stamp
        }
        if let last = r.array?.last?["updatedAt"] as? String { cursor = last }
        let want = placed.ids.withLock { $0 }
        if want.count == total && want.allSatisfy({ seen[$0] != nil }) { return seen }
        try await Task.sleep(for: .milliseconds(50))
      }
      return seen
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for n in 0..<total {
        group.addTask {
          let order = try await placeOrder(p.pos(n), items: [("Beef burger", "grill")])
          let id = try #require(order.tickets["grill"])
          placed.ids.withLock { $0.append(id) }
        }
      }
      try await group.waitForAll()
    }
    let seen = try await poller.value
    let ids = placed.ids.withLock { $0 }
    #expect(ids.count == total)
    #expect(ids.allSatisfy { seen[$0] != nil }, "the since cursor on A saw every ticket")
    // Every stamp is distinct, read from either process.
    for n in 0..<2 {
      let queue = try await p.grill(n).get("/kds/queue?station=grill")
      let stamps = (queue.array ?? []).map { $0["updatedAt"] as! String }
      #expect(stamps.count == total)
      #expect(Set(stamps).count == total, "no two tickets share an updatedAt")
      #expect(stamps == stamps.sorted())
    }
  }

  @Test("A push stream on A hears a ticket written on B")
  func streamHearsTheOtherProcess() async throws {
    let p = try Pair()
    let reader = try SSEReader(
      port: p.a.port, path: "/kds/stream?station=grill",
      headers: ["Authorization": "Bearer \(p.grillToken)"])
    try await waitUntil("the stream opens") { !reader.events().comments.isEmpty }
    let placed = try await placeOrder(p.pos(1), items: [("Beef burger", "grill")])
    let id = try #require(placed.tickets["grill"])
    try await waitUntil("the ticket written on B arrives on A's stream") {
      reader.tickets().contains { $0.ticket["id"] as? String == id }
    }
    let started = try await p.grill(1).post("/kds/tickets/\(id)/start", key: newKey())
    #expect(started.status == 200)
    try await waitUntil("the start on B arrives on A's stream") {
      reader.tickets().contains {
        $0.ticket["id"] as? String == id && $0.ticket["status"] as? String == "IN_PROGRESS"
      }
    }
  }
}

final class PlacedIDs: Sendable {
  let ids = Mutex<[String]>([])
}
