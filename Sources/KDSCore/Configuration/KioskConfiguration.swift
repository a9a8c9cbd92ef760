/// The kiosk's configuration: `/etc/kds/kiosk.conf`, then `kds.txt` on the boot
/// partition, then command-line flags, each overriding the one before.
///
/// Both files use one format an installer can edit from any laptop:
///
///     # a comment
///     station = grill
///     server = https://kds.example.com
///     map.default.KEY_ENTER = bump
///
/// Every value is checked when it is read; a bad one is an error naming the
/// file, the line and what was expected. Nothing falls back to a default
/// silently.
public struct KioskConfiguration: Hashable, Sendable {
  public var station: String?
  /// Base URL of the restaurant server, or `local` for the all-in-one mode.
  public var server: String?
  public var token: String?
  /// A file holding the token (first line), for installs that keep it apart.
  public var tokenFile: String?
  public var display: String = "auto"
  public var rotation: Int = 0
  public var zoom: Double = 1.0
  /// `WxH` or `WxH@Hz`; nil means the connector's preferred mode.
  public var mode: String?
  public var syncInterval: Double = 5
  public var requestTimeout: Double = 10
  public var database: String = "/var/lib/kds/kiosk.sqlite"
  public var controlSocket: String = "/run/kds/kiosk.sock"
  public var caFile: String?
  public var thresholds: SLAThresholds = .standard
  /// Touch calibration `minX maxX minY maxY` in device units, if set.
  public var touchCalibration: [Int]?
  /// Key map lines (`map.<device>.<KEY> = <action>`), kept with where they came from.
  public var keyMap: [KeyMapEntry] = []
  public var logLevel: String = "info"

  public init() {}

  /// The keys a file may set, with what each expects (also the sample file's text).
  public static let knownKeys: [(key: String, expects: String)] = [
    ("station", "the station name, e.g. grill"),
    ("server", "the server's base URL (http:// or https://), or local"),
    ("token", "the device token"),
    ("token_file", "a path to a file whose first line is the token"),
    ("display", "auto, none, drm, drm:/dev/dri/cardN, fbdev, fbdev:/dev/fbN or snapshot:PATH.png"),
    ("rotation", "0, 90, 180 or 270"),
    ("zoom", "a number from 0.5 to 3"),
    ("mode", "WxH or WxH@Hz, e.g. 1920x1080@60"),
    ("sync_interval", "seconds between polls, 1 to 300"),
    ("request_timeout", "seconds, 1 to 120"),
    ("database", "an absolute path"),
    ("control_socket", "an absolute path"),
    ("ca_file", "an absolute path to a PEM file"),
    ("sla_orange_after", "seconds, 1 to 86400"),
    ("sla_red_after", "seconds, 1 to 86400, more than sla_orange_after"),
    ("touch_calibration", "four whole numbers: minX maxX minY maxY"),
    ("log_level", "debug, info, warning or error"),
  ]
}

/// One `map.<device>.<KEY> = <action>` line.
public struct KeyMapEntry: Hashable, Sendable {
  /// `default` or a USB `vendor:product` in hex.
  public var device: String
  /// The evdev key name, e.g. `KEY_ENTER`.
  public var key: String
  public var action: String
  public var source: ConfigSource

  public init(device: String, key: String, action: String, source: ConfigSource) {
    self.device = device
    self.key = key
    self.action = action
    self.source = source
  }
}

/// Where a value came from: a file and line, or a command-line flag.
public struct ConfigSource: Hashable, Sendable, CustomStringConvertible {
  public var file: String
  public var line: Int

  public init(file: String, line: Int) {
    self.file = file
    self.line = line
  }

  public var description: String { line > 0 ? "\(file):\(line)" : file }
}

/// A configuration error: where, and what was expected.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
  public var source: ConfigSource
  public var message: String

  public init(_ source: ConfigSource, _ message: String) {
    self.source = source
    self.message = message
  }

  public var description: String { "\(source): \(message)" }
}

extension KioskConfiguration {
  /// The actions a key may be mapped to.
  public static let keyActions: Set<String> = [
    "next", "previous", "bump", "start", "recall", "next_page", "previous_page", "retry",
  ]

