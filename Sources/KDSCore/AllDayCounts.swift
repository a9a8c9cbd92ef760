/// One modifier set of an all-day group: "(no onion ×3)".
public struct AllDayVariant: Hashable, Sendable {
  /// The modifiers, trimmed, in the order the first line carrying them gave.
  public var modifiers: [String]
  public var quantity: Int

  public init(modifiers: [String], quantity: Int) {
    self.modifiers = modifiers
    self.quantity = quantity
  }

  /// "no onion, extra cheese".
  public var label: String { modifiers.joined(separator: ", ") }
}

/// One dish of the all-day counts: "Beef burger ×14", with its modifier sets.
public struct AllDayGroup: Hashable, Sendable {
  /// The dish as the first open line names it (trimmed).
  public var name: String
  /// Every open portion of it on the station.
  public var quantity: Int
  /// The portions with modifiers, by modifier set, largest first; portions
  /// without modifiers are in `quantity` only.
  public var variants: [AllDayVariant]

  public init(name: String, quantity: Int, variants: [AllDayVariant]) {
    self.name = name
    self.quantity = quantity
    self.variants = variants
  }
}

/// The all-day counts (issue 14): what is still to cook on a station, summed
/// over its open tickets, so a cook can drop fourteen burgers at once.
public enum AllDayCounts {
  /// The open portions of `tickets` by dish, largest first (then by name).
  /// Counted: lines not marked done, of tickets QUEUED or IN_PROGRESS; READY,
  /// HELD, SERVED, CANCELLED and unknown statuses are left out. Dishes are
  /// the same when their names match ignoring case and surrounding spaces;
  /// modifier sets are the same when they hold the same modifiers in any order.
  public static func compute(tickets: some Sequence<Ticket>) -> [AllDayGroup] {
    var groups: [String: Acc] = [:]
    var seen = 0
    for ticket in tickets where ticket.status.isActive {
      for item in ticket.items where !item.isDone {
        let name = trim(item.name)
        guard !name.isEmpty else { continue }
        let key = name.lowercased()
        var acc = groups[key] ?? Acc(name: name, first: seen)
        acc.quantity += item.quantity
        let mods = item.modifiers.map(trim).filter { !$0.isEmpty }
        if !mods.isEmpty {
          let modKey = mods.map { $0.lowercased() }.sorted().joined(separator: "\u{1F}")
          var v = acc.variants[modKey] ?? (mods, 0, seen)
          v.quantity += item.quantity
          acc.variants[modKey] = v
        }
        groups[key] = acc
        seen += 1
      }
    }
    return groups.values.sorted { a, b in
      a.quantity != b.quantity
        ? a.quantity > b.quantity
        : a.name.lowercased() != b.name.lowercased()
          ? a.name.lowercased() < b.name.lowercased() : a.first < b.first
    }.map { acc in
      let variants = acc.variants.values.sorted {
        $0.quantity != $1.quantity ? $0.quantity > $1.quantity : $0.first < $1.first
      }.map { AllDayVariant(modifiers: $0.mods, quantity: $0.quantity) }
      return AllDayGroup(name: acc.name, quantity: acc.quantity, variants: variants)
    }
  }

  private struct Acc {
    var name: String
    var quantity = 0
    var first: Int
    var variants: [String: (mods: [String], quantity: Int, first: Int)] = [:]
  }

  static func trim(_ s: String) -> String {
    var t = Substring(s)
    while let f = t.first, f.isWhitespace { t.removeFirst() }
    while let l = t.last, l.isWhitespace { t.removeLast() }
    return String(t)
  }
}
