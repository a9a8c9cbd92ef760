import CEvdev
import KDSCore

/// Linux key names (`KEY_ENTER`) to codes and back, through libevdev's tables.
public enum KeyNames {
  public static func code(_ name: String) -> UInt16? {
    let c = libevdev_event_code_from_name(UInt32(EV_KEY), name)
    guard c >= 0, name.hasPrefix("KEY_") || name.hasPrefix("BTN_") else { return nil }
    return UInt16(c)
  }

  public static func name(_ code: UInt16) -> String {
    libevdev_event_code_get_name(UInt32(EV_KEY), UInt32(code)).map { String(cString: $0) }
      ?? "KEY_\(code)"
  }
}

/// A key map: key codes to actions.
public typealias KeyMap = [UInt16: KioskInputAction]

/// The built-in maps.
public enum DefaultKeyMaps {
  /// A plain keyboard: arrows move (left/up previous, right/down next),
  /// Enter and keypad Enter bump, Backspace recalls, Page Up/Down page,
  /// S starts, R retries the failed operations. Kitchen tools (issue 14):
  /// N next line, D line done, T all-day counts, L recall list, Esc back;
  /// on the expo B sends back, F fires the next course, U rushes.
  public static let keyboard: KeyMap = build([
    ("KEY_LEFT", .previousTicket), ("KEY_UP", .previousTicket),
    ("KEY_RIGHT", .nextTicket), ("KEY_DOWN", .nextTicket),
    ("KEY_ENTER", .bump), ("KEY_KPENTER", .bump),
    ("KEY_BACKSPACE", .recallLast),
    ("KEY_PAGEUP", .previousPage), ("KEY_PAGEDOWN", .nextPage),
    ("KEY_S", .start), ("KEY_R", .retryFailed),
    ("KEY_N", .nextItem), ("KEY_D", .itemDone), ("KEY_T", .allDay), ("KEY_L", .recallList),
    ("KEY_ESC", .back), ("KEY_B", .sendBack), ("KEY_F", .fireCourse), ("KEY_U", .rush),
  ])

  /// A typical 10-key bump bar that sends the digits (top row or keypad):
  /// 1 previous, 2 next, 3 start, 4 bump, 5 recall, 6 previous page,
  /// 7 next page, 8 retry, 0 bump (the wide key); 9 is left free.
  public static let bumpBar10: KeyMap = {
    let layout: [(String, KioskInputAction)] = [
      ("1", .previousTicket), ("2", .nextTicket), ("3", .start), ("4", .bump),
      ("5", .recallLast), ("6", .previousPage), ("7", .nextPage), ("8", .retryFailed),
      ("0", .bump),
    ]
    return build(layout.map { ("KEY_" + $0.0, $0.1) } + layout.map { ("KEY_KP" + $0.0, $0.1) })
  }()

  static func build(_ pairs: [(String, KioskInputAction)]) -> KeyMap {
    var map: KeyMap = [:]
    for (name, action) in pairs {
      guard let code = KeyNames.code(name) else { preconditionFailure("unknown key \(name)") }
      map[code] = action
    }
    return map
  }
}

/// Touch calibration: the raw range of each axis (replacing the device's
/// own), axes swapped, and either axis inverted.
public struct TouchCalibration: Equatable, Sendable {
  public var minX: Int32?
  public var maxX: Int32?
  public var minY: Int32?
  public var maxY: Int32?
  public var swapXY = false
  public var invertX = false
  public var invertY = false

  public init(
    minX: Int32? = nil, maxX: Int32? = nil, minY: Int32? = nil, maxY: Int32? = nil,
    swapXY: Bool = false, invertX: Bool = false, invertY: Bool = false
  ) {
    self.minX = minX
    self.maxX = maxX
    self.minY = minY
    self.maxY = maxY
    self.swapXY = swapXY
    self.invertX = invertX
    self.invertY = invertY
  }
}

/// A line-numbered error in a key-map (input configuration) file.
public struct InputConfigError: Error, Equatable, CustomStringConvertible, Sendable {
  public var line: Int
  public var message: String
  public var description: String { "line \(line): \(message)" }
}

/// The input configuration: key maps and touch settings, from plain
/// `key = value` lines (`#` starts a comment):
///
///     map.default.KEY_F1 = bump          # add to (or change) the keyboard map
///     map.default.KEY_S = none           # remove a key from it
///     map.05f3:0007 = bumpbar            # this device uses the built-in 10-key map
///     map.05f3:0007.KEY_1 = bump         # this device's own keys (on top of its preset)
///     grab.05f3:0007 = no                # do not grab it (bump bars are grabbed)
///     touch.calibrate = 200 3900 150 3950   # raw min/max X, min/max Y
///     touch.swap_xy = yes
///     touch.invert_x = no
///     touch.invert_y = no
///     touch.1234:5678.calibrate = 0 4095 0 4095   # per device
///
/// A device with its own `map.VVVV:PPPP...` entries is a bump bar: it uses only
/// its map (not the keyboard map) and is grabbed exclusively.
public struct InputConfig: Equatable, Sendable {
  public var defaultMap: KeyMap = DefaultKeyMaps.keyboard
  public var deviceMaps: [InputDeviceID: KeyMap] = [:]
  public var grab: [InputDeviceID: Bool] = [:]
  public var calibration = TouchCalibration()
  public var deviceCalibration: [InputDeviceID: TouchCalibration] = [:]

  public init() {}