  /// Applies the lines of one file (or of `kds.txt`) on top of this configuration.
  /// Throws on the first bad line; `fileName` is used in messages.
  public mutating func apply(text: String, fileName: String) throws(ConfigError) {
    var lineNumber = 0
    // "\r\n" is one Character in Swift: files edited on Windows split here too.
    let lines = text.split(
      omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    for rawLine in lines {
      lineNumber += 1
      var line = Substring(rawLine)
      if line.hasSuffix("\r") { line = line.dropLast() }
      let trimmed = line.trimmingSpaces
      if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
      if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") { continue }  // INI section headings
      let source = ConfigSource(file: fileName, line: lineNumber)
      guard let eq = trimmed.firstIndex(of: "=") else {
        throw ConfigError(source, "expected `key = value`, found `\(trimmed.prefix(60))`")
      }
      let key = trimmed[..<eq].trimmingSpaces.lowercased()
      var value = trimmed[trimmed.index(after: eq)...].trimmingSpaces
      if value.count >= 2, value.first == "\"", value.last == "\"" {
        value = value.dropFirst().dropLast()
      }
      try set(key: key, value: String(value), source: source)
    }
  }

  /// Sets one key; the same checks as a file line (flags use this too).
  public mutating func set(key: String, value: String, source: ConfigSource) throws(ConfigError) {
    func expected() -> String {
      Self.knownKeys.first { $0.key == key }?.expects ?? "a value"
    }
    func fail() -> ConfigError {
      ConfigError(source, "\(key) = `\(value.prefix(80))`: expected \(expected())")
    }
    func number(_ range: ClosedRange<Double>) throws(ConfigError) -> Double {
      guard let v = Double(value), v.isFinite, range.contains(v) else { throw fail() }
      return v
    }
    func absolutePath() throws(ConfigError) -> String {
      guard value.hasPrefix("/"), !value.contains("\0") else { throw fail() }
      return value
    }
    if key.hasPrefix("map.") {
      let parts = key.split(separator: ".", omittingEmptySubsequences: false)
      let action = value.lowercased()
      guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty else {
        throw ConfigError(source, "\(key): expected map.<default|vendor:product>.<KEY_NAME>")
      }
      let device = String(parts[1])
      guard device == "default" || Self.isUSBID(device) else {
        throw ConfigError(
          source, "\(key): device must be `default` or a USB id like 05f3:0007")
      }
      let keyName = parts[2].uppercased()
      guard keyName.hasPrefix("KEY_") || keyName.hasPrefix("BTN_") else {
        throw ConfigError(source, "\(key): key must be an evdev name like KEY_ENTER")
      }
      guard Self.keyActions.contains(action) else {
        throw ConfigError(
          source,
          "\(key) = `\(value)`: expected one of \(Self.keyActions.sorted().joined(separator: ", "))"
        )
      }
      keyMap.removeAll { $0.device == device && $0.key == keyName }
      keyMap.append(KeyMapEntry(device: device, key: keyName, action: action, source: source))
      return
    }
    switch key {
    case "station":
      guard !value.isEmpty, value.count <= 64,
        value.unicodeScalars.allSatisfy({
          $0.properties.isAlphabetic || "0123456789-_".unicodeScalars.contains($0)
        })
      else { throw fail() }
      station = value
    case "server":
      guard value == "local" || value.hasPrefix("http://") || value.hasPrefix("https://"),
        value == "local" || value.count > "https://".count - 1
      else { throw fail() }
      server = value
    case "token":
      guard !value.isEmpty, !value.contains(where: { $0 == " " || $0 == "\t" }) else {
        throw fail()
      }
      token = value
    case "token_file": tokenFile = try absolutePath()
    case "display":
      let ok =
        ["auto", "none", "drm", "fbdev"].contains(value) || value.hasPrefix("drm:/")
        || value.hasPrefix("fbdev:/") || (value.hasPrefix("snapshot:") && value.count > 9)
      guard ok else { throw fail() }
      display = value
    case "rotation":
      guard let r = Int(value), [0, 90, 180, 270].contains(r) else { throw fail() }
      rotation = r
    case "zoom": zoom = try number(0.5...3)
    case "mode":
      guard Self.isMode(value) else { throw fail() }
      mode = value
    case "sync_interval": syncInterval = try number(1...300)
    case "request_timeout": requestTimeout = try number(1...120)
    case "database": database = try absolutePath()
    case "control_socket": controlSocket = try absolutePath()
    case "ca_file": caFile = try absolutePath()
    case "sla_orange_after":
      thresholds.orangeAfter = Int64(try number(1...86_400))
    case "sla_red_after":
      let v = Int64(try number(1...86_400))
      guard v > thresholds.orangeAfter else {
        throw ConfigError(
          source,
          "sla_red_after = \(value): must be more than sla_orange_after (\(thresholds.orangeAfter))"
        )
      }
      thresholds.redAfter = v
    case "touch_calibration":
      let parts = value.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { Int($0) }
      guard parts.count == 4, parts[0] < parts[1], parts[2] < parts[3] else { throw fail() }
      touchCalibration = parts
    case "log_level":
      guard ["debug", "info", "warning", "error"].contains(value) else { throw fail() }
      logLevel = value
    default:
      throw ConfigError(
        source,
        "unknown key `\(key.prefix(40))`; known keys: "
          + Self.knownKeys.map(\.key).joined(separator: ", ") + ", map.<device>.<KEY>")
    }
  }

  /// Checks that what the daemon needs to run is present.
  public func validateForRun() throws(ConfigError) {
    let here = ConfigSource(file: "configuration", line: 0)
    guard station != nil else { throw ConfigError(here, "no station set (station = grill)") }
    guard server != nil else {
      throw ConfigError(here, "no server set (server = http://127.0.0.1:8080)")
    }
    guard token != nil || tokenFile != nil else {
      throw ConfigError(here, "no token set (token = ... or token_file = /path)")
    }
  }

  static func isUSBID(_ s: String) -> Bool {
    let parts = s.split(separator: ":")
    return parts.count == 2
      && parts.allSatisfy { $0.count == 4 && $0.allSatisfy { $0.isHexDigit } }
  }

  static func isMode(_ s: String) -> Bool {
    let atParts = s.split(separator: "@", omittingEmptySubsequences: false)
    guard atParts.count <= 2 else { return false }
    let dims = atParts[0].split(separator: "x", omittingEmptySubsequences: false)
    guard dims.count == 2, let w = Int(dims[0]), let h = Int(dims[1]), (1...16384).contains(w),
      (1...16384).contains(h)
    else { return false }
    if atParts.count == 2 {
      guard let hz = Int(atParts[1]), (1...1000).contains(hz) else { return false }
    }
    return true
  }
}

extension Substring {
  fileprivate var trimmingSpaces: Substring {
    var s = self
    while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
    while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
    return s
  }
}
