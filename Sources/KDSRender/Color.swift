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
