/// One station's part of an order as the expo screen shows it (issue 14): one
/// ticket of the order (an order has one ticket per station and course).
public struct ExpoPart: Hashable, Sendable, Identifiable {
  /// The ticket of this part (the expo's "send back" recalls it).
  public var ticketId: String
  public var station: String
  /// The ticket's status as the expo screen shows it (optimistic operations applied).
  public var status: TicketStatus
  /// The course the ticket carries, if the order has courses.
  public var course: Int?
  public var items: [TicketItem]
  /// When the ticket was sent to its station (a fired course: the fire time).
  public var sentAt: Timestamp

  public init(
    ticketId: String, station: String, status: TicketStatus, course: Int? = nil,
    items: [TicketItem], sentAt: Timestamp
  ) {
    self.ticketId = ticketId
    self.station = station
    self.status = status
    self.course = course
    self.items = items
    self.sentAt = sentAt
  }

  public var id: String { ticketId }
  /// The station bumped it: the expo may hand it over.
  public var isReady: Bool { status == .ready }
  /// A later course waiting to be fired.
  public var isHeld: Bool { status == .held }
}

/// An order as the expo screen shows it (issue 14): one card, each station's
/// part with its state, and whether the whole order is ready to serve.
///
/// On an expo snapshot (`BoardSnapshot.isExpo`), `BoardSnapshot.selectedTicketId`
/// holds the selected order's `orderId`, and `selectedItemIndex` the
/// highlighted part (an index into `parts`) that "send back" acts on.
public struct ExpoOrder: Hashable, Sendable, Identifiable {
  public var orderId: String
  /// The number a chef calls out (the first part's `displayNumber`).
  public var orderNumber: String
  public var tableName: String?
  public var isRush: Bool
  /// The earliest `sentAt` of its fired parts, else of all (the order's age on the expo).
  public var sentAt: Timestamp
  /// The order's tickets by station name, then course, then ticket id.
  /// CANCELLED parts are listed (drawn struck) but do not count for `allReady`.
  public var parts: [ExpoPart]

  public init(
    orderId: String, orderNumber: String, tableName: String?, isRush: Bool,
    sentAt: Timestamp, parts: [ExpoPart]
  ) {
    self.orderId = orderId
    self.orderNumber = orderNumber
    self.tableName = tableName
    self.isRush = isRush
    self.sentAt = sentAt
    self.parts = parts
  }

  public var id: String { orderId }

  /// Every part that is not CANCELLED is READY (and there is one): the expo may
  /// serve it.
  public var allReady: Bool {
    let live = parts.filter { $0.status != .cancelled }
    return !live.isEmpty && live.allSatisfy(\.isReady)
  }

  /// Parts ready / parts counted (CANCELLED not counted): "2/3 ready".
  public var readyCount: (ready: Int, total: Int) {
    let live = parts.filter { $0.status != .cancelled }
    return (live.filter(\.isReady).count, live.count)
  }
}

/// The expo board: pure functions from the tickets to the orders the expo
/// screen shows.
public enum ExpoBoard {
  /// The statuses a ticket of an order on the expo screen may have; an order
  /// is shown while one of its tickets is QUEUED, IN_PROGRESS, READY or HELD.
  public static func isShown(_ status: TicketStatus) -> Bool {
    switch status {
    case .queued, .inProgress, .ready, .held: true
    case .cancelled, .served, .unknown: false
    }
  }

  /// Groups tickets by order: rush orders first, then the oldest (`sentAt`),
  /// then by order id. SERVED and unknown-status tickets are left out; an
  /// order with no part QUEUED, IN_PROGRESS, READY or HELD is not shown.
  public static func orders(from tickets: some Sequence<Ticket>) -> [ExpoOrder] {
    var byOrder: [String: [Ticket]] = [:]
    for t in tickets {
      switch t.status {
      case .served, .unknown: continue
      default: byOrder[t.orderId, default: []].append(t)
      }
    }
    var orders: [ExpoOrder] = []
    for (orderId, group) in byOrder where group.contains(where: { isShown($0.status) }) {
      let sorted = group.sorted {
        ($0.station, $0.course ?? 0, $0.id) < ($1.station, $1.course ?? 0, $1.id)
      }
      let first = group.min { ($0.sentAt, $0.id) < ($1.sentAt, $1.id) }!
      // The order's age runs from its first fired part (a held course has no clock yet).
      let fired = group.filter { $0.status != .held && $0.status != .cancelled }
      let sentAt = fired.map(\.sentAt).min() ?? first.sentAt
      orders.append(
        ExpoOrder(
          orderId: orderId, orderNumber: first.displayNumber,
          tableName: group.lazy.compactMap(\.tableName).first { $0.contains { !$0.isWhitespace } },
          isRush: group.contains(where: \.isRush), sentAt: sentAt,
          parts: sorted.map {
            ExpoPart(
              ticketId: $0.id, station: $0.station, status: $0.status, course: $0.course,
              items: $0.items, sentAt: $0.sentAt)
          }))
    }
    orders.sort {
      if $0.isRush != $1.isRush { return $0.isRush }
      return ($0.sentAt, $0.orderId) < ($1.sentAt, $1.orderId)
    }
    return orders
  }
}
