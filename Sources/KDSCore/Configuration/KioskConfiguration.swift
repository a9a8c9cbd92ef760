import KDSContract

/// The kiosk's configuration: `/etc/kds/kiosk.conf`, then `kds.txt` on the boot
/// partition, then command-line flags, each overriding the one before.
///
/// Both files use one format an installer can edit from any laptop:
///
///     # a comment
///     station = grill          # an inline comment
///     server = https://kds.example.com
///     map.default.KEY_ENTER = bump
///
/// Comments: a line whose first non-blank character is `#` or `;`, and, after
/// a value, a `#` that follows a space or a tab: it and the rest of the line
/// are dropped (`token = ab#cd` keeps its `#`). A value in double quotes is
/// taken as written up to its closing quote, `#` included; only a comment may
/// follow that quote.
///
/// No error message ever shows a token's value (see `ConfigError`).
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
  /// With `server = a, b`: seconds between probes of the first server while
  /// another is in use (and how long a failed server is skipped).
  public var failbackProbe: Double = 60
  public var database: String = "/var/lib/kds/kiosk.sqlite"
  public var controlSocket: String = "/run/kds/kiosk.sock"
  public var caFile: String?
  public var thresholds: SLAThresholds = .standard
  /// `sla_orange_after` or `sla_red_after` was set: the kiosk's thresholds
  /// win over the server's (`X-KDS-SLA`); else the server's are used.
  public var thresholdsExplicit = false
  /// Input lines (`map.*`, `grab.*`, `touch.*`: key maps, bump-bar grabs,
  /// touch calibration), in order, with where they came from. The input layer
  /// (KDSInput's `InputConfig`) checks them; see `inputText`.
  public var inputLines: [InputLine] = []
  public var logLevel: String = "info"
  /// How long a press-and-hold on a card lasts before it bumps (also a hold
  /// on the status chip to start, on the failure line to dismiss), in ms.
  public var holdToBumpMillis: Int = KioskConfiguration.defaultHoldToBumpMillis
  public static let defaultHoldToBumpMillis = 600
  /// How a new ticket announces itself: `pulse` (badge and header pulse), `badge`, `off`.
  public var newTicketAlert: NewTicketAlert = .pulse
  /// The words that give a note or a modifier the allergy band.
  public var allergens: AllergenList = .standard
  /// Whether a ticket with an allergy band needs a first bump to acknowledge it.
  public var allergenCheck = false
  /// `auto`: read the server's push stream beside the poll when it has one; `off`: poll only.
  public var push: String = "auto"
  /// The writable layer: a folder of `*.conf` files read after kiosk.conf
  /// and kds.txt (see `ConfigurationLayers`).
  public var confDir: String = KioskConfiguration.defaultConfDir
  /// Where each key set so far came from (`kdsctl config show`); a key not
  /// here has its default.
  public var sources: [String: ConfigSource] = [:]

  public init() {}

  /// The keys a file may set, with what each expects (also the sample file's text).
  public static let knownKeys: [(key: String, expects: String)] = [
    ("station", "a station name, e.g. grill: \(StationName.rule)"),
    (
      "server",
      "the server's base URL (http:// or https://), or local; or a comma-separated list of servers to fail over to, in order"
    ),
    ("token", "the device token"),
    ("token_file", "a path to a file whose first line is the token"),
    ("display", "auto, none, drm, drm:/dev/dri/cardN, fbdev, fbdev:/dev/fbN or snapshot:PATH.png"),
    ("rotation", "0, 90, 180 or 270"),
    ("zoom", "a number from 0.5 to 3"),
    ("mode", "WxH or WxH@Hz, e.g. 1920x1080@60"),
    ("sync_interval", "seconds between polls, 0.1 to 300"),
    ("request_timeout", "seconds, 0.1 to 120"),
    (
      "failback_probe",
      "with several servers, how often the first one is probed while another is in use (and how long a failed server is skipped): 1 to 3600 seconds, e.g. 60s, 60, 2m"
    ),
    ("database", "an absolute path"),
    ("control_socket", "an absolute path"),
    ("ca_file", "an absolute path to a PEM file"),
    ("sla_orange_after", "seconds, 1 to 86400"),
    ("sla_red_after", "seconds, 1 to 86400, more than sla_orange_after"),
    ("log_level", "trace, debug, info, notice, warning, error or critical"),
    ("hold_to_bump_ms", "milliseconds a finger holds a card to bump it, 300 to 2000"),
    ("new_ticket_alert", "pulse, badge or off"),
    (
      "allergens",
      "a comma-separated list of allergen words (letters, digits, spaces, hyphens; at most 40 characters each), `default` for the standard list"
    ),
    ("allergen_check", "on or off"),
    ("push", "auto (the server's push stream beside the poll, when it has one) or off"),
    (
      "conf_dir",
      "an absolute path: the folder of *.conf files read after kiosk.conf and kds.txt (kdsctl set writes there)"
    ),
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
    for (lineNumber, line) in configurationLines(of: text) {
      let trimmed = line.trimmingSpaces
      if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
      if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") { continue }  // INI section headings
      let source = ConfigSource(file: fileName, line: lineNumber)
      guard let eq = trimmed.firstIndex(of: "=") else {
        // The line is not shown: it could be a token written without `=`.
        throw ConfigError(source, "expected `key = value`, found a line without `=`")
      }
      let rawKey = trimmed[..<eq].trimmingSpaces
      let key = rawKey.lowercased()
      let value = try Self.value(
        of: trimmed[trimmed.index(after: eq)...].trimmingSpaces, key: key, source: source)
      if Self.isInputKey(key) {
        // Key names are case sensitive (KEY_ENTER): kept as written.
        inputLines.append(InputLine(key: String(rawKey), value: String(value), source: source))
        continue
      }
      try set(key: key, value: String(value), source: source)
    }
  }

  /// The value part of a line (after `=`, trimmed), without its inline
  /// comment and quotes: see the type's comment for the rule.
  static func value(
    of raw: Substring, key: String, source: ConfigSource
  ) throws(ConfigError) -> Substring {
    if raw.first == "\"" {
      let body = raw.dropFirst()
      guard let close = body.firstIndex(of: "\"") else {
        throw ConfigError(source, "\(key): a quoted value without its closing quote")
      }
      let rest = body[body.index(after: close)...].trimmingSpaces
      guard rest.isEmpty || rest.hasPrefix("#") else {
        throw ConfigError(source, "\(key): only a `# comment` may follow a quoted value")
      }
      return body[..<close]
    }
    var previous: Character = " "
    for i in raw.indices {
      if raw[i] == "#", previous == " " || previous == "\t" {
        return raw[..<i].trimmingSpaces
      }
      previous = raw[i]
    }
    return raw
  }

  /// Sets one key; the same checks as a file line (flags use this too).
  public mutating func set(key: String, value: String, source: ConfigSource) throws(ConfigError) {
    func expected() -> String {
      Self.knownKeys.first { $0.key == key }?.expects ?? "a value"
    }
    func fail() -> ConfigError {
      // A token's value is never shown: only its length.
      let shown =
        Self.isSecret(key)
        ? "(\(value.count) characters, not shown)" : "`\(value.prefix(80))`"
      return ConfigError(source, "\(key) = \(shown): expected \(expected())")
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
      guard StationName.isValid(value) else { throw fail() }
      station = value
    case "server":
      if let problem = Self.serverProblem(value) {
        throw ConfigError(source, "server = `\(value.prefix(80))`: \(problem)")
      }
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
    case "hold_to_bump_ms":
      guard let v = Int(value), (300...2000).contains(v) else { throw fail() }
      holdToBumpMillis = v
    case "mode":
      guard Self.isMode(value) else { throw fail() }
      mode = value
    case "sync_interval": syncInterval = try number(0.1...300)
    case "request_timeout": requestTimeout = try number(0.1...120)
    case "failback_probe":
      guard let v = Self.seconds(value), (1...3_600).contains(v) else { throw fail() }
      failbackProbe = v
    case "database": database = try absolutePath()
    case "control_socket": controlSocket = try absolutePath()
    case "ca_file": caFile = try absolutePath()
    case "sla_orange_after":
      thresholds.orangeAfter = Int64(try number(1...86_400))
      thresholdsExplicit = true
    case "sla_red_after":
      let v = Int64(try number(1...86_400))
      guard v > thresholds.orangeAfter else {
        throw ConfigError(
          source,
          "sla_red_after = \(value): must be more than sla_orange_after (\(thresholds.orangeAfter))"
        )
      }
      thresholds.redAfter = v
      thresholdsExplicit = true
    case "log_level":
      guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value)
      else { throw fail() }
      logLevel = value
    case "new_ticket_alert":
      guard let v = NewTicketAlert(rawValue: value.lowercased()) else { throw fail() }
      newTicketAlert = v
    case "allergens":
      allergens = try Self.allergenList(value, source: source)
    case "allergen_check":
      switch value.lowercased() {
      case "on", "yes", "true", "1": allergenCheck = true
      case "off", "no", "false", "0": allergenCheck = false
      default: throw fail()
      }
    case "push":
      guard value == "auto" || value == "off" else { throw fail() }
      push = value
    case "conf_dir": confDir = try absolutePath()
    default:
      // A long or odd "key" may be a pasted token (with an `=` in it): not shown.
      let looksLikeAKey =
        key.count <= 32
        && key.unicodeScalars.allSatisfy {
          "abcdefghijklmnopqrstuvwxyz0123456789_.-".unicodeScalars.contains($0)
        }
      let shown = looksLikeAKey ? "`\(key)`" : "(\(key.count) characters, not shown)"
      throw ConfigError(
        source,
        "unknown key \(shown); known keys: "
          + Self.knownKeys.map(\.key).joined(separator: ", ") + ", map.*, grab.*, touch.*")
    }
    sources[key] = source
  }

  /// `allergens = default, quinoa, tree nut`: `default` stands for the standard list.
  static func allergenList(_ value: String, source: ConfigSource) throws(ConfigError)
    -> AllergenList
  {
    var words: [String] = []
    for (i, raw) in value.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
      let word = raw.trimmingSpaces
      let position = "allergens: entry \(i + 1)"
      guard !word.isEmpty else {
        throw ConfigError(source, "\(position) is empty (expected words separated by commas)")
      }
      if word.lowercased() == "default" {
        words += AllergenList.standardWords
        continue
      }
      guard word.count <= AllergenList.maxWordLength else {
        throw ConfigError(
          source, "\(position) is longer than \(AllergenList.maxWordLength) characters")
      }
      guard word.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" }) else {
        throw ConfigError(
          source,
          "\(position) `\(word.prefix(40))`: only letters, digits, spaces and hyphens")
      }
      words.append(String(word))
    }
    guard words.count <= AllergenList.maxWords else {
      throw ConfigError(source, "allergens: more than \(AllergenList.maxWords) entries")
    }
    return AllergenList(words)
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

  /// Keys whose value is never shown in a message.
  static func isSecret(_ key: String) -> Bool { key == "token" }

  /// `60`, `60s`, `2m` or `1500ms` as seconds; nil if it is none of these.
  public static func seconds(_ value: String) -> Double? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
    for (suffix, scale) in units where value.hasSuffix(suffix) {
      let number = value.dropLast(suffix.count).trimmingSpaces
      guard let v = Double(number), v.isFinite else { return nil }
      return v * scale
    }
    guard let v = Double(value), v.isFinite else { return nil }
    return v
  }

  /// Why `value` is not a usable `server =` value, or nil when it is: `local`,
  /// or an http(s) URL with a host and no space, control character or other
  /// character a URL cannot hold unescaped.
  static func serverProblem(_ value: String) -> String? {
    if value == "local" { return nil }
    // A list (`https://a:8443, https://b:8443`): the kiosk fails over in order.
    if value.contains(",") {
      let parts = value.split(separator: ",", omittingEmptySubsequences: false).map {
        String($0.trimmingSpaces)
      }
      for part in parts {
        if part.isEmpty { return "an empty entry in the server list" }
        if part == "local" { return "local cannot be in a list of servers" }
        if let problem = serverProblem(part) { return "\(part.prefix(80)): \(problem)" }
      }
      return nil
    }
    let rest: Substring
    if value.hasPrefix("http://") {
      rest = value.dropFirst("http://".count)
    } else if value.hasPrefix("https://") {
      rest = value.dropFirst("https://".count)
    } else {
      return "expected an http:// or https:// URL, or local"
    }
    if let bad = value.unicodeScalars.first(where: { !isURLScalar($0) }) {
      let what = bad == " " ? "a space" : "U+\(String(bad.value, radix: 16, uppercase: true))"
      return "a URL cannot contain \(what) (percent-encode it, or remove it)"
    }
    let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    if host.isEmpty || host.hasPrefix(":") || host.contains("@") {
      return "expected a host after the scheme, e.g. http://192.168.1.10:8080"
    }
    return nil
  }

  /// RFC 3986's unreserved, reserved and `%` characters: all printable ASCII
  /// but space, `"`, `<`, `>`, `\\`, `^`, backquote, `{`, `|`, `}`.
  static func isURLScalar(_ c: Unicode.Scalar) -> Bool {
    guard c.value > 0x20, c.value < 0x7F else { return false }
    return !"\"<>\\^`{|}".unicodeScalars.contains(c)
  }

  public static func isInputKey(_ key: String) -> Bool {
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
