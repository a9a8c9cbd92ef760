import KDSCore
import Testing

private func ts(_ s: Int64) -> Timestamp { Timestamp(seconds: 1_764_000_000 + s) }

private func ticket(_ id: String, _ status: TicketStatus, station: String = "grill") -> Ticket {
  Ticket(
    id: id, orderId: "o-\(id)", station: station, status: status, sentAt: ts(0),
    updatedAt: ts(0), items: [TicketItem(name: "Burger", quantity: 1)])
}

private func op(
  _ id: String, seq: Int64, ticket: String, kind: TicketAction,
  state: OperationState = .pending
) -> QueuedOperation {
  QueuedOperation(
    id: id, seq: seq, kind: kind, ticketId: ticket, createdAt: ts(0), state: state)
}

private func board(
  _ tickets: [Ticket], ops: [QueuedOperation] = [], disabled: Set<TicketAction> = [],
  maxOutstanding: Int = 100
) -> KitchenBoardState {
  KitchenBoardState(
    station: "grill", tickets: Dictionary(uniqueKeysWithValues: tickets.map { ($0.id, $0) }),
    operations: ops, disabledActions: disabled, maxOutstanding: maxOutstanding)
}

/// The kitchen's rules without a store, a network or a clock.
@Suite struct KitchenRulesTests {
  @Test func actionsFollowTheStatusTheScreenShows() {
    let b = board(
      [ticket("Q", .queued), ticket("P", .inProgress), ticket("R", .ready)],
      ops: [op("1", seq: 1, ticket: "P", kind: .bump)])
    #expect(b.decide(.bump, ticketId: "Q") == .success(.enqueue(from: .queued, to: .ready)))
    #expect(b.decide(.start, ticketId: "Q") == .success(.enqueue(from: .queued, to: .inProgress)))
    // P's pending bump already shows it ready: a second bump does nothing, a recall may.
    #expect(b.shownStatus(of: "P") == .ready)
    #expect(b.decide(.bump, ticketId: "P") == .success(.unchanged(.ready)))
    #expect(b.decide(.recall, ticketId: "P") == .success(.enqueue(from: .ready, to: .inProgress)))
    #expect(b.decide(.start, ticketId: "R").failureKind == .notAllowed)
    #expect(
      b.decide(.start, ticketId: "R").failureMessage == "cannot start ticket R: it is READY")
  }

  @Test func failedOperationsDoNotMoveTheTicket() {
    let b = board(
      [ticket("Q", .queued)], ops: [op("1", seq: 1, ticket: "Q", kind: .bump, state: .failed)])
    #expect(b.shownStatus(of: "Q") == .queued)
    #expect(b.decide(.bump, ticketId: "Q") == .success(.enqueue(from: .queued, to: .ready)))
  }

  @Test func unknownOtherStationAndDisabledAreRefused() {
    let b = board(
      [ticket("Q", .queued), ticket("X", .queued, station: "fry")], disabled: [.start])
    #expect(b.decide(.bump, ticketId: "NOPE").failureKind == .unknownTicket)
    #expect(b.decide(.bump, ticketId: "X").failureMessage == "no ticket X on this screen")
    #expect(b.decide(.start, ticketId: "Q").failureKind == .unavailable)
    #expect(
      b.decide(.start, ticketId: "Q").failureMessage
        == "start is not available: the server does not support it")
    #expect(b.decide(.bump, ticketId: "Q") == .success(.enqueue(from: .queued, to: .ready)))
  }

  @Test func recallTakesTheLastBumpStillReady() {
    let b = board(
      [ticket("A", .ready), ticket("B", .queued), ticket("C", .queued)],
      ops: [op("1", seq: 1, ticket: "C", kind: .bump)])
    // Most recent first: B was recalled (not ready), C's bump is pending (shown ready).
    #expect(b.recallTarget(recentlyBumped: ["B", "C", "A"]) == .success("C"))
    #expect(b.recallTarget(recentlyBumped: ["B"]).failureMessage == "nothing to recall")
    let disabled = board([ticket("A", .ready)], disabled: [.recall])
    #expect(disabled.recallTarget(recentlyBumped: ["A"]).failureKind == .unavailable)
  }

  @Test func retryNeedsRoomInTheQueue() {
    let ops = (0..<3).map { op("\($0)", seq: Int64($0), ticket: "Q", kind: .start) }
    #expect(board([ticket("Q", .queued)], ops: ops, maxOutstanding: 3).isQueueFull)
    #expect(
      board([ticket("Q", .queued)], ops: ops, maxOutstanding: 3).mayRetry().failureKind
        == .queueFull)
    #expect(
      (try? board([ticket("Q", .queued)], ops: ops, maxOutstanding: 4).mayRetry().get()) != nil)
  }

  @Test func anAcknowledgementWithoutATicketMovesTheCachedOne() {
    #expect(KitchenBoardState.acknowledgedStatus(after: .bump, cached: .inProgress) == .ready)
    #expect(KitchenBoardState.acknowledgedStatus(after: .recall, cached: .ready) == .inProgress)
    #expect(KitchenBoardState.acknowledgedStatus(after: .bump, cached: .ready) == nil)
    #expect(KitchenBoardState.acknowledgedStatus(after: .start, cached: .cancelled) == nil)
  }

  @Test func actionResultsSayWhatHappened() {
    let queued = ActionResult.queued(op("01ABC", seq: 1, ticket: "T1", kind: .bump))
    #expect(queued.message == "queued bump 01ABC for ticket T1")
    #expect(ActionResult.unchanged(.ready).message == "nothing to do: the ticket is READY")
  }
}

