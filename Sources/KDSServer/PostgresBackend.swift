import KDSSystem
import Logging
import PostgresNIO
import Synchronization

// kds-server on PostgreSQL (issue 16): `kds-server serve --db postgres://…`.
//
// Connections. A pool of N connections (default 8) made with postgres-nio.
// Each transaction takes one connection for its whole length and runs its
// body, which is synchronous (SQL.swift), on one of N threads of an
// `NIOThreadPool`: never on an event loop, never on Swift's cooperative pool.
// Each statement is sent on the connection and waited for there (a blocking
// `EventLoopFuture.wait()`), except those whose answer nobody reads
// (SAVEPOINT, RELEASE, SET LOCAL, pg_notify, the audit and idempotency
// INSERTs, `executeUnread`): they are sent without waiting, the connection
// runs them in order, and the next statement that waits (at the latest
// COMMIT) throws their error first, failing the transaction. A connection that fails (the server restarted,
// `pg_terminate_backend`) fails the transaction it was in (the request fails;
// an open transaction never commits half), is closed and left out of the
// pool; the next transaction connects a new one.
//
// Transactions. `writeTransaction`: BEGIN (READ COMMITTED); body; COMMIT, or
// ROLLBACK when the body throws; a serialization failure or a deadlock
// (SQLSTATE 40001, 40P01) runs the whole body again, up to 5 times. What must
// be serialised takes a row lock (`SELECT … FOR UPDATE`) or an advisory lock.
// `read`: BEGIN REPEATABLE READ READ ONLY (one snapshot); body; COMMIT.
// Statements use `?` placeholders (rewritten to `$1…$n`, outside quoted
// strings, quoted identifiers, dollar quotes and comments); an `execute`
// without arguments may hold several statements separated by `;`.
//
// Tenancy: schema per restaurant. `public.restaurants (id, name,
// schema_name, created_at)` lists the restaurants; restaurant N's tables
// (the whole SQLite schema: PostgresSchema.swift) live in schema `r_N`. The
// default restaurant, id 1 (`default`, schema `r_1`), comes with the first
// migration. Every transaction runs with `SET LOCAL search_path TO r_N,
// public`, N being `Tenant.current` when the transaction was asked for, so
// the server's SQL names its tables unqualified and sees one restaurant's
// rows only. A token is looked up before its restaurant is known:
// `public.token_index (hash, restaurant_id)`, filled by a trigger on every
// restaurant's `tokens` table (insert, change of hash, delete), answers
// `restaurant(forTokenHash:)`. `createRestaurant(name:)` makes the row, the
// schema and its tables in one transaction.
//
// Migrations: `public.schema_migrations (schema_name, name, applied_at)`
// records each step applied, per schema; every migration runs in one
// transaction holding `pg_advisory_xact_lock`, so two processes starting at
// once apply each step once (the second waits, then finds them recorded).
//
// Push across processes: a write transaction calls
// `PostgresChangeFeed.notify(db, changes)`, a `pg_notify` delivered at
// COMMIT only; every replica's `PostgresChangeFeed` LISTENs
// (PostgresChangeFeed.swift).
//
// Secrets: the password of the URL is never logged nor part of an error.

/// An error of the PostgreSQL backend: a statement the server refused
/// (with its SQLSTATE), a lost connection, a URL it cannot use.
public struct PostgresBackendError: Error, CustomStringConvertible, Sendable {
  /// The SQLSTATE the server sent (`40001`, `23505`, …), nil when it did not.
  public var sqlState: String?
  public var message: String
  /// The connection was lost (or could not be made): the transaction did not commit.
  public var connectionLost: Bool

  public init(sqlState: String? = nil, message: String, connectionLost: Bool = false) {
    self.sqlState = sqlState
    self.message = message
    self.connectionLost = connectionLost
  }

  public var description: String {
    if let sqlState { return "PostgreSQL error \(sqlState): \(message)" }
    return "PostgreSQL: \(message)"
  }

