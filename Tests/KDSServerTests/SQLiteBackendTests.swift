import Foundation
import Testing

@testable import KDSServer

/// The SQLite backend's adapter (`GRDBConnection`) against a real database
/// file: what goes in comes out, and transactions and savepoints behave as
/// `SQLConnection` promises.
@Suite struct SQLiteBackendTests {
  /// A fresh, migrated database file, removed with its WAL at the end.
  final class Scratch {
    let path = NSTemporaryDirectory() + "kds-backend-\(UUID().uuidString).sqlite"
    let backend: SQLiteBackend

    init() throws {
      backend = try SQLiteBackend(path: path)
    }

    deinit {
      for suffix in ["", "-wal", "-shm"] {
        try? FileManager.default.removeItem(atPath: path + suffix)
      }
    }
  }

  static let oddText =
    "e\u{301} 👩‍👩‍👧 \u{202E}txet\u{202C} 𝄞 \u{FEFF}\u{FFFD} ẞ ﷽ \u{10FFFF} 'quote' \"dq\" ;--"

  @Test func valuesComeBackAsTheyWentIn() async throws {
    let s = try Scratch()
    #expect(s.backend.dialect == .sqlite)
    let values: [SQLValue] = [
      .null, .integer(Int64.min), .integer(Int64.max), .integer(0), .integer(-1),
      .real(3.5), .real(-0.25), .real(1e300), .real(Double.leastNonzeroMagnitude),
      .text(""), .text(Self.oddText), .blob([0, 255, 1, 0, 128]), .blob(Array(0...255)),
    ]
    let back = try await s.backend.writeTransaction { db -> [(SQLValue, String)] in
      #expect(db.dialect == .sqlite)
      // No declared type: SQLite keeps each value's own storage class.
      try db.execute(sql: "CREATE TABLE probe (n INTEGER PRIMARY KEY, v)")
      for (n, v) in values.enumerated() {
        try db.execute(sql: "INSERT INTO probe (n, v) VALUES (?, ?)", arguments: [n, v])
      }
      return try db.fetchAll(sql: "SELECT v, typeof(v) FROM probe ORDER BY n").map {
        ($0[0], $0[1])
      }
    }
    #expect(back.map(\.0) == values)
    #expect(
      back.map(\.1) == [
        "null", "integer", "integer", "integer", "integer", "real", "real", "real", "real",
        "text", "text", "blob", "blob",
      ])

