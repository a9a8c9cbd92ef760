/// Builds what the screen shows from the ticket cache and the queue: the
/// server's tickets with the kiosk's own outstanding operations applied on top
/// (so a bump takes the card off at once, offline too), and a mark on every
/// ticket that has unsynced or failed operations.
public enum BoardComposition {
  public struct Result: Hashable, Sendable {
    /// The tickets shown after the optimistic operations, in screen order
    /// (`screenOrder`): on a station screen QUEUED, IN_PROGRESS and HELD (at
    /// the end); on the expo screen READY too (`ExpoBoard.isShown`).
    public var tickets: [Ticket]
    public var marks: [String: TicketSyncMark]
  }

  /// The expo screen's station name (`station = expo`).
  public static let expoStation = "expo"

  /// The optimistic status of every ticket with operations: the cached status
  /// with outstanding operations applied in queue order. Failed operations are
  /// not applied (the card comes back, marked "Sync failed").
  public static func optimisticStatus(
    of ticket: Ticket, operations: some Sequence<QueuedOperation>
  ) -> TicketStatus {
    optimistic(ticket, operations: operations).status
  }

  /// The ticket as the screen shows it: the outstanding operations that
  /// affect it (its own, its order's) applied in queue order.
  public static func optimistic(
    _ ticket: Ticket, operations: some Sequence<QueuedOperation>
  ) -> Ticket {
    var t = ticket
    for op in operations.sorted(by: { $0.seq < $1.seq }) where op.isOutstanding {
      t = op.applied(to: t)
    }
    return t
  }

  /// Whether a ticket of this status has a card on a station screen: QUEUED,
  /// IN_PROGRESS, and HELD (grey, not bumpable). SERVED, READY, CANCELLED never.
  public static func isShownOnStation(_ status: TicketStatus) -> Bool {
    status.isActive || status == .held
  }

  /// The board's order (issue 14): HELD tickets last, rush tickets first,
  /// then the oldest (`sentAt`), then by id.
  public static func screenOrder(_ a: Ticket, _ b: Ticket) -> Bool {
    let ah = a.status == .held
    let bh = b.status == .held
    if ah != bh { return bh }
    if a.isRush != b.isRush { return a.isRush }
    return (a.sentAt, a.id) < (b.sentAt, b.id)
  }

  /// `itemMarks`: item marks kept on this kiosk because the server lacks
  /// them (ticket id → line key → done at; a line's key is its `id`, or
  /// `#index` for a line without one), laid over the cached tickets.
  /// `expo`: every station's tickets, READY ones included.
  public static func compose(
    cache: some Collection<Ticket>, operations: [QueuedOperation], station: String? = nil,
    itemMarks: [String: [String: Timestamp]] = [:], expo: Bool = false
  ) -> Result {
    var byTicket: [String: [QueuedOperation]] = [:]
    var byOrder: [String: [QueuedOperation]] = [:]
    for op in operations.sorted(by: { $0.seq < $1.seq }) where op.state != .done {
      if op.kind.isOrderLevel, let orderId = op.orderId {
        byOrder[orderId, default: []].append(op)
      } else {
        byTicket[op.ticketId, default: []].append(op)
      }
    }
    var tickets: [Ticket] = []
    tickets.reserveCapacity(cache.count)
    var marks: [String: TicketSyncMark] = [:]
    for var ticket in cache {
      if !expo, let station, ticket.station != station { continue }
      if let local = itemMarks[ticket.id] { ticket = overlay(local, on: ticket) }
      let own = byTicket[ticket.id] ?? []
      let order = (byOrder[ticket.orderId] ?? []).filter { $0.affects(ticket) }
      if !own.isEmpty || !order.isEmpty {
        let ops = order.isEmpty ? own : (own + order).sorted { $0.seq < $1.seq }
        for op in ops where op.isOutstanding { ticket = op.applied(to: ticket) }
        if let failed = ops.last(where: { $0.state == .failed }) {
          marks[ticket.id] = .syncFailed(reason: failed.lastError ?? "Sync failed")
        } else if ops.contains(where: \.isOutstanding) {
          marks[ticket.id] = .notSynced
        }
      }
      if expo ? ExpoBoard.isShown(ticket.status) : isShownOnStation(ticket.status) {
        tickets.append(ticket)
      }
    }
    tickets.sort(by: screenOrder)
    return Result(tickets: tickets, marks: marks)
  }

  /// The key of a ticket's line for item marks kept on this kiosk.
  public static func itemKey(_ item: TicketItem, index: Int) -> String {
    if let id = item.id, !id.isEmpty { return id }
    return "#\(index)"
  }

  /// `ticket` with the item marks kept on this kiosk laid over it (a mark
  /// already on the server's copy stands).
  public static func overlay(_ local: [String: Timestamp], on ticket: Ticket) -> Ticket {
    var t = ticket
    for i in t.items.indices where t.items[i].doneAt == nil {
      if let at = local[itemKey(t.items[i], index: i)] { t.items[i].doneAt = at }
    }
    return t
  }
}
