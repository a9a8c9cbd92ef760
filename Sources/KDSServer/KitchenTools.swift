import KDSSystem
import KDSTime

/// Issue 14's kitchen tools (docs/sync-contract.md, "Extension: kitchen
/// tools"): item marks, rush orders, course hold and fire, and the expo.
/// Every write here runs in the idempotency layer's write transaction, stamps
/// the tickets it changes (so polls and streams carry it) and is audited.
enum KitchenTools {
  /// The station whose tokens are expo tokens: they see every station.
  static let expoStation = "expo"

  /// `?station=expo` of `/kds/queue` and `/kds/stream`: every station's tickets.
  static func isAllStationsView(_ station: String) -> Bool { station == expoStation }

  /// `priority` of a new order: `"RUSH"`, absent or null.
  static func priority(_ v: JSONValue?) throws(APIError) -> String? {
    switch v {
    case nil, .some(.null): return nil
    case .some(.string("RUSH")): return "RUSH"
    default: throw APIError.invalid("priority", "must be \"RUSH\" or null")
    }
  }

  /// The course of an order item (`items[].course`), nil without one.
  static func course(of item: JSONValue) -> Int64? {
    if case .some(.int(let n)) = item["course"] { return n }
    return nil
  }

  /// The fired courses once the courses `sending` go to the kitchen: on the
  /// first send of a coursed order the lowest course is fired; a course
  /// lower than every fired one is overdue and fired at once. The other
  /// courses stay HELD.
  static func firedCourses(_ fired: [Int64], sending: [Int64]) -> [Int64] {
    var out = fired
    if out.isEmpty, let lowest = sending.min() { out = [lowest] }
    if let first = out.min() {
      for c in sending where c < first && !out.contains(c) { out.append(c) }
    }
    return out.sorted()
  }
}

extension DeviceToken {
  /// A station token for the station `expo` (issue 14).
  var isExpo: Bool { role == .station && stations.contains(KitchenTools.expoStation) }

  /// May use the expo's order tools (rush, fire a course, serve): an expo,
  /// POS or manager token.
  var mayUseExpoTools: Bool { isUnrestricted || isExpo }

  /// May mark items or recall a ticket of `station`: a token of that
  /// station, an expo, POS or manager token.
  func mayTouch(station: String) -> Bool { allows(station: station) || isExpo }
}

extension Kitchen {
  static func expoOnly(_ token: DeviceToken, _ what: String) throws(APIError) {
    guard token.mayUseExpoTools else {
      throw APIError(
        403,
        "\(what) needs an expo, POS or manager token (this one is limited to "
          + "stations \(token.stations.joined(separator: ", ")))")
    }
  }

  /// A ticket the token may touch, or 404 (another station's ticket is
  /// answered like one that does not exist).
  func touchableTicket(_ db: any SQLConnection, id: String, token: DeviceToken) throws -> TicketRow
  {
    guard let ticket = try TicketRow.fetch(db, id: id), token.mayTouch(station: ticket.station)
    else { throw APIError.notFound("Ticket \(id) not found") }
    return ticket
  }

  func ticketResponse(_ ticket: TicketRow, touched: [TicketTouch]) -> WriteOutcome {
    WriteOutcome(
      response: APIResponse(
        status: 200, body: ticket.json(now: SystemClock.wallMillis(), sla: sla)),
      touched: touched)
  }

  // MARK: item marks

