import CEvdev
import Glibc
import KDSSystem

/// The core of `kdsctl learn-keys`: asks for each action's key in turn and
/// records the next key press for it.
public struct KeyLearner: Sendable {
  public enum Step: Equatable, Sendable {
    /// A release or auto-repeat: nothing happened.
    case ignored
    /// The key is now `action`'s; `next` is the following action (nil: done).
    case assigned(KioskInputAction, code: UInt16, next: KioskInputAction?)
    /// The key already does another action: press a different one.
    case duplicate(code: UInt16, assignedTo: KioskInputAction)
  }

  public let actions: [KioskInputAction]
  public private(set) var map: KeyMap = [:]
  private var index = 0

  public init(actions: [KioskInputAction] = KioskInputAction.allCases) {
    self.actions = actions
  }

  /// The action waiting for its key, or nil when all are learnt.
  public var current: KioskInputAction? { index < actions.count ? actions[index] : nil }
  public var isFinished: Bool { current == nil }

  /// One EV_KEY event (value 1 press, 0 release, 2 repeat).
  public mutating func feed(code: UInt16, value: Int32) -> Step {
    guard value == 1, let action = current else { return .ignored }
    if let other = map[code] { return .duplicate(code: code, assignedTo: other) }
    map[code] = action
    index += 1
    return .assigned(action, code: code, next: current)
  }

  /// The learnt map as configuration lines (`map.05f3:0007.KEY_1 = bump`),
  /// in the order of the actions.
  public func configLines(device: InputDeviceID?) -> [String] {
    let prefix = "map." + (device?.description ?? "default") + "."
    return actions.compactMap { action in
      map.first { $0.value == action }.map {
        prefix + KeyNames.name($0.key) + " = " + action.rawValue
      }
    }
  }
}

extension KeyLearner {
  /// Learns from a real device: opens `path` (grabbing it, so the keys do not
  /// reach anything else meanwhile), calls `prompt` with each action before
  /// waiting for its key and `report` after each step, and returns the
  /// learner when every action has a key. Gives up after `timeoutSeconds`
  /// without a key press.
  public static func learn(
    devicePath path: String, actions: [KioskInputAction] = KioskInputAction.allCases,
    timeoutSeconds: Int32 = 60, prompt: (KioskInputAction) -> Void,
    report: (Step) -> Void = { _ in }
  ) throws -> (learner: KeyLearner, device: InputDeviceID) {
    let opened: EvdevHandle?
    do {
      opened = try EvdevHandle(path: path)
    } catch {
      throw InputError("\(path): \(error.reason)")
    }
    guard let device = opened else { throw InputError("\(path): not an evdev device") }
    try? device.grab()
    let fd = device.fd
    let dev = device.dev
    let id = device.id
    var learner = KeyLearner(actions: actions)
    while let action = learner.current {
      prompt(action)
      var waiting = true
      while waiting {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let n = poll(&p, 1, timeoutSeconds * 1000)
        if n == 0 {
          throw InputError("no key pressed for \(action.rawValue) within \(timeoutSeconds) s")
        }
        if n < 0 && errno != EINTR { throw InputError("\(SystemError("poll"))") }
        var ev = input_event()
        while true {
          let rc = libevdev_next_event(dev, LIBEVDEV_READ_FLAG_NORMAL.rawValue, &ev)
          if rc == -EAGAIN { break }
          if rc < 0 { throw InputError("\(path): \(errnoText(-rc))") }
          guard rc == 0, ev.type == UInt16(EV_KEY) else { continue }
          let step = learner.feed(code: ev.code, value: ev.value)
          if step != .ignored { report(step) }
          if case .assigned = step { waiting = false }
          if !waiting { break }
        }
      }
    }
    return (learner, id)
  }
}

extension InputDeviceID {
  /// The first /dev/input/event* node of a device with this vendor:product.
  public static func findNode(_ id: InputDeviceID, folder: String = "/dev/input") -> String? {
    for path in deviceNodes(in: folder, prefix: "event") {
      if let device = try? EvdevHandle(path: path), device.id == id { return path }
    }
    return nil
  }
}
