import GRDB
import KDSCore
import KDSDatabase
import Synchronization

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// Why the store refused a write.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
  enum Code: Hashable, Sendable {
    case queueFull(Int)
    case corrupt(String)
  }
  let code: Code

  public static func queueFull(_ limit: Int) -> StoreError { StoreError(code: .queueFull(limit)) }
  public static func corrupt(_ what: String) -> StoreError { StoreError(code: .corrupt(what)) }

  public var isQueueFull: Bool {
    if case .queueFull = code { return true }
    return false
  }

  public var description: String {
    switch code {
    case .queueFull(let limit): "queue full (\(limit) outstanding operations)"
    case .corrupt(let what): "corrupt store: \(what)"
    }
  }
}

/// What applying a sync answer changed.
public struct AppliedChanges: Sendable {
  /// Tickets inserted or replaced (newer `updatedAt`).
  public var changed: [Ticket] = []
  /// Ticket ids removed by a full resync.
  public var removed: [String] = []
  public init() {}
}

/// A stored row that could not be read back (a cached ticket or a queued
/// operation): it was moved to the `quarantine` table instead of being lost.
public struct QuarantinedRecord: Hashable, Sendable, CustomStringConvertible {
  /// `ticket` or `operation`.
  public var kind: String
  /// The row's id (the ticket id, or the operation's `seq`).
  public var rowId: String
  public var reason: String

  public var description: String { "damaged \(kind) \(rowId) set aside: \(reason)" }
}

/// The kiosk's SQLite database (WAL): the ticket cache, the operation queue,
/// the sync cursor, the server clock offset and settings.
///
/// Thread-safe: every access goes through one GRDB `DatabaseQueue`.
public final class KioskStore: Sendable {
  public let path: String
  let db: DatabaseQueue
  /// Rows quarantined since the last `takeQuarantined()`, for the log.
  let quarantinedNow = Mutex<[QuarantinedRecord]>([])

  /// Opens (creating and migrating) the database at `path`. Operations left
  /// in flight by a previous run go back to pending: their key is reused, so
  /// sending them again is safe.
  public init(path: String) throws {
    self.path = path
    // NORMAL: the cache can be fetched again; `enqueue` commits with FULL.
    // A kiosk's database is small: a 1 MB page cache keeps the daemon lean.
    db = try DatabaseFile.openQueue(
      path: path, options: .init(synchronous: .normal, busyTimeoutSeconds: 5, cacheKiB: 1024),
      migrator: Self.migrator)
    try db.write { db in
      try db.execute(sql: "UPDATE operations SET state = 'pending' WHERE state = 'in-flight'")
    }
  }

  static var migrator: DatabaseMigrator {
    var m = DatabaseMigrator()
    m.registerMigration("v1") { db in
      try db.execute(
        sql: """
          CREATE TABLE tickets (
            id TEXT PRIMARY KEY NOT NULL,
            station TEXT NOT NULL,
            status TEXT NOT NULL,
            sentAt INTEGER NOT NULL,
            updatedAt INTEGER NOT NULL,
            body BLOB NOT NULL
          );
          CREATE INDEX tickets_station ON tickets(station, status);
          CREATE TABLE operations (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            ticketId TEXT NOT NULL,
            readyAt INTEGER,
            createdAt INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            uncountedAttempts INTEGER NOT NULL DEFAULT 0,
            nextAttemptAt INTEGER NOT NULL,
            state TEXT NOT NULL,
            lastError TEXT,
            lastResult TEXT,
            serverStatus TEXT,
            finishedAt INTEGER
          );
          CREATE INDEX operations_state ON operations(state, seq);
          CREATE TABLE bumped (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            ticketId TEXT NOT NULL,
            operationId TEXT NOT NULL,
            at INTEGER NOT NULL
          );
          CREATE TABLE settings (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
          );
          """)
    }
    m.registerMigration("v2-quarantine") { db in
      try db.execute(
        sql: """
          CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            rowId TEXT NOT NULL,
            payload BLOB,
            reason TEXT NOT NULL,
            quarantinedAt INTEGER NOT NULL
          );
          """)
    }
    m.registerMigration("v3-queued-at-server") { db in
      try db.execute(sql: "ALTER TABLE operations ADD COLUMN queuedAtServer INTEGER")
    }
    m.registerMigration("v3-marks") { db in
      // Issue 11: a failed operation's reason in kitchen words, and the
      // allergen acknowledgement a bump carries.
      try db.execute(
        sql: """
          ALTER TABLE operations ADD COLUMN reason TEXT;
          ALTER TABLE operations ADD COLUMN allergenCheckedAt INTEGER;
          """)
    }
    m.registerMigration("v4-kitchen-tools") { db in
      // Issue 14: item marks (the line's id), order-level operations (serve,
      // fire course, rush: the order and the course), the recall list's rows,
      // and the item marks kept here when the server lacks them.
      try db.execute(
        sql: """
          ALTER TABLE operations ADD COLUMN itemId TEXT;
          ALTER TABLE operations ADD COLUMN orderId TEXT;
          ALTER TABLE operations ADD COLUMN course INTEGER;
          ALTER TABLE bumped ADD COLUMN orderNumber TEXT;
          ALTER TABLE bumped ADD COLUMN tableName TEXT;
          ALTER TABLE bumped ADD COLUMN bumpedAt INTEGER;
          CREATE TABLE item_marks (
            ticketId TEXT NOT NULL,
            itemKey TEXT NOT NULL,
            doneAt INTEGER NOT NULL,
            PRIMARY KEY (ticketId, itemKey)
          );
          """)
    }
    return m
  }

