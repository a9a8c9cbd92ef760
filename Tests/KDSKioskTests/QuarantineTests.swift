import Foundation
import GRDB
import KDSCore
import KDSKiosk
import KDSStore
import KDSSync
import KDSTestSupport
import Testing

/// Rows that cannot be read back are set aside, reported and counted, never
/// silently dropped; the rest of the store still loads.
@Suite struct QuarantineTests {
  /// A store with one good ticket and one good operation, then a damaged
  /// ticket and a damaged operation written behind its back with raw SQL.
  func damagedStore(_ dir: TempDir) throws -> String {
    let path = dir.file("kiosk.db")
    do {
      let store = try KioskStore(path: path)
      let good = Ticket(
        id: "GOOD", orderId: "o1", station: "grill", status: .queued,
        sentAt: Timestamp(seconds: 1_764_000_000), updatedAt: Timestamp(millis: 5),
        items: [TicketItem(name: "Dish", quantity: 1)])
      _ = try store.apply(tickets: [good], cursor: nil)
      _ = try store.enqueue(
        QueuedOperation(
          id: "01GOODOP", kind: .start, ticketId: "GOOD", createdAt: Timestamp(millis: 10)),
        maxOutstanding: 100)
      try store.close()
    }
    let raw = try DatabaseQueue(path: path)
    try raw.write { db in
      try db.execute(
        sql: """
          INSERT INTO tickets (id, station, status, sentAt, updatedAt, body)
          VALUES ('BAD', 'grill', 'QUEUED', 1, 1, X'7B226E6F74223A')
          """)
      try db.execute(
        sql: """
          INSERT INTO operations (id, kind, ticketId, createdAt, nextAttemptAt, state)
          VALUES ('01BADOP', 'explode', 'GOOD', 10, 10, 'pending')
          """)
    }
    return path
  }

  @Test func damagedRowsAreSetAsideReportedAndCounted() throws {
    let dir = TempDir()
    let path = try damagedStore(dir)
    let kiosk = try KioskHarness(baseURL: "http://127.0.0.1:9", token: "t", dbPath: path)
    // The rest loads.
    #expect(kiosk.view.tickets.keys.sorted() == ["GOOD"])
    #expect(kiosk.view.operations.map(\.id) == ["01GOODOP"])
    // Each damaged row: one log line with its id and the reason.
    #expect(kiosk.logs.count(containing: "damaged ticket BAD set aside") == 1)
    #expect(
      kiosk.logs.count(containing: "damaged operation") == 1
        && kiosk.logs.count(containing: "unknown operation kind explode") == 1)
    // Counted: the engine, the status (kdsctl status) and the banner.
    #expect(kiosk.view.status.damagedRecords == 2)
    let status = kiosk.core.status()
    #expect(status.damagedRecords == 2)
    #expect(status.alerts.contains("2 damaged records set aside (see kdsctl status)"))
    #expect(try kiosk.store.quarantineCount() == 2)
    // Moved, not deleted: the quarantine keeps what there was.
    let rows = try DatabaseQueue(path: path).read { db in
      try Row.fetchAll(db, sql: "SELECT kind, rowId, payload, reason FROM quarantine ORDER BY id")
    }
    #expect(rows.map { $0["kind"] as String } == ["ticket", "operation"])
    #expect((rows.first?["rowId"] as String?) == "BAD")
    #expect((rows.first?["payload"] as Data?) == Data("{\"not\":".utf8))
    #expect(
      (rows.last?["payload"] as Data?).map { String(decoding: $0, as: UTF8.self) }?
        .contains("explode") == true)
    // A second start finds nothing new to set aside, and still counts the two.
    let again = try KioskHarness(baseURL: "http://127.0.0.1:9", token: "t", dbPath: path)
    #expect(again.view.status.damagedRecords == 2)
    #expect(again.logs.count(containing: "set aside") == 0)
  }

  @Test func kdsctlStatusShowsTheCount() throws {
    let dir = TempDir()
    let path = try damagedStore(dir)
    // Offline (nothing listens on port 9 of 127.0.0.1): the count needs no server.
    let kiosk = try KioskProcess(
      server: "http://127.0.0.1:9", token: "t", db: path, socket: dir.file("ctl.sock"),
      log: dir.file("kiosk.log"))
    defer { _ = kiosk.terminate() }
    try kiosk.waitReady()
    let status = try kiosk.status()
    #expect(status.damagedRecords == 2)
    #expect(status.alerts.contains("2 damaged records set aside (see kdsctl status)"))
    let (code, text) = try KioskProcess.ctl(kiosk.socketPath, ["status"])
    #expect(code == 0)
    #expect(text.contains("damaged:     2 records set aside"), "\(text)")
    #expect(text.contains("alert:       2 damaged records set aside (see kdsctl status)"))
    #expect(kiosk.log.contains("damaged ticket BAD set aside"), "\(kiosk.log)")
  }
}
