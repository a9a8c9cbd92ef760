import KDSSystem
import KDSTime

/// Who did what to which ticket, and when: one row per start, mark-ready
/// (bump), recall, void and allergen acknowledgement. Written in the same
/// transaction as the change it records.
public enum AuditLog {
  /// (`pair`: a screen paired; `subject` is the token it got.)
  public static let actions = [
    "start", "mark-ready", "recall", "void", "allergen-acknowledged", "pair",
    // Issue 14 (KitchenTools.swift); `detail` says which item, course or setting.
    "item-done", "item-undone", "rush", "fire-course", "serve",
  ]

  static func insert(
    _ db: any SQLConnection, at: Int64, device: String, action: String, ticket: String?,
    order: String?,
    station: String?, detail: String? = nil
  ) throws {
    try db.executeUnread(
      sql: """
        INSERT INTO audit_log (at, device, action, ticket_id, order_id, station, detail)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [at, device, action, ticket, order, station, detail])
  }

  /// A kiosk's action on `ticket` (after the change), at the server's wall
  /// clock when it arrived (the kiosk's own `readyAt` is the ticket's). A
  /// mark-ready whose body carries `allergenCheckedAt` (any non-null value)
  /// also records the allergen acknowledgement.
  static func ticketAction(
    _ db: any SQLConnection, device: String, action: String, ticket: TicketRow, body: JSONValue
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
    _ db: any SQLConnection, order: String, device: String, _ cancel: () throws -> WriteOutcome
  ) throws -> WriteOutcome {
    let open = try db.fetchAll(
      String.self,
      sql:
        "SELECT id FROM tickets WHERE order_id = ? AND status IN ('QUEUED', 'IN_PROGRESS', 'HELD')",
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
    /// Which item, course or setting (issue 14's actions), else nil.
    var detail: String?
  }

  /// Entries with `at` in [from, to), oldest first, optionally for one
  /// station or one ticket, at most `limit`.
  static func entries(
    _ db: any SQLConnection, from: Int64, to: Int64, station: String?, ticket: String?, limit: Int
  ) throws -> [Entry] {
    var sql = "SELECT id, at, device, action, ticket_id, order_id, station, detail FROM audit_log"
    var arguments: SQLArguments = []
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
    return try db.fetchAll(sql: sql, arguments: arguments).map { row in
      Entry(
        id: row[0], at: row[1], device: row[2], action: row[3], ticket: row[4], order: row[5],
        station: row[6], detail: row[7])
    }
  }
}
