import GRDB
import KDSDatabase

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// The SQLite backend of kds-server: a GRDB `DatabasePool` in WAL mode, and
/// the only file of the server that speaks GRDB.
///
/// Durability: `synchronous = FULL`, so every commit is fsynced to the WAL
/// before `writeTransaction` returns and before the client gets its answer.
/// That is more than a kill -9 needs (in WAL mode a committed write is in the
/// OS page cache as soon as `write(2)` returns, so NORMAL would survive a
/// killed process too), and it also survives a power cut. Write transactions
/// are IMMEDIATE (GRDB's writer): they hold SQLite's write lock from their
/// first statement, so two kds-server processes on one file are serialised.
public final class SQLiteBackend: SQLBackend {
  /// The GRDB pool (tests and SQLite-only maintenance read it directly).
  public let pool: DatabasePool

  public var dialect: SQLDialect { .sqlite }

  /// Opens (creating and migrating if needed) the database file at `path`.
  public init(path: String) throws {
    pool = try DatabaseFile.openPool(
      path: path, options: .init(synchronous: .full, busyTimeoutSeconds: 10),
      migrator: Self.migrator)
  }

  public func writeTransaction<T: Sendable>(
    _ body: @escaping @Sendable (any SQLConnection) throws -> T
  ) async throws -> T {
    try await pool.write { db in try body(GRDBConnection(db)) }
  }

  public func read<T: Sendable>(
    _ body: @escaping @Sendable (any SQLConnection) throws -> T
  ) async throws -> T {
    try await pool.read { db in try body(GRDBConnection(db)) }
  }

  /// After a secret left the database: the write-ahead log, which held it in
  /// clear, is folded into the database (where `secure_delete` zeroed the
  /// freed cells) and emptied.
  public func wipeFreedPages() async throws {
    try await pool.writeWithoutTransaction { db in
      try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
    }
  }

  // MARK: schema (the SQLite migrations; never edit one that shipped)

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
    m.registerMigration(KitchenTools.migrationName, migrate: KitchenTools.migrate)
    m.registerMigration(PairingSchema.migrationName, migrate: PairingSchema.migrate)
    m.registerMigration(ServerSecrets.migrationName) { db in
      try db.execute(sql: ServerSecrets.createTable)
    }
    return m
  }

}

/// The tables of the manager's dashboard (docs/dashboard.md): the audit log,
/// the screens the server has heard from, and the server's settings.
enum DashboardSchema {
  static let migrationName = "v5-audit-log"

  static func migrate(_ db: Database) throws {
    try db.execute(
      sql: """
        CREATE TABLE audit_log (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          at INTEGER NOT NULL,
          device TEXT NOT NULL,
          action TEXT NOT NULL,
          ticket_id TEXT,
          order_id TEXT,
          station TEXT);
        CREATE INDEX audit_log_ticket ON audit_log (ticket_id, at);
        CREATE INDEX audit_log_at ON audit_log (at);
        CREATE TABLE screens (
          device TEXT PRIMARY KEY NOT NULL,
          station TEXT NOT NULL,
          version TEXT,
          connection TEXT,
          pending_ops INTEGER,
          failed_ops INTEGER,
          display TEXT,
          seen_at INTEGER NOT NULL,
          alerted_at INTEGER);
        CREATE TABLE settings (
          key TEXT PRIMARY KEY NOT NULL,
          value TEXT NOT NULL,
          updated_at INTEGER NOT NULL);
        CREATE INDEX tickets_ready ON tickets (ready_at);
        CREATE INDEX tickets_sent ON tickets (sent_at);
        CREATE INDEX tickets_status ON tickets (status);
        """)
  }
}

extension KitchenTools {
  static let migrationName = "v6-kitchen-tools"

  static func migrate(_ db: Database) throws {
    try db.execute(
      sql: """
        ALTER TABLE orders ADD COLUMN priority TEXT;
        ALTER TABLE orders ADD COLUMN fired_courses TEXT;
        ALTER TABLE orders ADD COLUMN served_at INTEGER;
        ALTER TABLE tickets ADD COLUMN priority TEXT;
        ALTER TABLE tickets ADD COLUMN course INTEGER;
        ALTER TABLE tickets ADD COLUMN served_at INTEGER;
        ALTER TABLE audit_log ADD COLUMN detail TEXT;
        CREATE INDEX tickets_updated ON tickets (updated_at);
        """)
  }
}

/// Pairing (docs/sync-contract.md, "Extension: pairing"): a kiosk without a
/// token asks for a 6-digit code, a manager approves the code, and the kiosk
/// claims the station token the approval made. The state lives in the
/// `pairings` table, so that `kds-server pair` (another process) approves
/// codes a running server handed out.
enum PairingSchema {
  static let migrationName = "v6-pairing"

  static func migrate(_ db: Database) throws {
    try db.execute(
      sql: """
        CREATE TABLE pairings (
          id TEXT PRIMARY KEY NOT NULL,
          code TEXT NOT NULL,
          secret_hash TEXT NOT NULL,
          device_name TEXT NOT NULL,
          proposed_station TEXT,
          peer TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          approved_at INTEGER,
          approved_by TEXT,
          station TEXT,
          token_id INTEGER,
          token_name TEXT,
          token TEXT,
          claimed_at INTEGER);
        CREATE INDEX pairings_code ON pairings (code, expires_at);
        ALTER TABLE audit_log ADD COLUMN subject TEXT;
        """)
  }
}

/// A GRDB `Database` (inside one of the pool's transactions or reads) as an
/// ``SQLConnection``.
final class GRDBConnection: SQLConnection {
  let db: Database

  init(_ db: Database) { self.db = db }

  var dialect: SQLDialect { .sqlite }

  func execute(sql: String, arguments: SQLArguments) throws {
    if arguments.values.isEmpty {
      // GRDB runs every statement of a multi-statement text.
      try db.execute(sql: sql)
    } else {
      try db.execute(sql: sql, arguments: Self.statementArguments(arguments))
    }
  }

  func fetchAll(sql: String, arguments: SQLArguments) throws -> [SQLRow] {
    let cursor = try Row.fetchCursor(db, sql: sql, arguments: Self.statementArguments(arguments))
    var rows: [SQLRow] = []
    while let row = try cursor.next() {
      rows.append(SQLRow(row.databaseValues.map(Self.sqlValue)))
    }
    return rows
  }

  var changesCount: Int { db.changesCount }

  func inSavepoint(_ body: () throws -> Void) throws {
    try db.inSavepoint {
      try body()
      return .commit
    }
  }

  static func statementArguments(_ arguments: SQLArguments) -> StatementArguments {
    StatementArguments(arguments.values.map(databaseValue))
  }

  static func databaseValue(_ value: SQLValue) -> DatabaseValue {
    switch value {
    case .null: .null
    case .integer(let v): v.databaseValue
    case .real(let v): v.databaseValue
    case .text(let v): v.databaseValue
    case .blob(let v): Data(v).databaseValue
    }
  }

  static func sqlValue(_ value: DatabaseValue) -> SQLValue {
    switch value.storage {
    case .null: .null
    case .int64(let v): .integer(v)
    case .double(let v): .real(v)
    case .string(let v): .text(v)
    case .blob(let v): .blob([UInt8](v))
    }
  }
}
