import KDSSystem
import KDSTime

/// The POS's writes: create, modify, send, close and cancel an order.
extension Kitchen {
  struct NewOrder: Sendable {
    var tableID: String
    var waiterName: String?
    var orderType: String
    var items: [NewItem]
    /// `"RUSH"` or nil (issue 14).
    var priority: String? = nil
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
    let priority = try KitchenTools.priority(body["priority"])
    return NewOrder(
      tableID: table, waiterName: waiter, orderType: type, items: items, priority: priority)
  }

  func createOrder(_ db: any SQLConnection, _ input: NewOrder) throws -> WriteOutcome {
    let now = try clock.next(db)
    try db.execute(sql: "UPDATE meta SET value = value + 1 WHERE key = 'order_number'")
    let number = try db.fetchOne(
      Int64.self, sql: "SELECT value FROM meta WHERE key = 'order_number'")!
    var order = OrderRow(
      id: ULID.make(millis: now), number: number, tableID: input.tableID,
      waiterName: input.waiterName, orderType: input.orderType, status: "NEW", items: [],
      nextItem: 1, payment: nil, createdAt: now, updatedAt: now, priority: input.priority)
    order.append(input.items)
    try order.save(db, insert: true)
    return WriteOutcome(response: APIResponse(status: 201, json: order.json))
  }

