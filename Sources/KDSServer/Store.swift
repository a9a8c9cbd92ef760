import GRDB
import KDSDatabase
import KDSSystem
import Synchronization

/// The server's SQLite database: a GRDB `DatabasePool` in WAL mode.
///
/// Durability: `synchronous = FULL`, so every commit is fsynced to the WAL
/// before `write` returns and before the client gets its answer. That is more
/// than a kill -9 needs (in WAL mode a committed write is in the OS page cache
/// as soon as `write(2)` returns, so NORMAL would survive a killed process
/// too), and it also survives a power cut. The cost of one fsync per commit is
/// paid once per *batch*: writes go through ``WriteQueue``, which commits all
/// the writes that arrived while the previous commit was syncing in one
/// transaction (group commit), each in its own savepoint.
public final class ServerStore: Sendable {
  public let pool: DatabasePool
  let writes: WriteQueue
  let clock: StampClock
  /// The largest ticket `updatedAt` per station, for answering empty `since`
  /// polls without touching the database. Only ever raised after a commit, so
  /// a stale value can only make a poll answer "nothing new yet" for a write
  /// whose commit has not been answered either; the client's cursor does not
  /// move on an empty answer, so the next poll sees it.
  let stationHighWater = Mutex<[String: Int64]>([:])
  /// Told of every committed ticket change (the push streams listen).
  public let changeFeed: any TicketChangeFeed = InProcessChangeFeed()

  public init(path: String) throws {
    pool = try DatabaseFile.openPool(
      path: path, options: .init(synchronous: .full, busyTimeoutSeconds: 10),
      migrator: Self.migrator)
    let hwm = try pool.read { db in
      try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'clock'") ?? 0
    }
    clock = StampClock(highWater: hwm)
    writes = WriteQueue(pool: pool)
    let maxima = try pool.read { db in
      try Row.fetchAll(db, sql: "SELECT station, MAX(updated_at) FROM tickets GROUP BY station")
    }
    stationHighWater.withLock { map in
      for row in maxima {
        let station: String = row[0]
        let value: Int64 = row[1]
        map[station] = value
      }
    }
  }

  static var migrator: DatabaseMigrator {
    var m = DatabaseMigrator()
    m.registerMigration("v1") { db in
      try db.execute(
        sql: """
          CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
          INSERT INTO meta (key, value) VALUES ('clock', 0), ('order_number', 1000);
          CREATE TABLE tokens (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            hash TEXT NOT NULL UNIQUE,
            device TEXT NOT NULL,
            stations TEXT NOT NULL,
            created_at INTEGER NOT NULL);
          CREATE TABLE orders (
            id TEXT PRIMARY KEY NOT NULL,
            number INTEGER NOT NULL,
            table_id TEXT NOT NULL,
            waiter_name TEXT,
            order_type TEXT NOT NULL,
            status TEXT NOT NULL,
            items_json TEXT NOT NULL,
            next_item INTEGER NOT NULL,
            payment_json TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL);
          CREATE INDEX orders_updated ON orders (updated_at);
          CREATE TABLE tickets (
            id TEXT PRIMARY KEY NOT NULL,
            order_id TEXT NOT NULL REFERENCES orders (id),
            order_number TEXT NOT NULL,
            station TEXT NOT NULL,
            status TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            ready_at INTEGER,
            waiter_name TEXT,
            table_name TEXT,
            order_type TEXT,
            items_json TEXT NOT NULL);
          CREATE INDEX tickets_station_updated ON tickets (station, updated_at);
          CREATE INDEX tickets_order ON tickets (order_id);
          CREATE TABLE idempotency_keys (
            token_id INTEGER NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            status INTEGER NOT NULL,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (token_id, method, path, key));
          CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);
          """)
    }
    m.registerMigration("v2-menu") { db in
      try db.execute(
        sql: """
          CREATE TABLE menu_items (
            position INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            station TEXT NOT NULL,
            modifiers_json TEXT NOT NULL);
          """)
    }
    m.registerMigration("v3-token-roles") { db in
      // Roles (tokens without stations were POS tokens), last use and
      // revocation; token_generation moves on every revocation.
      try db.execute(
        sql: """
          ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'pos';
          UPDATE tokens SET role = 'station' WHERE stations != '';
          ALTER TABLE tokens ADD COLUMN last_seen_at INTEGER;
          ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
          INSERT INTO meta (key, value) VALUES ('token_generation', 0);
          """)
    }
    m.registerMigration("v4-menu-category-price") { db in
      try db.execute(sql: "ALTER TABLE menu_items ADD COLUMN category TEXT")
      try db.execute(sql: "ALTER TABLE menu_items ADD COLUMN price REAL")
    }
    m.registerMigration(DashboardSchema.migrationName, migrate: DashboardSchema.migrate)
    m.registerMigration("v5-allergen-check") { db in
      // A kiosk with `allergen_check = on` sends when the cook acknowledged
      // the allergy band with its mark-ready (docs/sync-contract.md).
      try db.execute(sql: "ALTER TABLE tickets ADD COLUMN allergen_checked_at INTEGER")
    }
    return m
  }

