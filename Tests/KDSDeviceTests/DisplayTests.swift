import KDSDeviceTestSupport
import KDSGeometry
import Testing

@testable import KDSDisplay

@Suite struct ModeAndSelectionParsing {
  @Test func modeStrings() throws {
    #expect(try DisplayModeRequest(parsing: "1920x1080") == .init(width: 1920, height: 1080))
    #expect(
      try DisplayModeRequest(parsing: " 1280X800@75 ")
        == .init(width: 1280, height: 800, refresh: 75))
    for bad in [
      "", "1920", "1920x", "x1080", "0x10", "1920x1080@", "1920x1080@0", "axb", "1x2@3@4",
    ] {
      #expect(throws: DisplayError.self, "\(bad)") { try DisplayModeRequest(parsing: bad) }
    }
  }

  @Test func displaySelections() throws {
    #expect(try DisplaySelection(parsing: "auto") == .auto)
    #expect(try DisplaySelection(parsing: "none") == .none)
    #expect(try DisplaySelection(parsing: "drm") == .drm(device: nil))
    #expect(try DisplaySelection(parsing: "drm:/dev/dri/card1") == .drm(device: "/dev/dri/card1"))
    #expect(try DisplaySelection(parsing: "fbdev:/dev/fb1") == .fbdev(device: "/dev/fb1"))
    #expect(try DisplaySelection(parsing: "snapshot:/tmp/a.png") == .snapshot(path: "/tmp/a.png"))
    for bad in ["", "kms", "drm:", "snapshot", "auto:x", "none:/dev/fb0"] {
      #expect(throws: DisplayError.self, "\(bad)") { try DisplaySelection(parsing: bad) }
    }
  }

  @Test func noneOpensNothing() throws {
    let out = try DisplayOpener.open(.none, logger: .init(label: "test"))
    #expect(out == nil)
  }

  @Test func missingDeviceGivesAClearError() {
    do {
      _ = try DisplayOpener.open(.drm(device: "/nonexistent/card9"), logger: .init(label: "t"))
      Issue.record("opened a missing device")
    } catch let e as DisplayError {
      #expect(e.message.contains("/nonexistent/card9"))
      #expect(e.message.contains("No such file"))
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }
}

/// The display's view of KDSGeometry's rotation: which way is clockwise.
@Suite struct RotationMapping {
  let physical = Size(width: 7, height: 5)

  @Test func logicalSizes() {
    #expect(Rotation.none.logicalSize(physical: physical) == physical)
    #expect(Rotation.upsideDown.logicalSize(physical: physical) == physical)
    #expect(
      Rotation.clockwise90.logicalSize(physical: physical)
        == Size(width: 5, height: 7))
    #expect(
      Rotation.clockwise270.logicalSize(physical: physical)
        == Size(width: 5, height: 7))
  }

  @Test func cornersTurnClockwise() {
    // The logical top-left corner: 90 -> panel top-right, 180 -> bottom-right,
    // 270 -> bottom-left.
    #expect(Rotation.clockwise90.physicalPoint(x: 0, y: 0, physical: physical) == (6, 0))
    #expect(Rotation.upsideDown.physicalPoint(x: 0, y: 0, physical: physical) == (6, 4))
    #expect(Rotation.clockwise270.physicalPoint(x: 0, y: 0, physical: physical) == (0, 4))
  }

  @Test(arguments: Rotation.allCases)
  func rectsCoverExactlyTheirPoints(rotation: Rotation) {
    let logical = rotation.logicalSize(physical: physical)
    let rect = Rect(x: 1, y: 2, width: 3, height: 2)
    let mapped = rotation.physicalRect(rect, physical: physical)
    #expect(mapped.width * mapped.height == rect.width * rect.height)
    for y in 0..<logical.height {
      for x in 0..<logical.width {
        let p = rotation.physicalPoint(x: x, y: y, physical: physical)
        #expect(p.x >= 0 && p.x < physical.width && p.y >= 0 && p.y < physical.height)
        let inside = x >= rect.x && x < rect.maxX && y >= rect.y && y < rect.maxY
        let mappedInside =
          p.x >= mapped.x && p.x < mapped.maxX && p.y >= mapped.y && p.y < mapped.maxY
        #expect(inside == mappedInside, "\(x),\(y)")
      }
    }
  }
}

