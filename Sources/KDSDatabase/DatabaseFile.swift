import GRDB

/// Opens the SQLite databases of the server and the kiosk the same way: WAL,
/// a busy timeout, foreign keys, and a `synchronous` level that is really in
/// effect on the writer once the database is open.
///
/// GRDB's WAL set-up (`DatabasePool`, and `DatabaseQueue` with
/// `journalMode = .wal`) sets `synchronous = NORMAL` on the writer *after*
/// `prepareDatabase`, so a level asked for there is silently lost: with NORMAL
/// a power cut can lose commits already acknowledged. ``settle(_:_:migrator:)``
/// sets the level on the writer again, checks it, then migrates.
public enum DatabaseFile {
  /// `PRAGMA synchronous` levels (SQLite's numbers).
  public enum Synchronous: Int, Sendable {
    /// fsync at checkpoints only (WAL): a power cut may lose the last commits.
    case normal = 1
    /// fsync of the WAL at every commit: a commit survives a power cut.
    case full = 2
  }

  /// How a database file is opened.
  public struct Options: Sendable {
    public var synchronous: Synchronous
    /// How long a connection waits on a lock held by another one.
    public var busyTimeoutSeconds: Double
    /// `PRAGMA cache_size` in KiB per connection; nil keeps SQLite's default.
    public var cacheKiB: Int?

    public init(synchronous: Synchronous, busyTimeoutSeconds: Double, cacheKiB: Int? = nil) {
      self.synchronous = synchronous
      self.busyTimeoutSeconds = busyTimeoutSeconds
      self.cacheKiB = cacheKiB
    }
  }

  /// The GRDB configuration of every connection: WAL, busy timeout, foreign
  /// keys, and the options' `synchronous` and cache size.
  public static func configuration(_ options: Options) -> Configuration {
    var config = Configuration()
    config.journalMode = .wal
    config.busyMode = .timeout(options.busyTimeoutSeconds)
    config.foreignKeysEnabled = true
    let level = options.synchronous.rawValue
    let cache = options.cacheKiB
    config.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = \(level)")
      if let cache { try db.execute(sql: "PRAGMA cache_size = \(-cache)") }
    }
    return config
  }

  /// A `DatabasePool` (one writer, up to `readers` concurrent readers; nil:
  /// GRDB's default), created and migrated if needed.
  public static func openPool(
    path: String, readers: Int? = nil, options: Options, migrator: DatabaseMigrator
  ) throws -> DatabasePool {
    var config = configuration(options)
    if let readers { config.maximumReaderCount = readers }
    let pool = try DatabasePool(path: path, configuration: config)
    try settle(pool, options, migrator: migrator)
    return pool
  }

  /// A `DatabaseQueue` (one connection), created and migrated if needed.
  public static func openQueue(path: String, options: Options, migrator: DatabaseMigrator)
    throws -> DatabaseQueue
  {
    let queue = try DatabaseQueue(path: path, configuration: configuration(options))
    try settle(queue, options, migrator: migrator)
    return queue
  }

  /// Puts the writer back to the options' `synchronous` level (GRDB's WAL
  /// set-up left it at NORMAL), checks it, and runs the migrations.
  static func settle(_ writer: some DatabaseWriter, _ options: Options, migrator: DatabaseMigrator)
    throws
  {
    let wanted = options.synchronous.rawValue
    try writer.writeWithoutTransaction { db in
      try db.execute(sql: "PRAGMA synchronous = \(wanted)")
      let level = try Int.fetchOne(db, sql: "PRAGMA synchronous")
      guard level == wanted else {
        throw DatabaseError(message: "synchronous is \(level ?? -1), not \(wanted)")
      }
    }
    try migrator.migrate(writer)
  }
}
