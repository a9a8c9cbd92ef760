import CEvdev
import Glibc
import KDSGeometry
import KDSInput
import Testing

/// How the recognizer's output reads in these tests.
func describe(_ e: InputEvent) -> String {
  switch e {
  case .touchDown(let x, let y, _): "down \(x),\(y)"
  case .touchMove(let x, let y, _): "move \(x),\(y)"
  case .touchUp(let x, let y, _): "up \(x),\(y)"
  case .touchCancel(let reason, _): "cancel \(reason)"
  default: "\(e)"
  }
}

/// The touch recognizer on raw evdev sequences (as `evtest` shows them):
/// one finger is down / move / up; a second contact or lost events cancel,
/// and nothing more comes until every contact lifted.
@Suite struct TouchRecognition {
  let screen = TouchScreen(physicalWidth: 1280, physicalHeight: 800)

  func recognizer(multitouch: Bool = true, calibration: TouchCalibration = .init())
    -> TouchRecognizer
  {
    TouchRecognizer(
      mapping: TouchMapping(
        rawX: 0...4095, rawY: 0...4095, calibration: calibration, screen: screen),
      multitouch: multitouch)
  }

  @Test func protocolBTouchDownMoveUp() {
    var s = EventScript()
    s.mtDown(id: 7, x: 2048, y: 2048)
    s.ev(EV_KEY, BTN_TOUCH, 1)
    s.ev(EV_ABS, ABS_X, 2048)
    s.ev(EV_ABS, ABS_Y, 2048)
    s.syn()
    s.mtMove(x: 2048, y: 2048)  // a report without movement says nothing
    s.syn()
    s.mtMove(x: 2060, y: 2047)
    s.syn()
    s.mtUp()
    s.ev(EV_KEY, BTN_TOUCH, 0)
    s.syn()
    var r = recognizer()
    #expect(s.run(&r) == ["down 640,400", "move 643,399", "up 643,399"])
    #expect(r.contactCount == 0)
    #expect(!r.isTracking)
  }

  @Test func timestampsAreTheKernels() {
    var s = EventScript()
    s.mtDown(id: 1, x: 0, y: 0)
    s.syn(after: 700)
    s.mtUp()
    s.syn()
    var r = recognizer()
    let events = s.events.compactMap { r.feed(type: $0.0, code: $0.1, value: $0.2, time: $0.3) }
    #expect(
      events == [
        .touchDown(x: 0, y: 0, time: 1_000_000_000), .touchUp(x: 0, y: 0, time: 1_700_000_000),
      ])
  }

  @Test func aSecondContactCancelsAndNothingFollowsUntilAllLift() {
    var s = EventScript()
    s.mtDown(slot: 0, id: 3, x: 1000, y: 1000)
    s.syn()
    s.mtDown(slot: 1, id: 4, x: 3000, y: 3000)  // a palm lands
    s.syn()
    s.mtMove(slot: 0, x: 1500, y: 1000)
    s.syn()
    s.mtUp(slot: 1)  // back to one finger: still nothing
    s.syn()
    s.mtMove(slot: 0, x: 1600, y: 1000)
    s.syn()
    s.mtUp(slot: 0)
    s.syn()
    var r = recognizer()
    #expect(s.run(&r) == ["down 312,195", "cancel 2 contacts at once"])
    // Ready again afterwards.
    var again = EventScript()
    again.mtDown(id: 5, x: 0, y: 0)
    again.syn()
    again.mtUp()
    again.syn()
    #expect(again.run(&r) == ["down 0,0", "up 0,0"])
  }

  @Test func twoFingersAtOnceNeverStartATouch() {
    var s = EventScript()
    s.mtDown(slot: 0, id: 1, x: 1000, y: 1000)
    s.mtDown(slot: 1, id: 2, x: 1100, y: 1000)
    s.syn()
    s.mtUp(slot: 0)
    s.syn()
    s.mtUp(slot: 1)
    s.syn()
    var r = recognizer()
    #expect(s.run(&r) == ["cancel 2 contacts at once"])
  }

  @Test func synDroppedCancelsTheTouch() {
    var s = EventScript()
    s.mtDown(id: 9, x: 100, y: 100)
    s.syn()
    s.ev(EV_SYN, SYN_DROPPED, 0)
    s.mtUp()
    s.syn()
    s.mtDown(id: 10, x: 4095, y: 4095)
    s.syn()
    s.mtUp()
    s.syn()
    var r = recognizer()
    #expect(
      s.run(&r) == [
        "down 31,20", "cancel events dropped", "down 1279,799", "up 1279,799",
      ])
  }

  @Test func synDroppedWithNoFingerWaitsForAllToLift() {
    // The gap may hide a finger that came down: what is down when the
    // events resume is not a touch.
    var s = EventScript()
    s.ev(EV_SYN, SYN_DROPPED, 0)
    s.mtDown(id: 1, x: 100, y: 100)
    s.syn()
    s.mtUp()
    s.syn()
    s.mtDown(id: 2, x: 100, y: 100)
    s.syn()
    var r = recognizer()
    #expect(s.run(&r) == ["down 31,20"])
  }

  @Test func singleTouchDevice() {
    var s = EventScript()
    s.ev(EV_ABS, ABS_X, 1024)
    s.ev(EV_ABS, ABS_Y, 3072)
    s.ev(EV_KEY, BTN_TOUCH, 1)
    s.syn()
    s.ev(EV_ABS, ABS_X, 1100)
    s.syn()
    s.ev(EV_KEY, BTN_TOUCH, 0)
    s.syn()
    var r = recognizer(multitouch: false)
    #expect(s.run(&r) == ["down 320,599", "move 344,599", "up 344,599"])
  }

  @Test func calibrationSwapAndInvert() {
    let cal = TouchCalibration(
      minX: 100, maxX: 4100, minY: 0, maxY: 4000, swapXY: true, invertX: true)
    let m = TouchMapping(rawX: 0...4095, rawY: 0...4095, calibration: cal, screen: screen)
    // raw y (after the swap, the panel's x) 0 -> inverted -> right edge.
    #expect(m.map(rawX: 100, rawY: 0) == (1279, 0))
    #expect(m.map(rawX: 4100, rawY: 4000) == (0, 799))
    #expect(m.map(rawX: 2100, rawY: 2000) == (640, 400))
    // Outside the calibrated range: clamped to the screen.
    #expect(m.map(rawX: -500, rawY: 9000) == (0, 0))
  }

  @Test(arguments: [
    (Rotation.none, 0, 0, 0, 0),
    (Rotation.clockwise90, 1279, 0, 0, 0),
    (Rotation.upsideDown, 1279, 799, 0, 0),
    (Rotation.clockwise270, 0, 799, 0, 0),
    (Rotation.clockwise90, 0, 0, 0, 1279),
    (Rotation.clockwise270, 0, 0, 799, 0),
  ])
  func rotationMapsPanelPointsToLogicalOnes(
    rotation: Rotation, px: Int, py: Int, lx: Int, ly: Int
  ) {
    let s = TouchScreen(physicalWidth: 1280, physicalHeight: 800, rotation: rotation)
    #expect(s.logicalPoint(physicalX: px, physicalY: py) == (lx, ly))
  }
}