/// A scan-out buffer in plain memory: pitch in bytes, filled with a marker.
final class PlainScanout {
  let width: Int
  let height: Int
  let pitch: Int
  let bytes: UnsafeMutableRawPointer

  init(width: Int, height: Int, bytesPerPixel: Int, padding: Int = 16) {
    self.width = width
    self.height = height
    pitch = width * bytesPerPixel + padding
    bytes = .allocate(byteCount: pitch * height, alignment: 8)
    bytes.initializeMemory(as: UInt8.self, repeating: 0xAB, count: pitch * height)
  }

  deinit { bytes.deallocate() }

  func pixel32(_ x: Int, _ y: Int) -> UInt32 {
    bytes.load(fromByteOffset: y * pitch + x * 4, as: UInt32.self)
  }
  func pixel16(_ x: Int, _ y: Int) -> UInt16 {
    bytes.load(fromByteOffset: y * pitch + x * 2, as: UInt16.self)
  }
}

@Suite struct DamageCopy {
  /// A frame whose every pixel is unique: 0x00YYXX.
  func frame(_ w: Int, _ h: Int) -> ShadowBuffer {
    let s = ShadowBuffer(size: Size(width: w, height: h))
    for y in 0..<h {
      for x in 0..<w { s.pixels[y * w + x] = UInt32(y << 8 | x) }
    }
    return s
  }

  @Test func onlyTheDamagedRectangleIsCopied() {
    let shadow = frame(10, 6)
    let out = PlainScanout(width: 10, height: 6, bytesPerPixel: 4)
    let rect = Rect(x: 2, y: 1, width: 3, height: 2)
    blit(
      shadow.frame, rect: rect, into: out.bytes, pitch: out.pitch,
      physical: Size(width: 10, height: 6), format: .xrgb8888, rotation: .none)
    for y in 0..<6 {
      for x in 0..<10 {
        let inside = x >= 2 && x < 5 && y >= 1 && y < 3
        #expect(out.pixel32(x, y) == (inside ? UInt32(y << 8 | x) : 0xABAB_ABAB), "\(x),\(y)")
      }
    }
    // The row padding past the visible width is never written.
    #expect(out.bytes.load(fromByteOffset: out.pitch - 4, as: UInt32.self) == 0xABAB_ABAB)
  }

  @Test func rectanglesAreClippedToTheFrame() {
    let shadow = frame(4, 4)
    let out = PlainScanout(width: 4, height: 4, bytesPerPixel: 4)
    blit(
      shadow.frame, rect: Rect(x: -5, y: 2, width: 100, height: 100), into: out.bytes,
      pitch: out.pitch, physical: Size(width: 4, height: 4), format: .xrgb8888,
      rotation: .none)
    #expect(out.pixel32(0, 1) == 0xABAB_ABAB)
    #expect(out.pixel32(0, 2) == 0x0200)
    #expect(out.pixel32(3, 3) == 0x0303)
  }

  @Test(arguments: Rotation.allCases)
  func rotatedCopyPutsEachPixelWhereTheRotationSays(rotation: Rotation) {
    let physical = Size(width: 8, height: 5)
    let logical = rotation.logicalSize(physical: physical)
    let shadow = frame(logical.width, logical.height)
    let out = PlainScanout(width: 8, height: 5, bytesPerPixel: 4)
    let rect = Rect(x: 1, y: 1, width: 3, height: 2)
    blit(
      shadow.frame, rect: rect, into: out.bytes, pitch: out.pitch, physical: physical,
      format: .xrgb8888, rotation: rotation)
    var written = 0
    for y in 0..<physical.height {
      for x in 0..<physical.width where out.pixel32(x, y) != 0xABAB_ABAB { written += 1 }
    }
    #expect(written == rect.width * rect.height)
    for y in rect.y..<rect.maxY {
      for x in rect.x..<rect.maxX {
        let p = rotation.physicalPoint(x: x, y: y, physical: physical)
        #expect(out.pixel32(p.x, p.y) == UInt32(y << 8 | x))
      }
    }
  }

