import KDSGeometry
import KDSRender

/// How pixels are laid out in a scan-out buffer.
public struct ScanoutFormat: Equatable, Sendable {
  public var bytesPerPixel: Int
  public var redShift: Int, redBits: Int
  public var greenShift: Int, greenBits: Int
  public var blueShift: Int, blueBits: Int

  public init(
    bytesPerPixel: Int, redShift: Int, redBits: Int, greenShift: Int, greenBits: Int,
    blueShift: Int, blueBits: Int
  ) {
    self.bytesPerPixel = bytesPerPixel
    self.redShift = redShift
    self.redBits = redBits
    self.greenShift = greenShift
    self.greenBits = greenBits
    self.blueShift = blueShift
    self.blueBits = blueBits
  }

  /// 32 bits, 0x00RRGGBB (DRM_FORMAT_XRGB8888): copied as is.
  public static let xrgb8888 = ScanoutFormat(
    bytesPerPixel: 4, redShift: 16, redBits: 8, greenShift: 8, greenBits: 8, blueShift: 0,
    blueBits: 8)
  /// 16 bits, RRRRRGGGGGGBBBBB.
  public static let rgb565 = ScanoutFormat(
    bytesPerPixel: 2, redShift: 11, redBits: 5, greenShift: 5, greenBits: 6, blueShift: 0,
    blueBits: 5)

  /// One XRGB8888 pixel in this format.
  @inline(__always)
  public func pack(_ p: UInt32) -> UInt32 {
    let r = (p >> 16) & 0xFF
    let g = (p >> 8) & 0xFF
    let b = p & 0xFF
    return ((r >> UInt32(8 - redBits)) << UInt32(redShift))
      | ((g >> UInt32(8 - greenBits)) << UInt32(greenShift))
      | ((b >> UInt32(8 - blueBits)) << UInt32(blueShift))
  }
}

/// Copies the logical rectangle `rect` of `frame` into a scan-out buffer of
/// `physical` size (`pitch` bytes per row), turning it by `rotation` and
/// converting to `format`. `rect` is clipped to the frame first.
public func blit(
  _ frame: PixelFrame, rect: Rect, into destination: UnsafeMutableRawPointer, pitch: Int,
  physical: Size, format: ScanoutFormat, rotation: Rotation
) {
  let logical = rotation.logicalSize(physical: physical)
  let r = rect.intersection(frame.bounds).intersection(Rect(size: logical))
  guard !r.isEmpty else { return }
  let bpp = format.bytesPerPixel
  if rotation == .none && format == .xrgb8888 {
    for y in r.y..<r.maxY {
      let src = frame.base + y * frame.stride + r.x
      let dst = destination + y * pitch + r.x * 4
      dst.copyMemory(from: src, byteCount: r.width * 4)
    }
    return
  }
  // Walk the logical rectangle row by row; each logical pixel goes to its
  // physical place. Destination steps per logical x and y, in bytes.
  let origin = rotation.physicalPoint(x: r.x, y: r.y, physical: physical)
  let stepX: Int
  let stepY: Int
  switch rotation {
  case .none:
    stepX = bpp
    stepY = pitch
  case .clockwise90:
    stepX = pitch
    stepY = -bpp
  case .upsideDown:
    stepX = -bpp
    stepY = -pitch
  case .clockwise270:
    stepX = -pitch
    stepY = bpp
  }
  var rowStart = destination + origin.y * pitch + origin.x * bpp
  let fast32 = format == .xrgb8888
  for y in r.y..<r.maxY {
    let src = frame.base + y * frame.stride
    var dst = rowStart
    if fast32 {
      for x in r.x..<r.maxX {
        dst.storeBytes(of: src[x], as: UInt32.self)
        dst += stepX
      }
    } else if bpp == 2 {
      for x in r.x..<r.maxX {
        dst.storeBytes(of: UInt16(truncatingIfNeeded: format.pack(src[x])), as: UInt16.self)
        dst += stepX
      }
    } else {
      for x in r.x..<r.maxX {
        dst.storeBytes(of: format.pack(src[x]), as: UInt32.self)
        dst += stepX
      }
    }
    rowStart += stepY
  }
}

/// The damage each scan-out buffer still lacks. With two buffers, a frame's
/// damage must reach both: the back buffer now and the other one at the next
/// present. Many small rectangles collapse into their bounding box.
public struct DamageTracker: Sendable {
  public private(set) var owed: [[Rect]]
  public var bounds: Rect
  public var maxRects: Int

  public init(buffers: Int, bounds: Rect, maxRects: Int = 16) {
    owed = Array(repeating: [bounds], count: buffers)
    self.bounds = bounds
    self.maxRects = maxRects
  }

  /// Adds damage (clipped to the bounds) to every buffer.
  public mutating func add(_ rects: [Rect]) {
    let clipped = rects.map { $0.intersection(bounds) }.filter { !$0.isEmpty }
    guard !clipped.isEmpty else { return }
    for i in owed.indices {
      var list = owed[i]
      for r in clipped where !list.contains(where: { $0.contains(r) }) {
        list.append(r)
      }
      if list.count > maxRects {
        list = [list.reduce(Rect.zero) { $0.union($1) }]
      }
      owed[i] = list
    }
  }

  /// Marks everything as owed to every buffer (after a resume or a new mode).
  public mutating func addAll() {
    for i in owed.indices { owed[i] = [bounds] }
  }

  /// The damage buffer `index` lacks, and forgets it (the caller copies it).
  public mutating func take(_ index: Int) -> [Rect] {
    defer { owed[index] = [] }
    return owed[index]
  }

  public func isOwed(_ index: Int) -> Bool { !owed[index].isEmpty }
}

extension Canvas {
  /// Copies `rects` of the upright (logical) frame `source` into this canvas,
  /// which has the panel's size, turned by `rotation` (the same copy as a
  /// display's scan-out buffer gets). Returns the rectangles written, in this
  /// canvas's coordinates. All of `source` by default.
  @discardableResult
  public func copyRotated(from source: PixelFrame, rotation: Rotation, rects: [Rect]? = nil)
    -> [Rect]
  {
    let physical = Size(width: width, height: height)
    precondition(
      rotation.logicalSize(physical: physical) == source.size, "rotated frame size mismatch")
    var written: [Rect] = []
    for rect in rects ?? [source.bounds] {
      let r = rect.intersection(source.bounds)
      if r.isEmpty { continue }
      blit(
        source, rect: r, into: UnsafeMutableRawPointer(pixels), pitch: stride * 4,
        physical: physical, format: .xrgb8888, rotation: rotation)
      written.append(rotation.physicalRect(r, physical: physical))
    }
    return written
  }
}
