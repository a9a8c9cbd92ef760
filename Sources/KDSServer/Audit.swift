import GRDB
import KDSSystem
import KDSTime

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

/// Who did what to which ticket, and when: one row per start, mark-ready
/// (bump), recall, void and allergen acknowledgement. Written in the same
/// transaction as the change it records.
public enum AuditLog {
  public static let actions = ["start", "mark-ready", "recall", "void", "allergen-acknowledged"]

  static func insert(
    _ db: Database, at: Int64, device: String, action: String, ticket: String?, order: String?,
    station: String?
  ) throws {
    try db.execute(
      sql:
        "INSERT INTO audit_log (at, device, action, ticket_id, order_id, station) VALUES (?, ?, ?, ?, ?, ?)",
      arguments: [at, device, action, ticket, order, station])
  }

  /// A kiosk's action on `ticket` (after the change), at the server's wall
  /// clock when it arrived (the kiosk's own `readyAt` is the ticket's). A
  /// mark-ready whose body carries `allergenCheckedAt` (any non-null value)
  /// also records the allergen acknowledgement.
  static func ticketAction(
    _ db: Database, device: String, action: String, ticket: TicketRow, body: JSONValue
  ) throws {
    let now = SystemClock.wallMillis()
    try insert(
      db, at: now, device: device, action: action, ticket: ticket.id, order: ticket.orderID,
      station: ticket.station)
    if action == "mark-ready", let checked = body["allergenCheckedAt"], !checked.isNull {
      try insert(
        db, at: now, device: device, action: "allergen-acknowledged", ticket: ticket.id,
        order: ticket.orderID, station: ticket.station)
    }
  }

  /// Runs `cancel` (the POS's void of order `order`) and records a `void` for
  /// each ticket it cancelled.
  static func voiding(
    _ db: Database, order: String, device: String, _ cancel: () throws -> WriteOutcome
  ) throws -> WriteOutcome {
    let open = try String.fetchAll(
      db,
      sql: "SELECT id FROM tickets WHERE order_id = ? AND status IN ('QUEUED', 'IN_PROGRESS')",
      arguments: [order])
    let outcome = try cancel()
    let now = SystemClock.wallMillis()
    for id in open {
      guard let ticket = try TicketRow.fetch(db, id: id), ticket.status == "CANCELLED" else {
        continue
      }
      try insert(
        db, at: now, device: device, action: "void", ticket: id, order: order,
        station: ticket.station)
    }
    return outcome
  }

  /// One entry, as the reports show it.
  struct Entry {
    var id: Int64
    var at: Int64
    var device: String
    var action: String
    var ticket: String?
    var order: String?
    var station: String?
  }

  /// Entries with `at` in [from, to), oldest first, optionally for one
  /// station or one ticket, at most `limit`.
  static func entries(
    _ db: Database, from: Int64, to: Int64, station: String?, ticket: String?, limit: Int
  ) throws -> [Entry] {
    var sql = "SELECT id, at, device, action, ticket_id, order_id, station FROM audit_log"
    var arguments: StatementArguments = []
    if let ticket {
      sql += " WHERE ticket_id = ?"
      arguments += [ticket]
    } else {
      sql += " WHERE at >= ? AND at < ?"
      arguments += [from, to]
    }
    if let station {
      sql += " AND station = ?"
      arguments += [station]
    }
    sql += " ORDER BY at, id LIMIT ?"
    arguments += [limit]
    return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
      Entry(
        id: row[0], at: row[1], device: row[2], action: row[3], ticket: row[4], order: row[5],
        station: row[6])
    }
  }
}
