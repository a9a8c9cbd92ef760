import Foundation
import KDSCore
import KDSGeometry
import KDSKiosk
import KDSSystem
import KDSTestSupport
import Testing

@testable import KDSDisplay
@testable import KDSRender

@Suite struct CanvasTests {
  @Test func fillsClipAndBlend() {
    let c = Canvas(width: 20, height: 10)
    c.fill(Rect(x: -5, y: -5, width: 10, height: 10), Color(rgb: 0xFF0000))
    #expect(c.pixel(x: 0, y: 0) == 0xFF0000 && c.pixel(x: 4, y: 4) == 0xFF0000)
    #expect(c.pixel(x: 5, y: 5) == 0)
    c.withClip(Rect(x: 10, y: 0, width: 5, height: 10)) {
      c.fill(c.bounds, Color(rgb: 0x00FF00))
    }
    #expect(
      c.pixel(x: 9, y: 0) == 0 && c.pixel(x: 10, y: 0) == 0x00FF00 && c.pixel(x: 15, y: 0) == 0)
    c.blend(Rect(x: 0, y: 0, width: 1, height: 1), Color(rgb: 0x0000FF), alpha: 128)
    let p = c.pixel(x: 0, y: 0)
    #expect(p >> 16 & 0xFF > 120 && p >> 16 & 0xFF < 135 && p & 0xFF > 120 && p & 0xFF < 135)
  }

  @Test func roundedCornersAreAntiAliasedAndSymmetric() {
    let c = Canvas(width: 40, height: 40)
    c.fillRounded(Rect(x: 0, y: 0, width: 40, height: 40), radius: 10, .white, outside: .black)
    #expect(c.pixel(x: 0, y: 0) == 0)  // outside the curve
    #expect(c.pixel(x: 20, y: 20) == 0xFFFFFF)
    #expect(c.pixel(x: 10, y: 0) == 0xFFFFFF)
    // Somewhere on the curve there is a partial pixel (anti-aliasing).
    let partial = (0..<100).contains { i in
      let v = c.pixel(x: i % 10, y: i / 10) & 0xFF
      return v > 0 && v < 255
    }
    #expect(partial)
    for y in 0..<40 {
      for x in 0..<40 {
        #expect(c.pixel(x: x, y: y) == c.pixel(x: 39 - x, y: 39 - y))
      }
    }
  }

  @Test func linesAndCirclesStayInTheirBoxes() {
    let c = Canvas(width: 50, height: 50)
    c.line(x0: 5, y0: 5, x1: 45, y1: 30, lineWidth: 2, .white)
    c.fillCircle(centerX: 25, centerY: 40, radius: 5, .white)
    #expect(c.pixel(x: 25, y: 40) == 0xFFFFFF)
    #expect(c.pixel(x: 0, y: 49) == 0 && c.pixel(x: 49, y: 0) == 0)
    #expect(c.pixel(x: 25, y: 17) != 0)  // on the line
  }
}

@Suite struct RotationTests {
  func patterned(_ w: Int, _ h: Int) -> Canvas {
    let c = Canvas(width: w, height: h)
    for y in 0..<h { for x in 0..<w { c.setPixel(x: x, y: y, UInt32(y * w + x)) } }
    return c
  }

  @Test(arguments: Rotation.allCases)
  func rotationMovesEveryPixelWhereTouchInputLooks(_ rotation: Rotation) {
    let (w, h) = (37, 23)
    let src = patterned(w, h)
    let size = rotation.physicalSize(logical: src.size)
    let out = Canvas(width: size.width, height: size.height)
    let written = out.copyRotated(from: src.frame, rotation: rotation)
    #expect(written == [out.bounds])
    for y in 0..<size.height {
      for x in 0..<size.width {
        let p = rotation.logicalPoint(physicalX: x, physicalY: y, physical: size)
        #expect(out.pixel(x: x, y: y) == src.pixel(x: p.x, y: p.y))
      }
    }
  }

  @Test(arguments: Rotation.allCases)
  func damagedRectsLandWhereTheyAreReported(_ rotation: Rotation) {
    let (w, h) = (40, 30)
    let src = patterned(w, h)
    let size = rotation.physicalSize(logical: src.size)
    let out = Canvas(width: size.width, height: size.height)
    let rect = Rect(x: 5, y: 7, width: 9, height: 4)
    let written = out.copyRotated(from: src.frame, rotation: rotation, rects: [rect])
    #expect(written.count == 1 && written[0].area == rect.area)
    for y in 0..<size.height {
      for x in 0..<size.width {
        #expect(
          (out.pixel(x: x, y: y) != 0) == written[0].contains(x: x, y: y) || (x == 0 && y == 0))
      }
    }
  }

}

