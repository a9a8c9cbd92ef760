/// How a screen is mounted: the clockwise angle by which the renderer's
/// upright (logical) picture is turned on its way to the panel (physical
/// pixels). The renderer, the outputs and the touch mapping all use this one
/// type; "logical" is always the renderer's frame, "physical" the panel's.
public enum Rotation: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
  case none = 0
  case clockwise90 = 90
  case upsideDown = 180
  case clockwise270 = 270

  /// 0, 90, 180 or 270, and the same angles plus or minus whole turns
  /// (-90 is 270); nil for any other angle.
  public init?(degrees: Int) {
    self.init(rawValue: ((degrees % 360) + 360) % 360)
  }

  /// Parses "0", "90", "180" or "270" (spaces around are allowed).
  public init?(parsing text: some StringProtocol) {
    var trimmed = Substring(text)
    while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
    while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
    guard let value = Int(trimmed), let rotation = Rotation(rawValue: value) else { return nil }
    self = rotation
  }

  public var degrees: Int { rawValue }
  public var description: String { String(rawValue) }

  /// Whether width and height swap between the logical and physical frames.
  public var swapsAxes: Bool { self == .clockwise90 || self == .clockwise270 }

  /// The panel's size for a logical frame of `logical` size.
  public func physicalSize(logical: Size) -> Size {
    swapsAxes ? Size(width: logical.height, height: logical.width) : logical
  }

  /// The logical frame size that fills a panel of `physical` size.
  public func logicalSize(physical: Size) -> Size {
    swapsAxes ? Size(width: physical.height, height: physical.width) : physical
  }

  /// The panel rectangle covered by logical rectangle `rect`, on a panel of
  /// `physical` size.
  public func physicalRect(_ rect: Rect, physical: Size) -> Rect {
    switch self {
    case .none: return rect
    case .clockwise90:
      return Rect(x: physical.width - rect.maxY, y: rect.x, width: rect.height, height: rect.width)
    case .upsideDown:
      return Rect(
        x: physical.width - rect.maxX, y: physical.height - rect.maxY, width: rect.width,
        height: rect.height)
    case .clockwise270:
      return Rect(x: rect.y, y: physical.height - rect.maxX, width: rect.height, height: rect.width)
    }
  }

  /// Where logical pixel (x, y) lands on a panel of `physical` size.
  public func physicalPoint(x: Int, y: Int, physical: Size) -> (x: Int, y: Int) {
    switch self {
    case .none: return (x, y)
    case .clockwise90: return (physical.width - 1 - y, x)
    case .upsideDown: return (physical.width - 1 - x, physical.height - 1 - y)
    case .clockwise270: return (y, physical.height - 1 - x)
    }
  }

  /// The logical pixel under panel pixel (x, y), on a panel of `physical`
  /// size: the inverse of `physicalPoint` (touch input).
  public func logicalPoint(physicalX x: Int, physicalY y: Int, physical: Size) -> (x: Int, y: Int) {
    switch self {
    case .none: return (x, y)
    case .clockwise90: return (y, physical.width - 1 - x)
    case .upsideDown: return (physical.width - 1 - x, physical.height - 1 - y)
    case .clockwise270: return (physical.height - 1 - y, x)
    }
  }
}
