import Foundation
import GRDB
import KDSDatabase
import Testing

@Suite struct DatabaseFileTests {
  static func migrator() -> DatabaseMigrator {
    var m = DatabaseMigrator()
    m.registerMigration("v1") { db in
      try db.execute(
        sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES t (id))")
    }
    return m
  }

  static func withPath(_ body: (String) throws -> Void) rethrows {
    let dir = NSTemporaryDirectory() + "kds-dbfile-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try body(dir + "/test.sqlite")
  }

  /// GRDB's WAL set-up leaves the pool's writer at NORMAL after
  /// `prepareDatabase`; the shared opening puts it back to FULL.
  @Test func poolWriterIsFull() throws {
    try Self.withPath { path in
      let pool = try DatabaseFile.openPool(
        path: path, readers: 2, options: .init(synchronous: .full, busyTimeoutSeconds: 1),
        migrator: Self.migrator())
      let level = try pool.writeWithoutTransaction { db in
        try Int.fetchOne(db, sql: "PRAGMA synchronous")
      }
      #expect(level == 2)
      let mode = try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
      #expect(mode == "wal")
      let tables = try pool.read { db in try db.tableExists("t") }
      #expect(tables)
    }
  }

  /// The kiosk's single connection gets the level it asks for too.
  @Test(arguments: [DatabaseFile.Synchronous.full, .normal])
  func queueHasTheLevelAskedFor(_ level: DatabaseFile.Synchronous) throws {
    try Self.withPath { path in
      let queue = try DatabaseFile.openQueue(
        path: path, options: .init(synchronous: level, busyTimeoutSeconds: 1, cacheKiB: 1024),
        migrator: Self.migrator())
      let (sync, cache, mode) = try queue.writeWithoutTransaction { db in
        (
          try Int.fetchOne(db, sql: "PRAGMA synchronous"),
          try Int.fetchOne(db, sql: "PRAGMA cache_size"),
          try String.fetchOne(db, sql: "PRAGMA journal_mode")
        )
      }
      #expect(sync == level.rawValue)
      #expect(cache == -1024)
      #expect(mode == "wal")
    }
  }

  /// Foreign keys are enforced on every connection.
  @Test func foreignKeysAreEnforced() throws {
    try Self.withPath { path in
      let pool = try DatabaseFile.openPool(
        path: path, options: .init(synchronous: .full, busyTimeoutSeconds: 1),
        migrator: Self.migrator())
      #expect(throws: DatabaseError.self) {
        try pool.write { db in try db.execute(sql: "INSERT INTO t (id, parent) VALUES (1, 99)") }
      }
    }
  }
}
