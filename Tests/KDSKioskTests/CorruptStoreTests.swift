import Foundation
import GRDB
import KDSCore
import KDSTestSupport
import Testing

@testable import KDSKiosk
@testable import KDSStore

/// A corrupt kiosk database is moved aside and the kiosk starts afresh with
/// the queued actions it can still read; a full disk shows on the banner.
@Suite(.serialized) struct CorruptStoreTests {
  static func ticket(_ id: String) -> Ticket {
    Ticket(
      id: id, orderId: "order-\(id)", orderNumber: id, station: "grill", status: .queued,
      sentAt: Timestamp(seconds: 1_764_000_000), updatedAt: Timestamp(seconds: 1_764_000_000),
      items: (0..<8).map {
        TicketItem(id: "it-\($0)", name: String(repeating: "Burger \($0) ", count: 20), quantity: 1)
      })
  }

  /// A store with 300 tickets (many pages) and two queued operations, closed.
  static func makeStore(at path: String) throws -> [String] {
    let store = try KioskStore(path: path)
    _ = try store.apply(tickets: (0..<300).map { ticket("T\($0)") }, cursor: nil)
    let ids = ["01JCORRUPTBUMP000000000000", "01JCORRUPTSTART00000000000"]
    // Queued now: not old enough to be given up on.
    let now = Timestamp(millis: KioskStore.wallClockMillis())
    _ = try store.enqueue(
      QueuedOperation(id: ids[0], kind: .bump, ticketId: "T1", createdAt: now),
      maxOutstanding: 100)
    _ = try store.enqueue(
      QueuedOperation(id: ids[1], kind: .start, ticketId: "T2", createdAt: now),
      maxOutstanding: 100)
    try store.close()
    return ids
  }