  // MARK: quarantine

  /// Moves a row that cannot be read into `quarantine` (its payload kept as
  /// JSON of its columns, or the ticket's body) and deletes it from `table`.
  static func quarantine(
    _ db: Database, table: String, kind: String, key: any DatabaseValueConvertible,
    rowId: String, payload: Data, reason: String
  ) throws -> QuarantinedRecord {
    try db.execute(
      sql: """
        INSERT INTO quarantine (kind, rowId, payload, reason, quarantinedAt)
        VALUES (?, ?, ?, ?, CAST(strftime('%s', 'now') AS INTEGER) * 1000)
        """, arguments: [kind, rowId, payload, reason])
    let keyColumn = table == "tickets" ? "id" : "seq"
    try db.execute(sql: "DELETE FROM \(table) WHERE \(keyColumn) = ?", arguments: [key])
    return QuarantinedRecord(kind: kind, rowId: rowId, reason: reason)
  }

  /// Rows set aside since the last call (each one is logged once by the caller).
  public func takeQuarantined() -> [QuarantinedRecord] {
    quarantinedNow.withLock { list in
      defer { list.removeAll() }
      return list
    }
  }

  /// How many rows are in quarantine (all time: `kdsctl status` shows it).
  public func quarantineCount() throws -> Int {
    try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM quarantine") ?? 0 }
  }

  // MARK: tickets

  /// Every cached ticket. One that cannot be decoded is moved to the
  /// quarantine (see `takeQuarantined()`), the others load.
  public func loadTickets() throws -> [Ticket] {
    let (tickets, damaged) = try db.read { db -> ([Ticket], [(String, Data, String)]) in
      let decoder = JSONDecoder()
      var out: [Ticket] = []
      var damaged: [(String, Data, String)] = []
      let rows = try Row.fetchCursor(db, sql: "SELECT id, body FROM tickets")
      while let row = try rows.next() {
        let id: String = try row.decode(forColumn: "id")
        let body: Data? = try? row.decode(forColumn: "body")
        do {
          out.append(try decoder.decode(Ticket.self, from: body ?? Data()))
        } catch {
          damaged.append((id, body ?? Data(), describe(error)))
        }
      }
      return (out, damaged)
    }
    if !damaged.isEmpty {
      let records = try db.write { db in
        try damaged.map { id, body, reason in
          try Self.quarantine(
            db, table: "tickets", kind: "ticket", key: id, rowId: id, payload: body,
            reason: reason)
        }
      }
      quarantinedNow.withLock { $0 += records }
    }
    return tickets
  }

  public func ticketCount() throws -> Int {
    try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM tickets") ?? 0 }
  }

