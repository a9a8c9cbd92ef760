/// An integer rectangle in pixels: `x`, `y` is the top-left corner, the right
/// and bottom edges (`maxX`, `maxY`) are exclusive.
public struct Rect: Hashable, Sendable, CustomStringConvertible {
  public var x: Int
  public var y: Int
  public var width: Int
  public var height: Int

  public init(x: Int, y: Int, width: Int, height: Int) {
    self.x = x
    self.y = y
    self.width = width
    self.height = height
  }

  public static let zero = Rect(x: 0, y: 0, width: 0, height: 0)

  public var maxX: Int { x + width }
  public var maxY: Int { y + height }
  public var isEmpty: Bool { width <= 0 || height <= 0 }
  public var area: Int { isEmpty ? 0 : width * height }

  public var description: String { "\(width)x\(height)+\(x)+\(y)" }

  public func contains(x px: Int, y py: Int) -> Bool {
    px >= x && px < maxX && py >= y && py < maxY
  }

  /// Whether `other` lies entirely inside this rectangle (empty rects always do).
  public func contains(_ other: Rect) -> Bool {
    other.isEmpty
      || (other.x >= x && other.y >= y && other.maxX <= maxX && other.maxY <= maxY)
  }

  public func intersects(_ other: Rect) -> Bool {
    !isEmpty && !other.isEmpty && x < other.maxX && other.x < maxX && y < other.maxY
      && other.y < maxY
  }

  public func intersection(_ other: Rect) -> Rect {
    let x0 = Swift.max(x, other.x)
    let y0 = Swift.max(y, other.y)
    let x1 = Swift.min(maxX, other.maxX)
    let y1 = Swift.min(maxY, other.maxY)
    if x1 <= x0 || y1 <= y0 { return .zero }
    return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
  }

  public func union(_ other: Rect) -> Rect {
    if isEmpty { return other }
    if other.isEmpty { return self }
    let x0 = Swift.min(x, other.x)
    let y0 = Swift.min(y, other.y)
    return Rect(
      x: x0, y: y0, width: Swift.max(maxX, other.maxX) - x0,
      height: Swift.max(maxY, other.maxY) - y0)
  }

  public func insetBy(dx: Int, dy: Int) -> Rect {
    Rect(x: x + dx, y: y + dy, width: width - 2 * dx, height: height - 2 * dy)
  }
}

/// An opaque XRGB8888 colour (`0x00RRGGBB`).
public struct Color: Hashable, Sendable {
  public var rgb: UInt32

  public init(rgb: UInt32) { self.rgb = rgb & 0x00FF_FFFF }

  public init(r: UInt8, g: UInt8, b: UInt8) {
    rgb = UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
  }

  public var r: UInt8 { UInt8(truncatingIfNeeded: rgb >> 16) }
  public var g: UInt8 { UInt8(truncatingIfNeeded: rgb >> 8) }
  public var b: UInt8 { UInt8(truncatingIfNeeded: rgb) }

  /// This colour laid over `base` with `alpha` (0...255).
  public func over(_ base: Color, alpha: UInt8) -> Color {
    Color(rgb: blendPixel(base.rgb, rgb, UInt32(alpha)))
  }

  public static let black = Color(rgb: 0x000000)
  public static let white = Color(rgb: 0xFFFFFF)
}

/// `dst` blended towards `src` by `alpha` (0...255), two channels at a time.
@inline(__always)
func blendPixel(_ dst: UInt32, _ src: UInt32, _ alpha: UInt32) -> UInt32 {
  let a = alpha &+ (alpha >> 7)  // 0...256
  let na = 256 &- a
  let rb = ((src & 0xFF00FF) &* a &+ (dst & 0xFF00FF) &* na) >> 8
  let g = ((src & 0x00FF00) &* a &+ (dst & 0x00FF00) &* na) >> 8
  return (rb & 0xFF00FF) | (g & 0x00FF00)
}
