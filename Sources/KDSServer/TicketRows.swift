/// A row of `tickets`.
struct TicketRow: Sendable {
  static let columns =
    "id, order_id, order_number, station, status, sent_at, updated_at, ready_at, waiter_name, table_name, order_type, items_json, allergen_checked_at, priority, course, served_at"

  var id: String
  var orderID: String
  var orderNumber: String
  var station: String
  var status: String
  var sentAt: Int64
  var updatedAt: Int64
  var readyAt: Int64?
  var waiterName: String?
  var tableName: String?
  var orderType: String?
  var itemsJSON: String
  /// When a cook acknowledged the ticket's allergy band before the bump
  /// (the mark-ready extension field `allergenCheckedAt`), nil if never.
  var allergenCheckedAt: Int64?
  /// `"RUSH"` for a rush order (issue 14), else nil.
  var priority: String?
  /// The course the ticket carries (issue 14): one ticket per station and course.
  var course: Int64?
  /// When the expo served the order (status SERVED, issue 14).
  var servedAt: Int64?

  init(row: SQLRow) {
    id = row[0]
    orderID = row[1]
    orderNumber = row[2]
    station = row[3]
    status = row[4]
    sentAt = row[5]
    updatedAt = row[6]
    readyAt = row[7]
    waiterName = row[8]
    tableName = row[9]
    orderType = row[10]
    itemsJSON = row[11]
    allergenCheckedAt = row[12]
    priority = row[13]
    course = row[14]
    servedAt = row[15]
  }

  static func fetch(_ db: any SQLConnection, id: String) throws -> TicketRow? {
    try db.fetchOne(sql: "SELECT \(columns) FROM tickets WHERE id = ?", arguments: [id]).map(
      TicketRow.init)
  }
}

/// A row of `orders`.
struct OrderRow: Sendable {
  static let columns =
    "id, number, table_id, waiter_name, order_type, status, items_json, next_item, payment_json, created_at, updated_at, priority, fired_courses, served_at"

  var id: String
  var number: Int64
  var tableID: String
  var waiterName: String?
  var orderType: String
  var status: String
  var items: [JSONValue]
  var nextItem: Int64
  var payment: JSONValue?
  var createdAt: Int64
  var updatedAt: Int64
  /// `"RUSH"` for a rush order (issue 14), copied onto every ticket.
  var priority: String? = nil
  /// The courses fired so far, ascending (issue 14): their tickets are
  /// QUEUED when sent, the other courses' HELD.
  var firedCourses: [Int64] = []
  /// When the expo served the order (issue 14).
  var servedAt: Int64? = nil

  static func fetch(_ db: any SQLConnection, id: String) throws -> OrderRow? {
    try db.fetchOne(sql: "SELECT \(columns) FROM orders WHERE id = ?", arguments: [id]).map {
      try OrderRow(row: $0)
    }
  }

  func save(_ db: any SQLConnection, insert: Bool) throws {
    let itemsText = JSONValue.array(items).text
    let paymentText = payment?.text
    if insert {
      try db.execute(
        sql:
          "INSERT INTO orders (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        arguments: [
          id, number, tableID, waiterName, orderType, status, itemsText, nextItem, paymentText,
          createdAt, updatedAt, priority, firedCoursesText, servedAt,
        ])
    } else {
      try db.execute(
        sql: """
          UPDATE orders SET table_id = ?, waiter_name = ?, order_type = ?, status = ?, items_json = ?,
            next_item = ?, payment_json = ?, updated_at = ?, priority = ?, fired_courses = ?,
            served_at = ? WHERE id = ?
          """,
        arguments: [
          tableID, waiterName, orderType, status, itemsText, nextItem, paymentText, updatedAt,
          priority, firedCoursesText, servedAt, id,
        ])
    }
  }

  /// `fired_courses`: a JSON array, NULL when none.
  var firedCoursesText: String? {
    firedCourses.isEmpty ? nil : JSONValue.array(firedCourses.map(JSONValue.int)).text
  }

  /// "table-8" reads "Table 8" on a ticket; other ids are shown as they are.
  var tableName: String {
    let lower = tableID.lowercased()
    for prefix in ["table-", "table_", "table "] where lower.hasPrefix(prefix) {
      return "Table " + tableID.dropFirst(prefix.count)
    }
    return tableID
  }

  mutating func append(_ new: [NewItem]) {
    for item in new {
      items.append(
        .object([
          ("id", .string("it-\(nextItem)")),
          ("name", .string(item.name)),
          ("quantity", .int(item.quantity)),
          ("station", .string(item.station)),
          ("modifiers", .array(item.modifiers.map(JSONValue.string))),
          ("notes", item.notes.map(JSONValue.string) ?? .null),
          ("course", item.course.map(JSONValue.int) ?? .null),
          ("sent", .bool(false)),
        ]))
      nextItem += 1
    }
  }
}

// In an extension, so that OrderRow keeps its memberwise initialiser.
extension OrderRow {
  init(row: SQLRow) throws {
    id = row[0]
    number = row[1]
    tableID = row[2]
    waiterName = row[3]
    orderType = row[4]
    status = row[5]
    let itemsText: String = row[6]
    if case .array(let list) = try JSONValue.parse(itemsText) { items = list } else { items = [] }
    nextItem = row[7]
    let paymentText: String? = row[8]
    payment = try paymentText.map { try JSONValue.parse($0) }
    createdAt = row[9]
    updatedAt = row[10]
    priority = row[11]
    let fired: String? = row[12]
    if let fired, case .array(let list) = try JSONValue.parse(fired) {
      firedCourses = list.compactMap { if case .int(let n) = $0 { n } else { nil } }
    } else {
      firedCourses = []
    }
    servedAt = row[13]
  }
}

extension JSONValue {
  func setting(_ key: String, _ value: JSONValue) -> JSONValue {
    guard case .object(var members) = self else { return self }
    if let i = members.firstIndex(where: { $0.0 == key }) {
      members[i].1 = value
    } else {
      members.append((key, value))
    }
    return .object(members)
  }
}