  /// Applies a sync answer in one transaction: each ticket replaces the cached
  /// one only if its `updatedAt` is newer. `cursor` (the largest server
  /// `updatedAt` seen) is stored with it. With `fullResyncOf`, cached tickets
  /// of that station absent from the answer are removed (the server no longer
  /// holds them), except those with outstanding operations.
  /// `fullResyncAll` (the expo screen, which sees every station): every
  /// cached ticket absent from the answer is removed, whatever its station.
  public func apply(
    tickets: [Ticket], cursor: Timestamp?, fullResyncOf station: String? = nil,
    fullResyncAll: Bool = false
  ) throws -> AppliedChanges {
    try db.write { db in
      var changes = AppliedChanges()
      let encoder = JSONEncoder()
      let upsert = try db.cachedStatement(
        sql: """
          INSERT INTO tickets (id, station, status, sentAt, updatedAt, body)
          VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT(id) DO UPDATE SET station = excluded.station, status = excluded.status,
            sentAt = excluded.sentAt, updatedAt = excluded.updatedAt, body = excluded.body
          WHERE excluded.updatedAt > tickets.updatedAt
          """)
      for t in tickets {
        let body = try encoder.encode(t)
        try upsert.execute(arguments: [
          t.id, t.station, t.status.wire, t.sentAt.millis, t.updatedAt.millis, body,
        ])
        if db.changesCount > 0 { changes.changed.append(t) }
      }
      if station != nil || fullResyncAll {
        let keep = Set(tickets.map(\.id))
        let cached = try String.fetchAll(
          db,
          sql: """
            SELECT id FROM tickets WHERE (? OR station = ?) AND id NOT IN
              (SELECT ticketId FROM operations WHERE state IN ('pending', 'in-flight'))
            """, arguments: [fullResyncAll, station ?? ""])
        for id in cached where !keep.contains(id) {
          try db.execute(sql: "DELETE FROM tickets WHERE id = ?", arguments: [id])
          changes.removed.append(id)
        }
      }
      if let cursor {
        let old = try Self.setting(db, "sync.cursor").flatMap { Int64($0) } ?? Int64.min
        if cursor.millis > old {
          try Self.setSetting(db, "sync.cursor", String(cursor.millis))
        }
      }
      return changes
    }
  }

  /// Stores one ticket if it is newer than the cached one (an operation's answer).
  @discardableResult
  public func upsert(_ ticket: Ticket) throws -> Bool {
    try !apply(tickets: [ticket], cursor: nil).changed.isEmpty
  }

  /// Sets a cached ticket's status without touching the ticket's `updatedAt`,
  /// and moves the row's comparison stamp 1 ms back, so the server's next copy
  /// replaces it even when unchanged (the acknowledgement may not have been the
  /// server's: its copy wins). Used when the server acknowledged an operation
  /// without a usable ticket in its answer.
  public func setLocalStatus(ticketId: String, status: TicketStatus) throws -> Ticket? {
    try db.write { db in
      guard
        let body = try Data.fetchOne(
          db, sql: "SELECT body FROM tickets WHERE id = ?", arguments: [ticketId]),
        var t = try? JSONDecoder().decode(Ticket.self, from: body)
      else { return nil }
      t.status = status
      try db.execute(
        sql: "UPDATE tickets SET status = ?, body = ?, updatedAt = ? WHERE id = ?",
        arguments: [
          status.wire, try JSONEncoder().encode(t), t.updatedAt.adding(millis: -1).millis, ticketId,
        ])
      return t
    }
  }

  /// Replaces a cached ticket's copy with `ticket` as the kiosk applied an
  /// acknowledged operation to it (a status, a rush, a line's mark), keeping
  /// the row's comparison stamp 1 ms before the ticket's `updatedAt`, so the
  /// server's next copy replaces it even when unchanged (see `setLocalStatus`).
  /// False when the ticket is not cached.
  @discardableResult
  public func setLocal(_ ticket: Ticket) throws -> Bool {
    try db.write { db in
      try db.execute(
        sql: "UPDATE tickets SET status = ?, body = ?, updatedAt = ? WHERE id = ?",
        arguments: [
          ticket.status.wire, try JSONEncoder().encode(ticket),
          ticket.updatedAt.adding(millis: -1).millis, ticket.id,
        ])
      return db.changesCount > 0
    }
  }

  // MARK: item marks kept here