  /// `POST /kds/tickets/:id/items/:itemId/mark-done` (`done`) and `mark-undone`.
  /// The mark lives in the ticket's items (`items[].doneAt`); marking every
  /// line does not bump the ticket.
  func markItem(
    _ db: any SQLConnection, ticketID: String, itemID: String, done: Bool, body: JSONValue,
    token: DeviceToken
  ) throws -> WriteOutcome {
    _ = try Validation.object(body)
    let doneAt = done ? try Validation.timestamp(body["doneAt"], "doneAt", required: false) : nil
    var ticket = try touchableTicket(db, id: ticketID, token: token)
    guard case .array(var items) = try JSONValue.parse(ticket.itemsJSON),
      let n = items.firstIndex(where: { $0["id"]?.stringValue == itemID })
    else { throw APIError.notFound("Item \(itemID) not found on ticket \(ticketID)") }
    guard ticket.status == "QUEUED" || ticket.status == "IN_PROGRESS" else {
      throw APIError.stateConflict(
        "Cannot mark an item \(done ? "done" : "not done") on a ticket in status \(ticket.status)",
        id: ticket.id, status: ticket.status, updatedAt: ticket.updatedAt)
    }
    let isDone = !(items[n]["doneAt"]?.isNull ?? true)
    // Already so: 200, nothing changed (like mark-ready on a READY ticket).
    guard isDone != done else { return ticketResponse(ticket, touched: []) }
    items[n] =
      done
      ? items[n].setting(
        "doneAt", .string(RFC3339.format(millis: doneAt ?? SystemClock.wallMillis())))
      : items[n].removing(key: "doneAt")
    let stamp = try clock.next(db)
    ticket.itemsJSON = JSONValue.array(items).text
    ticket.updatedAt = stamp
    try db.execute(
      sql: "UPDATE tickets SET items_json = ?, updated_at = ? WHERE id = ?",
      arguments: [ticket.itemsJSON, stamp, ticket.id])
    try AuditLog.insert(
      db, at: SystemClock.wallMillis(), device: token.device,
      action: done ? "item-done" : "item-undone", ticket: ticket.id, order: ticket.orderID,
      station: ticket.station, detail: itemID)
    return ticketResponse(ticket, touched: [TicketTouch(station: ticket.station, updatedAt: stamp)])
  }

  // MARK: rush

  /// `POST /kds/tickets/:id/rush` `{"rush": true|false}`: sets or clears
  /// RUSH on the order and on every ticket of it still in the kitchen
  /// (HELD, QUEUED, IN_PROGRESS, READY); CANCELLED and SERVED ones keep
  /// what they had.
  func rush(_ db: any SQLConnection, ticketID: String, body: JSONValue, token: DeviceToken) throws
    -> WriteOutcome
  {
    _ = try Validation.object(body)
    guard case .some(.bool(let on)) = body["rush"] else {
      throw APIError.invalid("rush", "is required: true or false")
    }
    try Self.expoOnly(token, "Rush")
    let ticket = try touchableTicket(db, id: ticketID, token: token)
    guard ["HELD", "QUEUED", "IN_PROGRESS", "READY"].contains(ticket.status) else {
      throw APIError.stateConflict(
        "Cannot change the priority of a ticket in status \(ticket.status)", id: ticket.id,
        status: ticket.status, updatedAt: ticket.updatedAt)
    }
    var order = try loadOrder(db, ticket.orderID)
    let value: String? = on ? "RUSH" : nil
    var touched: [TicketTouch] = []
    // `priority IS NOT ?` is SQLite's; this is every database's.
    let differs = value == nil ? "priority IS NOT NULL" : "(priority IS NULL OR priority != ?)"
    let open = try db.fetchAll(
      String.self,
      sql: """
        SELECT id FROM tickets WHERE order_id = ? AND status IN ('HELD', 'QUEUED', 'IN_PROGRESS', 'READY')
          AND \(differs) ORDER BY updated_at
        """, arguments: value == nil ? [order.id] : [order.id, value])
    if order.priority != value {
      order.priority = value
      try restamp(db, &order)
    }
    for id in open {
      let stamp = try clock.next(db)
      try db.execute(
        sql: "UPDATE tickets SET priority = ?, updated_at = ? WHERE id = ?",
        arguments: [value, stamp, id])
      let row = try TicketRow.fetch(db, id: id)!
      touched.append(TicketTouch(station: row.station, updatedAt: stamp))
      try AuditLog.insert(
        db, at: SystemClock.wallMillis(), device: token.device, action: "rush", ticket: id,
        order: order.id, station: row.station, detail: on ? "on" : "off")
    }
    return ticketResponse(try TicketRow.fetch(db, id: ticketID)!, touched: touched)
  }

  // MARK: courses

