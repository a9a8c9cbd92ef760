import KDSGeometry

/// A software canvas of XRGB8888 pixels (`UInt32`, `0x00RRGGBB`), row after
/// row `stride` pixels apart. It either owns its memory or draws into memory
/// the caller owns (a shadow buffer, a mapped framebuffer) through
/// `init(wrapping:...)`. Every drawing call is clipped to `clip`.
///
/// Not thread-safe: one thread draws at a time.
public final class Canvas {
  public let width: Int
  public let height: Int
  /// Pixels from one row to the next (at least `width`).
  public let stride: Int
  public let pixels: UnsafeMutablePointer<UInt32>
  private let ownsMemory: Bool
  /// Drawing outside this rectangle is discarded.
  public var clip: Rect
  /// Coverage masks of anti-aliased corners, by radius.
  private var cornerMasks: [Int: [UInt8]] = [:]

  /// A canvas with its own zeroed (black) memory.
  public init(width: Int, height: Int) {
    precondition(width > 0 && height > 0, "canvas size must be positive")
    self.width = width
    self.height = height
    self.stride = width
    pixels = .allocate(capacity: width * height)
    pixels.initialize(repeating: 0, count: width * height)
    ownsMemory = true
    clip = Rect(x: 0, y: 0, width: width, height: height)
  }

  /// A canvas drawing into memory the caller owns and keeps alive.
  public init(
    wrapping memory: UnsafeMutablePointer<UInt32>, width: Int, height: Int, stride: Int
  ) {
    precondition(width > 0 && height > 0 && stride >= width, "bad canvas geometry")
    self.width = width
    self.height = height
    self.stride = stride
    pixels = memory
    ownsMemory = false
    clip = Rect(x: 0, y: 0, width: width, height: height)
  }

  deinit {
    if ownsMemory { pixels.deallocate() }
  }