@Suite struct PNGTests {
  @Test func encodeDecodeRoundTrip() throws {
    var rng = SeededRandom(seed: 7)
    let c = Canvas(width: 61, height: 17)
    for y in 0..<17 {
      for x in 0..<61 {
        c.setPixel(
          x: x, y: y,
          x < 30 ? UInt32(x * 4) << 8 : UInt32(truncatingIfNeeded: rng.next()) & 0xFFFFFF)
      }
    }
    let bytes = try PNG.encode(c)
    let img = try PNG.decode(bytes)
    #expect(img.width == 61 && img.height == 17)
    for y in 0..<17 { for x in 0..<61 { #expect(img.pixel(x: x, y: y) == c.pixel(x: x, y: y)) } }
  }

  @Test func badFilesAreRejectedWithAReason() throws {
    #expect(throws: PNGError.self) { try PNG.decode([1, 2, 3]) }
    var bytes = try PNG.encode(Canvas(width: 4, height: 4))
    bytes[bytes.count / 2] ^= 0xFF
    #expect(throws: PNGError.self) { try PNG.decode(bytes) }
    #expect(throws: (any Error).self) { try PNG.read("/nonexistent/x.png") }
  }

  @Test func writesAtomicallyWithoutLeftovers() throws {
    let dir = NSTemporaryDirectory() + "kds-png-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let c = Canvas(width: 8, height: 8)
    c.fill(c.bounds, Color(rgb: 0x123456))
    try PNGFile.write(c, to: dir + "/a.png")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a.png"])
    #expect(try PNG.read(dir + "/a.png").pixel(x: 3, y: 3) == 0x123456)
    #expect {
      try PNGFile.write(c, to: dir + "/missing/b.png")
    } throws: { error in
      (error as? SystemError)?.code == ENOENT
    }
  }

  @Test func snapshotOutputWritesWhenTheFrameChanges() throws {
    let dir = NSTemporaryDirectory() + "kds-snap-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = try #require(SnapshotOutput(displaySpec: "snapshot:" + dir + "/screen.png"))
    #expect(SnapshotOutput(displaySpec: "drm:/dev/dri/card0") == nil)
    let renderer = BoardRenderer(width: 640, height: 400, text: try RenderTest.engine())
    var snap = RenderTest.snapshot(try RenderTest.tickets("tickets-lunch-rush.json"))
    #expect(try out.present(renderer.canvas, damage: renderer.render(snap).rects))
    #expect(try !out.present(renderer.canvas, damage: renderer.render(snap).rects))
    #expect(out.framesWritten == 1)
    snap.now = snap.now.adding(seconds: 1)
    #expect(try out.present(renderer.canvas, damage: renderer.render(snap).rects))
    #expect(out.framesWritten == 2)
    let img = try PNG.read(dir + "/screen.png")
    #expect(img.width == 640 && img.height == 400)
    #expect(
      img.pixels == (0..<400).flatMap { y in (0..<640).map { renderer.canvas.pixel(x: $0, y: y) } })
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["screen.png"])
  }
}

@Suite struct TextTests {
  @Test func kerningTightensPairs() throws {
    let e = try RenderTest.engine()
    let s = TextStyle.regular(40)
    #expect(e.width("AV", s) < e.width("A", s) + e.width("V", s))
  }

  @Test func boldIsARealFontFile() throws {
    let e = try RenderTest.engine()
    #expect(e.fonts.faceNames[1].hasSuffix("DejaVuSans-Bold.ttf"))
    #expect(e.width("Beef burger", .bold(22)) > e.width("Beef burger", .regular(22)))
  }

  @Test func wrapKeepsLinesInsideTheWidth() throws {
    let e = try RenderTest.engine()
    var rng = SeededRandom(seed: 3)
    for _ in 0..<60 {
      let text = (0..<Int.random(in: 1...14, using: &rng)).map { _ in
        TicketGenerator.names.randomElement(using: &rng)!
      }.joined(separator: " ")
      let width = Int.random(in: 60...400, using: &rng)
      let lines = e.wrap(text, .regular(20), width: width)
      #expect(!lines.isEmpty)
      for l in lines { #expect(e.width(l, .regular(20)) <= width, "'\(l)' wider than \(width)") }
      #expect(
        lines.joined().filter { $0 != " " }
          == String(text.unicodeScalars.filter { $0 != " " && $0.value >= 0x20 }))
    }
  }

  @Test func ellipsisCutsToFit() throws {
    let e = try RenderTest.engine()
    let s = e.ellipsize("Zoë Nakawunde-Ssebunya and friends", .regular(20), width: 120)
    #expect(s.hasSuffix("…"))
    #expect(e.width(s, .regular(20)) <= 120)
    #expect(e.ellipsize("Short", .regular(20), width: 120) == "Short")
    #expect(e.ellipsize("Anything", .regular(20), width: 2) == "")
  }

  @Test func tinyGlyphCacheStaysBoundedAndDrawsTheSame() throws {
    let small = try RenderTest.engine(glyphCapacity: 16)
    let big = try RenderTest.engine()
    let snap = RenderTest.snapshot(try RenderTest.tickets("tickets-edge-cases.json"))
    let a = BoardRenderer(width: 800, height: 480, text: small)
    let b = BoardRenderer(width: 800, height: 480, text: big)
    a.render(snap)
    b.render(snap)
    #expect(small.glyphCacheCount <= 16)
    #expect(small.glyphCacheEvictions > 0)
    for y in 0..<480 {
      for x in 0..<800 { #expect(a.canvas.pixel(x: x, y: y) == b.canvas.pixel(x: x, y: y)) }
    }
  }

  @Test func missingFontsGiveAClearError() {
    #expect {
      try FontLocator.load(explicit: "/nonexistent-fonts")
    } throws: { error in
      (error as? FontError)?.description.contains("/nonexistent-fonts") ?? false
    }
    #expect(FontLocator.candidates().contains(FontLocator.installDirectory))
  }
}
