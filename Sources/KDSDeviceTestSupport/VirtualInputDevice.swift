import CEvdev
import Glibc
import KDSInput
import KDSSystem

/// A uinput device for the device tests (the QEMU guest's `kds-devtest
/// virtual-device`, not shipped in the kiosk): a multitouch screen
/// (protocol B, raw axes 0...4095, also single-touch ABS_X/ABS_Y/BTN_TOUCH)
/// or a USB keyboard/bump bar with a given vendor:product.
public final class VirtualInputDevice {
  public enum Kind: Sendable {
    case touch
    case keys(InputDeviceID)
  }

  public static let touchRange: ClosedRange<Int32> = 0...4095

  public let kind: Kind
  public let name: String
  private var dev: OpaquePointer?
  private var uinput: OpaquePointer?
  private var trackingID: Int32 = 1

  public init(kind: Kind, name: String) throws {
    self.kind = kind
    self.name = name
    try create()
  }

  deinit { destroy() }

  /// The /dev/input/event* node, once the kernel made it.
  public var devnode: String? {
    uinput.flatMap { libevdev_uinput_get_devnode($0) }.map { String(cString: $0) }
  }

  public var isPlugged: Bool { uinput != nil }

  /// (Re)creates the device: a replug.
  public func create() throws {
    guard uinput == nil else { return }
    guard let d = libevdev_new() else { throw InputError("libevdev_new failed") }
    libevdev_set_name(d, name)
    libevdev_set_id_bustype(d, Int32(BUS_USB))
    switch kind {
    case .touch:
      libevdev_set_id_vendor(d, 0x1209)
      libevdev_set_id_product(d, 0x7001)
      _ = libevdev_enable_property(d, UInt32(INPUT_PROP_DIRECT))
      enableAbs(d, ABS_X)
      enableAbs(d, ABS_Y)
      enableAbs(d, ABS_MT_POSITION_X)
      enableAbs(d, ABS_MT_POSITION_Y)
      var slot = input_absinfo(value: 0, minimum: 0, maximum: 9, fuzz: 0, flat: 0, resolution: 0)
      _ = libevdev_enable_event_code(d, UInt32(EV_ABS), UInt32(ABS_MT_SLOT), &slot)
      var tid = input_absinfo(
        value: 0, minimum: 0, maximum: 65535, fuzz: 0, flat: 0, resolution: 0)
      _ = libevdev_enable_event_code(d, UInt32(EV_ABS), UInt32(ABS_MT_TRACKING_ID), &tid)
      _ = libevdev_enable_event_code(d, UInt32(EV_KEY), UInt32(BTN_TOUCH), nil)
    case .keys(let id):
      libevdev_set_id_vendor(d, Int32(id.vendor))
      libevdev_set_id_product(d, Int32(id.product))
      for code in 1...Int32(KEY_MICMUTE) {
        _ = libevdev_enable_event_code(d, UInt32(EV_KEY), UInt32(code), nil)
      }
    }
    var ui: OpaquePointer?
    let rc = libevdev_uinput_create_from_device(d, LIBEVDEV_UINPUT_OPEN_MANAGED.rawValue, &ui)
    guard rc == 0, let ui else {
      libevdev_free(d)
      throw InputError(SystemError("cannot create a uinput device", negativeReturn: rc).description)
    }
    dev = d
    uinput = ui
  }

  private func enableAbs(_ d: OpaquePointer, _ code: Int32) {
    var info = input_absinfo(
      value: 0, minimum: Self.touchRange.lowerBound, maximum: Self.touchRange.upperBound,
      fuzz: 0, flat: 0, resolution: 0)
    _ = libevdev_enable_event_code(d, UInt32(EV_ABS), UInt32(code), &info)
  }

  /// Removes the device: an unplug.
  public func destroy() {
    if let uinput { libevdev_uinput_destroy(uinput) }
    if let dev { libevdev_free(dev) }
    uinput = nil
    dev = nil
  }

  private func write(_ type: Int32, _ code: Int32, _ value: Int32) throws {
    guard let uinput else { throw InputError("\(name) is unplugged") }
    let rc = libevdev_uinput_write_event(uinput, UInt32(type), UInt32(code), value)
    guard rc == 0 else {
      throw InputError(SystemError("uinput write", negativeReturn: rc).description)
    }
  }

  /// One finger down at raw (x, y) and up again.
  public func tap(x: Int32, y: Int32) throws {
    try write(EV_ABS, ABS_MT_SLOT, 0)
    try write(EV_ABS, ABS_MT_TRACKING_ID, trackingID)
    try write(EV_ABS, ABS_MT_POSITION_X, x)
    try write(EV_ABS, ABS_MT_POSITION_Y, y)
    try write(EV_KEY, BTN_TOUCH, 1)
    try write(EV_ABS, ABS_X, x)
    try write(EV_ABS, ABS_Y, y)
    try write(EV_SYN, SYN_REPORT, 0)
    try write(EV_ABS, ABS_MT_TRACKING_ID, -1)
    try write(EV_KEY, BTN_TOUCH, 0)
    try write(EV_SYN, SYN_REPORT, 0)
    trackingID = trackingID % 60000 + 1
  }

  /// One finger down at raw (x, y), staying down (`up()` lifts it).
  public func down(x: Int32, y: Int32) throws {
    try write(EV_ABS, ABS_MT_SLOT, 0)
    try write(EV_ABS, ABS_MT_TRACKING_ID, trackingID)
    try write(EV_ABS, ABS_MT_POSITION_X, x)
    try write(EV_ABS, ABS_MT_POSITION_Y, y)
    try write(EV_KEY, BTN_TOUCH, 1)
    try write(EV_ABS, ABS_X, x)
    try write(EV_ABS, ABS_Y, y)
    try write(EV_SYN, SYN_REPORT, 0)
    trackingID = trackingID % 60000 + 1
  }

  /// The finger down moves to raw (x, y).
  public func move(x: Int32, y: Int32) throws {
    try write(EV_ABS, ABS_MT_SLOT, 0)
    try write(EV_ABS, ABS_MT_POSITION_X, x)
    try write(EV_ABS, ABS_MT_POSITION_Y, y)
    try write(EV_ABS, ABS_X, x)
    try write(EV_ABS, ABS_Y, y)
    try write(EV_SYN, SYN_REPORT, 0)
  }

  /// Every finger lifts.
  public func up() throws {
    for slot: Int32 in [1, 0] {
      try write(EV_ABS, ABS_MT_SLOT, slot)
      try write(EV_ABS, ABS_MT_TRACKING_ID, -1)
    }
    try write(EV_KEY, BTN_TOUCH, 0)
    try write(EV_SYN, SYN_REPORT, 0)
  }

  /// A second contact (slot 1) at raw (x, y) while the first is down: a palm
  /// or a second finger.
  public func secondContact(x: Int32, y: Int32) throws {
    try write(EV_ABS, ABS_MT_SLOT, 1)
    try write(EV_ABS, ABS_MT_TRACKING_ID, trackingID)
    try write(EV_ABS, ABS_MT_POSITION_X, x)
    try write(EV_ABS, ABS_MT_POSITION_Y, y)
    try write(EV_SYN, SYN_REPORT, 0)
    trackingID = trackingID % 60000 + 1
  }

  /// A key press and release.
  public func press(code: UInt16) throws {
    try write(EV_KEY, Int32(code), 1)
    try write(EV_SYN, SYN_REPORT, 0)
    try write(EV_KEY, Int32(code), 0)
    try write(EV_SYN, SYN_REPORT, 0)
  }
}

@available(*, unavailable) extension VirtualInputDevice: Sendable {}