  @Test func rgb565Conversion() {
    let shadow = ShadowBuffer(size: Size(width: 4, height: 1))
    shadow.pixels[0] = 0xFF0000
    shadow.pixels[1] = 0x00FF00
    shadow.pixels[2] = 0x0000FF
    shadow.pixels[3] = 0x808080
    let out = PlainScanout(width: 4, height: 1, bytesPerPixel: 2)
    blit(
      shadow.frame, rect: Rect(x: 0, y: 0, width: 4, height: 1), into: out.bytes,
      pitch: out.pitch, physical: Size(width: 4, height: 1), format: .rgb565,
      rotation: .none)
    #expect(out.pixel16(0, 0) == 0xF800)
    #expect(out.pixel16(1, 0) == 0x07E0)
    #expect(out.pixel16(2, 0) == 0x001F)
    #expect(out.pixel16(3, 0) == 0x8410)
  }

  @Test func otherChannelOrdersAt32Bits() {
    let bgrx = ScanoutFormat(
      bytesPerPixel: 4, redShift: 0, redBits: 8, greenShift: 8, greenBits: 8, blueShift: 16,
      blueBits: 8)
    #expect(bgrx.pack(0x123456) == 0x563412)
  }
}

@Suite struct DamageTracking {
  let bounds = Rect(x: 0, y: 0, width: 100, height: 50)

  @Test func everyBufferStartsOwingEverything() {
    var t = DamageTracker(buffers: 2, bounds: bounds)
    #expect(t.take(0) == [bounds])
    #expect(t.take(1) == [bounds])
    #expect(!t.isOwed(0) && !t.isOwed(1))
  }

  @Test func damageReachesBothBuffers() {
    var t = DamageTracker(buffers: 2, bounds: bounds)
    _ = t.take(0)
    _ = t.take(1)
    let a = Rect(x: 1, y: 1, width: 5, height: 5)
    let b = Rect(x: 50, y: 10, width: 5, height: 5)
    t.add([a])
    #expect(t.take(1) == [a])  // frame 1 into buffer 1
    t.add([b])
    #expect(t.take(0) == [a, b])  // buffer 0 still lacks frame 1's damage
    #expect(t.take(1) == [b])
  }

  @Test func clippingContainedAndCollapse() {
    var t = DamageTracker(buffers: 1, bounds: bounds, maxRects: 3)
    _ = t.take(0)
    t.add([Rect(x: 90, y: 40, width: 50, height: 50)])
    #expect(t.take(0) == [Rect(x: 90, y: 40, width: 10, height: 10)])
    t.add([
      Rect(x: 0, y: 0, width: 10, height: 10), Rect(x: 2, y: 2, width: 3, height: 3),
    ])
    #expect(t.take(0) == [Rect(x: 0, y: 0, width: 10, height: 10)])
    t.add((0..<5).map { Rect(x: $0 * 10, y: $0, width: 2, height: 2) })
    #expect(t.take(0) == [Rect(x: 0, y: 0, width: 42, height: 6)])
    t.add([Rect(x: 200, y: 200, width: 5, height: 5)])
    #expect(!t.isOwed(0))
  }
}

/// A DRM mode change makes all its new scan-out buffers or keeps the old ones
/// (the pure part of DRMOutput's buffer handling; the ioctls need a device).
@Suite struct ScanoutBufferSets {
  final class Tracker { var live = 0 }
  final class FakeBuffer {
    let size: Size
    let tracker: Tracker
    init(_ size: Size, _ tracker: Tracker) {
      self.size = size
      self.tracker = tracker
      tracker.live += 1
    }
    deinit { tracker.live -= 1 }
  }
  struct Refused: Error {}

  @Test func aFailedModeChangeKeepsTheOldBuffers() {
    let tracker = Tracker()
    let small = Size(width: 640, height: 480)
    let big = Size(width: 1920, height: 1080)
    var set = ScanoutBuffers<FakeBuffer>()
    set.replace(size: small) { FakeBuffer(small, tracker) }
    #expect(set.buffers.count == 2 && tracker.live == 2)
    var made = 0
    #expect(throws: Refused.self) {
      try set.replace(size: big) { () throws(Refused) -> FakeBuffer in
        made += 1
        if made == 2 { throw Refused() }
        return FakeBuffer(big, tracker)
      }
    }
    // The old set is whole and in use; the one new buffer made is released.
    #expect(set.physical == small)
    #expect(set.buffers.count == 2 && set.buffers.allSatisfy { $0.size == small })
    #expect(set[1].size == small)
    #expect(tracker.live == 2)
    set.replace(size: big) { FakeBuffer(big, tracker) }
    #expect(set.physical == big && set.buffers.allSatisfy { $0.size == big })
    #expect(tracker.live == 2)
  }
}
