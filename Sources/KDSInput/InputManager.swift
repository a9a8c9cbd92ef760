import CEvdev
import Glibc
import KDSSystem
import Logging

/// Reads every touch screen, keyboard and bump bar under /dev/input.
///
/// Discovers `event*` nodes at `start()`, follows hotplug with inotify, retries
/// nodes whose permissions are not ready yet (EACCES right after creation),
/// drops devices that disappear (ENODEV) and picks them up again when they
/// come back, resynchronises after SYN_DROPPED with libevdev's sync mode, and
/// grabs bump bars exclusively (EVIOCGRAB). Event timestamps are
/// CLOCK_MONOTONIC. Not thread-safe: drive it from one thread by polling
/// `pollDescriptors` and calling `handleEvents()` when one is readable or
/// `timerInterval` has passed.
public final class InputManager {
  public var config: InputConfig {
    didSet { for d in devices.values { d.configure(config: config, screen: screen) } }
  }
  /// Where taps land; update it when the display's mode or rotation changes.
  public var screen: TouchScreen {
    didSet { for d in devices.values { d.configure(config: config, screen: screen) } }
  }
  /// Also report every key press as `.keyPress` (the learn mode).
  public var reportRawKeys = false
  /// The node being learnt (`kdsctl learn-keys` on a running kiosk): its key
  /// presses are reported as `.keyPress` only, never as actions.
  public private(set) var learningPath: String?

  private let folder: String
  private let logger: Logger
  private var inotifyFD: Int32 = -1
  private var watch: Int32 = -1
  private var devices: [String: Device] = [:]
  /// Nodes that failed to open with a permission error: path -> first seen.
  private var pending: [String: UInt64] = [:]
  /// Nodes that are not ours (mice, power buttons): not reopened.
  private var ignored: Set<String> = []
  private var lastRetry: UInt64 = 0
  private var started = false

  /// How long a node's permission is retried on the timer.
  public var permissionRetryWindow: UInt64 = 30_000_000_000

  public init(
    config: InputConfig = InputConfig(), screen: TouchScreen, folder: String = "/dev/input",
    logger: Logger
  ) {
    self.config = config
    self.screen = screen
    self.folder = folder
    self.logger = logger
  }

  deinit { close() }

  /// Starts watching the folder and opens what is there. Returns the
  /// devices found as `.deviceAdded` events.
  public func start() throws -> [InputEvent] {
    inotifyFD = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
    guard inotifyFD >= 0 else {
      throw InputError("\(SystemError("inotify_init1"))")
    }
    started = true
    var out: [InputEvent] = []
    addWatch(&out)
    return out
  }

  private func addWatch(_ out: inout [InputEvent]) {
    guard watch < 0 else { return }
    let mask = UInt32(IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MOVED_TO | IN_DELETE_SELF)
    watch = inotify_add_watch(inotifyFD, folder, mask)
    if watch < 0 {
      logger.warning("input: cannot watch \(folder) yet: \(errnoText(errno))")
      return
    }
    for node in deviceNodes(in: folder, prefix: "event") where devices[node] == nil {
      open(node, &out)
    }
  }

  /// The inotify descriptor and every open device's.
  public var pollDescriptors: [Int32] {
    (inotifyFD >= 0 ? [inotifyFD] : []) + devices.values.map(\.handle.fd)
  }

  /// Milliseconds until `handleEvents()` should run again without input
  /// (permission retries, a missing folder), or nil.
  public var timerInterval: Int32? {
    if !pending.isEmpty { return 250 }
    if watch < 0 && started { return 1000 }
    return nil
  }

  /// The devices open now.
  public var openDevices: [InputDeviceInfo] {
    devices.values.map(\.info).sorted { $0.path < $1.path }
  }

  /// Reads everything readable (never blocks) and runs the retry timer.
  public func handleEvents() -> [InputEvent] {
    var out: [InputEvent] = []
    guard started else {
      // Not reading /dev/input (a kiosk without a screen), but learning the
      // keys of the one device `beginLearning` opened.
      if learningPath != nil { readDevices(&out) }
      return out
    }
    readInotify(&out)
    readDevices(&out)
    let now = SystemClock.monotonicNanoseconds()
    if now &- lastRetry >= 250_000_000 {
      lastRetry = now
      if watch < 0 { addWatch(&out) }
      for (path, since) in pending.sorted(by: { $0.key < $1.key }) {
        if now &- since > permissionRetryWindow {
          logger.warning("input: \(path): still no permission, giving up until it changes")
          pending[path] = nil
          continue
        }
        open(path, &out)
      }
    }
    return out
  }

  private func readDevices(_ out: inout [InputEvent]) {
    for path in devices.keys.sorted() {
      guard let d = devices[path] else { continue }
      if !d.read(
        into: &out, reportRawKeys: reportRawKeys, learning: d.info.path == learningPath,
        logger: logger)
      {
        remove(path, &out)
      }
    }
  }