  /// A serialization failure or a deadlock: the transaction may run again.
  public var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }
  /// A unique, foreign-key, not-null or check constraint refused the statement.
  public var isConstraintViolation: Bool { sqlState?.hasPrefix("23") ?? false }

  /// From what postgres-nio threw: the server's SQLSTATE and message, or the
  /// kind of connection failure (never the query's bound values).
  init(_ error: any Error, statement: String? = nil) {
    if let e = error as? PostgresBackendError {
      self = e
      return
    }
    guard let e = error as? PSQLError else {
      self.init(message: "\(error)", connectionLost: true)
      return
    }
    if let info = e.serverInfo {
      var text = info[.message] ?? "server error"
      if let detail = info[.detail] { text += " (\(detail))" }
      if let statement { text += " in: \(statement.prefix(200))" }
      // 57P01 admin shutdown (pg_terminate_backend), 57P02/3 crash/cannot connect.
      let state = info[.sqlState]
      let lost = state == "57P01" || state == "57P02" || state == "57P03"
      self.init(sqlState: state, message: text, connectionLost: lost)
      return
    }
    switch e.code {
    case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
      self.init(message: "connection lost (\(e.code))", connectionLost: true)
    default:
      self.init(message: "\(e.code)")
    }
  }
}

/// Where and how to connect: `postgres://user[:password]@host[:port]/db`
/// (or `postgresql://`). The password is kept out of `description`.
public struct PostgresLocation: Sendable, CustomStringConvertible {
  public var host: String
  public var port: Int
  public var user: String
  public var password: String?
  public var database: String

  public init(host: String, port: Int = 5432, user: String, password: String?, database: String) {
    self.host = host
    self.port = port
    self.user = user
    self.password = password
    self.database = database
  }

