import Foundation
import KDSCore
import Testing

private func ts(_ s: Int64) -> Timestamp { Timestamp(seconds: 1_764_000_000 + s) }

private func ticket(
  _ id: String, order: String? = nil, number: String = "1042", status: TicketStatus = .queued,
  updated: Int64 = 0, items: [TicketItem] = [TicketItem(id: "it-1", name: "Burger", quantity: 1)]
) -> Ticket {
  Ticket(
    id: id, orderId: order ?? "o-\(id)", orderNumber: number, station: "grill", status: status,
    sentAt: ts(0), updatedAt: ts(updated), items: items)
}

private func cache(_ ts: [Ticket]) -> [String: Ticket] {
  Dictionary(uniqueKeysWithValues: ts.map { ($0.id, $0) })
}

@Suite struct CardMarkerTests {
  /// A marker whose baseline (the board at start-up) is `tickets`.
  func started(with tickets: [Ticket], settings: CardMarker.Settings = .init()) -> CardMarker {
    var m = CardMarker(settings: settings)
    m.observe(active: tickets, cache: cache(tickets), serverNow: ts(0), now: 0, baseline: true)
    m.observe(active: tickets, cache: cache(tickets), serverNow: ts(0), now: 0)
    return m
  }

  @Test func ticketsPresentAtStartUpAreNotNew() {
    let a = ticket("a")
    var m = CardMarker()
    m.observe(active: [a], cache: cache([a]), serverNow: ts(0), now: 0, baseline: true)
    #expect(m.marks(at: 0).isEmpty)
    // The first sync's tickets are the baseline too.
    let b = ticket("b", number: "1043")
    m.observe(active: [a, b], cache: cache([a, b]), serverNow: ts(1), now: 1_000)
    #expect(m.marks(at: 1_000).isEmpty)
  }

  @Test func newTicketIsNewAndPulsesForThreeSeconds() {
    var m = started(with: [ticket("a")])
    let b = ticket("b", number: "1043")
    m.observe(
      active: [ticket("a"), b], cache: cache([ticket("a"), b]), serverNow: ts(5), now: 5_000)
    let marks = m.marks(at: 5_000)
    #expect(marks["b"]?.isNew == true)
    #expect(marks["b"]?.pulseStartMillis == 5_000)
    #expect(marks["a"] == nil)
    #expect(m.isPulsing(at: 7_999))
    #expect(!m.isPulsing(at: 8_000))
    #expect(m.marks(at: 8_000)["b"]?.pulseStartMillis == nil)
    #expect(m.marks(at: 8_000)["b"]?.isNew == true)
    // NEW lasts 60 s unless touched.
    m.expire(now: 65_000)
    #expect(m.marks(at: 65_000)["b"] == nil)
  }

  @Test func recalledHereIsNotNew() {
    var m = started(with: [])
    let b = ticket("b", status: .inProgress)
    m.observe(active: [b], cache: cache([b]), serverNow: ts(5), now: 5_000, actedOn: ["b"])
    #expect(m.marks(at: 5_000).isEmpty)
  }

  @Test func touchClearsNew() {
    var m = started(with: [])
    let b = ticket("b")
    m.observe(active: [b], cache: cache([b]), serverNow: ts(5), now: 5_000)
    m.touch("b")
    #expect(m.marks(at: 5_001).isEmpty)
  }

  @Test func badgeAndOffSettings() {
    var settings = CardMarker.Settings()
    settings.newTicketAlert = .badge
    var m = started(with: [], settings: settings)
    let b = ticket("b")
    m.observe(active: [b], cache: cache([b]), serverNow: ts(5), now: 5_000)
    #expect(m.marks(at: 5_000)["b"]?.isNew == true)
    #expect(m.marks(at: 5_000)["b"]?.pulseStartMillis == nil)
    #expect(!m.isPulsing(at: 5_000))
    settings.newTicketAlert = .off
    m.settings = settings
    #expect(m.marks(at: 5_000)["b"] == nil)
  }

