/// Builds what the screen shows from the ticket cache and the queue: the
/// server's tickets with the kiosk's own outstanding operations applied on top
/// (so a bump takes the card off at once, offline too), and a mark on every
/// ticket that has unsynced or failed operations.
public enum BoardComposition {
  public struct Result: Hashable, Sendable {
    /// Active tickets (QUEUED, IN_PROGRESS) after the optimistic operations, by `sentAt`.
    public var tickets: [Ticket]
    public var marks: [String: TicketSyncMark]
  }

  /// The optimistic status of every ticket with operations: the cached status
  /// with outstanding operations applied in queue order. Failed operations are
  /// not applied (the card comes back, marked "Sync failed").
  public static func optimisticStatus(
    of ticket: Ticket, operations: some Sequence<QueuedOperation>
  ) -> TicketStatus {
    var status = ticket.status
    for op in operations.sorted(by: { $0.seq < $1.seq })
    where op.ticketId == ticket.id && op.isOutstanding {
      status = TicketStateMachine.apply(op.kind, to: status) ?? status
    }
    return status
  }

  public static func compose(
    cache: some Collection<Ticket>, operations: [QueuedOperation], station: String? = nil
  ) -> Result {
    var byTicket: [String: [QueuedOperation]] = [:]
    for op in operations.sorted(by: { $0.seq < $1.seq }) where op.state != .done {
      byTicket[op.ticketId, default: []].append(op)
    }
    var tickets: [Ticket] = []
    tickets.reserveCapacity(cache.count)
    var marks: [String: TicketSyncMark] = [:]
    for var ticket in cache {
      if let station, ticket.station != station { continue }
      if let ops = byTicket[ticket.id] {
        for op in ops where op.isOutstanding {
          ticket.status = TicketStateMachine.apply(op.kind, to: ticket.status) ?? ticket.status
        }
        if let failed = ops.last(where: { $0.state == .failed }) {
          marks[ticket.id] = .syncFailed(reason: failed.lastError ?? "Sync failed")
        } else if ops.contains(where: \.isOutstanding) {
          marks[ticket.id] = .notSynced
        }
      }
      if ticket.status.isActive { tickets.append(ticket) }
    }
    tickets.sort { ($0.sentAt, $0.id) < ($1.sentAt, $1.id) }
    return Result(tickets: tickets, marks: marks)
  }
}
