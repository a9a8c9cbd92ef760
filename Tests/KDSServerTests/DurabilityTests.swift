import Foundation
import KDSServer
import KDSTestSupport
import KDSTime
import Synchronization
import Testing

@Suite("Durability: restart and kill -9")
struct DurabilityTests {
  @Test func gracefulRestartKeepsEverythingAcknowledged() async throws {
    let f = try Fixture()
    let a = try await placeOrder(f.pos, items: [("Beef burger", "grill"), ("Espresso", "bar")])
    let b = try await placeOrder(f.pos, items: [("Goat skewers", "grill")])
    let bumpKey = newKey()
    let bump = try await f.grill.post(
      "/kds/tickets/\(a.tickets["grill"]!)/mark-ready", key: bumpKey)
    #expect(bump.status == 200)
    let before = try await f.grill.get("/kds/queue?station=grill")
    let port = f.server.port

    #expect(f.server.terminate() == 0, "SIGTERM stops the server cleanly")
    #expect(f.server.log().contains("stopped"))
    try f.server.restart()
    #expect(f.server.port == port, "restart binds the same port")
    let (pos, grill) = f.clients()

    let after = try await grill.get("/kds/queue?station=grill")
    #expect(after.status == 200)
    #expect(after.body == before.body || after.array?.count == before.array?.count)
    let statuses = Dictionary(
      uniqueKeysWithValues: (after.array ?? []).map {
        ($0["id"] as! String, $0["status"] as! String)
      })
    #expect(statuses[a.tickets["grill"]!] == "READY")
    #expect(statuses[b.tickets["grill"]!] == "QUEUED")
    #expect(try await pos.get("/pos/orders").array?.count == 2)
    // Stored idempotency answers survive too.
    let replay = try await grill.post(
      "/kds/tickets/\(a.tickets["grill"]!)/mark-ready", key: bumpKey)
    #expect(replay.header("Idempotent-Replayed") == "true")
    #expect(replay.body == bump.body)
    // The stamp clock continues after the last stamp.
    let last = try #require(after.array?.compactMap { $0["updatedAt"] as? String }.max())
    let c = try await placeOrder(pos, items: [("Ribeye steak 300g", "grill")])
    let newer = try await grill.get("/kds/queue?station=grill&since=\(last)")
    #expect(newer.array?.map { $0["id"] as! String } == [c.tickets["grill"]!])
  }

  /// The stamp clock continues from its saved high-water mark: if the wall
  /// clock is now behind the last stamp (it stepped back an hour), new stamps
  /// are still later than every earlier one.
  @Test func stampClockNeverGoesBackWhenTheWallClockIsBehind() async throws {
    let f = try Fixture()
    _ = try await placeOrder(f.pos)
    #expect(f.server.terminate() == 0)
    let ahead = Int64(Date().timeIntervalSince1970 * 1000) + 3_600_000
    let (status, output) = try f.server.sql("UPDATE meta SET value = \(ahead) WHERE key = 'clock'")
    #expect(status == 0, "\(output)")
    try f.server.start()
    let (pos, grill) = f.clients()
    let order = try await placeOrder(pos)
    let since = RFC3339.format(millis: ahead)
    let later = try await grill.get("/kds/queue?station=grill&since=\(since)")
    #expect(later.array?.map { $0["id"] as! String } == [order.tickets["grill"]!])
    let stamp = try #require(later.array?.first?["updatedAt"] as? String)
    #expect(stamp > since)
  }

  /// Writers run flat out; the server is killed with SIGKILL mid-stream.
  /// Every write that was answered 2xx before the kill is there after restart.
  @Test func killDashNineKeepsEveryAcknowledgedWrite() async throws {
    let f = try Fixture(arguments: ["--rate-limit", "off"])
    let acked = Acked()
    // A writer stops once the server is killed. Before that, a request that
    // fails (a timeout on a loaded machine) is not the test's subject: the
    // writer goes on with a new order.
    let writers = (0..<6).map { w in
      Task {
        while !Task.isCancelled && !acked.killed.withLock({ $0 }) {
          guard
            let created = try? await f.pos.post(
              "/pos/orders",
              json: orderJSON(table: "table-\(w)", items: [("Beef burger", "grill")]),
              key: newKey()),
            created.status == 201, let id = created.object?["id"] as? String
          else { continue }
          acked.state.withLock { $0.orders.append(id) }
          guard
            let sent = try? await f.pos.post("/pos/orders/\(id)/send-to-kitchen", key: newKey()),
            sent.status == 200,
            let ticket = (sent.object?["tickets"] as? [[String: Any]])?.first?["id"] as? String
          else { continue }
          guard
            let ready = try? await f.grill.post("/kds/tickets/\(ticket)/mark-ready", key: newKey()),
            ready.status == 200
          else { continue }
          acked.state.withLock { $0.readies.append(ticket) }
        }
      }
    }
    // On a loaded CI machine (every suite runs at once) a round trip can take
    // a second: the kill comes once there is something to lose, not at a count.
    try await waitUntil(timeout: 180, "writers to get 12 orders and 3 bumps acknowledged") {
      acked.state.withLock { $0.orders.count >= 12 && $0.readies.count >= 3 }
    }
    acked.killed.withLock { $0 = true }
    f.server.kill()
    for w in writers { await w.value }
    let (orders, readies) = acked.state.withLock { ($0.orders, $0.readies) }
    #expect(orders.count >= 12)
    #expect(!readies.isEmpty, "no bump was acknowledged before the kill: nothing to check")

    try f.server.start()
    let (pos, grill) = f.clients()
    let stored = Set(
      (try await pos.get("/pos/orders").array ?? []).compactMap { $0["id"] as? String })
    let missing = Set(orders).subtracting(stored)
    #expect(missing.isEmpty, "\(missing.count) acknowledged orders lost")
    let queue = try await grill.get("/kds/queue?station=grill").array ?? []
    let readyNow = Set(
      queue.filter { $0["status"] as? String == "READY" }.compactMap { $0["id"] as? String })
    let lostBumps = Set(readies).subtracting(readyNow)
    #expect(lostBumps.isEmpty, "\(lostBumps.count) acknowledged bumps lost")
  }
}

/// What the writers got acknowledged.
final class Acked: Sendable {
  let state = Mutex<(orders: [String], readies: [String])>(([], []))
  let killed = Mutex(false)
}