  /// Writes garbage over `count` bytes at `offset` of the file.
  static func scribble(_ path: String, offset: UInt64, count: Int) throws {
    let handle = try #require(FileHandle(forUpdatingAtPath: path))
    try handle.seek(toOffset: offset)
    handle.write(Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }))
    try handle.close()
  }

  static func corruptFiles(in dir: TempDir) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
      $0.hasPrefix("kiosk.sqlite.corrupt-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm")
    }
  }

  @Test func aCorruptPageIsSetAsideAndTheQueueCarriedOver() throws {
    let dir = TempDir()
    let path = dir.file("kiosk.sqlite")
    let ids = try Self.makeStore(at: path)
    let size = try #require(
      try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64)
    // A ticket page near the end of the file: the operations table (early
    // pages) stays readable.
    try Self.scribble(path, offset: size - 3 * 4096, count: 4096)

    let (store, recovery) = try KioskStore.openRecovering(path: path, nowMillis: 1_764_547_200_000)
    let r = try #require(recovery)
    #expect(r.movedTo == path + ".corrupt-20251201T000000Z")
    #expect(r.reason.contains("integrity_check") || r.reason.contains("SQLITE_CORRUPT"), "\(r)")
    #expect(r.carriedOver == 2)
    #expect(FileManager.default.fileExists(atPath: r.movedTo))
    #expect(try store.integrityCheck() == "ok")
    #expect(try store.ticketCount() == 0)
    #expect(try store.cursor() == nil)  // the first poll is a full resync
    let ops = try store.operations()
    #expect(ops.map(\.id) == ids)
    #expect(ops.allSatisfy { $0.state == .pending })
    #expect(try store.recentlyBumped() == ["T1"])
    #expect(r.alertText.contains("2 queued actions kept"))
  }

  @Test func aStoreOnlyIntegrityCheckFindsBadIsSetAsideToo() throws {
    let dir = TempDir()
    let path = dir.file("kiosk.sqlite")
    let ids = try Self.makeStore(at: path)
    // An index that no longer matches its table: the file opens, every
    // query works, only `PRAGMA integrity_check` sees it.
    do {
      let raw = try DatabaseQueue(path: path)
      try raw.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA writable_schema = ON")
        try db.execute(
          sql: """
            UPDATE sqlite_master SET sql = 'CREATE INDEX tickets_station ON tickets(updatedAt)'
            WHERE name = 'tickets_station'
            """)
      }
    }
    let (store, recovery) = try KioskStore.openRecovering(path: path)
    let r = try #require(recovery)
    #expect(r.reason.hasPrefix("integrity_check"), "\(r)")
    #expect(r.carriedOver == 2)
    #expect(try store.operations().map(\.id) == ids)
    #expect(try Self.corruptFiles(in: dir).count == 1)
  }

  @Test func garbageOverTheHeaderStartsEmpty() throws {
    let dir = TempDir()
    let path = dir.file("kiosk.sqlite")
    _ = try Self.makeStore(at: path)
    try Self.scribble(path, offset: 0, count: 100)
    #expect(throws: (any Error).self) { _ = try KioskStore(path: path) }

    let (store, recovery) = try KioskStore.openRecovering(path: path)
    let r = try #require(recovery)
    #expect(r.reason.contains("SQLITE_NOTADB") || r.reason.contains("SQLITE_CORRUPT"), "\(r)")
    #expect(r.carriedOver == 0)
    #expect(try Self.corruptFiles(in: dir).count == 1)
    #expect(try store.integrityCheck() == "ok")
    #expect(try store.operations().isEmpty)
  }

  @Test func aSoundStoreIsLeftAlone() throws {
    let dir = TempDir()
    let path = dir.file("kiosk.sqlite")
    _ = try Self.makeStore(at: path)
    let (store, recovery) = try KioskStore.openRecovering(path: path)
    #expect(recovery == nil)
    #expect(try store.ticketCount() == 300)
    #expect(try Self.corruptFiles(in: dir).isEmpty)
  }

  @Test func theRealKioskStartsOnACorruptFileAndSaysSo() throws {
    let dir = TempDir()
    let db = dir.file("kiosk.sqlite")
    _ = try Self.makeStore(at: db)
    let size = try #require(try FileManager.default.attributesOfItem(atPath: db)[.size] as? UInt64)
    try Self.scribble(db, offset: size - 3 * 4096, count: 4096)
    // No server answers here (port 9 on loopback refuses): the kiosk is offline.
    let kiosk = try KioskProcess(
      server: "http://127.0.0.1:9", token: "t", db: db, socket: dir.file("ctl.sock"),
      log: dir.file("kiosk.log"))
    defer { _ = kiosk.terminate() }
    try kiosk.waitReady()
    let status = try kiosk.status()
    #expect(status.pendingOps == 2, "\(kiosk.log)")
    #expect(
      status.alerts.contains { $0.contains("Local database was damaged") }, "\(status.alerts)")
    #expect(try Self.corruptFiles(in: dir).count == 1)
    #expect(kiosk.log.contains("corrupt database moved to"), "\(kiosk.log)")
  }

  @Test func aBumpTheFullDiskRefusedShowsOnTheBanner() throws {
    let kiosk = try KioskHarness(
      baseURL: "http://127.0.0.1:9", token: "t", seed: [Self.ticket("A"), Self.ticket("B")])
    // The database may not grow any more: the next page it needs is refused
    // with SQLITE_FULL, as on a full disk.
    try kiosk.store.db.writeWithoutTransaction { db in
      let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
      try db.execute(sql: "PRAGMA max_page_count = \(pages)")
    }
    // Fill it with rows smaller than a bump's (finished operations, which
    // do not count against the queue's limit): no room is left for the bump.
    var filled = false
    for i in 0..<100_000 {
      do {
        _ = try kiosk.store.enqueue(
          QueuedOperation(
            id: "f\(i)", kind: .start, ticketId: "x", createdAt: Timestamp(millis: 1),
            state: .done),
          maxOutstanding: 100)
      } catch {
        filled = true
        break
      }
    }
    #expect(filled)
    let outcome = kiosk.core.bump(ticketId: "A")
    guard case .refused(let why) = outcome else {
      Issue.record("the bump was not refused: \(outcome)")
      return
    }
    #expect(why.contains("could not save"), "\(why)")
    let alerts = kiosk.core.snapshot().alerts.map(KioskCore.text(of:))
    #expect(alerts.contains { $0.contains("NOT saved") && $0.contains("full") }, "\(alerts)")
    #expect(kiosk.core.status().alerts.contains { $0.contains("NOT saved") })
  }
}
