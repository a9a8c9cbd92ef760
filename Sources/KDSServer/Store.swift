import KDSSystem
import Logging
import Synchronization

/// A database `--db` names that cannot be opened as asked.
public struct StoreOpenError: Error, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}

/// The server's database, behind ``SQLBackend``: SQLite (``SQLiteBackend``,
/// a GRDB pool in WAL mode with `synchronous = FULL`) or PostgreSQL.
///
/// Every write goes through ``WriteQueue``, which commits all the writes that
/// arrived while the previous commit was syncing in one transaction (group
/// commit), each in its own savepoint: the cost of one durable commit is paid
/// once per *batch*, and no client gets its answer before its commit is
/// durable.
public final class ServerStore: Sendable {
  public let backend: any SQLBackend
  let writes: WriteQueue
  let clock: StampClock
  /// The largest ticket `updatedAt` per station, for answering empty `since`
  /// polls without touching the database. Only ever raised after a commit, so
  /// a stale value can only make a poll answer "nothing new yet" for a write
  /// whose commit has not been answered either; the client's cursor does not
  /// move on an empty answer, so the next poll sees it.
  let stationHighWater = SharedMarks()
  /// Told of every committed ticket change (the push streams listen): this
  /// process's commits, and on PostgreSQL every replica's (LISTEN/NOTIFY).
  public let changeFeed: any TicketChangeFeed
  /// Notices the writes of another kds-server process on the same database.
  let otherWriters: OtherWriterWatch

  /// The SQLite database at `path`, created and migrated if needed.
  public convenience init(path: String) async throws {
    try await self.init(backend: SQLiteBackend(path: path))
  }

  /// Whether `database` names a PostgreSQL database (`postgres://` or
  /// `postgresql://`) rather than a SQLite file.
  public static func isPostgresURL(_ database: String) -> Bool {
    database.hasPrefix("postgres://") || database.hasPrefix("postgresql://")
  }

  /// `database` for a log line: a PostgreSQL URL without its password.
  public static func describe(database: String) -> String {
    guard isPostgresURL(database) else { return database }
    return (try? PostgresLocation(url: database).description) ?? "postgres://(unreadable URL)"
  }

  /// The database `--db` names: a SQLite file (created if missing) or a
  /// PostgreSQL URL. On PostgreSQL the store works for one restaurant,
  /// `restaurant` (the database's first one, `default`, unless told); the
  /// schema is brought up to date first, under a lock that makes two
  /// processes starting at once safe.
  public static func open(
    database: String, restaurant: String? = nil, connections: Int = 8,
    logger: Logger = Logger(label: "kds.postgres")
  ) async throws -> ServerStore {
    guard isPostgresURL(database) else {
      if let restaurant, restaurant != PostgresSchema.defaultRestaurantName {
        throw StoreOpenError(
          "a SQLite database holds one restaurant: --restaurant \(restaurant) needs PostgreSQL")
      }
      return try await ServerStore(path: database)
    }
    let backend = try await PostgresBackend.open(
      url: database, connections: connections, logger: logger)
    let id: Int64
    if let restaurant {
      guard let found = try await backend.restaurant(named: restaurant) else {
        await backend.close()
        throw StoreOpenError(
          "no restaurant named \(restaurant) in this database (kds-server restaurant create \(restaurant))"
        )
      }
      id = found
    } else {
      id = Tenant.defaultRestaurant
    }
    backend.pin(restaurant: id)
    let feed = PostgresChangeFeed(backend: backend, restaurant: id, logger: logger)
    return try await ServerStore(backend: backend, changeFeed: feed)
  }

  /// The database behind `backend` (already opened and migrated).
  public init(
    backend: any SQLBackend, changeFeed: any TicketChangeFeed = InProcessChangeFeed()
  ) async throws {
    self.changeFeed = changeFeed
    let (hwm, maxima) = try await backend.read { db -> (Int64, [SQLRow]) in
      let hwm = try db.fetchOne(Int64.self, sql: "SELECT value FROM meta WHERE key = 'clock'") ?? 0
      let maxima = try db.fetchAll(
        sql: "SELECT station, MAX(updated_at) FROM tickets GROUP BY station")
      return (hwm, maxima)
    }
    self.backend = backend
    clock = StampClock(highWater: hwm)
    writes = WriteQueue(backend: backend)
    otherWriters = OtherWriterWatch(seen: hwm)
    for row in maxima { stationHighWater.raise(station: row[0], to: row[1]) }
    // Every published change raises the marks: this process's commits
    // (`noteCommitted`) and the other replicas' (PostgreSQL's NOTIFY).
    let marks = stationHighWater
    feedSubscription = changeFeed.subscribe { change in
      marks.raise(station: change.station, to: change.updatedAt)
    }
    // SQLite: the other process on the file. PostgreSQL: the safety net of
    // LISTEN/NOTIFY (a notification lost with its connection), so the
    // `since` high-water marks are never stale for more than a moment.
    startWatchingOtherWriters()
  }

