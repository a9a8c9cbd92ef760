import KDSCore
import KDSGeometry
import KDSRender

/// The screen's two frames: the renderer's upright (logical) picture and the
/// panel's pixels as mounted (screen pixels: what a finger touches and what
/// `kdsctl status --json` and `kdsctl input tap` speak).
extension ScreenPresenter {
  /// How the picture is turned on its way to the panel.
  public var rotation: Rotation {
    switch output {
    case .display(let d): d.info.rotation
    case .snapshot(_, _, _, let rotation): rotation
    }
  }

  /// The panel's size in screen pixels.
  public var panelSize: Size {
    switch output {
    case .display(let d): d.info.physicalSize
    case .snapshot(_, let w, let h, _): Size(width: w, height: h)
    }
  }

  /// The renderer's pixel under screen pixel (x, y); nil outside the panel.
  public func logicalPoint(screenX x: Int, screenY y: Int) -> (x: Int, y: Int)? {
    let p = panelSize
    guard x >= 0, y >= 0, x < p.width, y < p.height else { return nil }
    return rotation.logicalPoint(physicalX: x, physicalY: y, physical: p)
  }

  /// A renderer rectangle in screen pixels.
  public func screenRect(_ logical: Rect) -> Rect {
    rotation.physicalRect(logical, physical: panelSize)
  }

  /// The cards on the page shown, one per ticket (its first card there), in
  /// screen pixels, for `kdsctl status --json`.
  public func cardStatuses(marks: (String) -> [String]) -> [CardStatus] {
    let layout = renderer.layout
    var seen = Set<String>()
    var cards: [CardStatus] = []
    for f in layout.visibleFragments where seen.insert(f.ticketId).inserted {
      let r = screenRect(f.rect)
      let ticket = layout.tickets[f.ticketIndex]
      cards.append(
        CardStatus(
          id: f.ticketId, orderNumber: cardNumber(ticket), x: r.x, y: r.y, width: r.width,
          height: r.height, marks: marks(f.ticketId)))
    }
    return cards
  }

  /// The tickets on each page of the last layout, in reading order (a
  /// ticket whose cards span two pages is on both).
  public static func pages(of layout: BoardLayout) -> BoardPages {
    var pages = [[String]](repeating: [], count: layout.pageCount)
    for f in layout.fragments where pages.indices.contains(f.page) {
      if pages[f.page].last != f.ticketId && !pages[f.page].contains(f.ticketId) {
        pages[f.page].append(f.ticketId)
      }
    }
    return BoardPages(pages: pages)
  }
}