  @Test func cancelledTicketOnScreenIsVoidUntilAcknowledged() {
    let a = ticket("a")
    var m = started(with: [a])
    let cancelled = ticket("a", status: .cancelled, updated: 90)
    m.observe(active: [], cache: cache([cancelled]), serverNow: ts(95), now: 10_000)
    #expect(m.marks(at: 10_000)["a"]?.voidedAt == ts(90))
    // The card keeps the ticket as it was shown.
    #expect(m.voidedTickets(at: 10_000).map(\.status) == [.queued])
    let acknowledged = m.acknowledgeVoid("a")
    #expect(acknowledged)
    #expect(m.marks(at: 10_001).isEmpty)
    #expect(m.voidedTickets(at: 10_001).isEmpty)
    let again = m.acknowledgeVoid("a")
    #expect(!again)
  }

  @Test func voidLeavesAfterSixtySeconds() {
    let a = ticket("a")
    var m = started(with: [a])
    m.observe(active: [], cache: [:], serverNow: ts(100), now: 10_000)  // gone from a full resync
    #expect(m.marks(at: 69_999)["a"]?.voidedAt == ts(100))
    #expect(m.marks(at: 70_000)["a"] == nil)
    #expect(m.voidedTickets(at: 70_000).isEmpty)
  }

  @Test func bumpedOrReadyElsewhereIsNotVoid() {
    let a = ticket("a")
    var m = started(with: [a])
    m.observe(
      active: [], cache: cache([ticket("a", status: .ready)]), serverNow: ts(5), now: 5_000)
    #expect(m.marks(at: 5_000).isEmpty)
    // Bumped here: still QUEUED in the cache, gone from the board: not a void.
    let b = ticket("b")
    var m2 = started(with: [b])
    m2.observe(active: [], cache: cache([b]), serverNow: ts(5), now: 5_000)
    #expect(m2.marks(at: 5_000).isEmpty)
    // Bumped here and voided before the next look: its failure tells, not a VOID.
    let c = ticket("c")
    var m3 = started(with: [c])
    m3.observe(
      active: [], cache: cache([ticket("c", status: .cancelled)]), serverNow: ts(5), now: 5_000,
      actedOn: ["c"])
    #expect(m3.marks(at: 5_000).isEmpty)
  }

  @Test func secondTicketOfAnOrderOnScreenIsAdded() {
    let first = ticket("a", order: "o-1", number: "1042")
    var m = started(with: [first])
    let second = ticket("b", order: "o-1", number: "1042")
    let other = ticket("c", order: "o-2", number: "1050")
    m.observe(
      active: [first, second, other], cache: cache([first, second, other]), serverNow: ts(5),
      now: 5_000)
    let marks = m.marks(at: 5_000)
    #expect(marks["b"]?.addedTo == "#1042")
    #expect(marks["b"]?.isNew == true)
    #expect(marks["c"]?.addedTo == nil)
    #expect(marks["a"] == nil)
  }

  @Test func changedItemsAreMarkedWithTheirLinesUntilTouched() {
    let items = [
      TicketItem(id: "it-1", name: "Burger", quantity: 1),
      TicketItem(id: "it-2", name: "Fries", quantity: 1),
    ]
    let a = ticket("a", items: items)
    var m = started(with: [a])
    var changedItems = items
    changedItems[1].quantity = 2
    changedItems.append(TicketItem(id: "it-3", name: "Salad", quantity: 1))
    let a2 = ticket("a", updated: 10, items: changedItems)
    m.observe(active: [a2], cache: cache([a2]), serverNow: ts(10), now: 10_000)
    #expect(m.marks(at: 10_000)["a"]?.changedLines == [1, 2])
    #expect(m.marks(at: 10_000)["a"]?.names == ["CHANGED"])
    // Stays (no time limit) until the card is touched.
    m.expire(now: 500_000)
    #expect(m.marks(at: 500_000)["a"]?.changedLines == [1, 2])
    m.touch("a")
    #expect(m.marks(at: 500_000).isEmpty)
  }