  /// The map for a device and whether it is a bump bar (own map).
  public func keyMap(for id: InputDeviceID) -> (map: KeyMap, bumpBar: Bool) {
    if let own = deviceMaps[id] { return (own, true) }
    return (defaultMap, false)
  }

  public func shouldGrab(_ id: InputDeviceID) -> Bool {
    grab[id] ?? (deviceMaps[id] != nil)
  }

  public func calibration(for id: InputDeviceID) -> TouchCalibration {
    deviceCalibration[id] ?? calibration
  }

  /// Parses a configuration file's text; the first bad line throws.
  public init(parsing text: String) throws {
    for (lineNumber, numbered) in configurationLines(of: text) {
      var line = numbered
      if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
      let trimmed = trim(line)
      if trimmed.isEmpty { continue }
      guard let eq = trimmed.firstIndex(of: "=") else {
        throw InputConfigError(
          line: lineNumber, message: "expected `key = value`, got \"\(trimmed)\"")
      }
      let key = trim(trimmed[..<eq])
      let value = trim(trimmed[trimmed.index(after: eq)...])
      guard !key.isEmpty, !value.isEmpty else {
        throw InputConfigError(
          line: lineNumber, message: "expected `key = value`, got \"\(trimmed)\"")
      }
      do {
        try apply(key: key, value: value)
      } catch let message as ConfigMessage {
        throw InputConfigError(line: lineNumber, message: message.text)
      }
    }
  }

  private struct ConfigMessage: Error {
    var text: String
    init(_ t: String) { text = t }
  }

  private mutating func apply(key: String, value: String) throws {
    let parts = key.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false).map(
      String.init)
    switch parts[0] {
    case "map":
      guard parts.count >= 2 else {
        throw ConfigMessage("\"\(key)\": expected map.default.KEY_NAME or map.VVVV:PPPP.KEY_NAME")
      }
      if parts.count == 2 {
        guard let id = InputDeviceID(parts[1]) else {
          throw ConfigMessage("\"\(parts[1])\" is not a USB vendor:product (like 05f3:0007)")
        }
        switch value.lowercased() {
        case "bumpbar", "bumpbar10":
          deviceMaps[id, default: [:]].merge(DefaultKeyMaps.bumpBar10) { own, _ in own }
        case "keyboard":
          deviceMaps[id, default: [:]].merge(DefaultKeyMaps.keyboard) { own, _ in own }
        default: throw ConfigMessage("unknown preset \"\(value)\" for \(id) (bumpbar or keyboard)")
        }
        return
      }
      guard let code = KeyNames.code(parts[2]) else {
        throw ConfigMessage(
          "unknown key name \"\(parts[2])\" (Linux names like KEY_ENTER, KEY_1, KEY_F1)")
      }
      let action: KioskInputAction?
      if value == "none" {
        action = nil
      } else if let a = KioskInputAction(rawValue: value) {
        action = a
      } else {
        let names = KioskInputAction.allCases.map(\.rawValue).joined(separator: ", ")
        throw ConfigMessage("unknown action \"\(value)\" (one of: \(names), none)")
      }
      if parts[1] == "default" {
        defaultMap[code] = action
      } else if let id = InputDeviceID(parts[1]) {
        deviceMaps[id, default: [:]][code] = action
      } else {
        throw ConfigMessage(
          "\"\(parts[1])\" is neither default nor a USB vendor:product (like 05f3:0007)")
      }
    case "grab":
      guard parts.count == 2, let id = InputDeviceID(parts[1]) else {
        throw ConfigMessage("\"\(key)\": expected grab.VVVV:PPPP")
      }
      grab[id] = try Self.bool(value)
    case "touch":
      var target = calibration
      var id: InputDeviceID?
      var setting = parts.count >= 2 ? parts[1] : ""
      if parts.count == 3 {
        guard let d = InputDeviceID(parts[1]) else {
          throw ConfigMessage("\"\(parts[1])\" is not a USB vendor:product")
        }
        id = d
        target = deviceCalibration[d] ?? TouchCalibration()
        setting = parts[2]
      }
      switch setting {
      case "calibrate":
        let nums = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { Int32($0) }
        guard nums.count == 4, let minX = nums[0], let maxX = nums[1], let minY = nums[2],
          let maxY = nums[3], minX != maxX, minY != maxY
        else {
          throw ConfigMessage(
            "touch calibrate: expected four integers MINX MAXX MINY MAXY with min != max")
        }
        target.minX = minX
        target.maxX = maxX
        target.minY = minY
        target.maxY = maxY
      case "swap_xy": target.swapXY = try Self.bool(value)
      case "invert_x": target.invertX = try Self.bool(value)
      case "invert_y": target.invertY = try Self.bool(value)
      default:
        throw ConfigMessage(
          "unknown touch setting \"\(setting)\" (calibrate, swap_xy, invert_x, invert_y)")
      }
      if let id { deviceCalibration[id] = target } else { calibration = target }
    default:
      throw ConfigMessage("unknown setting \"\(key)\" (map., grab. or touch.)")
    }
  }

  private static func bool(_ v: String) throws -> Bool {
    switch v.lowercased() {
    case "yes", "true", "1", "on": return true
    case "no", "false", "0", "off": return false
    default: throw ConfigMessage("expected yes or no, got \"\(v)\"")
    }
  }
}

func trim(_ s: Substring) -> String {
  var t = s
  while let f = t.first, f == " " || f == "\t" || f == "\r" { t = t.dropFirst() }
  while let l = t.last, l == " " || l == "\t" || l == "\r" { t = t.dropLast() }
  return String(t)
}
