import KDSCore
import Testing

private func ts(_ s: Int64) -> Timestamp { Timestamp(seconds: 1_764_000_000 + s) }

private func ticket(
  _ id: String, status: TicketStatus = .queued, items: [TicketItem]
) -> Ticket {
  Ticket(
    id: id, orderId: "o-\(id)", orderNumber: id, station: "grill", status: status,
    sentAt: ts(0), updatedAt: ts(0), items: items)
}

@Suite struct AllDayCountsTests {
  @Test func sumsDishesOverTicketsLargestFirstWithModifierSets() {
    let groups = AllDayCounts.compute(tickets: [
      ticket(
        "1",
        items: [
          TicketItem(name: "Beef burger", quantity: 2, modifiers: ["no onion"]),
          TicketItem(name: "Fries", quantity: 1),
        ]),
      ticket(
        "2", status: .inProgress,
        items: [
          TicketItem(name: "beef burger ", quantity: 3),
          TicketItem(name: "Beef burger", quantity: 1, modifiers: ["extra cheese", "No onion"]),
          TicketItem(name: "Beef burger", quantity: 1, modifiers: ["No onion", "extra cheese"]),
        ]),
      ticket("3", items: [TicketItem(name: "Beef burger", quantity: 1, modifiers: ["no onion"])]),
    ])
    #expect(groups.map(\.name) == ["Beef burger", "Fries"])
    #expect(groups.map(\.quantity) == [8, 1])
    // Modifier sets: same set in any order and case is one set; largest first.
    #expect(groups[0].variants.map(\.quantity) == [3, 2])
    #expect(groups[0].variants.map(\.label) == ["no onion", "extra cheese, No onion"])
    #expect(groups[1].variants.isEmpty)
  }

  @Test func leavesOutDoneLinesAndTicketsThatAreNotOpen() {
    let done = Timestamp(seconds: 1_764_000_100)
    let groups = AllDayCounts.compute(tickets: [
      ticket(
        "open",
        items: [
          TicketItem(name: "Ribeye", quantity: 2),
          TicketItem(name: "Ribeye", quantity: 5, doneAt: done),
        ]),
      ticket("ready", status: .ready, items: [TicketItem(name: "Ribeye", quantity: 7)]),
      ticket("held", status: .held, items: [TicketItem(name: "Ribeye", quantity: 7)]),
      ticket("served", status: .served, items: [TicketItem(name: "Ribeye", quantity: 7)]),
      ticket("void", status: .cancelled, items: [TicketItem(name: "Ribeye", quantity: 7)]),
      ticket("odd", status: .unknown("PARKED"), items: [TicketItem(name: "Ribeye", quantity: 7)]),
      ticket("all-done", items: [TicketItem(name: "Soup", quantity: 4, doneAt: done)]),
    ])
    #expect(groups == [AllDayGroup(name: "Ribeye", quantity: 2, variants: [])])
  }

  @Test func tiesAreByNameAndEmptyBoardIsEmpty() {
    #expect(AllDayCounts.compute(tickets: []).isEmpty)
    let groups = AllDayCounts.compute(tickets: [
      ticket(
        "1",
        items: [
          TicketItem(name: "Wings", quantity: 2), TicketItem(name: "Chips", quantity: 2),
          TicketItem(name: "  ", quantity: 9),
        ])
    ])
    #expect(groups.map(\.name) == ["Chips", "Wings"])
  }
}
