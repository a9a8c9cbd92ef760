import KDSTime

// The contract's ticket and order JSON (docs/openapi.yaml). Tickets are
// written straight to bytes: a `since` poll answers hundreds of them.

extension TicketRow {
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
    case "READY", "SERVED": end = readyAt ?? updatedAt
    case "CANCELLED": end = updatedAt
    // A later course waiting to be fired: its timer has not started.
    case "HELD": end = sentAt
    default: end = now
    }
    JSONValue.writeString(sla.state(sentAt: sentAt, at: end), to: &out)
    if let allergenCheckedAt {
      key("allergenCheckedAt")
      stamp(allergenCheckedAt)
    }
    // Issue 14's fields, absent when unset (docs/sync-contract.md, "Extension:
    // kitchen tools").
    if let priority {
      key("priority")
      JSONValue.writeString(priority, to: &out)
    }
    if let course {
      key("course")
      out.append(contentsOf: String(course).utf8)
    }
    if let servedAt {
      key("servedAt")
      stamp(servedAt)
    }
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

  /// A JSON array of the tickets `next` gives until it gives nil.
  static func writeArray(
    to out: inout [UInt8], now: Int64, sla: ServerSLA, _ next: () throws -> TicketRow?
  ) rethrows {
    out.append(UInt8(ascii: "["))
    var first = true
    while let ticket = try next() {
      if !first { out.append(UInt8(ascii: ",")) }
      first = false
      ticket.write(to: &out, now: now, sla: sla)
    }
    out.append(UInt8(ascii: "]"))
  }
}

extension OrderRow {
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
    if let priority { members.append(("priority", .string(priority))) }
    if !firedCourses.isEmpty {
      members.append(("firedCourses", .array(firedCourses.map(JSONValue.int))))
    }
    if let servedAt { members.append(("servedAt", .string(RFC3339.format(millis: servedAt)))) }
    members.append(("createdAt", .string(RFC3339.format(millis: createdAt))))
    members.append(("updatedAt", .string(RFC3339.format(millis: updatedAt))))
    return .object(members)
  }

  /// The answer of send-to-kitchen: `{"order": …, "tickets": […]}`.
  func sentJSON(tickets: [TicketRow], now: Int64, sla: ServerSLA) -> [UInt8] {
    var out: [UInt8] = Array("{\"order\":".utf8)
    json.write(to: &out, sorted: false)
    out.append(contentsOf: ",\"tickets\":".utf8)
    var rest = tickets.makeIterator()
    TicketRow.writeArray(to: &out, now: now, sla: sla) { rest.next() }
    out.append(UInt8(ascii: "}"))
    return out
  }
}
