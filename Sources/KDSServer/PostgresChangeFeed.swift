import Logging
import PostgresNIO
import Synchronization

/// The ticket changes of one restaurant, from every kds-server process on
/// the same PostgreSQL database (issue 16: push across replicas).
///
/// A write transaction announces its changes with
/// ``PostgresChangeFeed/notify(_:_:)``: a `pg_notify` on the restaurant's
/// channel (`kds_changes_<id>`), which PostgreSQL delivers when, and only if,
/// the transaction commits. Each process keeps one feed per restaurant with
/// one dedicated connection that `LISTEN`s on that channel and publishes
/// every notification to its subscribers (the push streams). The payload is
/// one line per change, `station<TAB>updatedAt`.
///
/// When the listening connection drops, the feed connects again (waiting
/// 0.1 s, then twice as long each time, at most 5 s) and, once it listens
/// again, publishes each station's newest `updatedAt` (a resync): a stream
/// that may have missed a notification while the feed was away re-reads
/// what is newer than what it sent.
public final class PostgresChangeFeed: TicketChangeFeed {
  public let restaurant: Int64
  let local = InProcessChangeFeed()
  let listener: Task<Void, Never>
  let state: ListenState

  final class ListenState: Sendable {
    let listening = Atomic<Bool>(false)
    /// How many times the feed started listening (1 after the first connect).
    let listens = Atomic<Int>(0)
    let connection = Mutex<PostgresConnection?>(nil)
  }

  /// Starts listening for `restaurant`'s changes (the default restaurant
  /// unless told) with a connection of its own to `backend`'s database.
  public init(
    backend: PostgresBackend, restaurant: Int64 = Tenant.defaultRestaurant,
    logger: Logger = Logger(label: "kds.postgres.feed")
  ) {
    self.restaurant = restaurant
    let state = ListenState()
    self.state = state
    let local = local
    listener = Task.detached {
      await Self.listen(
        backend: backend, restaurant: restaurant, state: state, local: local, logger: logger)
    }
  }

  deinit { stop() }

  /// Stops listening (the subscribers stay, and hear local publishes only).
  public func stop() {
    listener.cancel()
    let c = state.connection.withLock { c in
      defer { c = nil }
      return c
    }
    if let c { PostgresConnectionPool.discard(c) }
  }

  /// True while the feed's connection listens.
  public var isListening: Bool { state.listening.load(ordering: .relaxed) }
  /// How many times the feed started listening: 1 after the first connect,
  /// one more after each reconnect.
  public var listenCount: Int { state.listens.load(ordering: .relaxed) }

  public func subscribe(_ onChange: @escaping @Sendable (TicketChange) -> Void)
    -> ChangeSubscription
  {
    local.subscribe(onChange)
  }

  /// Tells this process's subscribers at once (the NOTIFY of the same commit
  /// comes back a moment later: a repeated hint costs a stream one read).
  public func publish(_ changes: [TicketChange]) { local.publish(changes) }

  // MARK: sending

  /// The most a payload carries (PostgreSQL's limit is 8000 bytes).
  static let payloadLimit = 7_000

  /// Announces `changes` to every process's feed of the transaction's
  /// restaurant, when the transaction of `db` commits. Does nothing on
  /// SQLite (one process; its in-process feed is told after the commit).
  public static func notify(_ db: any SQLConnection, _ changes: [TicketChange]) throws {
    guard !changes.isEmpty, let pg = db as? PostgresSQLConnection, let restaurant = pg.restaurant
    else { return }
    let channel = PostgresSchema.channel(restaurant: restaurant)
    for payload in payloads(changes) {
      // Nothing to read back: sent without waiting (an error comes with the
      // next statement, at the latest COMMIT).
      try pg.sendWithoutWaiting(sql: "SELECT pg_notify(?, ?)", arguments: [channel, payload])
    }
  }

  static func payloads(_ changes: [TicketChange]) -> [String] {
    var out: [String] = []
    var current = ""
    for c in changes {
      // A tab or newline in a station name would break the line: stations
      // are checked names (KDSContract), so this is only a guard.
      let station = String(c.station.map { $0 == "\t" || $0 == "\n" ? " " : $0 })
      let line = "\(station)\t\(c.updatedAt)"
      if !current.isEmpty && current.utf8.count + 1 + line.utf8.count > payloadLimit {
        out.append(current)
        current = ""
      }
      current += current.isEmpty ? line : "\n" + line
    }
    if !current.isEmpty { out.append(current) }
    return out
  }

  static func parse(_ payload: String) -> [TicketChange] {
    payload.split(separator: "\n").compactMap { line in
      let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
      guard parts.count == 2, let at = Int64(parts[1]) else { return nil }
      return TicketChange(station: String(parts[0]), updatedAt: at)
    }
  }

  // MARK: listening

  static func listen(
    backend: PostgresBackend, restaurant: Int64, state: ListenState,
    local: InProcessChangeFeed, logger: Logger
  ) async {
    let channel = PostgresSchema.channel(restaurant: restaurant)
    var backoff: Duration = .milliseconds(100)
    var lastError = ""
    while !Task.isCancelled {
      var open: PostgresConnection?
      do {
        let connection = try await PostgresConnection.connect(
          configuration: backend.location.configuration, id: 0, logger: logger)
        open = connection
        let stopped = state.connection.withLock { c -> Bool in
          c = connection
          return Task.isCancelled
        }
        if stopped {
          try? await connection.close()
          return
        }
        defer { state.listening.store(false, ordering: .relaxed) }
        try await connection.listen(on: channel) { notifications in
          state.listening.store(true, ordering: .relaxed)
          let n = state.listens.add(1, ordering: .relaxed).newValue
          backoff = .milliseconds(100)
          if n > 1 || !lastError.isEmpty {
            logger.notice("postgres feed: listening again on \(channel)")
          }
          lastError = ""
          // Anything announced while nobody listened: each station's newest.
          if let latest = try? await Tenant.$current.withValue(
            restaurant,
            operation: {
              try await backend.read { db in
                try db.fetchAll(
                  sql: "SELECT station, MAX(updated_at) FROM tickets GROUP BY station")
              }
            })
          {
            local.publish(latest.map { TicketChange(station: $0[0], updatedAt: $0[1]) })
          }
          for try await n in notifications {
            local.publish(parse(n.payload))
          }
        }
        try? await connection.close()
      } catch {
        let e = PostgresBackendError(error)
        if e.message != lastError {
          logger.warning("postgres feed: \(channel) lost (\(e)); connecting again")
          lastError = e.message
        }
      }
      state.connection.withLock { $0 = nil }
      if let open { try? await open.close() }
      if Task.isCancelled { return }
      try? await Task.sleep(for: backoff)
      backoff = min(backoff * 2, .seconds(5))
    }
  }
}