    // Typed reads and binds of Swift values, through a read.
    let typed = try await s.backend.read { db in
      try db.fetchOne(
        sql: "SELECT ?, ?, ?, ?, ?, ?, ?",
        arguments: [Int64.min, 2.5, Self.oddText, [UInt8]([9, 0, 9]), nil as String?, true, 7])
    }
    let row = try #require(typed)
    #expect(row[0] as Int64 == Int64.min)
    #expect(row[1] as Double == 2.5)
    #expect(row[2] as String == Self.oddText)
    #expect(row[3] as [UInt8] == [9, 0, 9])
    #expect(row[4] as String? == nil)
    #expect(row[5] as Bool == true)
    #expect(row[6] as Int == 7)
    #expect(row.value(2, as: Int64.self) == nil)
  }

  @Test func changesCountIsTheLastStatements() async throws {
    let s = try Scratch()
    let counts = try await s.backend.writeTransaction { db -> [Int] in
      try db.execute(sql: "CREATE TABLE c (k INTEGER PRIMARY KEY, tag TEXT)")
      try db.execute(
        sql: "INSERT INTO c (k, tag) VALUES (1, 'a'), (2, 'b'), (3, 'b')")
      let inserted = db.changesCount
      try db.execute(sql: "UPDATE c SET tag = 'z' WHERE tag = ?", arguments: ["b"])
      let updated = db.changesCount
      try db.execute(sql: "DELETE FROM c WHERE k > ?", arguments: [99])
      let deleted = db.changesCount
      return [inserted, updated, deleted]
    }
    #expect(counts == [3, 2, 0])
  }

  struct Refused: Error {}

  @Test func aFailedSavepointRollsBackAloneAndAFailedTransactionAll() async throws {
    let s = try Scratch()
    try await s.backend.writeTransaction { db in
      try db.execute(sql: "CREATE TABLE sp (name TEXT NOT NULL)")
      try db.execute(sql: "INSERT INTO sp VALUES ('before')")
      var refused = false
      do {
        try db.inSavepoint {
          try db.execute(sql: "INSERT INTO sp VALUES ('inside')")
          throw Refused()
        }
      } catch is Refused {
        refused = true
      }
      #expect(refused)
      try db.inSavepoint {
        try db.execute(sql: "INSERT INTO sp VALUES ('kept')")
      }
      try db.execute(sql: "INSERT INTO sp VALUES ('after')")
    }
    let names = try await s.backend.read { db in
      try db.fetchAll(String.self, sql: "SELECT name FROM sp ORDER BY rowid")
    }
    #expect(names == ["before", "kept", "after"])

    await #expect(throws: Refused.self) {
      try await s.backend.writeTransaction { db in
        try db.execute(sql: "INSERT INTO sp VALUES ('lost')")
        throw Refused()
      }
    }
    let count = try await s.backend.read { db in
      try db.fetchOne(Int.self, sql: "SELECT COUNT(*) FROM sp")
    }
    #expect(count == 3)
  }

  @Test func fetchOneOfNothingIsNil() async throws {
    let s = try Scratch()
    let (row, value, null, all) = try await s.backend.read { db in
      (
        try db.fetchOne(sql: "SELECT id FROM tokens WHERE id = ?", arguments: [424_242]),
        try db.fetchOne(Int64.self, sql: "SELECT id FROM tokens WHERE id = ?", arguments: [1]),
        try db.fetchOne(Int64.self, sql: "SELECT NULL"),
        try db.fetchAll(sql: "SELECT * FROM tokens")
      )
    }
    #expect(row == nil)
    #expect(value == nil)
    #expect(null == nil)
    #expect(all.isEmpty)
  }

  @Test func executeWithoutArgumentsRunsEveryStatement() async throws {
    let s = try Scratch()
    let rows = try await s.backend.writeTransaction { db in
      try db.execute(
        sql: """
          CREATE TABLE m (x INTEGER NOT NULL);
          INSERT INTO m VALUES (1);
          INSERT INTO m VALUES (2);
          UPDATE m SET x = x * 10;
          """)
      return try db.fetchAll(Int64.self, sql: "SELECT x FROM m ORDER BY x")
    }
    #expect(rows == [10, 20])
  }

  @Test func insertReturningGivesTheNewID() async throws {
    let s = try Scratch()
    let ids = try await s.backend.writeTransaction { db in
      try (0..<3).map { n in
        try db.fetchOne(
          Int64.self,
          sql: """
            INSERT INTO tokens (hash, device, stations, role, created_at)
            VALUES (?, ?, '', 'pos', 0) RETURNING id
            """,
          arguments: ["h\(n)", "d\(n)"])
      }
    }
    #expect(ids == [1, 2, 3])
  }

  /// The store on a backend it was given, and the SQLite maintenance call
  /// that empties the write-ahead log after a secret left the database.
  @Test func storeOnABackendAndWipedLog() async throws {
    let s = try Scratch()
    let store = try await ServerStore(backend: s.backend)
    let token = try await DeviceTokens.create(in: store, device: "pos-1", stations: [])
    #expect(token.hasPrefix("kds_"))
    let devices = try await store.read { db in
      try db.fetchAll(String.self, sql: "SELECT device FROM tokens")
    }
    #expect(devices == ["pos-1"])
    let walBefore = try FileManager.default.attributesOfItem(atPath: s.path + "-wal")[.size] as? Int
    #expect((walBefore ?? 0) > 0)
    try await s.backend.wipeFreedPages()
    let walAfter = try FileManager.default.attributesOfItem(atPath: s.path + "-wal")[.size] as? Int
    #expect(walAfter == 0)
  }
}
