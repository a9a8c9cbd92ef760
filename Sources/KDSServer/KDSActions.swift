import KDSSystem

/// The kiosks' writes: start, mark ready and recall a ticket.
extension Kitchen {
  enum TicketAction: String, Sendable {
    case markReady = "mark-ready"
    case start
    case recall
  }

  func ticketAction(
    _ db: any SQLConnection, id: String, action: TicketAction, body: JSONValue, token: DeviceToken
  ) throws -> WriteOutcome {
    _ = try Validation.object(body)
    var readyAt: Int64? = nil
    var allergenCheckedAt: Int64? = nil
    if action == .markReady {
      readyAt = try Validation.timestamp(body["readyAt"], "readyAt", required: false)
      // Extension: when the cook acknowledged the allergy band (kiosks with
      // allergen_check = on); recorded with the bump.
      allergenCheckedAt = try Validation.timestamp(
        body["allergenCheckedAt"], "allergenCheckedAt", required: false)
    }
    guard var ticket = try TicketRow.fetch(db, id: id) else {
      throw APIError.notFound("Ticket \(id) not found")
    }
    // Another station's ticket is answered like one that does not exist: a
    // station token learns nothing about other stations' tickets.
    // The expo sends any station's ticket back with recall (issue 14).
    guard token.allows(station: ticket.station) || (action == .recall && token.isExpo) else {
      throw APIError.notFound("Ticket \(id) not found")
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
      throw APIError.stateConflict(
        "Cannot \(verb) ticket in status \(ticket.status)", id: ticket.id, status: ticket.status,
        updatedAt: ticket.updatedAt)
    }
    var touched: [TicketTouch] = []
    if !noOp {
      let stamp = try clock.next(db)
      ticket.status = target
      ticket.updatedAt = stamp
      if target == "READY" {
        // Like sentAt, a time to show: the wall clock, not the stamp clock.
        ticket.readyAt = readyAt ?? SystemClock.wallMillis()
        ticket.allergenCheckedAt = allergenCheckedAt
      } else if action == .recall {
        ticket.readyAt = nil
        ticket.allergenCheckedAt = nil
      }
      try db.executeUnread(
        sql: """
          UPDATE tickets SET status = ?, updated_at = ?, ready_at = ?, allergen_checked_at = ?
          WHERE id = ?
          """,
        arguments: [ticket.status, stamp, ticket.readyAt, ticket.allergenCheckedAt, ticket.id])
      touched.append(TicketTouch(station: ticket.station, updatedAt: stamp))
      try AuditLog.ticketAction(
        db, device: token.device, action: action.rawValue, ticket: ticket, body: body)
    }
    return WriteOutcome(
      response: APIResponse(
        status: 200, body: ticket.json(now: SystemClock.wallMillis(), sla: sla)),
      touched: touched)
  }
}
