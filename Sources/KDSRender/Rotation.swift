/// How the frame is turned on its way to the screen, clockwise.
public enum Rotation: Int, Hashable, Sendable, CaseIterable {
  case none = 0
  case clockwise90 = 90
  case upsideDown = 180
  case clockwise270 = 270

  public init?(degrees: Int) {
    self.init(rawValue: ((degrees % 360) + 360) % 360)
  }

  public var degrees: Int { rawValue }

  /// Whether width and height swap.
  public var swapsAxes: Bool { self == .clockwise90 || self == .clockwise270 }

  /// The output size for a logical frame of `width` x `height`.
  public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
    swapsAxes ? (height, width) : (width, height)
  }

  /// The logical frame size that fills an output of `width` x `height`.
  public func logicalSize(outputWidth width: Int, outputHeight height: Int) -> (
    width: Int, height: Int
  ) {
    swapsAxes ? (height, width) : (width, height)
  }

  /// Where logical rectangle `r` (of a `width` x `height` frame) lands in the output.
  public func outputRect(_ r: Rect, width: Int, height: Int) -> Rect {
    switch self {
    case .none: return r
    case .clockwise90:
      return Rect(x: height - r.maxY, y: r.x, width: r.height, height: r.width)
    case .upsideDown:
      return Rect(x: width - r.maxX, y: height - r.maxY, width: r.width, height: r.height)
    case .clockwise270:
      return Rect(x: r.y, y: width - r.maxX, width: r.height, height: r.width)
    }
  }

  /// The logical point under output pixel (x, y) (for touch input).
  public func logicalPoint(outputX x: Int, outputY y: Int, width: Int, height: Int) -> (
    x: Int, y: Int
  ) {
    switch self {
    case .none: return (x, y)
    case .clockwise90: return (y, height - 1 - x)
    case .upsideDown: return (width - 1 - x, height - 1 - y)
    case .clockwise270: return (width - 1 - y, x)
    }
  }

  /// Copies `rects` of the logical frame `source` into `output` (which has the
  /// rotated size), turning them; returns the rectangles written in output
  /// coordinates (what a display must flush).
  @discardableResult
  public func apply(from source: Canvas, to output: Canvas, rects: [Rect]? = nil) -> [Rect] {
    let w = source.width
    let h = source.height
    let size = outputSize(width: w, height: h)
    precondition(output.width == size.width && output.height == size.height, "output size mismatch")
    let list = rects ?? [source.bounds]
    var written: [Rect] = []
    for rect in list {
      let r = rect.intersection(source.bounds)
      if r.isEmpty { continue }
      written.append(outputRect(r, width: w, height: h))
      let sp = source.pixels
      let ss = source.stride
      let dp = output.pixels
      let ds = output.stride
      switch self {
      case .none:
        for y in r.y..<r.maxY {
          (dp + y * ds + r.x).update(from: sp + y * ss + r.x, count: r.width)
        }
      case .upsideDown:
        for y in r.y..<r.maxY {
          let src = sp + y * ss
          let dst = dp + (h - 1 - y) * ds + (w - 1)
          for x in r.x..<r.maxX { (dst - x).pointee = src[x] }
        }
      case .clockwise90, .clockwise270:
        // Tiles keep both sides in cache.
        let tile = 32
        var ty = r.y
        while ty < r.maxY {
          let ty1 = min(ty + tile, r.maxY)
          var tx = r.x
          while tx < r.maxX {
            let tx1 = min(tx + tile, r.maxX)
            for y in ty..<ty1 {
              let src = sp + y * ss
              if self == .clockwise90 {
                // (x, y) -> (h - 1 - y, x)
                let col = h - 1 - y
                for x in tx..<tx1 { dp[x * ds + col] = src[x] }
              } else {
                // (x, y) -> (y, w - 1 - x)
                for x in tx..<tx1 { dp[(w - 1 - x) * ds + y] = src[x] }
              }
            }
            tx = tx1
          }
          ty = ty1
        }
      }
    }
    return written
  }
}