  /// `POST /pos/orders/:id/fire-course` and `POST /kds/orders/:id/fire-course`
  /// `{"course": N}`: the course's HELD tickets become QUEUED with `sentAt`
  /// the fire time; items of the course sent later go out QUEUED. Answers
  /// `{order, tickets}` with the tickets it fired.
  func fireCourse(_ db: any SQLConnection, orderID: String, body: JSONValue, token: DeviceToken)
    throws
    -> WriteOutcome
  {
    _ = try Validation.object(body)
    let course = try Validation.integer(body["course"], "course", range: 1...20, required: true)!
    try Self.expoOnly(token, "Firing a course")
    var order = try loadOrder(db, orderID)
    guard order.status != "CANCELLED" else {
      throw APIError.stateConflict(
        "Cannot fire a course of an order in status CANCELLED", id: order.id,
        status: order.status, updatedAt: order.updatedAt)
    }
    guard order.items.contains(where: { KitchenTools.course(of: $0) == course }) else {
      throw APIError.invalid("course", "order \(order.number) has no items of course \(course)")
    }
    let held = try db.fetchAll(
      sql:
        "SELECT id, station FROM tickets WHERE order_id = ? AND status = 'HELD' AND course = ? ORDER BY updated_at",
      arguments: [order.id, course])
    var tickets: [TicketRow] = []
    var touched: [TicketTouch] = []
    // The timer starts now: the wall clock, like send-to-kitchen's sentAt.
    let firedAt = SystemClock.wallMillis()
    for row in held {
      let id: String = row[0]
      let stamp = try clock.next(db)
      try db.execute(
        sql: "UPDATE tickets SET status = 'QUEUED', sent_at = ?, updated_at = ? WHERE id = ?",
        arguments: [firedAt, stamp, id])
      let ticket = try TicketRow.fetch(db, id: id)!
      tickets.append(ticket)
      touched.append(TicketTouch(station: ticket.station, updatedAt: stamp))
      try AuditLog.insert(
        db, at: firedAt, device: token.device, action: "fire-course", ticket: id,
        order: order.id, station: ticket.station, detail: "course \(course)")
    }
    if !order.firedCourses.contains(course) {
      order.firedCourses = (order.firedCourses + [course]).sorted()
      try restamp(db, &order)
    }
    let body = order.sentJSON(tickets: tickets, now: SystemClock.wallMillis(), sla: sla)
    return WriteOutcome(response: APIResponse(status: 200, body: body), touched: touched)
  }

  // MARK: expo

  /// `POST /kds/orders/:id/serve`: every READY ticket of the order becomes
  /// SERVED once every ticket that is not CANCELLED (or already SERVED) is
  /// READY. Answers `{order, tickets}` with all the order's tickets.
  func serve(_ db: any SQLConnection, orderID: String, body: JSONValue, token: DeviceToken) throws
    -> WriteOutcome
  {
    _ = try Validation.object(body)
    try Self.expoOnly(token, "Serving an order")
    var order = try loadOrder(db, orderID)
    let all = try db.fetchAll(
      sql: "SELECT \(TicketRow.columns) FROM tickets WHERE order_id = ? ORDER BY sent_at, id",
      arguments: [order.id]
    ).map(TicketRow.init(row:))
    let live = all.filter { $0.status != "CANCELLED" && $0.status != "SERVED" }
    if let blocker = live.first(where: { $0.status != "READY" }) {
      throw APIError.stateConflict(
        "Cannot serve order \(order.number): its \(blocker.station) ticket is \(blocker.status)",
        id: blocker.id, status: blocker.status, updatedAt: blocker.updatedAt)
    }
    guard all.contains(where: { $0.status == "READY" || $0.status == "SERVED" }) else {
      throw APIError.stateConflict(
        "Cannot serve order \(order.number): it has no ticket ready", id: order.id,
        status: order.status, updatedAt: order.updatedAt)
    }
    var touched: [TicketTouch] = []
    if !live.isEmpty {
      let servedAt = SystemClock.wallMillis()
      for ticket in live {
        let stamp = try clock.next(db)
        try db.execute(
          sql: "UPDATE tickets SET status = 'SERVED', served_at = ?, updated_at = ? WHERE id = ?",
          arguments: [servedAt, stamp, ticket.id])
        touched.append(TicketTouch(station: ticket.station, updatedAt: stamp))
        try AuditLog.insert(
          db, at: servedAt, device: token.device, action: "serve", ticket: ticket.id,
          order: order.id, station: ticket.station)
      }
      order.servedAt = servedAt
      try restamp(db, &order)
    }
    let tickets = try all.map { try TicketRow.fetch(db, id: $0.id)! }
    let body = order.sentJSON(tickets: tickets, now: SystemClock.wallMillis(), sla: sla)
    return WriteOutcome(response: APIResponse(status: 200, body: body), touched: touched)
  }
}
