import Foundation
import KDSCore
import KDSSync
import KDSTestSupport
import Testing

/// A kiosk with `server = A, B`: two kds-server processes on one database,
/// a SQLite file or PostgreSQL (docs/deploy.md). A replica killed in the
/// middle of a burst of bumps: every bump lands exactly once, and the kiosk
/// ends on the live server.
@Suite("Kiosk failover between two servers on one database", .serialized)
struct FailoverTests {
  enum Database: String, CaseIterable, Sendable {
    case sqlite, postgres
  }

  @Test(arguments: Database.allCases)
  func burstOfBumpsSurvivesAKilledReplica(_ database: Database) async throws {
    let r = try Restaurant(
      database: database == .postgres ? try ServerProcess.newPostgresDatabase() : nil)
    #expect(r.server.onPostgres == (database == .postgres))
    let b = try ServerProcess(dbPath: r.server.dbPath, arguments: ["--rate-limit", "off"])
    let ids = try await r.sendTickets(count: 12)
    let list = "\(r.server.baseURL), \(b.baseURL)"
    let kiosk = try KioskHarness(
      baseURL: list, token: try r.token("kiosk-grill", stations: ["grill"]))
    #expect(kiosk.engine.client.config.servers == [r.server.baseURL, b.baseURL])
    #expect(kiosk.engine.client.serverInUse == r.server.baseURL)
    kiosk.engine.tick()
    #expect(kiosk.shown.count == 12)

    let checkToken = try r.token("check", stations: ["grill"])
    // Half the bumps go to A.
    for id in ids.prefix(6) { #expect(kiosk.core.bump(ticketId: id).isDone) }
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }))
    // A dies (kill -9) with the rest of the burst queued.
    r.server.kill()
    for id in ids.dropFirst(6) { #expect(kiosk.core.bump(ticketId: id).isDone) }
    #expect(kiosk.step(until: { kiosk.view.outstandingCount == 0 }), "\(kiosk.view.operations)")
    #expect(kiosk.engine.client.serverInUse == b.baseURL)
    #expect(kiosk.core.status().server == b.baseURL)
    #expect(
      kiosk.logs.count(containing: "server \(r.server.baseURL) unreachable: using \(b.baseURL)")
        == 1, "\(kiosk.logs.messages)")
    #expect(kiosk.view.status.connection == .connected)

    // Every bump landed exactly once (read from B and from the file).
    let grill = b.client(token: checkToken)
    let queue = try await grill.get("/kds/queue?station=grill")
    let statuses = Dictionary(
      uniqueKeysWithValues: (queue.array ?? []).map {
        ($0["id"] as! String, $0["status"] as! String)
      })
    for id in ids {
      #expect(statuses[id] == "READY", "ticket \(id)")
      #expect(try r.idempotencyRecords(path: "/kds/tickets/\(id)/mark-ready") == 1)
    }
  }

  @Test func serverListIsSplitAndTrimmed() {
    #expect(
      HTTPClientConfig(baseURL: "http://a:8080/ , http://b:8080", token: "").servers == [
        "http://a:8080", "http://b:8080",
      ])
    #expect(HTTPClientConfig(baseURL: "http://a:8080/", token: "").baseURL == "http://a:8080")
  }
}
