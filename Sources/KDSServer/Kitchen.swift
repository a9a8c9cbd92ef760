import GRDB
import KDSSystem
import KDSTime

/// A ticket whose `updatedAt` a write changed (for the station high-water marks).
struct TicketTouch: Sendable {
  var station: String
  var updatedAt: Int64
}

/// What a write produced: the answer, and the tickets it stamped.
struct WriteOutcome: Sendable {
  var response: APIResponse
  var touched: [TicketTouch] = []
}

/// SLA thresholds the server uses for `slaState` (the kiosk recomputes it).
public struct ServerSLA: Sendable {
  public var orangeAfterSeconds: Int64 = 300
  public var redAfterSeconds: Int64 = 600
  public init() {}

  func state(sentAt: Int64, at now: Int64) -> String {
    let elapsed = max(0, now - sentAt) / 1000
    if elapsed >= redAfterSeconds { return "RED" }
    if elapsed >= orangeAfterSeconds { return "ORANGE" }
    return "GREEN"
  }
}

/// A row of `tickets`.
struct TicketRow: Sendable {
  static let columns =
    "id, order_id, order_number, station, status, sent_at, updated_at, ready_at, waiter_name, table_name, order_type, items_json"

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

  init(row: Row) {
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
  }

  static func fetch(_ db: Database, id: String) throws -> TicketRow? {
    try Row.fetchOne(db, sql: "SELECT \(columns) FROM tickets WHERE id = ?", arguments: [id]).map(
      TicketRow.init)
  }

  /// The contract's ticket JSON, written straight to bytes.
  func write(to out: inout [UInt8], now: Int64, sla: ServerSLA) {
    func key(_ k: StaticString, first: Bool = false) {
      if !first { out.append(UInt8(ascii: ",")) }
      out.append(UInt8(ascii: "\""))
      out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
      out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }
    func stamp(_ ms: Int64) {
      out.append(UInt8(ascii: "\""))
      RFC3339.append(millis: ms, to: &out)
      out.append(UInt8(ascii: "\""))
    }
    out.append(UInt8(ascii: "{"))
    key("id", first: true)
    JSONValue.writeString(id, to: &out)
    key("orderId")
    JSONValue.writeString(orderID, to: &out)
    key("orderNumber")
    JSONValue.writeString(orderNumber, to: &out)
    key("station")
    JSONValue.writeString(station, to: &out)
    key("status")
    JSONValue.writeString(status, to: &out)
    key("sentAt")
    stamp(sentAt)
    key("updatedAt")
    stamp(updatedAt)
    if let waiterName {
      key("waiterName")
      JSONValue.writeString(waiterName, to: &out)
    }
    if let tableName {
      key("tableName")
      JSONValue.writeString(tableName, to: &out)
    }
    if let orderType {
      key("orderType")
      JSONValue.writeString(orderType, to: &out)
    }
    key("slaState")
    let end: Int64
    switch status {
    case "READY": end = readyAt ?? updatedAt
    case "CANCELLED": end = updatedAt
    default: end = now
    }
    JSONValue.writeString(sla.state(sentAt: sentAt, at: end), to: &out)
    key("items")
    out.append(contentsOf: itemsJSON.utf8)
    out.append(UInt8(ascii: "}"))
  }

  func json(now: Int64, sla: ServerSLA) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(256 + itemsJSON.utf8.count)
    write(to: &out, now: now, sla: sla)
    return out
  }

  var currentState: JSONValue {
    .object([
      ("id", .string(id)), ("status", .string(status)),
      ("updatedAt", .string(RFC3339.format(millis: updatedAt))),
    ])
  }
}

/// A row of `orders`.
struct OrderRow: Sendable {
  static let columns =
    "id, number, table_id, waiter_name, order_type, status, items_json, next_item, payment_json, created_at, updated_at"

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

  init(
    id: String, number: Int64, tableID: String, waiterName: String?, orderType: String,
    status: String, items: [JSONValue], nextItem: Int64, payment: JSONValue?, createdAt: Int64,
    updatedAt: Int64
  ) {
    self.id = id
    self.number = number
    self.tableID = tableID
    self.waiterName = waiterName
    self.orderType = orderType
    self.status = status
    self.items = items
    self.nextItem = nextItem
    self.payment = payment
    self.createdAt = createdAt
    self.updatedAt = updatedAt
  }

  init(row: Row) throws {
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
  }

  static func fetch(_ db: Database, id: String) throws -> OrderRow? {
    try Row.fetchOne(db, sql: "SELECT \(columns) FROM orders WHERE id = ?", arguments: [id]).map {
      try OrderRow(row: $0)
    }
  }