  private func readInotify(_ out: inout [InputEvent]) {
    let size = 4096
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
    defer { buffer.deallocate() }
    while true {
      let n = read(inotifyFD, buffer, size)
      if n <= 0 { return }
      var offset = 0
      while offset + 16 <= n {
        let mask = buffer.load(fromByteOffset: offset + 4, as: UInt32.self)
        let len = Int(buffer.load(fromByteOffset: offset + 12, as: UInt32.self))
        let nameBytes = UnsafeRawBufferPointer(start: buffer + offset + 16, count: len)
        let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
        offset += 16 + len
        if mask & UInt32(IN_DELETE_SELF | IN_IGNORED) != 0 {
          watch = -1
          continue
        }
        guard name.hasPrefix("event") else { continue }
        let path = folder + "/" + name
        if mask & UInt32(IN_DELETE) != 0 {
          pending[path] = nil
          ignored.remove(path)
          if devices[path] != nil { remove(path, &out) }
        } else if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
          ignored.remove(path)
          if devices[path] == nil { open(path, &out) }
        } else if mask & UInt32(IN_ATTRIB) != 0 {
          if devices[path] == nil && !ignored.contains(path) { open(path, &out) }
        }
      }
    }
  }

  private func open(_ path: String, _ out: inout [InputEvent]) {
    let handle: EvdevHandle?
    do {
      handle = try EvdevHandle(path: path)
    } catch {
      if error.code == EACCES || error.code == EPERM {
        if pending[path] == nil {
          logger.info("input: \(path): permission not ready, retrying")
          pending[path] = SystemClock.monotonicNanoseconds()
        }
      } else if error.code != ENOENT && error.code != ENODEV {
        logger.warning("input: \(path): \(error.reason)")
      }
      return
    }
    pending[path] = nil
    guard let handle else {
      logger.warning("input: \(path): not an evdev device")
      ignored.insert(path)
      return
    }
    guard
      let device = Device(
        path: path, handle: handle, config: config, screen: screen, logger: logger)
    else {
      ignored.insert(path)
      return
    }
    devices[path] = device
    logger.info("input: added \(device.info)")
    out.append(.deviceAdded(device.info))
  }

  private func remove(_ path: String, _ out: inout [InputEvent]) {
    guard let d = devices.removeValue(forKey: path) else { return }
    logger.info("input: removed \(path) \"\(d.info.name)\"")
    out.append(.deviceRemoved(path: path, name: d.info.name))
  }

  /// Starts learning keys from `path`: opens it when it is not open yet
  /// (even with no key the map uses: a new bump bar), grabs it, and from now
  /// on reports its presses as `.keyPress` only, so they act on nothing.
  public func beginLearning(path: String) throws -> InputDeviceInfo {
    if devices[path] == nil {
      ignored.remove(path)
      let handle: EvdevHandle?
      do {
        handle = try EvdevHandle(path: path)
      } catch {
        throw InputError("\(path): \(error.reason)\(permissionHint(path))")
      }
      guard let handle,
        let device = Device(
          path: path, handle: handle, config: config, screen: screen, logger: logger, force: true)
      else { throw InputError("\(path): not an input device with keys") }
      devices[path] = device
      logger.info("input: added \(device.info) (to learn its keys)")
    }
    guard let device = devices[path] else { throw InputError("\(path): not open") }
    guard device.info.kind != .touch else {
      throw InputError("\(path) is a touch screen: it has no keys to learn")
    }
    if !device.info.grabbed {
      do {
        try device.handle.grab()
        device.info.grabbed = true
      } catch {
        logger.warning("input: \(path): cannot grab: \(error.reason)")
      }
    }
    learningPath = path
    return device.info
  }

  /// Ends the learning; the device keeps its grab when the map wants it.
  public func endLearning() {
    guard let path = learningPath else { return }
    learningPath = nil
    if let device = devices[path], device.info.grabbed, !config.shouldGrab(device.info.id) {
      device.handle.ungrab()
      device.info.grabbed = false
    }
  }

  /// The open node of a device with this vendor:product, if any.
  public func openNode(of id: InputDeviceID) -> String? {
    devices.values.filter { $0.info.id == id && $0.info.kind != .touch }.map(\.info.path).min()
  }

  /// Closes every device (releasing grabs) and the inotify descriptor.
  public func close() {
    devices = [:]
    if inotifyFD >= 0 { Glibc.close(inotifyFD) }
    inotifyFD = -1
    watch = -1
    started = false
  }

  /// One open evdev node; dropping it ungrabs and closes the node.
  final class Device {
    let handle: EvdevHandle
    var info: InputDeviceInfo
    var keyMap: KeyMap = [:]
    var recognizer: TouchRecognizer?
    private var dev: OpaquePointer { handle.dev }

    /// nil when the device has no touch and none of the keys we use (unless
    /// `force`: a device whose keys are about to be learnt).
    init?(
      path: String, handle: EvdevHandle, config: InputConfig, screen: TouchScreen, logger: Logger,
      force: Bool = false
    ) {
      self.handle = handle
      let name = handle.name
      let id = handle.id
      let mt = handle.has(EV_ABS, ABS_MT_POSITION_X) && handle.has(EV_ABS, ABS_MT_SLOT)
      let st = handle.has(EV_ABS, ABS_X) && handle.has(EV_KEY, BTN_TOUCH)
      let kind: InputDeviceInfo.Kind
      if mt || st {
        kind = .touch
      } else {
        let (map, bumpBar) = config.keyMap(for: id)
        guard force || map.keys.contains(where: { handle.has(EV_KEY, Int32($0)) }) else {
          logger.debug("input: \(path) \"\(name)\": no keys or touch we use, ignored")
          return nil
        }
        kind = bumpBar ? .bumpBar : .keyboard
      }
      info = InputDeviceInfo(path: path, name: name, id: id, kind: kind, grabbed: false)
      _ = libevdev_set_clock_id(dev, CLOCK_MONOTONIC)
      if kind != .touch && config.shouldGrab(id) {
        do {
          try handle.grab()
          info.grabbed = true
        } catch {
          logger.warning("input: \(path): cannot grab: \(error.reason)")
        }
      }
      configure(config: config, screen: screen)
    }

    func configure(config: InputConfig, screen: TouchScreen) {
      if info.kind == .touch {
        let mt = handle.has(EV_ABS, ABS_MT_SLOT)
        let (xc, yc) = mt ? (ABS_MT_POSITION_X, ABS_MT_POSITION_Y) : (ABS_X, ABS_Y)
        func range(_ code: Int32) -> ClosedRange<Int32> {
          guard let a = libevdev_get_abs_info(dev, UInt32(code)) else { return 0...1 }
          return a.pointee.minimum...max(a.pointee.minimum, a.pointee.maximum)
        }
        let mapping = TouchMapping(
          rawX: range(xc), rawY: range(yc), calibration: config.calibration(for: info.id),
          screen: screen)
        if recognizer == nil {
          recognizer = TouchRecognizer(mapping: mapping, multitouch: mt)
        } else {
          recognizer?.mapping = mapping
        }
      } else {
        keyMap = config.keyMap(for: info.id).map
        // A map given later (a reload after `kdsctl learn-keys`) grabs too.
        if !info.grabbed && config.shouldGrab(info.id) && (try? handle.grab()) != nil {
          info.grabbed = true
        }
      }
    }

    /// Reads until EAGAIN. False when the device is gone.
    func read(
      into out: inout [InputEvent], reportRawKeys: Bool, learning: Bool = false, logger: Logger
    ) -> Bool {
      var ev = input_event()
      var flags = LIBEVDEV_READ_FLAG_NORMAL.rawValue
      while true {
        let rc = libevdev_next_event(dev, flags, &ev)
        if rc == -EAGAIN {
          if flags == LIBEVDEV_READ_FLAG_SYNC.rawValue {
            flags = LIBEVDEV_READ_FLAG_NORMAL.rawValue
            continue
          }
          return true
        }
        if rc < 0 {
          if rc != -ENODEV {
            logger.warning("input: \(info.path): read failed: \(errnoText(-rc))")
          }
          return false
        }
        let time = nanoseconds(seconds: ev.time.tv_sec, microseconds: ev.time.tv_usec)
        if rc == Int32(LIBEVDEV_READ_STATUS_SYNC.rawValue) {
          if flags == LIBEVDEV_READ_FLAG_NORMAL.rawValue {
            // SYN_DROPPED: the kernel's buffer overflowed. Pull the device's
            // state back with sync mode; presses and releases lost whole in
            // the gap are not replayed.
            logger.warning("input: \(info.path): events dropped, resynchronising")
            if let cancel = recognizer?.dropped(time: time) { out.append(cancel) }
            flags = LIBEVDEV_READ_FLAG_SYNC.rawValue
            continue
          }
          // A key that is down now and was up before the gap was pressed
          // and not yet reported: it counts as a press (a chef holding the
          // bump key). Releases only restore state. A touch device's state
          // is restored whole: its recognizer waits for every contact to lift.
          if ev.type == UInt16(EV_KEY) && ev.value != 1 && recognizer == nil { continue }
        }
        handle(ev, time: time, into: &out, reportRawKeys: reportRawKeys, learning: learning)
      }
    }

    private func handle(
      _ ev: input_event, time: UInt64, into out: inout [InputEvent], reportRawKeys: Bool,
      learning: Bool
    ) {
      if var r = recognizer {
        if let touch = r.feed(type: ev.type, code: ev.code, value: ev.value, time: time) {
          out.append(touch)
        }
        recognizer = r
        return
      }
      guard ev.type == UInt16(EV_KEY), ev.value == 1 else { return }
      if reportRawKeys || learning {
        out.append(.keyPress(code: ev.code, time: time, device: info.path))
      }
      // A device being learnt acts on nothing: its keys are being chosen.
      if !learning, let action = keyMap[ev.code] {
        out.append(.action(action, time: time, device: info.path))
      }
    }
  }
}

@available(*, unavailable) extension InputManager: Sendable {}

/// An input layer failure.
public struct InputError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ d: String) { description = d }
}
