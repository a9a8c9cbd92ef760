import KDSDeviceTestSupport
import KDSGeometry
import Testing

@Suite struct ShadowBufferFill {
  @Test func startsBlackAndFramesItsPixels() {
    let s = ShadowBuffer(size: Size(width: 5, height: 3))
    #expect(s.size == Size(width: 5, height: 3))
    let f = s.frame
    #expect(f.bounds == Rect(x: 0, y: 0, width: 5, height: 3))
    #expect(f.stride == 5)
    #expect((0..<3).allSatisfy { y in (0..<5).allSatisfy { x in f[x, y] == 0 } })
  }

  @Test func fillsOnlyTheRectangleClippedToTheBuffer() {
    let s = ShadowBuffer(size: Size(width: 4, height: 3))
    s.fill(Rect(x: 2, y: 1, width: 10, height: 10), color: 0xFF_FFFF)
    s.fill(Rect(x: -5, y: -5, width: 6, height: 6), color: 0x12_3456)
    s.fill(Rect(x: 9, y: 9, width: 2, height: 2), color: 0xAB_CDEF)
    let f = s.frame
    var rows: [[UInt32]] = []
    for y in 0..<3 { rows.append((0..<4).map { f[$0, y] }) }
    #expect(
      rows == [
        [0x12_3456, 0, 0, 0],
        [0, 0, 0xFF_FFFF, 0xFF_FFFF],
        [0, 0, 0xFF_FFFF, 0xFF_FFFF],
      ])
  }
}