  /// Runs `body` in the next group-committed write transaction (in its own
  /// savepoint) and returns once that transaction is durably committed.
  public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws
    -> T
  {
    try await writes.write(body)
  }

  /// Raises the per-station high-water marks after a commit.
  func noteCommitted(_ tickets: [TicketTouch]) {
    guard !tickets.isEmpty else { return }
    stationHighWater.withLock { map in
      for t in tickets where (map[t.station] ?? Int64.min) < t.updatedAt {
        map[t.station] = t.updatedAt
      }
    }
    changeFeed.publish(tickets.map { TicketChange(station: $0.station, updatedAt: $0.updatedAt) })
  }

  func highWater(station: String) -> Int64? {
    stationHighWater.withLock { $0[station] }
  }
}

/// The clock that stamps `updatedAt`: strictly increasing milliseconds.
///
/// Each stamp is `max(wall clock, previous stamp + 1)`, taken inside the
/// write transaction (writes are serialised, so commit order is stamp order),
/// and the high-water mark is saved in `meta` in the same transaction, so the
/// clock never goes back, across restarts or wall-clock steps.
final class StampClock: Sendable {
  private let last: Mutex<Int64>

  init(highWater: Int64) { last = Mutex(highWater) }

  func next(_ db: Database) throws -> Int64 {
    let stamp = last.withLock { last in
      last = max(SystemClock.wallMillis(), last + 1)
      return last
    }
    try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'clock'", arguments: [stamp])
    return stamp
  }
}

/// Group commit: writes queue up while a transaction commits; the next
/// transaction runs all of them, each in its own savepoint (an error in one
/// rolls back only that one), and commits (one fsync) before any of them is
/// answered.
final class WriteQueue: Sendable {
  struct Job: Sendable {
    let run: @Sendable (Database) -> Void
    let finish: @Sendable ((any Error)?) -> Void
  }

  private struct State {
    var pending: [Job] = []
    var draining = false
  }

  private let pool: DatabasePool
  private let state = Mutex(State())
  static let maxBatch = 256

  init(pool: DatabasePool) { self.pool = pool }

  func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    let box = ResultBox<T>()
    return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
      let job = Job(
        run: { db in
          do {
            var value: T?
            try db.inSavepoint {
              value = try body(db)
              return .commit
            }
            box.set(.success(value!))
          } catch {
            box.set(.failure(error))
          }
        },
        finish: { commitError in
          if let commitError {
            cont.resume(throwing: commitError)
          } else {
            cont.resume(with: box.get())
          }
        })
      enqueue(job)
    }
  }

  private func enqueue(_ job: Job) {
    let start = state.withLock { s -> Bool in
      s.pending.append(job)
      if s.draining { return false }
      s.draining = true
      return true
    }
    if start {
      Task.detached { await self.drain() }
    }
  }

  private func drain() async {
    while true {
      let jobs = state.withLock { s -> [Job] in
        let n = min(s.pending.count, Self.maxBatch)
        let batch = Array(s.pending.prefix(n))
        s.pending.removeFirst(n)
        if batch.isEmpty { s.draining = false }
        return batch
      }
      if jobs.isEmpty { return }
      do {
        try await pool.write { db in
          for job in jobs { job.run(db) }
        }
        for job in jobs { job.finish(nil) }
      } catch {
        for job in jobs { job.finish(error) }
      }
    }
  }
}

final class ResultBox<T: Sendable>: Sendable {
  private let value = Mutex<Result<T, any Error>?>(nil)
  func set(_ r: Result<T, any Error>) { value.withLock { $0 = r } }
  func get() -> Result<T, any Error> {
    value.withLock { $0 } ?? .failure(ServerInternalError("write finished without a result"))
  }
}

struct ServerInternalError: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}
