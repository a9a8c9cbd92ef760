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
      map.first { $0.value == action }.map { prefix + KeyNames.name($0.key) + " = " + action.rawValue }
    }
  }
}