@Suite struct KitchenSelectionTests {
  let shown = ["A", "B", "C"].map { ticket($0, .queued) }

  @Test func bumpMovesTheSelectionToTheNextCard() {
    #expect(KitchenSelection.afterRemoving("B", selected: "B", shown: shown) == "C")
    #expect(KitchenSelection.afterRemoving("C", selected: "C", shown: shown) == "B")
    #expect(KitchenSelection.afterRemoving("A", selected: nil, shown: shown) == "B")
    // A selection elsewhere stays where it is.
    #expect(KitchenSelection.afterRemoving("A", selected: "C", shown: shown) == "C")
    #expect(KitchenSelection.afterRemoving("A", selected: "A", shown: [shown[0]]) == nil)
  }

  @Test func movingAndTargets() {
    let one = BoardPages(pages: [["A", "B", "C"]])
    #expect(KitchenSelection.moved(by: 1, selected: nil, page: 0, pages: one) == ("A", 0))
    #expect(KitchenSelection.moved(by: -1, selected: nil, page: 0, pages: one) == ("C", 0))
    #expect(KitchenSelection.moved(by: 1, selected: "C", page: 0, pages: one) == ("C", 0))
    #expect(KitchenSelection.moved(by: -1, selected: "B", page: 0, pages: one) == ("A", 0))
    #expect(
      KitchenSelection.moved(by: 1, selected: "A", page: 0, pages: BoardPages(pages: []))
        == (nil, 0))
    #expect(KitchenSelection.target(selected: nil, page: 0, pages: one) == "A")
    #expect(KitchenSelection.target(selected: "C", page: 0, pages: one) == "C")
    #expect(KitchenSelection.kept("Z", shown: shown) == nil)
    #expect(KitchenSelection.kept("B", shown: shown) == "B")
  }

  @Test func pagesStopAtTheLast() {
    #expect(KitchenSelection.nextPage(after: 0, pageCount: nil) == 1)
    #expect(KitchenSelection.nextPage(after: 1, pageCount: 2) == 1)
    #expect(KitchenSelection.nextPage(after: 0, pageCount: 2) == 1)
    #expect(KitchenSelection.nextPage(after: 0, pageCount: 0) == 0)
  }
}

extension Result where Failure == ActionError {
  fileprivate var failureKind: ActionError.Kind? {
    if case .failure(let e) = self { return e.kind }
    return nil
  }
  fileprivate var failureMessage: String? {
    if case .failure(let e) = self { return e.message }
    return nil
  }
}
