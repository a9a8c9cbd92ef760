/// A read-only view of XRGB8888 pixels (`0x00RRGGBB`) in RAM: what the
/// renderer draws and what the outputs copy to the screen. `stride` is in
/// pixels. The pointer is borrowed: it must stay valid for the duration of
/// the call the frame is passed to, and nobody keeps it.
public struct PixelFrame {
  public let base: UnsafePointer<UInt32>
  public let width: Int
  public let height: Int
  public let stride: Int

  public init(base: UnsafePointer<UInt32>, width: Int, height: Int, stride: Int) {
    precondition(width > 0 && height > 0 && stride >= width, "bad pixel frame")
    self.base = base
    self.width = width
    self.height = height
    self.stride = stride
  }

  public var size: Size { Size(width: width, height: height) }
  public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

  /// The pixel at (x, y); the point must be inside the frame.
  @inline(__always)
  public subscript(x: Int, y: Int) -> UInt32 {
    precondition(x >= 0 && y >= 0 && x < width && y < height, "pixel outside the frame")
    return base[y * stride + x]
  }
}

@available(*, unavailable) extension PixelFrame: Sendable {}
