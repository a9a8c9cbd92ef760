/// What a chef can do to a ticket from the kitchen screen.
public enum TicketAction: String, Hashable, Sendable, Codable, CaseIterable {
  /// Mark ready (`POST /kds/tickets/:id/mark-ready`, docs/sync-contract.md):
  /// the bump.
  case bump
  /// Start cooking (`POST /kds/tickets/:id/start`, extension of kds-server).
  case start
  /// Un-bump (`POST /kds/tickets/:id/recall`, extension of kds-server).
  case recall

  /// The last path component of the request for this action.
  public var pathSuffix: String {
    switch self {
    case .bump: "mark-ready"
    case .start: "start"
    case .recall: "recall"
    }
  }

  /// Whether the action is an extension that a seed-only server may lack.
  public var isExtension: Bool { self != .bump }
}

/// The outcome of an action on a ticket in a given status.
public enum TicketTransition: Hashable, Sendable {
  /// The ticket moves to this status.
  case change(to: TicketStatus)
  /// Allowed, but nothing changes (bump of a READY ticket, start of one in progress).
  case noChange
  /// Not allowed from this status.
  case invalid
}

/// The ticket life cycle of the contract:
/// `QUEUED` → `IN_PROGRESS` → `READY`, `QUEUED` → `READY` (bump without start),
/// `READY` → `IN_PROGRESS` (recall), `CANCELLED` final. Unknown statuses accept
/// nothing: the kiosk keeps such tickets but does not show or touch them.
public enum TicketStateMachine {
  public static func transition(from status: TicketStatus, action: TicketAction)
    -> TicketTransition
  {
    switch (status, action) {
    case (.queued, .bump), (.inProgress, .bump): .change(to: .ready)
    case (.ready, .bump): .noChange
    case (.queued, .start): .change(to: .inProgress)
    case (.inProgress, .start): .noChange
    case (.ready, .recall): .change(to: .inProgress)
    default: .invalid
    }
  }

  /// The status after `action`, or nil when the action is not allowed.
  public static func apply(_ action: TicketAction, to status: TicketStatus) -> TicketStatus? {
    switch transition(from: status, action: action) {
    case .change(let to): to
    case .noChange: status
    case .invalid: nil
    }
  }
}
