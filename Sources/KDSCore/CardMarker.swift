/// How a new ticket announces itself (`new_ticket_alert =` in kiosk.conf).
public enum NewTicketAlert: String, Hashable, Sendable, CaseIterable {
  /// The NEW badge, and the card's header pulses three times over 3 s.
  case pulse
  /// The NEW badge only.
  case badge
  /// Nothing.
  case off
}

/// The marks a cook must see on the cards (issue 11), worked out by comparing
/// the tickets on screen from one look to the next:
///
/// - NEW: a ticket that was not on screen before (not one present at
///   start-up): a badge until the cook touches the card or for `newForMillis`,
///   and with `.pulse` a header pulse of `pulseMillis`.
/// - ADDED: a new ticket of an order already on screen ("#1042 · ADDED"),
///   until touched or `newForMillis`.
/// - CHANGED: a ticket on screen whose items changed, with the changed lines,
///   until touched.
/// - VOID: a ticket on screen that turned CANCELLED, or left the cache (a full
///   resync no longer lists it): kept, for drawing, until acknowledged or for
///   `voidForMillis`.
///
/// Pure: times are monotonic milliseconds given by the caller.
public struct CardMarker: Sendable {
  public struct Settings: Hashable, Sendable {
    public var newTicketAlert: NewTicketAlert = .pulse
    public var newForMillis: Int64 = 60_000
    public var pulseMillis: Int64 = 3_000
    public var voidForMillis: Int64 = 60_000
    public init() {}
  }

  /// A ticket voided while on screen, kept for its VOID card.
  public struct Voided: Hashable, Sendable {
    /// The ticket as last shown (its status as it was on screen).
    public var ticket: Ticket
    /// Server time of the void (the CANCELLED copy's `updatedAt`, or when it
    /// was seen gone).
    public var at: Timestamp
    /// Monotonic time it was marked.
    public var markedAt: Int64
  }

  public var settings: Settings
  /// The tickets on screen at the last look, by id.
  public private(set) var shown: [String: Ticket] = [:]
  /// Arrival time (monotonic) of tickets that arrived while the kiosk ran
  /// (NEW, unless `new_ticket_alert = off`; ADDED for a later ticket of an order).
  public private(set) var newSince: [String: Int64] = [:]
  public private(set) var addedTo: [String: String] = [:]
  public private(set) var changed: [String: Set<Int>] = [:]
  public private(set) var voided: [String: Voided] = [:]
  /// Whether the first look (the baseline: nothing is NEW) was taken.
  public private(set) var hasBaseline = false

  public init(settings: Settings = Settings()) { self.settings = settings }

  /// Takes a look at the board.
  /// - Parameters:
  ///   - active: the tickets the screen shows now (active, after the kiosk's own operations).
  ///   - cache: every cached ticket, by id (to tell a void from a bump elsewhere).
  ///   - serverNow: the server's clock now (a ticket seen gone is voided "now").
  ///   - now: monotonic milliseconds.
  ///   - baseline: true while the kiosk has not yet synced since it started:
  ///     what it shows then is not NEW.
  ///   - actedOn: tickets with an operation of this kiosk not yet done: one
  ///     that leaves the board was bumped here (its failure, if the server
  ///     refuses, says why), not voided under the cook's eyes; one that comes
  ///     back was recalled here, not NEW.
  public mutating func observe(
    active: [Ticket], cache: [String: Ticket], serverNow: Timestamp, now: Int64,
    baseline: Bool = false, actedOn: Set<String> = []
  ) {
    expire(now: now)
    var current: [String: Ticket] = [:]
    for t in active { current[t.id] = t }
    if baseline || !hasBaseline {
      // The board as it stands at start-up (and at the first sync): no marks.
      shown = current
      if !baseline { hasBaseline = true }
      return
    }
    // Orders on screen before this look (their first ticket's number).
    var orders: [String: String] = [:]
    for t in shown.values.sorted(by: { ($0.sentAt, $0.id) < ($1.sentAt, $1.id) })
    where orders[t.orderId] == nil {
      orders[t.orderId] = t.orderNumber.map { "#" + $0 } ?? "#" + t.displayNumber
    }
    for t in active {
      if let before = shown[t.id] {
        let lines = Self.changedLines(from: before.items, to: t.items)
        if !lines.isEmpty { changed[t.id, default: []].formUnion(lines) }
        continue
      }
      if voided[t.id] != nil {
        // Back from the dead (a void undone, a resync that lists it again).
        voided[t.id] = nil
        continue
      }
      // Back on the board by this kiosk's own hand (a recall): not news.
      if actedOn.contains(t.id) { continue }
      if let first = orders[t.orderId] { addedTo[t.id] = first }
      newSince[t.id] = now
    }
    for (id, before) in shown where current[id] == nil && !actedOn.contains(id) {
      let cached = cache[id]
      let at: Timestamp
      switch cached?.status {
      case nil: at = serverNow
      case .cancelled?: at = cached!.updatedAt
      default: continue  // bumped here or elsewhere, recalled: not a void
      }
      voided[id] = Voided(ticket: before, at: at, markedAt: now)
      forget(id)
    }
    for id in Array(newSince.keys) where current[id] == nil { forget(id) }
    shown = current
  }

