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
  /// Input lines (`map.*`, `grab.*`, `touch.*`: key maps, bump-bar grabs,
  /// touch calibration), in order, with where they came from. The input layer
  /// (KDSInput's `InputConfig`) checks them; see `inputText`.
  public var inputLines: [InputLine] = []
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
    ("sync_interval", "seconds between polls, 0.1 to 300"),
    ("request_timeout", "seconds, 0.1 to 120"),
    ("database", "an absolute path"),
    ("control_socket", "an absolute path"),
    ("ca_file", "an absolute path to a PEM file"),
    ("sla_orange_after", "seconds, 1 to 86400"),
    ("sla_red_after", "seconds, 1 to 86400, more than sla_orange_after"),
    ("log_level", "trace, debug, info, notice, warning, error or critical"),
  ]
}

/// One input line (`map.default.KEY_ENTER = bump`), kept as written.
public struct InputLine: Hashable, Sendable {
  public var key: String
  public var value: String
  public var source: ConfigSource

  public init(key: String, value: String, source: ConfigSource) {
    self.key = key
    self.value = value
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
  /// Applies the lines of one file (or of `kds.txt`) on top of this configuration.
  /// Throws on the first bad line; `fileName` is used in messages.
  public mutating func apply(text: String, fileName: String) throws(ConfigError) {
    var text = Substring(text)
    if text.hasPrefix("\u{FEFF}") { text.removeFirst() }  // Windows editors add a BOM
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
      let rawKey = trimmed[..<eq].trimmingSpaces
      let key = rawKey.lowercased()
      var value = trimmed[trimmed.index(after: eq)...].trimmingSpaces
      if value.count >= 2, value.first == "\"", value.last == "\"" {
        value = value.dropFirst().dropLast()
      }
      if Self.isInputKey(key) {
        // Key names are case sensitive (KEY_ENTER): kept as written.
        inputLines.append(InputLine(key: String(rawKey), value: String(value), source: source))
        continue
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
    if Self.isInputKey(key) {
      inputLines.append(InputLine(key: key, value: value, source: source))
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
    case "sync_interval": syncInterval = try number(0.1...300)
    case "request_timeout": requestTimeout = try number(0.1...120)
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
    case "log_level":
      guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value)
      else { throw fail() }
      logLevel = value
    default:
      throw ConfigError(
        source,
        "unknown key `\(key.prefix(40))`; known keys: "
          + Self.knownKeys.map(\.key).joined(separator: ", ") + ", map.*, grab.*, touch.*")
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

  static func isInputKey(_ key: String) -> Bool {
    key.hasPrefix("map.") || key.hasPrefix("grab.") || key.hasPrefix("touch.")
  }

  /// The input lines as one text for KDSInput's parser: line N of it is
  /// `inputLines[N - 1]`, so its errors can be traced back to file and line.
  public var inputText: String {
    inputLines.map { "\($0.key) = \($0.value)" }.joined(separator: "\n")
  }

  /// Where line `line` of `inputText` came from (`kds.txt:7`), for messages.
  public func inputSource(ofLine line: Int) -> String {
    inputLines.indices.contains(line - 1) ? "\(inputLines[line - 1].source)" : "input settings"
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