  @Test func changedLinesByPositionWithoutIds() {
    let old = [TicketItem(name: "A", quantity: 1), TicketItem(name: "B", quantity: 1)]
    var new = old
    new[0].modifiers = ["no onion"]
    #expect(CardMarker.changedLines(from: old, to: new) == [0])
    #expect(CardMarker.changedLines(from: old, to: old).isEmpty)
    #expect(CardMarker.changedLines(from: old, to: [old[0]]) == [-1])
  }

  @Test func kitchenClockFormatsLocalTime() {
    let t = Timestamp(iso8601: "2025-11-21T12:31:40Z")!
    #expect(kitchenClock(t, utcOffsetSeconds: 0) == "12:31")
    #expect(kitchenClock(t, utcOffsetSeconds: 3_600) == "13:31")
    #expect(kitchenClock(t, utcOffsetSeconds: -13 * 3_600) == "23:31")
  }
}

@Suite struct AllergenListTests {
  @Test func wholeWordsAnyCasePlurals() {
    let l = AllergenList.standard
    #expect(l.matches("allergy: peanuts"))
    #expect(l.matches("PEANUT"))
    #expect(l.matches("no eggs please"))
    #expect(l.matches("gluten-free bun"))
    #expect(l.matches("Tree nuts!"))
    #expect(l.matches("shellfish"))
    #expect(l.matches("contains sulphur dioxide"))
    #expect(!l.matches("nutmeg on top"))
    #expect(!l.matches("extra cheese"))
    #expect(!l.matches("milkshake"))
    #expect(!l.matches(""))
  }

  @Test func modifiersAndNotes() {
    let l = AllergenList.standard
    let item = TicketItem(name: "Burger", quantity: 1, modifiers: ["no onion", "sesame bun"])
    #expect(l.matchingModifiers(of: item) == [1])
    #expect(!l.matchesNotes(of: item))
    let t = Ticket(
      id: "t", orderId: "o", station: "grill", status: .queued, sentAt: ts(0), updatedAt: ts(0),
      items: [item])
    #expect(l.matches(t))
  }

  @Test func configuredList() throws {
    var c = KioskConfiguration()
    try c.apply(text: "allergens = quinoa, tree nut\nallergen_check = on\n", fileName: "kds.txt")
    #expect(c.allergens.words == ["quinoa", "tree nut"])
    #expect(c.allergens.matches("Quinoas"))
    #expect(!c.allergens.matches("peanut"))
    #expect(c.allergenCheck)
    try c.apply(text: "allergens = default, quinoa\n", fileName: "kds.txt")
    #expect(c.allergens.matches("peanut") && c.allergens.matches("quinoa"))
  }

  @Test func badValuesNameFileAndLine() {
    var c = KioskConfiguration()
    #expect(throws: ConfigError.self) {
      try c.apply(text: "station = grill\nnew_ticket_alert = flash\n", fileName: "kds.txt")
    }
    do {
      try c.apply(text: "\n\nallergens = peanut, , soy\n", fileName: "kds.txt")
      Issue.record("an empty entry was accepted")
    } catch {
      #expect(error.description.hasPrefix("kds.txt:3: allergens: entry 2 is empty"))
    }
    do {
      try c.apply(text: "allergen_check = maybe\n", fileName: "kiosk.conf")
      Issue.record("a bad allergen_check was accepted")
    } catch {
      #expect(error.description.hasPrefix("kiosk.conf:1: allergen_check = `maybe`"))
    }
    do {
      try c.apply(text: "allergens = pea;nut\n", fileName: "kds.txt")
      Issue.record("a bad allergen was accepted")
    } catch {
      #expect(error.description.contains("only letters, digits, spaces and hyphens"))
    }
    try? c.apply(text: "new_ticket_alert = badge\n", fileName: "kds.txt")
    #expect(c.newTicketAlert == .badge)
  }
}