  public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }
  public var size: Size { Size(width: width, height: height) }

  /// The pixels as a read-only frame, for the outputs. Valid while this
  /// canvas lives.
  public var frame: PixelFrame {
    PixelFrame(base: UnsafePointer(pixels), width: width, height: height, stride: stride)
  }

  /// Runs `body` with the clip narrowed to `rect`, then restores it.
  public func withClip<T>(_ rect: Rect, _ body: () throws -> T) rethrows -> T {
    let saved = clip
    clip = saved.intersection(rect)
    defer { clip = saved }
    return try body()
  }

  @inline(__always)
  public func pixel(x: Int, y: Int) -> UInt32 {
    precondition(x >= 0 && x < width && y >= 0 && y < height)
    return pixels[y * stride + x]
  }

  @inline(__always)
  public func setPixel(x: Int, y: Int, _ value: UInt32) {
    guard clip.contains(x: x, y: y) else { return }
    pixels[y * stride + x] = value
  }

  /// The pixels of one row, `x0..<x1` (no clipping; for readers such as PNG).
  public func row(_ y: Int) -> UnsafeMutableBufferPointer<UInt32> {
    UnsafeMutableBufferPointer(start: pixels + y * stride, count: width)
  }

  // MARK: rectangles

  /// Fills `rect` with an opaque colour.
  public func fill(_ rect: Rect, _ color: Color) {
    let r = rect.intersection(clip)
    if r.isEmpty { return }
    var p = pixels + r.y * stride + r.x
    for _ in 0..<r.height {
      p.update(repeating: color.rgb, count: r.width)
      p += stride
    }
  }

  /// Blends `color` over `rect` with `alpha` (0...255).
  public func blend(_ rect: Rect, _ color: Color, alpha: UInt8) {
    if alpha == 255 { return fill(rect, color) }
    if alpha == 0 { return }
    let r = rect.intersection(clip)
    if r.isEmpty { return }
    let a = UInt32(alpha)
    for y in r.y..<r.maxY {
      let row = pixels + y * stride
      for x in r.x..<r.maxX { row[x] = blendPixel(row[x], color.rgb, a) }
    }
  }

  /// Which corners of a rounded rectangle are rounded.
  public struct Corners: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let topLeft = Corners(rawValue: 1)
    public static let topRight = Corners(rawValue: 2)
    public static let bottomLeft = Corners(rawValue: 4)
    public static let bottomRight = Corners(rawValue: 8)
    public static let top: Corners = [.topLeft, .topRight]
    public static let bottom: Corners = [.bottomLeft, .bottomRight]
    public static let all: Corners = [.top, .bottom]
  }

  /// How many of the 4x4 subsamples (for smooth, symmetric edges) of the
  /// pixel `i` columns and `j` rows from a rounded corner's outer edges lie
  /// within `outer` of the corner's centre and, when `inner` is not negative,
  /// farther than `inner` from it (a ring: an outline's corner).
  private static func cornerSamples(_ i: Int, _ j: Int, outer: Double, inner: Double = -1)
    -> Int
  {
    var inside = 0
    for sj in 0..<4 {
      for si in 0..<4 {
        let dx = outer - (Double(i) + (Double(si) + 0.5) / 4)
        let dy = outer - (Double(j) + (Double(sj) + 0.5) / 4)
        let d2 = dx * dx + dy * dy
        if d2 <= outer * outer && (inner < 0 || d2 > inner * inner) { inside += 1 }
      }
    }
    return inside
  }

  /// The coverage (0...255) of a corner of radius `r`: `mask[j * r + i]` for
  /// the pixel `i` columns and `j` rows from the corner's outer edges.
  private func cornerMask(_ r: Int) -> [UInt8] {
    if let m = cornerMasks[r] { return m }
    var m = [UInt8](repeating: 0, count: r * r)
    for j in 0..<r {
      for i in 0..<r {
        let inside = Self.cornerSamples(i, j, outer: Double(r))
        m[j * r + i] = UInt8(min(255, inside * 255 / 16))
      }
    }
    cornerMasks[r] = m
    return m
  }

  /// Fills a rectangle whose `corners` are rounded with `radius` and
  /// anti-aliased. With `outside`, the pixels of a corner outside the curve are
  /// painted that colour (so each pixel is touched once); without, the corner
  /// is blended over what is already there.
  public func fillRounded(
    _ rect: Rect, radius: Int, _ color: Color, corners: Corners = .all, outside: Color? = nil
  ) {
    let rad = max(0, min(radius, rect.width / 2, rect.height / 2))
    if rad == 0 || corners.isEmpty { return fill(rect, color) }
    let top = corners.contains(.topLeft) || corners.contains(.topRight)
    let bottom = corners.contains(.bottomLeft) || corners.contains(.bottomRight)
    let midTop = rect.y + (top ? rad : 0)
    let midBottom = rect.maxY - (bottom ? rad : 0)
    fill(Rect(x: rect.x, y: midTop, width: rect.width, height: midBottom - midTop), color)
    let mask = cornerMask(rad)
    func band(_ y0: Int, isTop: Bool) {
      let left = corners.contains(isTop ? .topLeft : .bottomLeft)
      let right = corners.contains(isTop ? .topRight : .bottomRight)
      for j in 0..<rad {
        let y = y0 + j
        guard y >= clip.y, y < clip.maxY else { continue }
        let mj = isTop ? j : rad - 1 - j
        let innerX0 = rect.x + (left ? rad : 0)
        let innerX1 = rect.maxX - (right ? rad : 0)
        fill(Rect(x: innerX0, y: y, width: innerX1 - innerX0, height: 1), color)
        let row = pixels + y * stride
        for i in 0..<rad {
          let cov = UInt32(mask[mj * rad + i])
          if left {
            let x = rect.x + i
            if x >= clip.x && x < clip.maxX {
              let base = outside?.rgb ?? row[x]
              row[x] = cov == 255 ? color.rgb : blendPixel(base, color.rgb, cov)
            }
          }
          if right {
            let x = rect.maxX - 1 - i
            if x >= clip.x && x < clip.maxX {
              let base = outside?.rgb ?? row[x]
              row[x] = cov == 255 ? color.rgb : blendPixel(base, color.rgb, cov)
            }
          }
        }
      }
    }
    if top { band(rect.y, isTop: true) }
    if bottom { band(rect.maxY - rad, isTop: false) }
  }

  /// An anti-aliased outline `lineWidth` wide just inside `rect`, corners rounded.
  public func strokeRounded(_ rect: Rect, radius: Int, lineWidth: Int, _ color: Color) {
    let w = max(1, lineWidth)
    let rad = max(0, min(radius, rect.width / 2, rect.height / 2))
    if rad <= w {
      fill(Rect(x: rect.x, y: rect.y, width: rect.width, height: w), color)
      fill(Rect(x: rect.x, y: rect.maxY - w, width: rect.width, height: w), color)
      fill(Rect(x: rect.x, y: rect.y + w, width: w, height: rect.height - 2 * w), color)
      fill(Rect(x: rect.maxX - w, y: rect.y + w, width: w, height: rect.height - 2 * w), color)
      return
    }
    // Straight edges.
    fill(Rect(x: rect.x + rad, y: rect.y, width: rect.width - 2 * rad, height: w), color)
    fill(Rect(x: rect.x + rad, y: rect.maxY - w, width: rect.width - 2 * rad, height: w), color)
    fill(Rect(x: rect.x, y: rect.y + rad, width: w, height: rect.height - 2 * rad), color)
    fill(Rect(x: rect.maxX - w, y: rect.y + rad, width: w, height: rect.height - 2 * rad), color)
    // Corners: outer disc minus inner disc, supersampled.
    for j in 0..<rad {
      for i in 0..<rad {
        let inside = Self.cornerSamples(i, j, outer: Double(rad), inner: Double(rad - w))
        if inside == 0 { continue }
        let cov = UInt8(min(255, inside * 255 / 16))
        for (x, y) in [
          (rect.x + i, rect.y + j), (rect.maxX - 1 - i, rect.y + j),
          (rect.x + i, rect.maxY - 1 - j), (rect.maxX - 1 - i, rect.maxY - 1 - j),
        ] {
          guard clip.contains(x: x, y: y) else { continue }
          let p = pixels + y * stride + x
          p.pointee = blendPixel(p.pointee, color.rgb, UInt32(cov))
        }
      }
    }
  }

  /// An anti-aliased filled disc.
  public func fillCircle(centerX cx: Double, centerY cy: Double, radius r: Double, _ color: Color) {
    let box = Rect(
      x: Int((cx - r).rounded(.down)) - 1, y: Int((cy - r).rounded(.down)) - 1,
      width: Int(2 * r) + 3, height: Int(2 * r) + 3
    ).intersection(clip)
    if box.isEmpty { return }
    for y in box.y..<box.maxY {
      let row = pixels + y * stride
      for x in box.x..<box.maxX {
        let dx = Double(x) + 0.5 - cx
        let dy = Double(y) + 0.5 - cy
        let d = (dx * dx + dy * dy).squareRoot()
        let cov = min(1, max(0, r - d + 0.5))
        if cov <= 0 { continue }
        row[x] = cov >= 1 ? color.rgb : blendPixel(row[x], color.rgb, UInt32(cov * 255))
      }
    }
  }

  /// An anti-aliased straight line `lineWidth` wide from (x0, y0) to (x1, y1).
  /// Axis-aligned lines of integer width are plain fills.
  public func line(
    x0: Double, y0: Double, x1: Double, y1: Double, lineWidth: Double = 1, _ color: Color
  ) {
    let half = max(0.5, lineWidth / 2)
    if y0 == y1 && lineWidth == lineWidth.rounded() && y0 == y0.rounded() {
      let xa = Int(min(x0, x1).rounded())
      let xb = Int(max(x0, x1).rounded())
      return fill(
        Rect(x: xa, y: Int(y0) - Int(lineWidth) / 2, width: xb - xa, height: Int(lineWidth)),
        color)
    }
    if x0 == x1 && lineWidth == lineWidth.rounded() && x0 == x0.rounded() {
      let ya = Int(min(y0, y1).rounded())
      let yb = Int(max(y0, y1).rounded())
      return fill(
        Rect(x: Int(x0) - Int(lineWidth) / 2, y: ya, width: Int(lineWidth), height: yb - ya),
        color)
    }
    let box = Rect(
      x: Int((min(x0, x1) - half).rounded(.down)) - 1,
      y: Int((min(y0, y1) - half).rounded(.down)) - 1,
      width: Int(abs(x1 - x0) + 2 * half) + 3, height: Int(abs(y1 - y0) + 2 * half) + 3
    ).intersection(clip)
    if box.isEmpty { return }
    let dx = x1 - x0
    let dy = y1 - y0
    let len2 = max(1e-9, dx * dx + dy * dy)
    for y in box.y..<box.maxY {
      let row = pixels + y * stride
      for x in box.x..<box.maxX {
        let px = Double(x) + 0.5
        let py = Double(y) + 0.5
        let t = min(1, max(0, ((px - x0) * dx + (py - y0) * dy) / len2))
        let ex = px - (x0 + t * dx)
        let ey = py - (y0 + t * dy)
        let d = (ex * ex + ey * ey).squareRoot()
        let cov = min(1, max(0, half - d + 0.5))
        if cov <= 0 { continue }
        row[x] = cov >= 1 ? color.rgb : blendPixel(row[x], color.rgb, UInt32(cov * 255))
      }
    }
  }

  /// Blends an 8-bit coverage mask (`maskWidth` x `maskHeight`, rows `maskPitch`
  /// apart) in `color` with its top-left corner at (x, y).
  @inline(__always)
  func drawMask(
    _ mask: UnsafePointer<UInt8>, maskWidth: Int, maskHeight: Int, maskPitch: Int, x: Int,
    y: Int, color: UInt32
  ) {
    let x0 = max(x, clip.x)
    let y0 = max(y, clip.y)
    let x1 = min(x + maskWidth, clip.maxX)
    let y1 = min(y + maskHeight, clip.maxY)
    if x1 <= x0 || y1 <= y0 { return }
    for yy in y0..<y1 {
      let src = mask + (yy - y) * maskPitch - x
      let dst = pixels + yy * stride
      for xx in x0..<x1 {
        let a = UInt32(src[xx])
        if a == 0 { continue }
        dst[xx] = a == 255 ? color : blendPixel(dst[xx], color, a)
      }
    }
  }

  /// Copies `rect` of `source` (same size as this canvas) into this canvas.
  public func copy(_ rect: Rect, from source: Canvas) {
    let r = rect.intersection(clip).intersection(source.bounds)
    if r.isEmpty { return }
    for y in r.y..<r.maxY {
      (pixels + y * stride + r.x).update(
        from: source.pixels + y * source.stride + r.x, count: r.width)
    }
  }
}

@available(*, unavailable)
extension Canvas: Sendable {}
