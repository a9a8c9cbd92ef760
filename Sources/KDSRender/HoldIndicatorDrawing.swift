import KDSCore
import KDSGeometry

#if canImport(Glibc)
  import Glibc
#endif

/// The press-and-hold progress ring (issue 11): while a finger (or `kdsctl
/// input hold`) holds a card, its status chip or its failure line, a ring of
/// dots fills clockwise from twelve o'clock on that part of the card, with
/// what the hold will do written inside ("BUMP", "START", "DISMISS"). Lifting
/// early or sliding off the card removes it; a full ring does the action.
extension BoardRenderer {
  /// The ring's colours: the filled dots by what the hold does, the dots
  /// still to fill, and the disc behind them.
  static let holdBumpColor = Color(rgb: 0x43A047)
  static let holdStartColor = Color(rgb: 0x1E88E5)
  static let holdDismissColor = Color(rgb: 0xFB8C00)
  static let holdTrackColor = Color(rgb: 0x59616D)
  static let holdDiscColor = Color(rgb: 0x15181D)
  static let holdLabelColor = Color(rgb: 0xFFFFFF)
  /// Dots around the ring.
  static let holdDots = 36

  /// Where the ring goes for `hold` on the page shown: its centre and radius,
  /// or nil when the held part is not on this page.
  static func holdRingGeometry(_ hold: HoldIndicator, layout: BoardLayout) -> (
    center: (x: Int, y: Int), radius: Int
  )? {
    let m = layout.metrics
    guard let f = layout.visibleFragments.first(where: { $0.ticketId == hold.ticketId }) else {
      return nil
    }
    let target: Rect
    switch hold.part {
    case .card: target = f.rect
    case .chip:
      guard
        let chip = layout.visibleFragments.lazy.compactMap({ fragment -> Rect? in
          fragment.ticketId == hold.ticketId ? fragment.chipRect : nil
        }).first
      else { return nil }
      target = chip
    case .failure:
      guard
        let strip = layout.visibleFragments.lazy.compactMap({ fragment -> Rect? in
          fragment.ticketId == hold.ticketId ? fragment.retryRect : nil
        }).first
      else { return nil }
      target = strip
    }
    let cardLimit = min(f.rect.width, f.rect.height) / 2 - 2
    let wanted = hold.part == .card ? min(target.width, target.height) / 3 : target.height + m.pad
    let radius = max(12, min(cardLimit, min(wanted, 4 * m.unit)))
    var cx = target.x + target.width / 2
    var cy = target.y + target.height / 2
    // The ring stays on the card (a chip or strip at the card's edge).
    cx = min(max(cx, f.rect.x + radius + 2), f.rect.maxX - radius - 2)
    cy = min(max(cy, f.rect.y + radius + 2), f.rect.maxY - radius - 2)
    return ((cx, cy), radius)
  }

  /// Appends the ring's drawing operations (after the cards, before the banner).
  func holdIndicatorOps(_ ops: inout [DrawOp], _ layout: BoardLayout, _ snap: BoardSnapshot) {
    guard let hold = snap.hold,
      let (center, radius) = Self.holdRingGeometry(hold, layout: layout)
    else { return }
    let m = layout.metrics
    let dot = max(2, radius / 9)
    let ringRadius = radius - dot - 1
    ops.append(.circle(centerX: center.x, centerY: center.y, radius: radius, Self.holdDiscColor))
    let progress = min(1, max(0, hold.progress))
    let filled = Int((progress * Double(Self.holdDots)).rounded(.down))
    let color: Color =
      switch hold.part {
      case .card: Self.holdBumpColor
      case .chip: Self.holdStartColor
      case .failure: Self.holdDismissColor
      }
    for i in 0..<Self.holdDots {
      let angle = Double(i) / Double(Self.holdDots) * 2 * Double.pi
      let dx = Int((Double(ringRadius) * sin(angle)).rounded())
      let dy = Int((-Double(ringRadius) * cos(angle)).rounded())
      ops.append(
        .circle(
          centerX: center.x + dx, centerY: center.y + dy, radius: dot,
          i < filled ? color : Self.holdTrackColor))
    }
    let label =
      switch hold.part {
      case .card: "BUMP"
      case .chip: "START"
      case .failure: "DISMISS"
      }
    let inner = 2 * (ringRadius - dot) - 4
    let s = text.ellipsize(label, m.chip, width: inner)
    guard !s.isEmpty, s == label else { return }
    let run = text.run(s, m.chip)
    let lm = text.metrics(m.chip)
    let baseline = center.y - lm.lineHeight / 2 + lm.ascent
    let clip = Rect(
      x: center.x - radius, y: center.y - radius, width: 2 * radius + 1, height: 2 * radius + 1)
    ops.append(
      .text(run, x: center.x - run.width / 2, baseline: baseline, Self.holdLabelColor, clip: clip))
  }
}
