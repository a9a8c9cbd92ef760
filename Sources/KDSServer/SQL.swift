/// The storage interface of kds-server: the little SQL the server speaks,
/// over SQLite (GRDB) or PostgreSQL (postgres-nio).
///
/// Every query the server runs is written once, in the SQL both databases
/// accept (`?` placeholders, `ON CONFLICT`, `RETURNING`, `LIMIT`/`OFFSET`);
/// the few places where the two differ ask the connection's ``SQLDialect``.
/// A transaction body is synchronous and runs on one connection on a thread
/// of its own (GRDB's writer queue, or a thread the PostgreSQL backend keeps
/// for each connection), never on Swift's cooperative pool.

/// A value bound to a statement or read from a row.
public enum SQLValue: Sendable, Hashable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
  case blob([UInt8])
}

/// The database a connection talks to, for the few statements that differ.
public enum SQLDialect: Sendable, Equatable {
  case sqlite
  case postgres
}

/// A Swift value that can be bound to a statement.
public protocol SQLBindable {
  var sqlValue: SQLValue { get }
}

/// A Swift value that can be read from a column.
public protocol SQLReadable {
  /// Nil when the column's value cannot be this type.
  static func fromSQL(_ value: SQLValue) -> Self?
}

extension Int64: SQLBindable, SQLReadable {
  public var sqlValue: SQLValue { .integer(self) }
  public static func fromSQL(_ value: SQLValue) -> Int64? {
    switch value {
    case .integer(let v): v
    case .real(let v): v.isFinite && v == v.rounded() ? Int64(exactly: v) : nil
    default: nil
    }
  }
}

extension Int: SQLBindable, SQLReadable {
  public var sqlValue: SQLValue { .integer(Int64(self)) }
  public static func fromSQL(_ value: SQLValue) -> Int? { Int64.fromSQL(value).map(Int.init) }
}

extension Int32: SQLBindable, SQLReadable {
  public var sqlValue: SQLValue { .integer(Int64(self)) }
  public static func fromSQL(_ value: SQLValue) -> Int32? {
    Int64.fromSQL(value).flatMap(Int32.init(exactly:))
  }
}

extension Double: SQLBindable, SQLReadable {
  public var sqlValue: SQLValue { .real(self) }
  public static func fromSQL(_ value: SQLValue) -> Double? {
    switch value {
    case .integer(let v): Double(v)
    case .real(let v): v
    default: nil
    }
  }
}

extension Bool: SQLBindable, SQLReadable {
  /// Stored as 0 or 1 (SQLite has no boolean; PostgreSQL columns are integers too).
  public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
  public static func fromSQL(_ value: SQLValue) -> Bool? {
    switch value {
    case .integer(let v): v != 0
    case .real(let v): v != 0
    case .text(let t) where t == "t" || t == "true": true
    case .text(let t) where t == "f" || t == "false": false
    default: nil
    }
  }
}

extension String: SQLBindable, SQLReadable {
  public var sqlValue: SQLValue { .text(self) }
  public static func fromSQL(_ value: SQLValue) -> String? {
    if case .text(let t) = value { return t }
    return nil
  }
}

extension Substring: SQLBindable {
  public var sqlValue: SQLValue { .text(String(self)) }
}

extension [UInt8]: SQLBindable, SQLReadable {
  public var sqlValue: SQLValue { .blob(self) }
  public static func fromSQL(_ value: SQLValue) -> [UInt8]? {
    switch value {
    case .blob(let b): b
    case .text(let t): Array(t.utf8)
    default: nil
    }
  }
}

extension SQLValue: SQLBindable, SQLReadable {
  public var sqlValue: SQLValue { self }
  public static func fromSQL(_ value: SQLValue) -> SQLValue? { value }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
  public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

extension Optional: SQLReadable where Wrapped: SQLReadable {
  public static func fromSQL(_ value: SQLValue) -> Wrapped?? {
    if case .null = value { return .some(nil) }
    return Wrapped.fromSQL(value).map { .some($0) }
  }
}

/// The arguments of a statement, in `?` order: `arguments: [id, now]`.
public struct SQLArguments: Sendable, ExpressibleByArrayLiteral {
  public var values: [SQLValue]
  public init(_ values: [SQLValue]) { self.values = values }
  public init(arrayLiteral elements: (any SQLBindable)?...) {
    values = elements.map { $0?.sqlValue ?? .null }
  }
  public init(_ elements: [(any SQLBindable)?]) {
    values = elements.map { $0?.sqlValue ?? .null }
  }
  public mutating func append(_ value: (any SQLBindable)?) {
    values.append(value?.sqlValue ?? .null)
  }
  public static func + (lhs: SQLArguments, rhs: SQLArguments) -> SQLArguments {
    SQLArguments(lhs.values + rhs.values)
  }
  public static func += (lhs: inout SQLArguments, rhs: SQLArguments) {
    lhs.values += rhs.values
  }
}

/// One row of a result, read by column position: `let id: String = row[0]`.
public struct SQLRow: Sendable {
  public var values: [SQLValue]
  public init(_ values: [SQLValue]) { self.values = values }

