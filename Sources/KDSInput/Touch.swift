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

/// Turns a touch device's evdev events into touch-down, move, up and cancel
/// events in logical screen pixels, one per SYN_REPORT at most. What a touch
/// means (a tap selects, a hold bumps) is decided above it, in the kiosk's
/// input bridge, which runs the hold timer.
///
/// One finger is a touch. A second contact at once (a palm, two fingers) or
/// a SYN_DROPPED cancels the touch in progress (`touchCancel`), and nothing
/// more is reported until every contact has lifted: a palm never becomes a
/// tap or a hold. Multitouch protocol B (slots) or single touch (BTN_TOUCH,
/// ABS_X/Y).
public struct TouchRecognizer: Sendable {
  public var mapping: TouchMapping
  public let multitouch: Bool

  private struct Contact: Sendable {
    var active = false
    var x: Int32 = 0
    var y: Int32 = 0
  }
  private enum State: Sendable {
    case idle
    /// One finger down, last reported at this point.
    case tracking(x: Int, y: Int)
    /// Cancelled: waiting for every contact to lift.
    case blocked
  }
  private var slots = [Contact](repeating: Contact(), count: 16)
  private var slot = 0
  private var single = Contact()
  private var state = State.idle

  public init(mapping: TouchMapping, multitouch: Bool) {
    self.mapping = mapping
    self.multitouch = multitouch
  }

  /// The contacts down now.
  public var contactCount: Int {
    multitouch ? slots.reduce(0) { $0 + ($1.active ? 1 : 0) } : (single.active ? 1 : 0)
  }

  /// Whether a touch is being followed (one finger down, not cancelled).
  public var isTracking: Bool {
    if case .tracking = state { return true }
    return false
  }

  /// One evdev event; `time` its timestamp in ns (CLOCK_MONOTONIC). Returns
  /// the touch event this SYN_REPORT (or SYN_DROPPED) ends, if any.
  public mutating func feed(type: UInt16, code: UInt16, value: Int32, time: UInt64) -> InputEvent? {
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
      return dropped(time: time)
    default: break
    }
    return nil
  }

  /// Events were lost (SYN_DROPPED): the touch in progress is cancelled.
  public mutating func dropped(time: UInt64) -> InputEvent? {
    switch state {
    case .tracking:
      state = .blocked
      return .touchCancel(reason: .eventsDropped, time: time)
    case .idle:
      // The gap may hide a finger that came down: wait until all lift.
      state = .blocked
      return nil
    case .blocked:
      return nil
    }
  }

  private mutating func frame(time: UInt64) -> InputEvent? {
    let n = contactCount
    switch state {
    case .idle:
      if n == 1 {
        let p = position()
        state = .tracking(x: p.x, y: p.y)
        return .touchDown(x: p.x, y: p.y, time: time)
      }
      if n > 1 {
        state = .blocked
        return .touchCancel(reason: .contacts(n), time: time)
      }
      return nil
    case .tracking(let lx, let ly):
      if n == 0 {
        state = .idle
        return .touchUp(x: lx, y: ly, time: time)
      }
      if n > 1 {
        state = .blocked
        return .touchCancel(reason: .contacts(n), time: time)
      }
      let p = position()
      guard p.x != lx || p.y != ly else { return nil }
      state = .tracking(x: p.x, y: p.y)
      return .touchMove(x: p.x, y: p.y, time: time)
    case .blocked:
      if n == 0 { state = .idle }
      return nil
    }
  }

  private func position() -> (x: Int, y: Int) {
    let c = multitouch ? (slots.first(where: \.active) ?? Contact()) : single
    return mapping.map(rawX: c.x, rawY: c.y)
  }
}
