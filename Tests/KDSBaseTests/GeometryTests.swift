import KDSGeometry
import Testing

@Suite struct GeometryTests {
  @Test func rectangleAlgebra() {
    let a = Rect(x: 10, y: 10, width: 20, height: 10)
    let b = Rect(x: 25, y: 15, width: 10, height: 10)
    #expect(a.intersection(b) == Rect(x: 25, y: 15, width: 5, height: 5))
    #expect(a.union(b) == Rect(x: 10, y: 10, width: 25, height: 15))
    #expect(a.intersection(Rect(x: 100, y: 0, width: 5, height: 5)) == .zero)
    #expect(a.union(.zero) == a)
    #expect(a.contains(x: 29, y: 19) && !a.contains(x: 30, y: 19))
    #expect(a.description == "20x10+10+10")
  }

  @Test(arguments: Rotation.allCases)
  func pointsRoundTripThroughEveryRotation(_ rotation: Rotation) {
    let logical = Size(width: 7, height: 4)
    let physical = rotation.physicalSize(logical: logical)
    #expect(rotation.logicalSize(physical: physical) == logical)
    for y in 0..<logical.height {
      for x in 0..<logical.width {
        let p = rotation.physicalPoint(x: x, y: y, physical: physical)
        #expect(p.x >= 0 && p.x < physical.width && p.y >= 0 && p.y < physical.height)
        let back = rotation.logicalPoint(physicalX: p.x, physicalY: p.y, physical: physical)
        #expect(back.x == x && back.y == y)
        // The physical rectangle of a one-pixel logical rectangle is that pixel.
        let r = rotation.physicalRect(Rect(x: x, y: y, width: 1, height: 1), physical: physical)
        #expect(r == Rect(x: p.x, y: p.y, width: 1, height: 1))
      }
    }
  }

  @Test func rotationParsing() {
    #expect(Rotation(parsing: " 90 ") == .clockwise90)
    #expect(Rotation(parsing: "45") == nil)
    #expect(Rotation(parsing: "") == nil)
    #expect(Rotation(degrees: -90) == .clockwise270)
    #expect(Rotation(degrees: 450) == .clockwise90)
    #expect(Rotation(degrees: 45) == nil)
  }

  @Test func pixelFrameReadsByStride() {
    let pixels: [UInt32] = [1, 2, 99, 3, 4, 99]
    pixels.withUnsafeBufferPointer { buf in
      let frame = PixelFrame(base: buf.baseAddress!, width: 2, height: 2, stride: 3)
      #expect(frame[1, 0] == 2)
      #expect(frame[0, 1] == 3)
      #expect(frame.bounds == Rect(x: 0, y: 0, width: 2, height: 2))
    }
  }
}
