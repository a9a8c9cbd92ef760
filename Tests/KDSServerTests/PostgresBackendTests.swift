import Foundation
import GRDB
import KDSPostgresCluster
import Synchronization
import Testing

@testable import KDSServer

/// The one throwaway PostgreSQL of this test process (started on first use,
/// stopped at exit); each test works in a database of its own.
enum TestPostgres {
  static let cluster: Result<PostgresCluster, any Error> = {
    let result = Result { try PostgresCluster.start() }
    atexit { if case .success(let c) = TestPostgres.cluster { c.stop() } }
    return result
  }()

  /// The cluster, or the reason it could not start (the test fails with it).
  static func require() throws -> PostgresCluster {
    switch cluster {
    case .success(let c): return c
    case .failure(let e):
      Issue.record("PostgreSQL test cluster: \(e)")
      throw e
    }
  }

  /// A new, empty database; returns its URL.
  static func newDatabase() throws -> String {
    let cluster = try require()
    let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    let out = try cluster.psql("CREATE DATABASE \(name)", database: "postgres")
    try #require(out.status == 0, "CREATE DATABASE: \(out.output)")
    return "postgres://\(PostgresCluster.role)@127.0.0.1:\(cluster.port)/\(name)"
  }

  /// A backend on a new database.
  static func backend(connections: Int = 8) async throws -> (PostgresBackend, String) {
    let url = try newDatabase()
    return (try await PostgresBackend.open(url: url, connections: connections), url)
  }
}

/// Something that throws in a transaction body.
struct BodyFailure: Error {}

@Suite("PostgreSQL backend", .serialized)
struct PostgresBackendTests {
  @Test func clusterStartsAndStops() throws {
    let c = try PostgresCluster.start()
    let dir = c.directory.path
    #expect(c.url == "postgres://kds@127.0.0.1:\(c.port)/kds")
    let out = try c.psql("SHOW fsync")
    #expect(out.output.trimmingCharacters(in: .whitespacesAndNewlines) == "on", "\(out)")
    let listen = try c.psql("SHOW listen_addresses")
    #expect(listen.output.trimmingCharacters(in: .whitespacesAndNewlines) == "127.0.0.1")
    c.stop()
    #expect(!FileManager.default.fileExists(atPath: dir))
    #expect(try c.psql("SELECT 1").status != 0, "the server is gone")
  }

  @Test func missingBinariesSayWhatToRun() throws {
    do {
      _ = try PostgresCluster.findBinaries(override: "/nonexistent/postgresql/bin")
      Issue.record("found binaries in a folder that does not exist")
    } catch {
      #expect("\(error)".hasPrefix("PostgreSQL not installed: run scripts/install-deps"))
    }
    #expect(try PostgresCluster.findBinaries(override: nil).path.hasPrefix("/usr/lib/postgresql/"))
  }

  @Test func urlParsing() throws {
    let a = try PostgresLocation(url: "postgres://kds:s%40cret@db.example:6543/kitchen")
    #expect(a.user == "kds" && a.password == "s@cret" && a.host == "db.example")
    #expect(a.port == 6543 && a.database == "kitchen")
    #expect(!a.description.contains("s@cret") && !a.description.contains("cret"))
    let b = try PostgresLocation(url: "postgresql://me@[::1]/d")
    #expect(b.host == "::1" && b.port == 5432 && b.password == nil)
    for bad in ["mysql://a@b/c", "postgres://a@b", "postgres://@b/c", "postgres://a@b:99999/c"] {
      #expect(throws: PostgresBackendError.self) { try PostgresLocation(url: bad) }
    }
  }