  /// The store's own subscription to `changeFeed` (kept for its lifetime).
  private let feedSubscription: ChangeSubscription

  /// Runs `body` on a consistent snapshot of the database, without writing.
  public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T)
    async throws -> T
  {
    try await backend.read(body)
  }

  /// Runs `body` in the next group-committed write transaction (in its own
  /// savepoint) and returns once that transaction is durably committed.
  public func write<T: Sendable>(
    _ body: @escaping @Sendable (any SQLConnection) throws -> T
  ) async throws -> T {
    try await writes.write(body)
  }

  /// Raises the per-station high-water marks after a commit.
  func noteCommitted(_ tickets: [TicketTouch]) {
    guard !tickets.isEmpty else { return }
    // The feed calls its subscribers before it returns: the store's own
    // subscription has raised the marks by the time this returns.
    changeFeed.publish(tickets.map { TicketChange(station: $0.station, updatedAt: $0.updatedAt) })
  }

  /// The key of the largest `updatedAt` of any station (the expo's view);
  /// never a station name (those are never empty).
  static let allStationsKey = ""

  /// The largest ticket `updatedAt` of `station`, or of every station for
  /// the expo's view (`KitchenTools.isAllStationsView`).
  func highWater(station: String) -> Int64? {
    let key = KitchenTools.isAllStationsView(station) ? Self.allStationsKey : station
    return stationHighWater.withLock { $0[key] }
  }
}

/// The clock that stamps `updatedAt`: strictly increasing milliseconds per
/// database, not per process.
///
/// Each stamp is `max(wall clock, max(previous stamp of this process, the
/// database's clock) + 1)`, taken inside the write transaction, and saved in
/// `meta.clock` in the same transaction. On SQLite write transactions are
/// IMMEDIATE (GRDB's default for a writer): they hold SQLite's write lock from
/// their first statement; on PostgreSQL the clock's row is updated (and so
/// locked until COMMIT) by the one statement that reads it. Either
/// way two kds-server processes on one database never read the same clock,
/// and commit order is stamp order. The clock never goes back,
/// across restarts, wall-clock steps or the other process's writes.
final class StampClock: Sendable {
  private let last: Mutex<Int64>

  init(highWater: Int64) { last = Mutex(highWater) }

  /// The last stamp this process gave.
  var lastStamp: Int64 { last.withLock { $0 } }

  func next(_ db: any SQLConnection) throws -> Int64 {
    if db.dialect == .postgres {
      // PostgreSQL's transactions do not lock on their first statement: the
      // UPDATE's row lock on the clock serialises stampers until COMMIT
      // (commit order is stamp order). One statement, one round trip: the
      // database's clock + 1, or this process's next, whichever is later.
      let floor = last.withLock { max(SystemClock.wallMillis(), $0 + 1) }
      guard
        let stamp = try db.fetchOne(
          Int64.self,
          sql: "UPDATE meta SET value = GREATEST(value + 1, ?) WHERE key = 'clock' RETURNING value",
          arguments: [floor])
      else { throw ServerInternalError("the stamp clock's row is missing from meta") }
      last.withLock { $0 = max($0, stamp) }
      return stamp
    }
    let stored = try db.fetchOne(Int64.self, sql: "SELECT value FROM meta WHERE key = 'clock'") ?? 0
    let stamp = last.withLock { last in
      last = max(SystemClock.wallMillis(), max(last, stored) + 1)
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
    let run: @Sendable (any SQLConnection) -> Void
    let finish: @Sendable ((any Error)?) -> Void
  }

  private struct State {
    var pending: [Job] = []
    var draining = false
  }

  private let backend: any SQLBackend
  private let state = Mutex(State())
  static let maxBatch = 256

  init(backend: any SQLBackend) { self.backend = backend }

  func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T)
    async throws -> T
  {
    let box = ResultBox<T>()
    return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
      let job = Job(
        run: { db in
          do {
            var value: T?
            try db.inSavepoint {
              value = try body(db)
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
        try await backend.writeTransaction { db in
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

/// The per-station high-water marks, shared with the feed's subscriber.
final class SharedMarks: Sendable {
  private let map = Mutex<[String: Int64]>([:])

  func withLock<R>(_ body: (inout [String: Int64]) -> R) -> R { map.withLock { body(&$0) } }

  /// Raises `station`'s mark, and the all-stations one, to `value`.
  func raise(station: String, to value: Int64) {
    map.withLock { map in
      for key in [station, ServerStore.allStationsKey] where (map[key] ?? Int64.min) < value {
        map[key] = value
      }
    }
  }
}