  /// Item marks kept on this kiosk (the server lacks them, 404/405): ticket
  /// id → line key → done at.
  public func localItemMarks() throws -> [String: [String: Timestamp]] {
    try db.read { db in
      var out: [String: [String: Timestamp]] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT ticketId, itemKey, doneAt FROM item_marks") {
        let ticket: String = row["ticketId"]
        let key: String = row["itemKey"]
        out[ticket, default: [:]][key] = Timestamp(millis: row["doneAt"])
      }
      return out
    }
  }

  /// Marks a line done here (`doneAt`), or not done (nil), durably.
  public func setLocalItemMark(ticketId: String, itemKey: String, doneAt: Timestamp?) throws {
    try db.writeWithoutTransaction { db in
      try db.execute(sql: "PRAGMA synchronous = FULL")
      defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
      if let doneAt {
        try db.execute(
          sql: """
            INSERT INTO item_marks (ticketId, itemKey, doneAt) VALUES (?, ?, ?)
            ON CONFLICT(ticketId, itemKey) DO UPDATE SET doneAt = excluded.doneAt
            """, arguments: [ticketId, itemKey, doneAt.millis])
      } else {
        try db.execute(
          sql: "DELETE FROM item_marks WHERE ticketId = ? AND itemKey = ?",
          arguments: [ticketId, itemKey])
      }
    }
  }

  // MARK: operations

  /// Queues an operation, durably (`synchronous = FULL` for this commit): when
  /// this returns, the operation survives a crash or a power cut. Refused when
  /// `maxOutstanding` operations are already pending or in flight. A bump is
  /// pushed on the recall stack; a recall pops its ticket from it.
  public func enqueue(_ op: QueuedOperation, maxOutstanding: Int) throws -> QueuedOperation {
    try db.writeWithoutTransaction { db in
      try db.execute(sql: "PRAGMA synchronous = FULL")
      defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
      var stored = op
      try db.inTransaction {
        let outstanding =
          try Int.fetchOne(
            db,
            sql: "SELECT COUNT(*) FROM operations WHERE state IN ('pending', 'in-flight')") ?? 0
        guard outstanding < maxOutstanding else { throw StoreError.queueFull(maxOutstanding) }
        try db.execute(
          sql: """
            INSERT INTO operations (id, kind, ticketId, readyAt, createdAt, attempts,
              uncountedAttempts, nextAttemptAt, state, lastError, lastResult, serverStatus,
              queuedAtServer, reason, allergenCheckedAt, itemId, orderId, course)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
          arguments: [
            op.id, op.kind.rawValue, op.ticketId, op.readyAt?.millis, op.createdAt.millis,
            op.attempts, op.uncountedAttempts, op.nextAttemptAt.millis, op.state.rawValue,
            op.lastError, op.lastResult?.rawValue, op.serverStatus?.wire, op.queuedAtServer?.millis,
            op.reason, op.allergenCheckedAt?.millis, op.itemId, op.orderId, op.course,
          ])
        stored.seq = db.lastInsertedRowID
        switch op.kind {
        case .bump:
          // The recall list's row: the ticket's number and table as it was bumped.
          let ticket = try Data.fetchOne(
            db, sql: "SELECT body FROM tickets WHERE id = ?", arguments: [op.ticketId]
          ).flatMap { try? JSONDecoder().decode(Ticket.self, from: $0) }
          try db.execute(
            sql: """
              INSERT INTO bumped (ticketId, operationId, at, orderNumber, tableName, bumpedAt)
              VALUES (?, ?, ?, ?, ?, ?)
              """,
            arguments: [
              op.ticketId, op.id, op.createdAt.millis, ticket?.displayNumber, ticket?.tableName,
              (op.readyAt ?? op.createdAt).millis,
            ])
        case .recall:
          try db.execute(
            sql: """
              DELETE FROM bumped WHERE seq =
                (SELECT MAX(seq) FROM bumped WHERE ticketId = ?)
              """, arguments: [op.ticketId])
        default:
          break
        }
        return .commit
      }
      return stored
    }
  }

  /// Saves new states of operations (after attempts), in one transaction.
  public func update(_ ops: [QueuedOperation], finishedAt: Timestamp? = nil) throws {
    guard !ops.isEmpty else { return }
    try db.write { db in
      let stmt = try db.cachedStatement(
        sql: """
          UPDATE operations SET id = ?, createdAt = ?, attempts = ?, uncountedAttempts = ?,
            nextAttemptAt = ?, state = ?, lastError = ?, lastResult = ?, serverStatus = ?,
            finishedAt = ?, queuedAtServer = ?, reason = ?
          WHERE seq = ?
          """)
      for op in ops {
        let finished = op.state == .done || op.state == .failed ? finishedAt?.millis : nil
        try stmt.execute(arguments: [
          op.id, op.createdAt.millis, op.attempts, op.uncountedAttempts, op.nextAttemptAt.millis,
          op.state.rawValue, op.lastError, op.lastResult?.rawValue, op.serverStatus?.wire,
          finished, op.queuedAtServer?.millis, op.reason, op.seq,
        ])
      }
    }
  }

  /// Operations in queue order: all but those done, or all of them. One that
  /// cannot be read is moved to the quarantine (see `takeQuarantined()`): it
  /// is reported, not silently left out of every replay.
  public func operations(includeDone: Bool = false) throws -> [QueuedOperation] {
    let (ops, damaged) = try db.read { db -> ([QueuedOperation], [(Int64, Data, String)]) in
      let sql =
        includeDone
        ? "SELECT * FROM operations ORDER BY seq"
        : "SELECT * FROM operations WHERE state != 'done' ORDER BY seq"
      var ops: [QueuedOperation] = []
      var damaged: [(Int64, Data, String)] = []
      for row in try Row.fetchAll(db, sql: sql) {
        do {
          ops.append(try Self.operation(from: row))
        } catch {
          damaged.append((row["seq"], Self.payload(of: row), describe(error)))
        }
      }
      return (ops, damaged)
    }
    if !damaged.isEmpty {
      let records = try db.write { db in
        try damaged.map { seq, payload, reason in
          try Self.quarantine(
            db, table: "operations", kind: "operation", key: seq, rowId: String(seq),
            payload: payload, reason: reason)
        }
      }
      quarantinedNow.withLock { $0 += records }
    }
    return ops
  }

  /// A row's columns as a JSON object (what the quarantine keeps of an operation).
  static func payload(of row: Row) -> Data {
    var object: [String: String] = [:]
    for (column, value) in row { object[column] = value.isNull ? nil : "\(value)" }
    return (try? JSONEncoder().encode(object)) ?? Data()
  }

  struct DamagedRow: Error, CustomStringConvertible {
    let description: String
  }

  static func operation(from row: Row) throws -> QueuedOperation {
    let kindText: String = try row.decode(forColumn: "kind")
    let stateText: String = try row.decode(forColumn: "state")
    guard let kind = TicketAction(rawValue: kindText) else {
      throw DamagedRow(description: "unknown operation kind \(kindText)")
    }
    guard let state = OperationState(rawValue: stateText) else {
      throw DamagedRow(description: "unknown operation state \(stateText)")
    }
    let readyAt: Int64? = try row.decode(forColumn: "readyAt")
    let lastResult: String? = try row.decode(forColumn: "lastResult")
    let serverStatus: String? = try row.decode(forColumn: "serverStatus")
    // (Absent from a file older than v3, read when a corrupt one is salvaged.)
    let queuedAtServer: Int64? =
      row.hasColumn("queuedAtServer") ? try row.decode(forColumn: "queuedAtServer") : nil
    // A database of before v3-marks (read row by row when set aside) lacks these.
    let allergenCheckedAt: Int64? =
      row.hasColumn("allergenCheckedAt") ? try row.decode(forColumn: "allergenCheckedAt") : nil
    var op = QueuedOperation(
      id: try row.decode(forColumn: "id"), seq: try row.decode(forColumn: "seq"), kind: kind,
      ticketId: try row.decode(forColumn: "ticketId"),
      readyAt: readyAt.map(Timestamp.init(millis:)),
      createdAt: Timestamp(millis: try row.decode(forColumn: "createdAt")),
      attempts: try row.decode(forColumn: "attempts"),
      uncountedAttempts: try row.decode(forColumn: "uncountedAttempts"),
      nextAttemptAt: Timestamp(millis: try row.decode(forColumn: "nextAttemptAt")), state: state,
      lastError: try row.decode(forColumn: "lastError"),
      lastResult: lastResult.flatMap(AttemptResult.init(rawValue:)),
      serverStatus: serverStatus.map(TicketStatus.init(wire:)),
      queuedAtServer: queuedAtServer.map(Timestamp.init(millis:)))
    op.reason = row.hasColumn("reason") ? try row.decode(forColumn: "reason") : nil
    op.allergenCheckedAt = allergenCheckedAt.map(Timestamp.init(millis:))
    // A database of before v4-kitchen-tools lacks these.
    op.itemId = row.hasColumn("itemId") ? try row.decode(forColumn: "itemId") : nil
    op.orderId = row.hasColumn("orderId") ? try row.decode(forColumn: "orderId") : nil
    op.course = row.hasColumn("course") ? try row.decode(forColumn: "course") : nil
    return op
  }

  /// Removes failed operations the cook dismissed (and a dismissed bump from
  /// the recall stack), durably. Only failed ones: an operation retried
  /// meanwhile stays.
  public func deleteFailedOperations(ids: [String]) throws {
    guard !ids.isEmpty else { return }
    try db.writeWithoutTransaction { db in
      try db.execute(sql: "PRAGMA synchronous = FULL")
      defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
      try db.inTransaction {
        for id in ids {
          try db.execute(
            sql: "DELETE FROM bumped WHERE operationId = ? AND operationId IN "
              + "(SELECT id FROM operations WHERE id = ? AND state = 'failed')",
            arguments: [id, id])
          try db.execute(
            sql: "DELETE FROM operations WHERE id = ? AND state = 'failed'", arguments: [id])
        }
        return .commit
      }
    }
  }

  /// Removes done operations finished before `before` (they are history).
  public func pruneDoneOperations(finishedBefore before: Timestamp) throws {
    try db.write { db in
      try db.execute(
        sql: "DELETE FROM operations WHERE state = 'done' AND finishedAt < ?",
        arguments: [before.millis])
      try db.execute(
        sql:
          "DELETE FROM bumped WHERE seq NOT IN (SELECT seq FROM bumped ORDER BY seq DESC LIMIT 50)"
      )
      // Item marks kept here for tickets no longer cached.
      try db.execute(sql: "DELETE FROM item_marks WHERE ticketId NOT IN (SELECT id FROM tickets)")
    }
  }

  /// The recall list (issue 14): the last `limit` tickets bumped on this
  /// screen, newest first, one row per ticket (its latest bump).
  public func recallList(limit: Int = 50) throws -> [RecallEntry] {
    try db.read { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT b.ticketId, b.orderNumber, b.tableName, COALESCE(b.bumpedAt, b.at) AS bumpedAt
          FROM bumped b
          WHERE b.seq = (SELECT MAX(seq) FROM bumped WHERE ticketId = b.ticketId)
          ORDER BY b.seq DESC LIMIT ?
          """, arguments: [limit])
      return rows.map { row in
        let ticketId: String = row["ticketId"]
        let number: String? = row["orderNumber"]
        return RecallEntry(
          ticketId: ticketId, orderNumber: number ?? String(ticketId.suffix(4)),
          tableName: row["tableName"], bumpedAt: Timestamp(millis: row["bumpedAt"]))
      }
    }
  }

  /// Ticket ids bumped on this kiosk, most recent first (the recall stack).
  public func recentlyBumped(limit: Int = 50) throws -> [String] {
    try db.read { db in
      try String.fetchAll(
        db, sql: "SELECT ticketId FROM bumped ORDER BY seq DESC LIMIT ?", arguments: [limit])
    }
  }

  // MARK: settings

  public func setting(_ key: String) throws -> String? {
    try db.read { try Self.setting($0, key) }
  }

  public func setSetting(_ key: String, _ value: String?) throws {
    try db.write { db in
      if let value {
        try Self.setSetting(db, key, value)
      } else {
        try db.execute(sql: "DELETE FROM settings WHERE key = ?", arguments: [key])
      }
    }
  }

  static func setting(_ db: Database, _ key: String) throws -> String? {
    try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key])
  }

  static func setSetting(_ db: Database, _ key: String, _ value: String) throws {
    try db.execute(
      sql:
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      arguments: [key, value])
  }

  /// The sync cursor: the largest server `updatedAt` received.
  public func cursor() throws -> Timestamp? {
    try setting("sync.cursor").flatMap(Int64.init).map(Timestamp.init(millis:))
  }

  /// Thresholds for a station (defaults: orange at 5 min, red at 10).
  public func thresholds(station: String) throws -> SLAThresholds {
    guard let text = try setting("sla.\(station)") else { return .standard }
    let parts = text.split(separator: ",").compactMap { Int64($0) }
    guard parts.count == 2 else { return .standard }
    return SLAThresholds(orangeAfter: parts[0], redAfter: parts[1])
  }

  public func setThresholds(_ t: SLAThresholds, station: String) throws {
    try setSetting("sla.\(station)", "\(t.orangeAfter),\(t.redAfter)")
  }

  // MARK: maintenance

  /// `PRAGMA integrity_check`: "ok" when the database is sound.
  public func integrityCheck() throws -> String {
    try db.read { db in
      try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
    }
  }

  /// Waits for any write in progress, then checkpoints the WAL (clean shutdown).
  public func close() throws {
    try db.writeWithoutTransaction { db in
      try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
    }
  }
}