  /// Parses a URL; throws a ``PostgresBackendError`` saying what is wrong.
  public init(url: String) throws {
    func bad(_ why: String) -> PostgresBackendError {
      PostgresBackendError(
        message:
          "bad database URL (\(why)): expected postgres://user[:password]@host[:port]/database")
    }
    var rest: Substring
    if url.hasPrefix("postgres://") {
      rest = url.dropFirst("postgres://".count)
    } else if url.hasPrefix("postgresql://") {
      rest = url.dropFirst("postgresql://".count)
    } else {
      throw bad("not postgres://")
    }
    if let q = rest.firstIndex(of: "?") { rest = rest[..<q] }
    guard let slash = rest.firstIndex(of: "/") else { throw bad("no database") }
    let authority = rest[..<slash]
    let db = Self.percentDecoded(rest[rest.index(after: slash)...])
    guard !db.isEmpty else { throw bad("no database") }
    guard let at = authority.lastIndex(of: "@") else { throw bad("no user") }
    let userInfo = authority[..<at]
    let hostPort = authority[authority.index(after: at)...]
    if let colon = userInfo.firstIndex(of: ":") {
      user = Self.percentDecoded(userInfo[..<colon])
      password = Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
    } else {
      user = Self.percentDecoded(userInfo)
      password = nil
    }
    guard !user.isEmpty else { throw bad("no user") }
    if hostPort.hasPrefix("[") {  // [::1]:5432
      guard let close = hostPort.firstIndex(of: "]") else { throw bad("unclosed [") }
      host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
      let after = hostPort[hostPort.index(after: close)...]
      if after.isEmpty {
        port = 5432
      } else {
        guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p) else {
          throw bad("bad port")
        }
        port = p
      }
    } else if let colon = hostPort.lastIndex(of: ":") {
      host = String(hostPort[..<colon])
      guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else {
        throw bad("bad port")
      }
      port = p
    } else {
      host = String(hostPort)
      port = 5432
    }
    guard !host.isEmpty else { throw bad("no host") }
    database = db
  }

  /// `postgres://user@host:port/db`, without the password.
  public var description: String {
    let h = host.contains(":") ? "[\(host)]" : host
    return "postgres://\(user)\(password == nil ? "" : ":***")@\(h):\(port)/\(database)"
  }

  static func percentDecoded(_ s: Substring) -> String {
    guard s.contains("%") else { return String(s) }
    var bytes: [UInt8] = []
    var i = s.utf8.startIndex
    let u = s.utf8
    while i < u.endIndex {
      if u[i] == UInt8(ascii: "%"), let j = u.index(i, offsetBy: 2, limitedBy: u.endIndex),
        j < u.endIndex, let v = UInt8(String(s[u.index(after: i)...j]), radix: 16)
      {
        bytes.append(v)
        i = u.index(after: j)
      } else {
        bytes.append(u[i])
        i = u.index(after: i)
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  var configuration: PostgresConnection.Configuration {
    var c = PostgresConnection.Configuration(
      host: host, port: port, username: user, password: password, database: database,
      tls: .disable)
    c.options.connectTimeout = .seconds(10)
    return c
  }
}

/// kds-server's storage on PostgreSQL (see the design at the top of this file).
public final class PostgresBackend: SQLBackend {
  public var dialect: SQLDialect { .postgres }
  public let location: PostgresLocation
  let logger: Logger
  let pool: PostgresConnectionPool
  let threads: NIOThreadPool
  /// Restaurants known to exist (a transaction for another one checks first).
  let knownRestaurants = Mutex<Set<Int64>>([])
  /// The restaurant every transaction of this process works for, when the
  /// process serves one restaurant (`kds-server serve --restaurant NAME`);
  /// 0: `Tenant.current`.
  let pinnedRestaurant = Atomic<Int64>(0)
  /// How often a transaction that hit a serialization failure or a deadlock runs.
  static let maxAttempts = 5

  init(location: PostgresLocation, connections: Int, logger: Logger) {
    self.location = location
    self.logger = logger
    pool = PostgresConnectionPool(
      location: location, size: connections, logger: logger)
    threads = NIOThreadPool(numberOfThreads: connections)
    threads.start()
  }

  /// Connects to `url` and brings the schema up to date (under the migration
  /// lock: safe with other processes starting at once).
  public static func open(
    url: String, connections: Int = 8,
    logger: Logger = Logger(label: "kds.postgres")
  ) async throws -> PostgresBackend {
    let location = try PostgresLocation(url: url)
    let backend = PostgresBackend(
      location: location, connections: max(1, connections), logger: logger)
    do {
      try await backend.migrate()
    } catch {
      await backend.close()
      throw error
    }
    logger.debug("postgres: connected to \(location) with \(connections) connections")
    return backend
  }

  deinit {
    let threads = threads
    threads.shutdownGracefully { _ in }
  }

  /// Closes every connection and stops the threads.
  public func close() async {
    await pool.close()
    try? await threads.shutdownGracefully()
  }

  // MARK: transactions

  public func writeTransaction<T: Sendable>(
    _ body: @escaping @Sendable (any SQLConnection) throws -> T
  ) async throws -> T {
    try await transaction(
      begin: "BEGIN ISOLATION LEVEL READ COMMITTED", restaurant: activeRestaurant, body)
  }

  public func read<T: Sendable>(
    _ body: @escaping @Sendable (any SQLConnection) throws -> T
  ) async throws -> T {
    try await transaction(
      begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", restaurant: activeRestaurant, body)
  }

  /// The restaurant a transaction started now works for.
  public var activeRestaurant: Int64 {
    let pinned = pinnedRestaurant.load(ordering: .relaxed)
    return pinned != 0 ? pinned : Tenant.current
  }

  /// From now on every transaction works for restaurant `id` (one restaurant
  /// per server process), whatever `Tenant.current` says.
  public func pin(restaurant id: Int64) {
    pinnedRestaurant.store(id, ordering: .relaxed)
  }

  /// Runs `body` in `public` (no restaurant): the restaurants, the token index.
  func globalTransaction<T: Sendable>(
    _ body: @escaping @Sendable (any SQLConnection) throws -> T
  ) async throws -> T {
    try await transaction(begin: "BEGIN ISOLATION LEVEL READ COMMITTED", restaurant: nil, body)
  }

  func transaction<T: Sendable>(
    begin: String, restaurant: Int64?, _ body: @escaping @Sendable (any SQLConnection) throws -> T
  ) async throws -> T {
    let known = restaurant.map { id in knownRestaurants.withLock { $0.contains(id) } } ?? true
    var attempt = 1
    var staleConnections = 0
    while true {
      let connection = try await pool.acquire()
      do {
        let result = try await threads.runIfActive { [logger] in
          let db = PostgresSQLConnection(connection, restaurant: restaurant, logger: logger)
          do { try db.run(begin) } catch let e as PostgresBackendError where e.connectionLost {
            // Nothing ran: the pooled connection had died while idle.
            throw DeadBeforeBegin(error: e)
          }
          do {
            if let restaurant {
              if !known {
                guard
                  try db.fetchOne(
                    sql: "SELECT 1 FROM public.restaurants WHERE id = ?", arguments: [restaurant])
                    != nil
                else { throw PostgresBackendError(message: "no restaurant \(restaurant)") }
              }
              db.sendWithoutWaiting(
                "SET LOCAL search_path TO \(PostgresSchema.schemaName(restaurant: restaurant)), public"
              )
            }
            let value = try body(db)
            // COMMIT of a transaction an error aborted (an error the body
            // caught outside a savepoint) answers ROLLBACK, not an error:
            // nothing was written, and the caller must not hear otherwise.
            let tag = try db.send(PostgresQuery(unsafeSQL: "COMMIT"), text: "COMMIT").metadata
              .command
            guard tag == "COMMIT" else {
              throw PostgresBackendError(
                message: "the transaction was rolled back (COMMIT answered \(tag))")
            }
            return value
          } catch {
            db.settleQuietly()
            if !connection.isClosed { try? db.run("ROLLBACK") }
            throw error
          }
        }
        pool.release(connection)
        if let restaurant, !known { knownRestaurants.withLock { _ = $0.insert(restaurant) } }
        return result
      } catch {
        if let dead = error as? DeadBeforeBegin {
          pool.release(connection, broken: true)
          staleConnections += 1
          if staleConnections <= pool.size + 1 { continue }
          throw dead.error
        }
        let lost = (error as? PostgresBackendError)?.connectionLost ?? false
        pool.release(connection, broken: connection.isClosed || lost)
        if let e = error as? PostgresBackendError, e.isRetryable, attempt < Self.maxAttempts {
          attempt += 1
          logger.debug("postgres: \(e.sqlState ?? ""), running the transaction again (\(attempt))")
          continue
        }
        if connection.isClosed, !(error is PostgresBackendError) {
          throw PostgresBackendError(error)
        }
        throw error
      }
    }
  }

  func migrate() async throws {
    let now = Self.nowMillis()
    try await globalTransaction { db in try PostgresSchema.migrate(db, now: now) }
  }

  static func nowMillis() -> Int64 {
    SystemClock.wallMillis()
  }

  // MARK: tenancy

  /// Creates a restaurant (its row, its schema and its tables) and returns
  /// its id. A name already taken is an error (SQLSTATE 23505).
  public func createRestaurant(name: String) async throws -> Int64 {
    let now = Self.nowMillis()
    let id = try await globalTransaction { db in
      try PostgresSchema.createRestaurant(db, name: name, now: now)
    }
    knownRestaurants.withLock { _ = $0.insert(id) }
    logger.debug("postgres: restaurant \(id) created")
    return id
  }

  /// Every restaurant: id and name, by id.
  public func restaurants() async throws -> [(id: Int64, name: String)] {
    let rows = try await globalTransaction { db in
      try db.fetchAll(sql: "SELECT id, name FROM public.restaurants ORDER BY id")
    }
    return rows.map { (id: $0[0], name: $0[1]) }
  }

  /// The id of the restaurant called `name`, nil when there is none.
  public func restaurant(named name: String) async throws -> Int64? {
    try await globalTransaction { db in
      try db.fetchOne(
        Int64.self, sql: "SELECT id FROM public.restaurants WHERE name = ?", arguments: [name])
    }
  }

  /// The restaurant of the token whose hash this is, nil for an unknown token.
  public func restaurant(forTokenHash hash: String) async throws -> Int64? {
    try await globalTransaction { db in
      try db.fetchOne(
        Int64.self, sql: "SELECT restaurant_id FROM public.token_index WHERE hash = ?",
        arguments: [hash])
    }
  }
}

/// BEGIN failed on a connection lost while it was idle in the pool: the
/// transaction takes another one.
struct DeadBeforeBegin: Error {
  var error: PostgresBackendError
}

/// A small pool: at most `size` connections, each lent to one transaction
/// at a time; a transaction waits for one when all are lent.
final class PostgresConnectionPool: Sendable {
  struct State {
    var idle: [PostgresConnection] = []
    /// Connections lent or being made.
    var open = 0
    var waiters: [CheckedContinuation<PostgresConnection?, any Error>] = []
    var closed = false
  }
  let state = Mutex(State())
  let location: PostgresLocation
  let size: Int
  let logger: Logger
  let nextID = Atomic<Int>(1)

  init(location: PostgresLocation, size: Int, logger: Logger) {
    self.location = location
    self.size = size
    self.logger = logger
  }

  /// An idle connection, a new one when fewer than `size` are open, or the
  /// next one released.
  func acquire() async throws -> PostgresConnection {
    enum Next {
      case use(PostgresConnection)
      case connect
      case wait
    }
    let next = try state.withLock { s -> Next in
      if s.closed { throw PostgresBackendError(message: "the backend is closed") }
      while let c = s.idle.popLast() {
        if !c.isClosed { return .use(c) }
        s.open -= 1
        PostgresConnectionPool.discard(c)
      }
      if s.open < size {
        s.open += 1
        return .connect
      }
      return .wait
    }
    switch next {
    case .use(let c): return c
    case .connect: return try await connect()
    case .wait:
      let handed = try await withCheckedThrowingContinuation {
        (k: CheckedContinuation<PostgresConnection?, any Error>) in
        let closed = state.withLock { s -> Bool in
          if s.closed { return true }
          s.waiters.append(k)
          return false
        }
        if closed { k.resume(throwing: PostgresBackendError(message: "the backend is closed")) }
      }
      // nil: a slot freed up (a broken connection left): make a new one.
      if let handed { return handed }
      return try await connect()
    }
  }

  /// Makes a connection for a slot already counted in `open`.
  func connect() async throws -> PostgresConnection {
    do {
      return try await PostgresConnection.connect(
        configuration: location.configuration,
        id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue, logger: logger)
    } catch {
      release(nil, broken: true)
      let e = PostgresBackendError(error)
      logger.error("postgres: cannot connect to \(location): \(e)")
      throw PostgresBackendError(
        sqlState: e.sqlState, message: "cannot connect to \(location): \(e.message)",
        connectionLost: true)
    }
  }

  /// Gives a connection back; a broken one (or nil: a failed connect) is
  /// closed and its slot freed.
  func release(_ connection: PostgresConnection?, broken: Bool = false) {
    enum Next {
      case handTo(CheckedContinuation<PostgresConnection?, any Error>, PostgresConnection?)
      case close(PostgresConnection?)
      case nothing
    }
    let next = state.withLock { s -> Next in
      if broken || s.closed || connection == nil {
        if s.closed { return .close(connection) }
        if !s.waiters.isEmpty {
          // The waiter takes the freed slot and connects.
          return .handTo(s.waiters.removeFirst(), nil)
        }
        s.open -= 1
        return .close(connection)
      }
      if !s.waiters.isEmpty { return .handTo(s.waiters.removeFirst(), connection) }
      s.idle.append(connection!)
      return .nothing
    }
    switch next {
    case .handTo(let k, let c):
      if broken, let connection { Self.discard(connection) }
      k.resume(returning: c)
    case .close(let c): if let c { Self.discard(c) }
    case .nothing: break
    }
  }

  /// Closes a connection without waiting (kept alive until it is closed:
  /// postgres-nio wants every connection closed before it goes).
  static func discard(_ connection: PostgresConnection) {
    connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
  }

  deinit {
    let idle = state.withLock { s in
      defer { s.idle = [] }
      return s.idle
    }
    for c in idle { Self.discard(c) }
  }

  func close() async {
    let (idle, waiters) = state.withLock { s in
      s.closed = true
      defer {
        s.idle = []
        s.waiters = []
      }
      return (s.idle, s.waiters)
    }
    for k in waiters { k.resume(throwing: PostgresBackendError(message: "the backend is closed")) }
    for c in idle { try? await c.close() }
  }
}

/// One connection inside one transaction, on the transaction's thread.
final class PostgresSQLConnection: SQLConnection {
  let connection: PostgresConnection
  let logger: Logger
  /// The restaurant the transaction runs for (nil: `public`).
  let restaurant: Int64?
  private(set) var changesCount = 0
  private var savepoints = 0
  /// Statements sent without waiting for their answer (SAVEPOINT, RELEASE,
  /// SET LOCAL, pg_notify): the connection runs its queries in order, so
  /// their answers are in before the next waited statement's, and that wait
  /// checks them first. Saves a thread wake-up and a hop per statement.
  private var unsettled: [(answer: EventLoopFuture<PostgresQueryResult>, text: String)] = []

  init(_ connection: PostgresConnection, restaurant: Int64?, logger: Logger) {
    self.connection = connection
    self.restaurant = restaurant
    self.logger = logger
  }

  var dialect: SQLDialect { .postgres }

  func execute(sql: String, arguments: SQLArguments) throws {
    let statements = try PostgresSQLText.statements(sql)
    if statements.count > 1 {
      guard arguments.values.isEmpty else {
        throw PostgresBackendError(message: "several statements cannot take arguments: \(sql)")
      }
      for s in statements { _ = try query(s, []) }
      return
    }
    guard let statement = statements.first else { return }
    _ = try query(statement, arguments.values)
  }

  func fetchAll(sql: String, arguments: SQLArguments) throws -> [SQLRow] {
    let statements = try PostgresSQLText.statements(sql)
    guard statements.count == 1 else {
      throw PostgresBackendError(message: "a query is one statement: \(sql)")
    }
    return try query(statements[0], arguments.values)
  }

  func inSavepoint(_ body: () throws -> Void) throws {
    savepoints += 1
    let name = "kds_sp\(savepoints)"
    defer { savepoints -= 1 }
    sendWithoutWaiting("SAVEPOINT \(name)")
    do {
      try body()
    } catch {
      if !connection.isClosed {
        // What failed may be a statement not waited for (the SAVEPOINT):
        // its error is the body's; the rollback runs either way.
        settleQuietly()
        try? run("ROLLBACK TO SAVEPOINT \(name)")
        try? run("RELEASE SAVEPOINT \(name)")
      }
      throw error
    }
    sendWithoutWaiting("RELEASE SAVEPOINT \(name)")
  }

  /// A statement without arguments or rows (BEGIN, COMMIT, SET).
  func run(_ sql: String) throws {
    _ = try send(PostgresQuery(unsafeSQL: sql), text: sql)
  }

  /// Sends a statement whose answer nobody reads (no arguments, no rows).
  /// Its error, if any, is thrown by the next waited statement.
  func sendWithoutWaiting(_ sql: String) {
    unsettled.append((connection.query(PostgresQuery(unsafeSQL: sql), logger: logger), sql))
  }

  func executeUnread(sql: String, arguments: SQLArguments) throws {
    try sendWithoutWaiting(sql: sql, arguments: arguments)
  }

  /// Same, with arguments (`pg_notify(?, ?)`, an INSERT of the audit log).
  func sendWithoutWaiting(sql: String, arguments: SQLArguments) throws {
    let statements = try PostgresSQLText.statements(sql)
    guard statements.count == 1, statements[0].placeholders == arguments.values.count else {
      throw PostgresBackendError(message: "one statement with its arguments: \(sql)")
    }
    let query = PostgresQuery(unsafeSQL: statements[0].sql, binds: Self.bindings(arguments.values))
    unsettled.append((connection.query(query, logger: logger), statements[0].sql))
  }

  /// Waits for every statement sent without waiting; throws the first error.
  func settle() throws {
    guard !unsettled.isEmpty else { return }
    let waiting = unsettled
    unsettled = []
    var first: PostgresBackendError?
    for (answer, text) in waiting {
      do { _ = try answer.wait() } catch  where first == nil {
        first = PostgresBackendError(error, statement: text)
      } catch {}
    }
    if let first { throw first }
  }

  /// Waits for them, their errors already accounted for (a rollback follows).
  func settleQuietly() {
    try? settle()
  }

  func query(_ statement: PostgresSQLText.Statement, _ values: [SQLValue]) throws -> [SQLRow] {
    guard statement.placeholders == values.count else {
      throw PostgresBackendError(
        message:
          "statement has \(statement.placeholders) placeholders for \(values.count) arguments: \(statement.sql)"
      )
    }
    let result = try send(
      PostgresQuery(unsafeSQL: statement.sql, binds: Self.bindings(values)), text: statement.sql)
    switch result.metadata.command {
    case "INSERT", "UPDATE", "DELETE", "MERGE": changesCount = result.metadata.rows ?? 0
    default: break
    }
    return try result.rows.map { row in
      SQLRow(try row.map { try Self.value(of: $0) })
    }
  }

  static func bindings(_ values: [SQLValue]) -> PostgresBindings {
    var binds = PostgresBindings(capacity: values.count)
    for v in values {
      switch v {
      case .null: binds.appendNull()
      case .integer(let i): binds.append(i)
      case .real(let d): binds.append(d)
      case .text(let t): binds.append(t)
      case .blob(let b): binds.append(ByteBuffer(bytes: b))
      }
    }
    return binds
  }

  /// Sends `query` and waits for its answer (and for those of the
  /// statements sent before it without waiting: their error comes first).
  func send(_ query: PostgresQuery, text: String) throws -> PostgresQueryResult {
    let answer = connection.query(query, logger: logger)
    do {
      try settle()
    } catch {
      _ = try? answer.wait()
      throw error
    }
    do {
      return try answer.wait()
    } catch {
      throw PostgresBackendError(error, statement: text)
    }
  }

  /// A result column as an ``SQLValue``, by its type.
  static func value(of cell: PostgresCell) throws -> SQLValue {
    guard var bytes = cell.bytes else { return .null }
    func fail() -> PostgresBackendError {
      PostgresBackendError(
        message: "cannot read column \(cell.columnName) of type \(cell.dataType) (\(cell.format))")
    }
    if cell.format == .text {
      let text = bytes.readString(length: bytes.readableBytes) ?? ""
      switch cell.dataType {
      case .int2, .int4, .int8, .oid:
        guard let v = Int64(text) else { throw fail() }
        return .integer(v)
      case .float4, .float8, .numeric:
        return numericValue(text) ?? .text(text)
      case .bool: return .integer(text == "t" ? 1 : 0)
      default: return .text(text)
      }
    }
    switch cell.dataType {
    case .int2, .int4, .int8:
      return .integer(try cell.decode(Int64.self))
    case .oid:
      guard let v = bytes.readInteger(as: UInt32.self) else { throw fail() }
      return .integer(Int64(v))
    case .float4, .float8:
      return .real(try cell.decode(Double.self))
    case .numeric:
      guard let text = numericText(&bytes), let v = numericValue(text) else { throw fail() }
      return v
    case .bool:
      guard let b = bytes.readInteger(as: UInt8.self) else { throw fail() }
      return .integer(b != 0 ? 1 : 0)
    case .bytea:
      return .blob(bytes.readBytes(length: bytes.readableBytes) ?? [])
    case .text, .varchar, .name, .bpchar, .unknown, .json, .char:
      return .text(bytes.readString(length: bytes.readableBytes) ?? "")
    case .jsonb:
      _ = bytes.readInteger(as: UInt8.self)  // the version byte
      return .text(bytes.readString(length: bytes.readableBytes) ?? "")
    case .void:
      return .null
    default:
      throw fail()
    }
  }

  /// A numeric's text: integral and within Int64 → `.integer` (`SUM` of
  /// BIGINTs is a numeric), anything else → `.real`.
  static func numericValue(_ text: String) -> SQLValue? {
    if let i = Int64(text) { return .integer(i) }
    if text.hasSuffix(".0") || text.contains(".") {
      let parts = text.split(separator: ".", maxSplits: 1)
      if parts.count == 2, parts[1].allSatisfy({ $0 == "0" }), let i = Int64(parts[0]) {
        return .integer(i)
      }
    }
    return Double(text).map { .real($0) }
  }

  /// The decimal text of a binary numeric (base-10000 digits).
  static func numericText(_ buffer: inout ByteBuffer) -> String? {
    guard let ndigits = buffer.readInteger(as: Int16.self),
      let weight = buffer.readInteger(as: Int16.self),
      let sign = buffer.readInteger(as: UInt16.self),
      let dscale = buffer.readInteger(as: Int16.self)
    else { return nil }
    if sign == 0xC000 { return "NaN" }
    if sign == 0xD000 { return "Infinity" }
    if sign == 0xF000 { return "-Infinity" }
    var digits: [Int16] = []
    for _ in 0..<max(0, Int(ndigits)) {
      guard let d = buffer.readInteger(as: Int16.self) else { return nil }
      digits.append(d)
    }
    var intPart = ""
    var fracPart = ""
    // Digit i has the value digits[i] * 10000^(weight - i).
    if weight < 0 {
      intPart = "0"
    } else {
      for i in 0...Int(weight) {
        let d = i < digits.count ? Int(digits[i]) : 0
        if i == 0 {
          intPart += String(d)
        } else {
          let s = String(d)
          intPart += String(repeating: "0", count: 4 - s.count) + s
        }
      }
    }
    if dscale > 0 {
      var i = Int(weight) + 1
      while fracPart.count < Int(dscale) {
        let d = (i >= 0 && i < digits.count) ? Int(digits[i]) : 0
        let s = String(d)
        fracPart += String(repeating: "0", count: 4 - s.count) + s
        i += 1
      }
      fracPart = String(fracPart.prefix(Int(dscale)))
    }
    let text = fracPart.isEmpty ? intPart : "\(intPart).\(fracPart)"
    return sign == 0x4000 ? "-" + text : text
  }
}

/// The SQL text of the interface, made PostgreSQL's: `?` → `$n`, and
/// several statements split at their `;`.
enum PostgresSQLText {
  struct Statement: Equatable {
    var sql: String
    var placeholders: Int
  }

  /// The statements of `sql` (empty ones left out), each with its `?`
  /// turned into `$1…$n`. Quoted strings (`'…'`, `E'…'`), quoted
  /// identifiers, dollar quotes (`$tag$…$tag$`) and comments (`--`,
  /// nested `/* */`) are copied as they are.
  static func statements(_ sql: String) throws -> [Statement] {
    let s = Array(sql.utf8)
    var out: [Statement] = []
    var current: [UInt8] = []
    var n = 0
    var i = 0
    func flush() {
      let text = String(decoding: current, as: UTF8.self)
      if text.contains(where: { !$0.isWhitespace }) {
        out.append(Statement(sql: text.sqlTrimmed(), placeholders: n))
      }
      current = []
      n = 0
    }
    while i < s.count {
      let c = s[i]
      switch c {
      case UInt8(ascii: "'"), UInt8(ascii: "\""):
        // A quoted string or identifier: a doubled quote is one quote.
        // (E'…' strings may escape a quote with a backslash.)
        let escapes =
          c == UInt8(ascii: "'") && i > 0
          && (s[i - 1] == UInt8(ascii: "E") || s[i - 1] == UInt8(ascii: "e"))
        current.append(c)
        i += 1
        while i < s.count {
          if escapes && s[i] == UInt8(ascii: "\\") && i + 1 < s.count {
            current.append(s[i])
            current.append(s[i + 1])
            i += 2
            continue
          }
          current.append(s[i])
          if s[i] == c {
            if i + 1 < s.count && s[i + 1] == c {
              current.append(s[i + 1])
              i += 2
              continue
            }
            i += 1
            break
          }
          i += 1
        }
        if i >= s.count && current.last != c {
          throw PostgresBackendError(message: "unterminated quote in: \(sql)")
        }
      case UInt8(ascii: "-") where i + 1 < s.count && s[i + 1] == UInt8(ascii: "-"):
        while i < s.count && s[i] != UInt8(ascii: "\n") {
          current.append(s[i])
          i += 1
        }
      case UInt8(ascii: "/") where i + 1 < s.count && s[i + 1] == UInt8(ascii: "*"):
        var depth = 0
        repeat {
          if i + 1 < s.count && s[i] == UInt8(ascii: "/") && s[i + 1] == UInt8(ascii: "*") {
            depth += 1
            current += [s[i], s[i + 1]]
            i += 2
          } else if i + 1 < s.count && s[i] == UInt8(ascii: "*") && s[i + 1] == UInt8(ascii: "/") {
            depth -= 1
            current += [s[i], s[i + 1]]
            i += 2
          } else {
            current.append(s[i])
            i += 1
          }
        } while depth > 0 && i < s.count
        if depth > 0 { throw PostgresBackendError(message: "unterminated comment in: \(sql)") }
      case UInt8(ascii: "$"):
        // $tag$ … $tag$ (tag: letters, digits, _; not starting with a digit),
        // or $n (a parameter already numbered).
        var j = i + 1
        while j < s.count && (isIdentifierByte(s[j])) { j += 1 }
        let tagOK =
          j < s.count && s[j] == UInt8(ascii: "$")
          && (j == i + 1 || !(s[i + 1] >= UInt8(ascii: "0") && s[i + 1] <= UInt8(ascii: "9")))
        if tagOK {
          let tag = Array(s[i...j])
          current += tag
          i = j + 1
          var closed = false
          while i < s.count {
            if s[i] == UInt8(ascii: "$") && i + tag.count <= s.count
              && Array(s[i..<(i + tag.count)]) == tag
            {
              current += tag
              i += tag.count
              closed = true
              break
            }
            current.append(s[i])
            i += 1
          }
          if !closed { throw PostgresBackendError(message: "unterminated dollar quote in: \(sql)") }
        } else {
          current.append(c)
          i += 1
        }
      case UInt8(ascii: "?"):
        n += 1
        current += Array("$\(n)".utf8)
        i += 1
      case UInt8(ascii: ";"):
        flush()
        i += 1
      default:
        current.append(c)
        i += 1
      }
    }
    flush()
    return out
  }

  static func isIdentifierByte(_ b: UInt8) -> Bool {
    (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z"))
      || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
      || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b >= 0x80
  }
}

extension String {
  fileprivate func sqlTrimmed() -> String {
    var s = Substring(self)
    while let f = s.first, f.isWhitespace { s = s.dropFirst() }
    while let l = s.last, l.isWhitespace { s = s.dropLast() }
    return String(s)
  }
}
