#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Sizes of everything on the board, derived from the screen size and zoom.
/// The unit is the item text size: 22 px on a 1080-line screen, scaling more
/// gently than the screen so small screens stay readable.
public struct BoardMetrics: Hashable, Sendable {
  /// Item text size in pixels.
  public let unit: Int
  public let item: TextStyle
  public let quantity: TextStyle
  public let modifier: TextStyle
  public let note: TextStyle
  public let number: TextStyle
  public let timer: TextStyle
  public let meta: TextStyle
  public let metaBold: TextStyle
  public let chip: TextStyle
  public let small: TextStyle
  public let banner: TextStyle
  public let bannerBold: TextStyle
  public let gap: Int
  public let pad: Int
  public let radius: Int
  public let headerHeight: Int
  public let metaHeight: Int
  public let itemGap: Int
  public let courseHeight: Int
  public let footerHeight: Int
  public let stripHeight: Int
  public let bannerHeight: Int
  public let alertHeight: Int
  public let minColumnWidth: Int
  public let selectionWidth: Int

  public init(width: Int, height: Int, zoom: Double = 1.0) {
    let short = Double(max(1, min(width, height)))
    let z = zoom.isFinite ? min(4, max(0.5, zoom)) : 1
    let u = max(13, min(120, Int((22 * pow(short / 1080, 0.6) * z).rounded())))
    func s(_ f: Double) -> Int { max(1, Int((Double(u) * f).rounded())) }
    unit = u
    item = .regular(u)
    quantity = .bold(u)
    modifier = .regular(s(0.86))
    note = .bold(s(0.86))
    number = .bold(s(1.3))
    timer = .bold(s(1.3))
    meta = .regular(s(0.8))
    metaBold = .bold(s(0.8))
    chip = .bold(max(10, s(0.6)))
    small = .bold(max(10, s(0.66)))
    banner = .regular(s(0.82))
    bannerBold = .bold(s(0.82))
    gap = max(4, s(0.36))
    pad = max(5, s(0.45))
    radius = max(4, s(0.36))
    headerHeight = s(1.62)
    metaHeight = s(1.12)
    itemGap = max(2, s(0.16))
    courseHeight = s(0.9)
    footerHeight = s(1.0)
    stripHeight = s(1.2)
    bannerHeight = s(1.9)
    alertHeight = s(1.5)
    minColumnWidth = s(13.6)
    selectionWidth = max(3, s(0.18))
  }
}
