/// What a chef can do to a ticket from the kitchen screen.
public enum TicketAction: String, Hashable, Sendable, Codable, CaseIterable {
  /// Mark ready (`POST /kds/tickets/:id/mark-ready`, docs/sync-contract.md):
  /// the bump.
  case bump
  /// Start cooking (`POST /kds/tickets/:id/start`, extension of kds-server).
  case start
  /// Un-bump (`POST /kds/tickets/:id/recall`, extension of kds-server); on
  /// the expo screen, "send back" of any station's ticket.
  case recall
  /// Item-level bump: one line done
  /// (`POST /kds/tickets/:id/items/:itemId/mark-done`, issue 14).
  case markDone = "mark-done"
  /// One line back to cook (`POST /kds/tickets/:id/items/:itemId/mark-undone`).
  case markUndone = "mark-undone"
  /// Expo: rush the ticket's order (`POST /kds/tickets/:id/rush {"rush":true}`).
  case rush
  /// Expo: clear the rush (`POST /kds/tickets/:id/rush {"rush":false}`).
  case unrush
  /// Expo: hand the order over (`POST /kds/orders/:orderId/serve`): every
  /// ticket of the order becomes SERVED.
  case serve
  /// Expo: fire a held course (`POST /kds/orders/:orderId/fire-course`).
  case fireCourse = "fire-course"

  /// The last path component of the request for this action.
  public var pathSuffix: String {
    switch self {
    case .bump: "mark-ready"
    case .start: "start"
    case .recall: "recall"
    case .markDone: "mark-done"
    case .markUndone: "mark-undone"
    case .rush, .unrush: "rush"
    case .serve: "serve"
    case .fireCourse: "fire-course"
    }
  }

  /// Whether the action is an extension that a seed-only server may lack.
  public var isExtension: Bool { self != .bump }

  /// An item mark: it carries the line's id (`QueuedOperation.itemId`).
  public var isItemMark: Bool { self == .markDone || self == .markUndone }

  /// Acts on every ticket of an order (`QueuedOperation.orderId`), not one ticket.
  public var isOrderLevel: Bool {
    switch self {
    case .serve, .fireCourse, .rush, .unrush: true
    default: false
    }
  }

  /// The request goes to `/kds/orders/:orderId/...` rather than `/kds/tickets/:id/...`.
  public var isOrderRoute: Bool { self == .serve || self == .fireCourse }
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
/// Issue 14: `HELD` → `QUEUED` (fire course), `READY` → `SERVED` (serve); item
/// marks need a ticket being cooked and leave its status alone; rush leaves
/// the status alone on any ticket still in the kitchen.
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
    case (.queued, .markDone), (.inProgress, .markDone), (.queued, .markUndone),
      (.inProgress, .markUndone):
      .noChange
    case (.queued, .rush), (.inProgress, .rush), (.ready, .rush), (.held, .rush),
      (.queued, .unrush), (.inProgress, .unrush), (.ready, .unrush), (.held, .unrush):
      .noChange
    case (.ready, .serve): .change(to: .served)
    case (.served, .serve): .noChange
    case (.held, .fireCourse): .change(to: .queued)
    case (.queued, .fireCourse), (.inProgress, .fireCourse), (.ready, .fireCourse):
      .noChange
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