  @Test func placeholdersSkipQuotesAndComments() throws {
    let s = try PostgresSQLText.statements(
      "SELECT '?', \"a?\", ? -- what?\n, $$ ? $$, E'\\'?', /* ? /* ? */ */ ?; ; UPDATE t SET a = ?")
    #expect(s.count == 2)
    #expect(
      s[0].sql == "SELECT '?', \"a?\", $1 -- what?\n, $$ ? $$, E'\\'?', /* ? /* ? */ */ $2")
    #expect(s[0].placeholders == 2)
    #expect(s[1] == .init(sql: "UPDATE t SET a = $1", placeholders: 1))
    #expect(throws: PostgresBackendError.self) { try PostgresSQLText.statements("SELECT 'x") }
  }

  @Test func valuesRoundTrip() async throws {
    let (backend, _) = try await TestPostgres.backend()
    defer { Task { await backend.close() } }
    let text = "Crème brûlée 🍮 — \u{202E}gnp.exe e\u{301} 漢字 \u{1F468}\u{200D}\u{1F373}"
    let blob: [UInt8] = [0, 1, 2, 0xFF, 0x7F, 0, 0x80]
    let rows = try await backend.writeTransaction { db in
      try db.execute(
        sql: "CREATE TEMP TABLE v (i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA, n TEXT)")
      for (i, r) in [(Int64.min, -1.5e300), (Int64.max, 0.1), (0, -0.0)] {
        try db.execute(
          sql: "INSERT INTO v (i, r, t, b, n) VALUES (?, ?, ?, ?, ?)",
          arguments: [i, r, text, blob, nil as String?])
      }
      return try db.fetchAll(sql: "SELECT i, r, t, b, n FROM v ORDER BY i")
    }
    #expect(rows.count == 3)
    #expect(rows.map { $0[0] as Int64 } == [Int64.min, 0, Int64.max])
    #expect(rows.map { $0[1] as Double } == [-1.5e300, -0.0, 0.1])
    #expect(rows.allSatisfy { ($0[2] as String) == text })
    #expect(rows.allSatisfy { ($0[3] as [UInt8]) == blob })
    #expect(rows.allSatisfy { $0.values[4] == .null })
    // Types the server's queries make: counts, sums (numeric), booleans, NULLs.
    let row = try await backend.read { db in
      try db.fetchOne(
        sql: """
          SELECT COUNT(*), SUM(x), SUM(x) / 4.0, 1 = 1, NULL, 2::smallint, 3::int, 2.5::real,
            'a'::varchar
          FROM (VALUES (5::BIGINT), (6::BIGINT)) AS t (x)
          """)
    }
    let values = try #require(row).values
    #expect(
      values == [
        .integer(2), .integer(11), .real(2.75), .integer(1), .null, .integer(2), .integer(3),
        .real(2.5), .text("a"),
      ])
    // An argument count that does not match is an error, not a guess.
    await #expect(throws: PostgresBackendError.self) {
      try await backend.read { db in _ = try db.fetchAll(sql: "SELECT ?, ?", arguments: [1]) }
    }
  }

  @Test func quotedQuestionMarkIsNotAPlaceholder() async throws {
    let (backend, _) = try await TestPostgres.backend()
    defer { Task { await backend.close() } }
    let row = try await backend.read { db in
      try db.fetchOne(
        sql: "SELECT '?' AS q, ? AS a, 'it''s ?' AS b -- is this ?\n", arguments: ["x"])
    }
    #expect(row?.values == [.text("?"), .text("x"), .text("it's ?")])
  }

  @Test func changesCountAndMultiStatementExecute() async throws {
    let (backend, _) = try await TestPostgres.backend()
    defer { Task { await backend.close() } }
    let counts = try await backend.writeTransaction { db -> [Int] in
      try db.execute(
        sql: """
          CREATE TABLE c (id BIGINT PRIMARY KEY, v TEXT);
          INSERT INTO c VALUES (1, 'a'), (2, 'b'), (3, 'c');
          """)
      var out = [db.changesCount]
      try db.execute(sql: "UPDATE c SET v = ? WHERE id >= ?", arguments: ["z", 2])
      out.append(db.changesCount)
      _ = try db.fetchAll(sql: "SELECT * FROM c")  // a SELECT leaves it alone
      out.append(db.changesCount)
      try db.execute(sql: "DELETE FROM c WHERE id = ?", arguments: [42])
      out.append(db.changesCount)
      let ids = try db.fetchAll(
        Int64.self, sql: "INSERT INTO c VALUES (7, 'q') ON CONFLICT DO NOTHING RETURNING id")
      out.append(db.changesCount)
      out.append(ids.count)
      return out
    }
    #expect(counts == [3, 2, 2, 0, 1, 1])
  }

  @Test func savepointRollsBackAlone() async throws {
    let (backend, _) = try await TestPostgres.backend()
    defer { Task { await backend.close() } }
    let names = try await backend.writeTransaction { db -> [String] in
      try db.execute(sql: "CREATE TABLE s (name TEXT PRIMARY KEY)")
      try db.execute(sql: "INSERT INTO s VALUES ('kept')")
      do {
        try db.inSavepoint {
          try db.execute(sql: "INSERT INTO s VALUES ('undone')")
          try db.execute(sql: "INSERT INTO s VALUES ('kept')")  // unique violation
        }
        Issue.record("the duplicate went in")
      } catch let e as PostgresBackendError {
        #expect(e.isConstraintViolation, "\(e)")
      }
      // The transaction goes on after the savepoint's rollback.
      try db.inSavepoint { try db.execute(sql: "INSERT INTO s VALUES ('also')") }
      return try db.fetchAll(String.self, sql: "SELECT name FROM s ORDER BY name")
    }
    #expect(names == ["also", "kept"])
  }

  @Test func failedBodyRollsBackEverything() async throws {
    let (backend, _) = try await TestPostgres.backend()
    defer { Task { await backend.close() } }
    try await backend.writeTransaction { db in
      try db.execute(sql: "CREATE TABLE f (n BIGINT)")
    }
    await #expect(throws: BodyFailure.self) {
      try await backend.writeTransaction { db in
        try db.execute(sql: "INSERT INTO f VALUES (1)")
        try db.execute(sql: "UPDATE meta SET value = 99 WHERE key = 'clock'")
        throw BodyFailure()
      }
    }
    let (count, clock) = try await backend.read { db in
      (
        try db.fetchOne(Int64.self, sql: "SELECT COUNT(*) FROM f"),
        try db.fetchOne(Int64.self, sql: "SELECT value FROM meta WHERE key = 'clock'")
      )
    }
    #expect(count == 0 && clock == 0)
    // A read transaction cannot write.
    await #expect(throws: PostgresBackendError.self) {
      try await backend.read { db in try db.execute(sql: "INSERT INTO f VALUES (2)") }
    }
  }

  @Test func concurrentIncrementsAreExact() async throws {
    let (backend, _) = try await TestPostgres.backend(connections: 4)
    defer { Task { await backend.close() } }
    try await backend.writeTransaction { db in
      try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('counter', 0)")
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<16 {
        group.addTask {
          for _ in 0..<25 {
            try await backend.writeTransaction { db in
              let v = try #require(
                try db.fetchOne(
                  Int64.self, sql: "SELECT value FROM meta WHERE key = 'counter' FOR UPDATE"))
              try db.execute(
                sql: "UPDATE meta SET value = ? WHERE key = 'counter'", arguments: [v + 1])
            }
          }
        }
      }
      try await group.waitForAll()
    }
    let total: Int64? = try await backend.read { db in
      try db.fetchOne(Int64.self, sql: "SELECT value FROM meta WHERE key = 'counter'")
    }
    #expect(total == Int64(16 * 25))
  }

  @Test func serializationFailureRunsTheBodyAgain() async throws {
    let (backend, _) = try await TestPostgres.backend()
    defer { Task { await backend.close() } }
    let runs = Atomic<Int>(0)
    let value = try await backend.writeTransaction { db -> Int in
      let n = runs.add(1, ordering: .relaxed).newValue
      if n < 3 {
        try db.execute(
          sql: "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
      }
      return n
    }
    #expect(value == 3 && runs.load(ordering: .relaxed) == 3)
  }

  @Test func twoBackendsMigrateAtOnce() async throws {
    let url = try TestPostgres.newDatabase()
    async let a = PostgresBackend.open(url: url, connections: 2)
    async let b = PostgresBackend.open(url: url, connections: 2)
    let (first, second) = try await (a, b)
    defer {
      Task {
        await first.close()
        await second.close()
      }
    }
    let steps = try await first.globalTransaction { db in
      try db.fetchAll(
        sql: "SELECT schema_name, name, COUNT(*) FROM public.schema_migrations GROUP BY 1, 2")
    }
    #expect(steps.count == PostgresSchema.global.count + PostgresSchema.restaurant.count)
    #expect(steps.allSatisfy { ($0[2] as Int64) == 1 })
    // Opening again applies nothing new.
    let third = try await PostgresBackend.open(url: url, connections: 1)
    await third.close()
    let again = try await first.globalTransaction { db in
      try db.fetchOne(Int64.self, sql: "SELECT COUNT(*) FROM public.schema_migrations")
    }
    #expect(again == Int64(steps.count))
    let meta = try await second.read { db in
      try db.fetchAll(sql: "SELECT key, value FROM meta ORDER BY key")
    }
    #expect(
      meta.map { $0.values } == [
        [.text("clock"), .integer(0)], [.text("order_number"), .integer(1000)],
        [.text("token_generation"), .integer(0)],
      ])
  }

  /// Every table, column and index of the SQLite schema, with the same
  /// names, in a restaurant's PostgreSQL schema.
  @Test func schemaMatchesSQLite() async throws {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("kds-schema-\(UUID().uuidString).sqlite").path
    defer {
      for suffix in ["", "-wal", "-shm"] {
        try? FileManager.default.removeItem(atPath: path + suffix)
      }
    }
    _ = try SQLiteBackend(path: path)
    let sqlite = try DatabaseQueue(path: path)
    let (sqliteColumns, sqliteIndexes) = try await sqlite.read { db in
      var columns: Set<String> = []
      var indexes: Set<String> = []
      let tables = try String.fetchAll(
        db,
        sql: """
          SELECT name FROM sqlite_master WHERE type = 'table'
            AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%'
          """)
      for t in tables {
        for c in try Row.fetchAll(db, sql: "PRAGMA table_info(\(t))") {
          let name: String = c["name"]
          columns.insert("\(t).\(name)")
        }
      }
      for i in try String.fetchAll(
        db,
        sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
      {
        indexes.insert(i)
      }
      return (columns, indexes)
    }
    let (backend, _) = try await TestPostgres.backend(connections: 1)
    defer { Task { await backend.close() } }
    let (pgColumns, pgIndexes) = try await backend.read { db in
      let columns = try db.fetchAll(
        sql: """
          SELECT table_name, column_name FROM information_schema.columns
          WHERE table_schema = 'r_1'
          """
      ).map { "\($0[0] as String).\($0[1] as String)" }
      let indexes = try db.fetchAll(
        String.self,
        sql:
          "SELECT indexname FROM pg_indexes WHERE schemaname = 'r_1' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'"
      )
      return (Set(columns), Set(indexes))
    }
    #expect(sqliteColumns.subtracting(pgColumns).isEmpty, "missing in PostgreSQL")
    #expect(pgColumns.subtracting(sqliteColumns).isEmpty, "only in PostgreSQL")
    #expect(sqliteIndexes == pgIndexes)
    #expect(sqliteColumns.count > 50)
  }

  @Test func restaurantsSeeOnlyTheirRows() async throws {
    let (backend, _) = try await TestPostgres.backend()
    defer { Task { await backend.close() } }
    let other = try await backend.createRestaurant(name: "Harbour")
    #expect(other == 2)
    #expect(try await backend.restaurant(named: "Harbour") == 2)
    #expect(try await backend.restaurants().map(\.name) == ["default", "Harbour"])
    await #expect(throws: PostgresBackendError.self) {
      _ = try await backend.createRestaurant(name: "Harbour")
    }
    func addToken(_ hash: String, restaurant: Int64) async throws {
      try await Tenant.$current.withValue(restaurant) {
        try await backend.writeTransaction { db in
          try db.execute(
            sql: """
              INSERT INTO tokens (hash, device, stations, created_at, role)
              VALUES (?, ?, '', 0, 'pos') RETURNING id
              """, arguments: [hash, "pos-\(restaurant)"])
          try db.execute(
            sql: "UPDATE meta SET value = value + ? WHERE key = 'order_number'",
            arguments: [restaurant])
        }
      }
    }
    try await addToken("hash-one", restaurant: 1)
    try await addToken("hash-two", restaurant: 2)
    for r in [Int64(1), 2] {
      let (devices, number) = try await Tenant.$current.withValue(r) {
        try await backend.read { db in
          (
            try db.fetchAll(String.self, sql: "SELECT device FROM tokens"),
            try db.fetchOne(Int64.self, sql: "SELECT value FROM meta WHERE key = 'order_number'")
          )
        }
      }
      #expect(devices == ["pos-\(r)"])
      #expect(number == 1000 + r)
    }
    #expect(try await backend.restaurant(forTokenHash: "hash-one") == 1)
    #expect(try await backend.restaurant(forTokenHash: "hash-two") == 2)
    #expect(try await backend.restaurant(forTokenHash: "nope") == nil)
    // The index follows a deleted token.
    try await Tenant.$current.withValue(2) {
      try await backend.writeTransaction { db in try db.execute(sql: "DELETE FROM tokens") }
    }
    #expect(try await backend.restaurant(forTokenHash: "hash-two") == nil)
    // An unknown restaurant is an error, not an empty one.
    await #expect(throws: PostgresBackendError.self) {
      try await Tenant.$current.withValue(99) {
        try await backend.read { db in _ = try db.fetchAll(sql: "SELECT 1") }
      }
    }
  }

  @Test func notifyReachesAnotherBackendOnCommitOnly() async throws {
    let (writer, url) = try await TestPostgres.backend()
    let reader = try await PostgresBackend.open(url: url, connections: 2)
    let feed = PostgresChangeFeed(backend: reader)
    defer {
      feed.stop()
      Task {
        await writer.close()
        await reader.close()
      }
    }
    let heard = Mutex<[TicketChange]>([])
    let sub = feed.subscribe { c in heard.withLock { $0.append(c) } }
    defer { sub.cancel() }
    try await waitUntil("the feed listens") { feed.isListening }
    await #expect(throws: BodyFailure.self) {
      try await writer.writeTransaction { db in
        try PostgresChangeFeed.notify(db, [TicketChange(station: "rolled-back", updatedAt: 1)])
        throw BodyFailure()
      }
    }
    try await writer.writeTransaction { db in
      try PostgresChangeFeed.notify(
        db,
        [TicketChange(station: "grill", updatedAt: 7), TicketChange(station: "bar", updatedAt: 8)])
    }
    try await waitUntil("the committed change arrives") {
      heard.withLock { $0.contains(TicketChange(station: "bar", updatedAt: 8)) }
    }
    let all = heard.withLock { $0 }
    #expect(all.contains(TicketChange(station: "grill", updatedAt: 7)))
    #expect(!all.contains { $0.station == "rolled-back" }, "\(all)")
    // Another restaurant's channel is not this feed's.
    let other = try await writer.createRestaurant(name: "Other")
    try await Tenant.$current.withValue(other) {
      try await writer.writeTransaction { db in
        try PostgresChangeFeed.notify(db, [TicketChange(station: "elsewhere", updatedAt: 1)])
      }
    }
    try await writer.writeTransaction { db in
      try PostgresChangeFeed.notify(db, [TicketChange(station: "last", updatedAt: 9)])
    }
    try await waitUntil("the last change arrives") {
      heard.withLock { $0.contains { $0.station == "last" } }
    }
    #expect(!heard.withLock { $0.contains { $0.station == "elsewhere" } })
  }

  @Test func feedListensAgainAfterItsConnectionDrops() async throws {
    let (backend, url) = try await TestPostgres.backend()
    let cluster = try TestPostgres.require()
    let database = try #require(url.split(separator: "/").last.map(String.init))
    let feed = PostgresChangeFeed(backend: backend)
    defer {
      feed.stop()
      Task { await backend.close() }
    }
    let heard = Mutex<[TicketChange]>([])
    let sub = feed.subscribe { c in heard.withLock { $0.append(c) } }
    defer { sub.cancel() }
    try await waitUntil("the feed listens") { feed.listenCount == 1 }
    let killed = try cluster.psql(
      """
      SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
      WHERE datname = '\(database)' AND query LIKE 'LISTEN%'
      """)
    #expect(killed.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(killed)")
    try await waitUntil("the feed listens again") { feed.listenCount == 2 && feed.isListening }
    try await backend.writeTransaction { db in
      try PostgresChangeFeed.notify(db, [TicketChange(station: "after", updatedAt: 3)])
    }
    try await waitUntil("a change after the reconnect arrives") {
      heard.withLock { $0.contains { $0.station == "after" } }
    }
  }

  @Test func killedConnectionIsReplaced() async throws {
    let (backend, url) = try await TestPostgres.backend(connections: 2)
    defer { Task { await backend.close() } }
    let cluster = try TestPostgres.require()
    let database = try #require(url.split(separator: "/").last.map(String.init))
    try await backend.writeTransaction { db in
      try db.execute(sql: "CREATE TABLE k (n BIGINT)")
    }
    // Killed between transactions: every connection of the pool.
    let out = try cluster.psql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)'")
    #expect(out.status == 0, "\(out)")
    try await backend.writeTransaction { db in try db.execute(sql: "INSERT INTO k VALUES (1)") }
    // Killed in the middle of a transaction: it fails, nothing of it stays.
    await #expect(throws: PostgresBackendError.self) {
      try await backend.writeTransaction { db in
        try db.execute(sql: "INSERT INTO k VALUES (2)")
        _ = try db.fetchAll(sql: "SELECT pg_terminate_backend(pg_backend_pid())")
        try db.execute(sql: "INSERT INTO k VALUES (3)")
      }
    }
    let rows = try await backend.read { db in
      try db.fetchAll(Int64.self, sql: "SELECT n FROM k ORDER BY n")
    }
    #expect(rows == [1])
  }
}
