import CEvdev
import KDSGeometry

/// Where touches go: the panel's physical size and how the picture on it is
/// turned. A touch panel is glued to the panel, so its raw axes follow the
/// physical pixels; taps are reported in logical (renderer) coordinates.
/// `rotation` is the screen mounting, as the display reports it.
public struct TouchScreen: Equatable, Sendable {
  public var physicalWidth: Int
  public var physicalHeight: Int
  public var rotation: Rotation

  public init(physicalWidth: Int, physicalHeight: Int, rotation: Rotation = .none) {
    self.physicalWidth = physicalWidth
    self.physicalHeight = physicalHeight
    self.rotation = rotation
  }

  /// Physical pixel to logical pixel (the inverse of the display's rotation).
  public func logicalPoint(physicalX px: Int, physicalY py: Int) -> (x: Int, y: Int) {
    rotation.logicalPoint(
      physicalX: px, physicalY: py,
      physical: Size(width: physicalWidth, height: physicalHeight))
  }
}

/// Raw touch coordinates to logical screen pixels.
public struct TouchMapping: Equatable, Sendable {
  public var rawX: ClosedRange<Int32>
  public var rawY: ClosedRange<Int32>
  public var calibration: TouchCalibration
  public var screen: TouchScreen

  /// `rawX`/`rawY`: the device's axis ranges (absinfo); the calibration's
  /// ranges replace them when set. With `swapXY` the raw X axis runs along
  /// the panel's height.
  public init(
    rawX: ClosedRange<Int32>, rawY: ClosedRange<Int32>, calibration: TouchCalibration = .init(),
    screen: TouchScreen
  ) {
    self.rawX = rawX
    self.rawY = rawY
    self.calibration = calibration
    self.screen = screen
  }

  public func map(rawX x: Int32, rawY y: Int32) -> (x: Int, y: Int) {
    let c = calibration
    let x0 = Double(c.minX ?? rawX.lowerBound)
    let x1 = Double(c.maxX ?? rawX.upperBound)
    let y0 = Double(c.minY ?? rawY.lowerBound)
    let y1 = Double(c.maxY ?? rawY.upperBound)
    var nx = x1 == x0 ? 0 : (Double(x) - x0) / (x1 - x0)
    var ny = y1 == y0 ? 0 : (Double(y) - y0) / (y1 - y0)
    if c.swapXY { swap(&nx, &ny) }
    if c.invertX { nx = 1 - nx }
    if c.invertY { ny = 1 - ny }
    nx = min(1, max(0, nx))
    ny = min(1, max(0, ny))
    let px = Int((nx * Double(screen.physicalWidth - 1)).rounded())
    let py = Int((ny * Double(screen.physicalHeight - 1)).rounded())
    return screen.logicalPoint(physicalX: px, physicalY: py)
  }
}

/// Turns a touch device's events into taps: one finger down and up again
/// within `maxDistance` logical pixels and `maxDuration` nanoseconds. Two
/// fingers, a drag, a long press or a SYN_DROPPED cancel the gesture.
/// Multitouch protocol B (slots) or single touch (BTN_TOUCH, ABS_X/Y).
public struct TapRecognizer: Sendable {
  public var mapping: TouchMapping
  public let multitouch: Bool
  public var maxDistance: Int = 24
  public var maxDuration: UInt64 = 600_000_000

  private struct Contact: Sendable {
    var active = false
    var x: Int32 = 0
    var y: Int32 = 0
  }
  private var slots = [Contact](repeating: Contact(), count: 16)
  private var slot = 0
  private var single = Contact()
  private var gestureActive = false
  private var cancelled = false
  private var downTime: UInt64 = 0
  private var downPoint = (x: 0, y: 0)
  private var lastPoint = (x: 0, y: 0)

  public init(mapping: TouchMapping, multitouch: Bool) {
    self.mapping = mapping
    self.multitouch = multitouch
  }

  /// One evdev event; `time` its timestamp in ns. Returns a tap when this
  /// SYN_REPORT ends one.
  public mutating func feed(type: UInt16, code: UInt16, value: Int32, time: UInt64) -> (
    x: Int, y: Int
  )? {
    switch Int32(type) {
    case EV_ABS where multitouch:
      switch Int32(code) {
      case ABS_MT_SLOT: slot = Int(max(0, min(Int32(slots.count - 1), value)))
      case ABS_MT_TRACKING_ID: slots[slot].active = value >= 0
      case ABS_MT_POSITION_X: slots[slot].x = value
      case ABS_MT_POSITION_Y: slots[slot].y = value
      default: break
      }
    case EV_ABS:
      if Int32(code) == ABS_X { single.x = value }
      if Int32(code) == ABS_Y { single.y = value }
    case EV_KEY where !multitouch && Int32(code) == BTN_TOUCH:
      single.active = value != 0
    case EV_SYN where Int32(code) == SYN_REPORT:
      return frame(time: time)
    case EV_SYN where Int32(code) == SYN_DROPPED:
      dropped()
    default: break
    }
    return nil
  }

  /// Events were lost (SYN_DROPPED): the gesture in progress is no tap.
  public mutating func dropped() {
    if gestureActive { cancelled = true }
  }

  private mutating func frame(time: UInt64) -> (x: Int, y: Int)? {
    let contacts = multitouch ? slots.filter(\.active) : (single.active ? [single] : [])
    if contacts.isEmpty {
      defer {
        gestureActive = false
        cancelled = false
      }
      guard gestureActive, !cancelled, time &- downTime <= maxDuration else { return nil }
      return downPoint
    }
    let p = mapping.map(rawX: contacts[0].x, rawY: contacts[0].y)
    if !gestureActive {
      gestureActive = true
      cancelled = contacts.count > 1
      downTime = time
      downPoint = p
    } else if contacts.count > 1 {
      cancelled = true
    }
    let dx = p.x - downPoint.x
    let dy = p.y - downPoint.y
    if dx * dx + dy * dy > maxDistance * maxDistance { cancelled = true }
    lastPoint = p
    return nil
  }
}