  func save(_ db: Database, insert: Bool) throws {
    let itemsText = JSONValue.array(items).text
    let paymentText = payment?.text
    if insert {
      try db.execute(
        sql: "INSERT INTO orders (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        arguments: [
          id, number, tableID, waiterName, orderType, status, itemsText, nextItem, paymentText,
          createdAt, updatedAt,
        ])
    } else {
      try db.execute(
        sql: """
          UPDATE orders SET table_id = ?, waiter_name = ?, order_type = ?, status = ?, items_json = ?,
            next_item = ?, payment_json = ?, updated_at = ? WHERE id = ?
          """,
        arguments: [
          tableID, waiterName, orderType, status, itemsText, nextItem, paymentText, updatedAt, id,
        ])
    }
  }

  var json: JSONValue {
    var members: [(String, JSONValue)] = [
      ("id", .string(id)),
      ("orderNumber", .string(String(number))),
      ("tableId", .string(tableID)),
      ("waiterName", waiterName.map(JSONValue.string) ?? .null),
      ("orderType", .string(orderType)),
      ("status", .string(status)),
      ("items", .array(items)),
    ]
    if let payment { members.append(("payment", payment)) }
    members.append(("createdAt", .string(RFC3339.format(millis: createdAt))))
    members.append(("updatedAt", .string(RFC3339.format(millis: updatedAt))))
    return .object(members)
  }

  var currentState: JSONValue {
    .object([
      ("id", .string(id)), ("status", .string(status)),
      ("updatedAt", .string(RFC3339.format(millis: updatedAt))),
    ])
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

/// The operations of the API, each run inside a write transaction.
struct Kitchen: Sendable {
  let clock: StampClock
  let sla: ServerSLA

  static let ticketStatuses = ["QUEUED", "IN_PROGRESS", "READY", "CANCELLED"]

  // MARK: POS

  struct NewOrder: Sendable {
    var tableID: String
    var waiterName: String?
    var orderType: String
    var items: [NewItem]
  }

  static func parseNewOrder(_ body: JSONValue) throws(APIError) -> NewOrder {
    _ = try Validation.object(body)
    let table = try Validation.string(body["tableId"], "tableId", required: true, max: 100)!
    let waiter = try Validation.string(body["waiterName"], "waiterName", required: false, max: 100)
    var type = "DINE_IN"
    if let t = try Validation.string(body["orderType"], "orderType", required: false, max: 20) {
      guard Validation.orderTypes.contains(t) else {
        throw APIError.invalid("orderType", "must be one of DINE_IN, TAKEAWAY, DELIVERY")
      }
      type = t
    }
    let items = try Validation.items(body["items"], allowEmpty: false)
    return NewOrder(tableID: table, waiterName: waiter, orderType: type, items: items)
  }

  func createOrder(_ db: Database, _ input: NewOrder) throws -> WriteOutcome {
    let now = try clock.next(db)
    try db.execute(sql: "UPDATE meta SET value = value + 1 WHERE key = 'order_number'")
    let number = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'order_number'")!
    var order = OrderRow(
      id: ULID.make(millis: now), number: number, tableID: input.tableID,
      waiterName: input.waiterName, orderType: input.orderType, status: "NEW", items: [],
      nextItem: 1, payment: nil, createdAt: now, updatedAt: now)
    order.append(input.items)
    try order.save(db, insert: true)
    return WriteOutcome(response: APIResponse(status: 201, json: order.json))
  }

  func loadOrder(_ db: Database, _ id: String) throws -> OrderRow {
    guard let order = try OrderRow.fetch(db, id: id) else {
      throw APIError.notFound("Order \(id) not found")
    }
    return order
  }

  func requireOpen(_ order: OrderRow, _ verb: String) throws(APIError) {
    guard order.status == "NEW" || order.status == "SENT" else {
      throw APIError.stateConflict(
        "Cannot \(verb) order in status \(order.status)", id: order.id, status: order.status,
        updatedAt: order.updatedAt)
    }
  }

  func patchOrder(_ db: Database, id: String, body: JSONValue) throws -> WriteOutcome {
    _ = try Validation.object(body)
    let clientUpdatedAt = try Validation.timestamp(body["updatedAt"], "updatedAt", required: true)!
    let newItems: [NewItem]? =
      body["items"] == nil || body["items"]!.isNull
      ? nil : try Validation.items(body["items"], allowEmpty: true)
    let table = try Validation.string(body["tableId"], "tableId", required: false, max: 100)
    let waiterGiven = body["waiterName"] != nil
    let waiter = try Validation.string(body["waiterName"], "waiterName", required: false, max: 100)
    var order = try loadOrder(db, id)
    try requireOpen(order, "modify")
    if clientUpdatedAt < order.updatedAt {
      throw APIError.stateConflict(
        "Order \(order.id) was modified at \(RFC3339.format(millis: order.updatedAt)), after "
          + "the client's updatedAt \(RFC3339.format(millis: clientUpdatedAt))",
        id: order.id, status: order.status, updatedAt: order.updatedAt)
    }
    if let newItems {
      order.items = order.items.filter { $0["sent"] == .bool(true) }
      order.append(newItems)
    }
    var touched: [TicketTouch] = []
    let now = try clock.next(db)
    order.updatedAt = now
    let tableChanged = table != nil && table != order.tableID
    let waiterChanged = waiterGiven && waiter != order.waiterName
    if let table { order.tableID = table }
    if waiterGiven { order.waiterName = waiter }
    try order.save(db, insert: false)
    if tableChanged || waiterChanged {
      // Open tickets show the new table or waiter; restamp them so kiosks
      // following `since` learn it.
      let open = try Row.fetchAll(
        db,
        sql:
          "SELECT id, station FROM tickets WHERE order_id = ? AND status IN ('QUEUED', 'IN_PROGRESS', 'READY') ORDER BY updated_at",
        arguments: [order.id])
      for row in open {
        let stamp = try clock.next(db)
        let ticketID: String = row[0]
        try db.execute(
          sql: "UPDATE tickets SET table_name = ?, waiter_name = ?, updated_at = ? WHERE id = ?",
          arguments: [order.tableName, order.waiterName, stamp, ticketID])
        touched.append(TicketTouch(station: row[1], updatedAt: stamp))
      }
    }
    return WriteOutcome(response: APIResponse(status: 200, json: order.json), touched: touched)
  }

  func sendToKitchen(_ db: Database, id: String) throws -> WriteOutcome {
    var order = try loadOrder(db, id)
    try requireOpen(order, "send")
    var stations: [String] = []
    var byStation: [String: [Int]] = [:]
    for (n, item) in order.items.enumerated() where item["sent"] != .bool(true) {
      let station = item["station"]?.stringValue ?? "kitchen"
      if byStation[station] == nil { stations.append(station) }
      byStation[station, default: []].append(n)
    }
    var tickets: [TicketRow] = []
    var touched: [TicketTouch] = []
    if !stations.isEmpty {
      for station in stations {
        let stamp = try clock.next(db)
        var ticketItems: [JSONValue] = []
        for n in byStation[station]! {
          let item = order.items[n]
          ticketItems.append(
            .object([
              ("id", item["id"] ?? .null), ("name", item["name"] ?? .null),
              ("quantity", item["quantity"] ?? .int(1)),
              ("modifiers", item["modifiers"] ?? .array([])), ("notes", item["notes"] ?? .null),
              ("course", item["course"] ?? .null),
            ]))
          order.items[n] = item.setting("sent", .bool(true))
        }
        let ticketID = ULID.make(millis: stamp)
        let itemsText = JSONValue.array(ticketItems).text
        try db.execute(
          sql: """
            INSERT INTO tickets (\(TicketRow.columns)) VALUES (?, ?, ?, ?, 'QUEUED', ?, ?, NULL, ?, ?, ?, ?)
            """,
          arguments: [
            ticketID, order.id, String(order.number), station, stamp, stamp, order.waiterName,
            order.tableName, order.orderType, itemsText,
          ])
        tickets.append(try TicketRow.fetch(db, id: ticketID)!)
        touched.append(TicketTouch(station: station, updatedAt: stamp))
      }
      order.status = "SENT"
      order.updatedAt = try clock.next(db)
      try order.save(db, insert: false)
    }
    var out: [UInt8] = Array("{\"order\":".utf8)
    order.json.write(to: &out, sorted: false)
    out.append(contentsOf: ",\"tickets\":[".utf8)
    let now = SystemClock.wallMillis()
    for (n, t) in tickets.enumerated() {
      if n > 0 { out.append(UInt8(ascii: ",")) }
      t.write(to: &out, now: now, sla: sla)
    }
    out.append(contentsOf: "]}".utf8)
    return WriteOutcome(response: APIResponse(status: 200, body: out), touched: touched)
  }

  static let onlinePaymentMethods = ["CARD", "MOBILE_MONEY", "MOMO", "MPESA", "MOBILE"]

  func closeOrder(_ db: Database, id: String, body: JSONValue) throws -> WriteOutcome {
    _ = try Validation.object(body)
    guard let payment = body["payment"], !payment.isNull else {
      throw APIError.invalid(
        "payment", "is required, e.g. {\"method\": \"CASH\", \"amount\": 25000}")
    }
    guard case .object = payment else { throw APIError.invalid("payment", "must be an object") }
    let method = try Validation.string(
      payment["method"], "payment.method", required: true, max: 40)!
    let amount: JSONValue
    switch payment["amount"] {
    case .some(.int(let i)) where i >= 0: amount = .int(i)
    case .some(.double(let d)) where d >= 0: amount = .double(d)
    case nil, .some(.null): throw APIError.invalid("payment.amount", "is required")
    default: throw APIError.invalid("payment.amount", "must be a number of at least 0")
    }
    guard method.uppercased() == "CASH" else {
      if Self.onlinePaymentMethods.contains(method.uppercased()) {
        throw APIError(
          422,
          "payment.method: \(method) payments need the online payment flow (payment gateway); "
            + "this endpoint closes CASH payments only")
      }
      throw APIError.invalid(
        "payment.method",
        "must be CASH (card and mobile money payments need the online payment flow)")
    }
    var order = try loadOrder(db, id)
    try requireOpen(order, "close")
    let now = try clock.next(db)
    order.status = "CLOSED"
    order.payment = .object([
      ("method", .string("CASH")), ("amount", amount),
      ("paidAt", .string(RFC3339.format(millis: now))),
    ])
    order.updatedAt = now
    try order.save(db, insert: false)
    return WriteOutcome(response: APIResponse(status: 200, json: order.json))
  }

  /// Extension: void an order; its tickets that are not READY become CANCELLED.
  func cancelOrder(_ db: Database, id: String) throws -> WriteOutcome {
    var order = try loadOrder(db, id)
    if order.status == "CANCELLED" {
      return WriteOutcome(response: APIResponse(status: 200, json: order.json))
    }
    try requireOpen(order, "cancel")
    var touched: [TicketTouch] = []
    let open = try Row.fetchAll(
      db,
      sql:
        "SELECT id, station FROM tickets WHERE order_id = ? AND status IN ('QUEUED', 'IN_PROGRESS') ORDER BY updated_at",
      arguments: [order.id])
    for row in open {
      let stamp = try clock.next(db)
      let ticketID: String = row[0]
      try db.execute(
        sql: "UPDATE tickets SET status = 'CANCELLED', updated_at = ? WHERE id = ?",
        arguments: [stamp, ticketID])
      touched.append(TicketTouch(station: row[1], updatedAt: stamp))
    }
    order.status = "CANCELLED"
    order.updatedAt = try clock.next(db)
    try order.save(db, insert: false)
    return WriteOutcome(response: APIResponse(status: 200, json: order.json), touched: touched)
  }

  // MARK: KDS

  enum TicketAction: String, Sendable {
    case markReady = "mark-ready"
    case start
    case recall
  }

  func ticketAction(
    _ db: Database, id: String, action: TicketAction, body: JSONValue, token: DeviceToken
  ) throws -> WriteOutcome {
    _ = try Validation.object(body)
    var readyAt: Int64? = nil
    if action == .markReady {
      readyAt = try Validation.timestamp(body["readyAt"], "readyAt", required: false)
    }
    guard var ticket = try TicketRow.fetch(db, id: id) else {
      throw APIError.notFound("Ticket \(id) not found")
    }
    guard token.allows(station: ticket.station) else {
      throw APIError(403, "This device may not change tickets of station \(ticket.station)")
    }
    let target: String
    let noOp: Bool
    switch (action, ticket.status) {
    case (.markReady, "READY"), (.start, "IN_PROGRESS"):
      target = ticket.status
      noOp = true
    case (.markReady, "QUEUED"), (.markReady, "IN_PROGRESS"):
      target = "READY"
      noOp = false
    case (.start, "QUEUED"), (.recall, "READY"):
      target = "IN_PROGRESS"
      noOp = false
    default:
      let verb: String
      switch action {
      case .markReady: verb = "mark ready"
      case .start: verb = "start"
      case .recall: verb = "recall"
      }
      throw APIError(
        409, "Cannot \(verb) ticket in status \(ticket.status)",
        conflictType: "INVALID_STATE_TRANSITION", currentState: ticket.currentState)
    }
    var touched: [TicketTouch] = []
    if !noOp {
      let stamp = try clock.next(db)
      ticket.status = target
      ticket.updatedAt = stamp
      if target == "READY" {
        ticket.readyAt = readyAt ?? stamp
      } else if action == .recall {
        ticket.readyAt = nil
      }
      try db.execute(
        sql: "UPDATE tickets SET status = ?, updated_at = ?, ready_at = ? WHERE id = ?",
        arguments: [ticket.status, stamp, ticket.readyAt, ticket.id])
      touched.append(TicketTouch(station: ticket.station, updatedAt: stamp))
    }
    return WriteOutcome(
      response: APIResponse(
        status: 200, body: ticket.json(now: SystemClock.wallMillis(), sla: sla)),
      touched: touched)
  }
}
