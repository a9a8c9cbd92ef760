import KDSCore
import Testing

/// Keys act on what is shown (issue 11): the page rules of the selection.
@Suite struct PageRulesTests {
  /// Page 1: A B C; page 2: C (continued) D E; page 3: F.
  let pages = BoardPages(pages: [["A", "B", "C"], ["C", "D", "E"], ["F"]])

  @Test func aKeyActsOnThePageShown() {
    // Nothing selected: the first card of the page shown, not the oldest ticket.
    #expect(KitchenSelection.target(selected: nil, page: 1, pages: pages) == "C")
    #expect(KitchenSelection.target(selected: nil, page: 2, pages: pages) == "F")
    // A selection on another page does not count.
    #expect(KitchenSelection.target(selected: "A", page: 2, pages: pages) == "F")
    #expect(KitchenSelection.target(selected: "E", page: 1, pages: pages) == "E")
    #expect(KitchenSelection.target(selected: nil, page: 0, pages: BoardPages(pages: [])) == nil)
  }

  @Test func movingPastThePageEdgeTurnsThePage() {
    #expect(KitchenSelection.moved(by: 1, selected: "B", page: 0, pages: pages) == ("C", 0))
    // Past the last card: the next page's first card the cook has not seen
    // (C continues onto page 2, so D).
    #expect(KitchenSelection.moved(by: 1, selected: "C", page: 0, pages: pages) == ("D", 1))
    #expect(KitchenSelection.moved(by: 1, selected: "E", page: 1, pages: pages) == ("F", 2))
    // At the board's end it stays.
    #expect(KitchenSelection.moved(by: 1, selected: "F", page: 2, pages: pages) == ("F", 2))
    // Backward past the first card: the previous page's last other card.
    #expect(KitchenSelection.moved(by: -1, selected: "F", page: 2, pages: pages) == ("E", 1))
    #expect(KitchenSelection.moved(by: -1, selected: "C", page: 1, pages: pages) == ("B", 0))
    #expect(KitchenSelection.moved(by: -1, selected: "A", page: 0, pages: pages) == ("A", 0))
  }

  @Test func withNothingSelectedOnThePageTheMoveStaysOnIt() {
    #expect(KitchenSelection.moved(by: 1, selected: nil, page: 1, pages: pages) == ("C", 1))
    #expect(KitchenSelection.moved(by: -1, selected: nil, page: 1, pages: pages) == ("E", 1))
    // A selection left on another page: the move starts on the page shown.
    #expect(KitchenSelection.moved(by: 1, selected: "A", page: 2, pages: pages) == ("F", 2))
    // A page past the end (tickets bumped meanwhile) is clamped.
    #expect(KitchenSelection.moved(by: 1, selected: nil, page: 7, pages: pages) == ("F", 2))
  }

  @Test func turningThePageMovesTheSelectionOntoIt() {
    #expect(KitchenSelection.turned(to: 1, selected: "A", pages: pages) == ("C", 1))
    // A ticket on both pages keeps its selection.
    #expect(KitchenSelection.turned(to: 1, selected: "C", pages: pages) == ("C", 1))
    // No selection stays none; the page is clamped.
    #expect(KitchenSelection.turned(to: 5, selected: nil, pages: pages) == (nil, 2))
    #expect(KitchenSelection.turned(to: -1, selected: "F", pages: pages) == ("A", 0))
  }

  @Test func headlessPagesAreTheBoardOrderInChunks() {
    let p = BoardPages.chunked(["1", "2", "3", "4", "5"], pageSize: 2)
    #expect(p.pages == [["1", "2"], ["3", "4"], ["5"]])
    #expect(p.count == 3)
    #expect(p.page(of: "4") == 1)
    #expect(p.page(of: "9") == nil)
    #expect(BoardPages.chunked([], pageSize: 8).count == 1)
    #expect(BoardPages.chunked(["1"], pageSize: 0).pages == [["1"]])
  }
}