  /// The cook touched a ticket's card (tapped, selected, acted on): NEW,
  /// ADDED and CHANGED are seen.
  public mutating func touch(_ id: String) {
    forget(id)
  }

  /// Acknowledges a VOID card (a tap, or a bump action on it): it leaves the
  /// screen. False when the ticket is not voided.
  @discardableResult
  public mutating func acknowledgeVoid(_ id: String) -> Bool {
    voided.removeValue(forKey: id) != nil
  }

  /// Drops marks that have run their time.
  public mutating func expire(now: Int64) {
    for (id, v) in voided where now - v.markedAt >= settings.voidForMillis { voided[id] = nil }
    for (id, since) in newSince where now - since >= settings.newForMillis {
      newSince[id] = nil
      addedTo[id] = nil
    }
  }

  mutating func forget(_ id: String) {
    newSince[id] = nil
    addedTo[id] = nil
    changed[id] = nil
  }

  /// The marks per ticket id at `now` (monotonic).
  public func marks(at now: Int64) -> [String: CardMarks] {
    var out: [String: CardMarks] = [:]
    for (id, since) in newSince
    where now - since < settings.newForMillis && settings.newTicketAlert != .off {
      out[id, default: CardMarks()].isNew = true
      if settings.newTicketAlert == .pulse && now - since < settings.pulseMillis {
        out[id, default: CardMarks()].pulseStartMillis = since
      }
    }
    for (id, first) in addedTo { out[id, default: CardMarks()].addedTo = first }
    for (id, lines) in changed { out[id, default: CardMarks()].changedLines = lines }
    for (id, v) in voided where now - v.markedAt < settings.voidForMillis {
      out[id, default: CardMarks()].voidedAt = v.at
    }
    return out
  }

  /// The VOID cards' tickets (to draw though no longer active).
  public func voidedTickets(at now: Int64) -> [Ticket] {
    voided.values.filter { now - $0.markedAt < settings.voidForMillis }.map(\.ticket)
  }

  /// Whether a header pulse is running at `now`.
  public func isPulsing(at now: Int64) -> Bool {
    settings.newTicketAlert == .pulse
      && newSince.values.contains { now - $0 >= 0 && now - $0 < settings.pulseMillis }
  }

  /// When a mark next runs out (so a screen that draws only on change knows
  /// when to draw again), if any.
  public func nextExpiry(after now: Int64) -> Int64? {
    var times: [Int64] = voided.values.map { $0.markedAt + settings.voidForMillis }
    times += newSince.values.map { $0 + settings.newForMillis }
    return times.filter { $0 > now }.min()
  }

  /// The indexes (in `new`) of the items that differ from `old`: matched by
  /// item id where both have one, else by position; added items count.
  public static func changedLines(from old: [TicketItem], to new: [TicketItem]) -> Set<Int> {
    if old == new { return [] }
    var byId: [String: TicketItem] = [:]
    for item in old { if let id = item.id { byId[id] = item } }
    var out = Set<Int>()
    for (i, item) in new.enumerated() {
      let before: TicketItem?
      if let id = item.id, !byId.isEmpty {
        before = byId[id]
      } else {
        before = i < old.count ? old[i] : nil
      }
      if before != item { out.insert(i) }
    }
    // Only removals: mark the card changed all the same (nothing to highlight).
    if out.isEmpty && old.count != new.count { out.insert(-1) }
    return out
  }
}

/// How a kitchen screen shows a server time: "12:31" at `utcOffsetSeconds`.
public func kitchenClock(_ t: Timestamp, utcOffsetSeconds: Int) -> String {
  let secs = t.millis >= 0 ? t.millis / 1000 : (t.millis - 999) / 1000
  let local = secs + Int64(utcOffsetSeconds)
  let day = ((local % 86_400) + 86_400) % 86_400
  let h = day / 3600
  let m = day / 60 % 60
  return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
}