  public var count: Int { values.count }

  /// The column's value as `T`. A value that cannot be `T` is a schema bug,
  /// not bad input (the server wrote every row itself): it stops the process
  /// with the column and the value, as GRDB does.
  public subscript<T: SQLReadable>(_ index: Int) -> T {
    guard index < values.count else {
      preconditionFailure("SQL row has \(values.count) columns, asked for column \(index)")
    }
    guard let v = T.fromSQL(values[index]) else {
      preconditionFailure("SQL column \(index) holds \(values[index]), not \(T.self)")
    }
    return v
  }

  /// The column's value as `T`, nil when it is NULL or another type.
  public func value<T: SQLReadable>(_ index: Int, as _: T.Type = T.self) -> T? {
    index < values.count ? T.fromSQL(values[index]) : nil
  }
}

/// A connection inside one transaction. Not Sendable: it is used only by the
/// transaction body it was given to, on that body's thread.
public protocol SQLConnection: AnyObject {
  var dialect: SQLDialect { get }
  /// Runs one statement (or, with no arguments, several separated by `;`).
  func execute(sql: String, arguments: SQLArguments) throws
  /// Every row of one query.
  func fetchAll(sql: String, arguments: SQLArguments) throws -> [SQLRow]
  /// The rows the last `execute` inserted, updated or deleted.
  var changesCount: Int { get }
  /// Runs `body` in a savepoint: rolled back alone if it throws.
  func inSavepoint(_ body: () throws -> Void) throws
  /// Runs one write whose answer nobody reads (no rows, no change count).
  /// PostgreSQL sends it without waiting: its error, if any, is thrown by
  /// the next statement that waits, at the latest by COMMIT, which then
  /// fails the transaction. SQLite runs it at once.
  func executeUnread(sql: String, arguments: SQLArguments) throws
}

extension SQLConnection {
  public func executeUnread(sql: String, arguments: SQLArguments) throws {
    try execute(sql: sql, arguments: arguments)
  }

  public func execute(sql: String) throws { try execute(sql: sql, arguments: []) }

  public func fetchAll(sql: String) throws -> [SQLRow] { try fetchAll(sql: sql, arguments: []) }

  public func fetchOne(sql: String, arguments: SQLArguments = []) throws -> SQLRow? {
    try fetchAll(sql: sql, arguments: arguments).first
  }

  /// The first column of the first row, nil when there is no row or it is NULL.
  public func fetchOne<T: SQLReadable>(
    _: T.Type, sql: String, arguments: SQLArguments = []
  ) throws -> T? {
    guard let row = try fetchOne(sql: sql, arguments: arguments), row.count > 0 else {
      return nil
    }
    return row.value(0, as: T.self)
  }

  /// The first column of every row (NULLs and other types left out).
  public func fetchAll<T: SQLReadable>(
    _: T.Type, sql: String, arguments: SQLArguments = []
  ) throws -> [T] {
    try fetchAll(sql: sql, arguments: arguments).compactMap { $0.value(0, as: T.self) }
  }
}

/// A database the server can run transactions on: SQLite through GRDB or
/// PostgreSQL through postgres-nio.
public protocol SQLBackend: Sendable {
  var dialect: SQLDialect { get }
  /// Runs `body` in one write transaction that is durably committed before
  /// this returns. On SQLite it holds the database's write lock from its
  /// first statement; on PostgreSQL it is READ COMMITTED, and what must be
  /// serialised takes a row lock (`SELECT … FOR UPDATE`) or an advisory lock.
  func writeTransaction<T: Sendable>(
    _ body: @escaping @Sendable (any SQLConnection) throws -> T
  ) async throws -> T
  /// Runs `body` on a consistent snapshot, without writing.
  func read<T: Sendable>(
    _ body: @escaping @Sendable (any SQLConnection) throws -> T
  ) async throws -> T
  /// After a secret was deleted (a claimed pairing token): makes sure no
  /// copy of it stays in the database's files. SQLite folds its write-ahead
  /// log (which held the row in clear) into the main file, where
  /// `secure_delete` zeroed the freed cells, and empties it. A backend with
  /// no such copy in files it manages (PostgreSQL) does nothing.
  func wipeFreedPages() async throws
}

extension SQLBackend {
  public func wipeFreedPages() async throws {}
}