  func loadOrder(_ db: any SQLConnection, _ id: String) throws -> OrderRow {
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

  /// Restamps the order's tickets in `statuses` (oldest first), setting
  /// `assignments` (SQL `column = ?, …` with `values`) on each, so that kiosks
  /// following `since` learn the change.
  func restampTickets(
    _ db: any SQLConnection, of order: OrderRow, in statuses: String, setting assignments: String,
    _ values: SQLArguments = []
  ) throws -> [TicketTouch] {
    let open = try db.fetchAll(
      sql:
        "SELECT id, station FROM tickets WHERE order_id = ? AND status IN (\(statuses)) ORDER BY updated_at",
      arguments: [order.id])
    var touched: [TicketTouch] = []
    for row in open {
      let stamp = try clock.next(db)
      let ticketID: String = row[0]
      try db.execute(
        sql: "UPDATE tickets SET \(assignments), updated_at = ? WHERE id = ?",
        arguments: values + [stamp, ticketID])
      touched.append(TicketTouch(station: row[1], updatedAt: stamp))
    }
    return touched
  }

  /// Stamps the order (with a new status, if given) and saves it.
  func restamp(_ db: any SQLConnection, _ order: inout OrderRow, status: String? = nil) throws {
    if let status { order.status = status }
    order.updatedAt = try clock.next(db)
    try order.save(db, insert: false)
  }

  func patchOrder(_ db: any SQLConnection, id: String, body: JSONValue) throws -> WriteOutcome {
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
    let tableChanged = table != nil && table != order.tableID
    let waiterChanged = waiterGiven && waiter != order.waiterName
    if let table { order.tableID = table }
    if waiterGiven { order.waiterName = waiter }
    try restamp(db, &order)
    guard tableChanged || waiterChanged else { return WriteOutcome(order: order) }
    // Open tickets show the new table or waiter.
    let touched = try restampTickets(
      db, of: order, in: "'QUEUED', 'IN_PROGRESS', 'READY', 'HELD'",
      setting: "table_name = ?, waiter_name = ?", [order.tableName, order.waiterName])
    return WriteOutcome(order: order, touched: touched)
  }

  /// One ticket per station and course among the unsent items (issue 14):
  /// the fired courses' tickets (and those of items without a course) are
  /// QUEUED, the later courses' HELD until `fire-course`.
  func sendToKitchen(_ db: any SQLConnection, id: String) throws -> WriteOutcome {
    var order = try loadOrder(db, id)
    try requireOpen(order, "send")
    struct Group {
      var station: String
      var course: Int64?
      var items: [Int] = []
    }
    let unsent = order.items.indices.filter { order.items[$0]["sent"] != .bool(true) }
    order.firedCourses = KitchenTools.firedCourses(
      order.firedCourses, sending: unsent.compactMap { KitchenTools.course(of: order.items[$0]) })
    // Items without a course go with the first course: an order with one
    // course (or none) keeps one ticket per station, as in the seed.
    let firstCourse = order.firedCourses.min()
    var groups: [Group] = []
    for n in unsent {
      let item = order.items[n]
      let station = item["station"]?.stringValue ?? "kitchen"
      let course = KitchenTools.course(of: item) ?? firstCourse
      if let g = groups.firstIndex(where: { $0.station == station && $0.course == course }) {
        groups[g].items.append(n)
      } else {
        groups.append(Group(station: station, course: course, items: [n]))
      }
    }
    // By course; stations in order of appearance.
    groups = groups.enumerated().sorted { a, b in
      (a.element.course ?? 0, a.offset) < (b.element.course ?? 0, b.offset)
    }.map(\.element)
    var tickets: [TicketRow] = []
    var touched: [TicketTouch] = []
    if !groups.isEmpty {
      // sentAt is when the ticket was sent, by the wall clock: the stamp
      // clock only orders updates and runs ahead after a wall-clock step back
      // (its value then is not a time to show on a timer). A HELD ticket's
      // sentAt moves to the fire time when its course is fired.
      let sentAt = SystemClock.wallMillis()
      for group in groups {
        let stamp = try clock.next(db)
        var ticketItems: [JSONValue] = []
        for n in group.items {
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
        let status =
          group.course.map { order.firedCourses.contains($0) } ?? true ? "QUEUED" : "HELD"
        let ticketID = ULID.make(millis: stamp)
        let itemsText = JSONValue.array(ticketItems).text
        try db.execute(
          sql: """
            INSERT INTO tickets (id, order_id, order_number, station, status, sent_at, updated_at,
              waiter_name, table_name, order_type, items_json, priority, course)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
          arguments: [
            ticketID, order.id, String(order.number), group.station, status, sentAt, stamp,
            order.waiterName, order.tableName, order.orderType, itemsText, order.priority,
            group.course,
          ])
        tickets.append(try TicketRow.fetch(db, id: ticketID)!)
        touched.append(TicketTouch(station: group.station, updatedAt: stamp))
      }
      try restamp(db, &order, status: "SENT")
    }
    let body = order.sentJSON(tickets: tickets, now: SystemClock.wallMillis(), sla: sla)
    return WriteOutcome(response: APIResponse(status: 200, body: body), touched: touched)
  }

  static let onlinePaymentMethods = ["CARD", "MOBILE_MONEY", "MOMO", "MPESA", "MOBILE"]

  func closeOrder(_ db: any SQLConnection, id: String, body: JSONValue) throws -> WriteOutcome {
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
    // A card or mobile money payment is taken on the restaurant's own
    // terminal; the POS records it with the terminal's reference.
    let reference = try Validation.string(
      payment["reference"], "payment.reference", required: false, max: 100)
    let online = Self.onlinePaymentMethods.contains(method.uppercased())
    guard method.uppercased() == "CASH" || (online && reference != nil) else {
      if online {
        throw APIError(
          422,
          "payment.method: \(method) payments need the online payment flow (payment terminal): "
            + "give payment.reference, the terminal's reference for the payment")
      }
      throw APIError.invalid(
        "payment.method",
        "must be CASH (card and mobile money payments need the online payment flow)")
    }
    var order = try loadOrder(db, id)
    try requireOpen(order, "close")
    let now = try clock.next(db)
    order.status = "CLOSED"
    order.payment = .object(
      [
        ("method", .string(method.uppercased())), ("amount", amount),
        ("paidAt", .string(RFC3339.format(millis: now))),
      ] + (reference.map { [("reference", JSONValue.string($0))] } ?? []))
    order.updatedAt = now
    try order.save(db, insert: false)
    return WriteOutcome(order: order)
  }

  /// Extension: void an order; its tickets that are not READY become CANCELLED.
  func cancelOrder(_ db: any SQLConnection, id: String) throws -> WriteOutcome {
    var order = try loadOrder(db, id)
    if order.status == "CANCELLED" { return WriteOutcome(order: order) }
    try requireOpen(order, "cancel")
    let touched = try restampTickets(
      db, of: order, in: "'QUEUED', 'IN_PROGRESS', 'HELD'", setting: "status = 'CANCELLED'")
    try restamp(db, &order, status: "CANCELLED")
    return WriteOutcome(order: order, touched: touched)
  }
}
