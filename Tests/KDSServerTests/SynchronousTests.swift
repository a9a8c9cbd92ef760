import Foundation
import GRDB
import Testing

@testable import KDSServer

@Suite struct SynchronousTests {
  /// Every commit is fsynced: GRDB's pool would leave its writer at NORMAL
  /// (WAL), where a power cut can lose commits the server already answered.
  @Test func writerCommitsWithSynchronousFull() async throws {
    let path = NSTemporaryDirectory() + "kds-sync-\(UUID().uuidString).sqlite"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let store = try await ServerStore(path: path)
    let sqlite = try #require(store.backend as? SQLiteBackend)
    let level = try await sqlite.pool.writeWithoutTransaction { db in
      try Int.fetchOne(db, sql: "PRAGMA synchronous")
    }
    #expect(level == 2)  // FULL
    let mode = try await sqlite.pool.read { db in
      try String.fetchOne(db, sql: "PRAGMA journal_mode")
    }
    #expect(mode == "wal")
  }
}
