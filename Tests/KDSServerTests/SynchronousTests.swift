import Foundation
import GRDB
import Testing

@testable import KDSServer

@Suite struct SynchronousTests {
  /// Every commit is fsynced: GRDB's pool would leave its writer at NORMAL
  /// (WAL), where a power cut can lose commits the server already answered.
  @Test func writerCommitsWithSynchronousFull() throws {
    let path = NSTemporaryDirectory() + "kds-sync-\(UUID().uuidString).sqlite"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let store = try ServerStore(path: path)
    let level = try store.pool.writeWithoutTransaction { db in
      try Int.fetchOne(db, sql: "PRAGMA synchronous")
    }
    #expect(level == 2)  // FULL
    let mode = try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
    #expect(mode == "wal")
  }
}
