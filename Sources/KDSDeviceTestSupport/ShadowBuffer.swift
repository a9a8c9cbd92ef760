import KDSGeometry

/// A frame buffer in RAM to hand to a display output: what the device tests
/// and the probe tool draw test patterns into (the kiosk draws into the
/// renderer's canvas instead).
public final class ShadowBuffer {
  public let width: Int
  public let height: Int
  public let pixels: UnsafeMutablePointer<UInt32>

  public init(size: Size) {
    width = size.width
    height = size.height
    pixels = .allocate(capacity: width * height)
    pixels.initialize(repeating: 0, count: width * height)
  }

  deinit { pixels.deallocate() }

  public var size: Size { Size(width: width, height: height) }
  public var frame: PixelFrame {
    PixelFrame(base: UnsafePointer(pixels), width: width, height: height, stride: width)
  }

  /// Fills `rect` (clipped) with an XRGB8888 colour.
  public func fill(_ rect: Rect, color: UInt32) {
    let r = rect.intersection(Rect(size: size))
    guard !r.isEmpty else { return }
    for y in r.y..<r.maxY {
      (pixels + y * width + r.x).update(repeating: color, count: r.width)
    }
  }
}

@available(*, unavailable) extension ShadowBuffer: Sendable {}
