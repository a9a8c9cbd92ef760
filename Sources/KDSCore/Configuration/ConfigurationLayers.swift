/// The kiosk's configuration files, in the order they are read, each
/// overriding the one before:
///
/// 1. `kiosk.conf` (`--config`, /etc/kds/kiosk.conf): the installer's file;
/// 2. `kds.txt` (`--boot-config`): edited on the boot partition from any
///    laptop, skipped when missing;
/// 3. the writable layer, `conf_dir` (`--conf-dir`, default
///    /var/lib/kds/kiosk.conf.d): every `*.conf` file of that folder in name
///    order (`10-site.conf` before `50-kdsctl.conf`). `kdsctl set`, `unset`
///    and `learn-keys` write `50-kdsctl.conf` there. On the image the first two
///    are on read-only file systems; the folder is on the data partition.
///
/// Then the command-line flags (the caller applies them). The same code reads
/// them in the kiosk and in `kdsctl`, so `kdsctl config show` and `kdsctl set`
/// see what the kiosk sees.
public struct ConfigurationLayers: Sendable {
  /// kiosk.conf: must be readable when set.
  public var config: String?
  /// kds.txt: skipped when it cannot be read.
  public var bootConfig: String?
  /// The writable folder; nil: `conf_dir` of the files, else the default.
  public var confDir: String?

  /// The file `kdsctl` writes in the folder.
  public static let kdsctlFileName = "50-kdsctl.conf"

  public init(config: String? = nil, bootConfig: String? = nil, confDir: String? = nil) {
    self.config = config
    self.bootConfig = bootConfig
    self.confDir = confDir
  }

  /// What a load read.
  public struct Loaded: Sendable {
    public var configuration: KioskConfiguration
    /// The folder used for the writable layer.
    public var confDir: String
    /// The files read, in order.
    public var files: [String]
  }

  /// Reads the layers. `read(path)` gives a file's text (nil: cannot be
  /// read); `list(folder)` the names in a folder (nil: no such folder, which
  /// is not an error: nothing was set yet). `replacing` stands in for files
  /// (path to its would-be text, nil for a removed file): `kdsctl set` checks
  /// the result of a change with it before writing anything.
  public func load(
    read: (String) -> String?, list: (String) -> [String]?,
    replacing: [String: String?] = [:]
  ) throws(ConfigError) -> Loaded {
    var errors: [ConfigError] = []
    let loaded = load(read: read, list: list, replacing: replacing, collecting: &errors)
    if let first = errors.first { throw first }
    return loaded
  }

  /// Reads the layers as `load` does, but goes on past a bad line: the line
  /// is left out and its error (file and line) collected, so that what is
  /// good still counts (the setup screen uses the display, the control
  /// socket and the server of a file with one typo).
  public func load(
    read: (String) -> String?, list: (String) -> [String]?,
    replacing: [String: String?] = [:], collecting errors: inout [ConfigError]
  ) -> Loaded {
    func text(_ path: String) -> String? {
      if let stand = replacing[path] { return stand }
      return read(path)
    }
    var c = KioskConfiguration()
    var files: [String] = []
    if let config {
      if let t = text(config) {
        c.applyLeniently(t, fileName: config, errors: &errors)
        files.append(config)
      } else {
        errors.append(
          ConfigError(ConfigSource(file: config, line: 0), "cannot read the configuration file"))
      }
    }
    if let bootConfig, let t = text(bootConfig) {
      c.applyLeniently(t, fileName: bootConfig, errors: &errors)
      files.append(bootConfig)
    }
    let dir = confDir ?? c.confDir
    var names = Set(list(dir) ?? [])
    for (path, stand) in replacing where Self.folder(of: path) == dir {
      let name = String(path.dropFirst(dir.count + 1))
      if stand == nil { names.remove(name) } else { names.insert(name) }
    }
    for name in Self.layerNames(names) {
      let path = dir + "/" + name
      guard let t = text(path) else {
        errors.append(ConfigError(ConfigSource(file: path, line: 0), "cannot read this file"))
        continue
      }
      let before = c.confDir
      c.applyLeniently(t, fileName: path, errors: &errors)
      if c.confDir != before {
        let line = c.sources["conf_dir"]?.line ?? 0
        c.confDir = before
        errors.append(
          ConfigError(
            ConfigSource(file: path, line: line),
            "conf_dir cannot be set in the folder it names (set it in kiosk.conf or kds.txt)"))
      }
      files.append(path)
    }
    return Loaded(configuration: c, confDir: dir, files: files)
  }

  /// The `*.conf` names of a folder that are read, in order (byte order of
  /// the names; hidden files and editors' leftovers are not read).
  public static func layerNames(_ names: some Sequence<String>) -> [String] {
    names.filter { $0.hasSuffix(".conf") && !$0.hasPrefix(".") && $0.count > 5 }
      .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
  }

  static func folder(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return String(path[..<slash])
  }
}

/// Edits of one layer file (`50-kdsctl.conf`): a key's line replaced, added
/// or removed, the rest of the file (comments, other keys) kept as written.
public enum ConfigurationFileEdit {
  /// The text with `key`'s lines removed and, when `value` is given, one
  /// `key = value` line in the place of the first (appended when new). Throws when the value cannot be written as
  /// one line the parser reads back unchanged.
  public static func setting(
    _ key: String, to value: String?, in text: String, note: String? = nil
  ) throws(ConfigError) -> String {
    var lines = configurationLines(of: text).map { String($0.text) }
    if lines.last == "" { lines.removeLast() }
    let isKey = { (line: String) in lineKey(line).map { same($0, key) } ?? false }
    let first = lines.firstIndex(where: isKey)
    lines.removeAll(where: isKey)
    if let value {
      // In the place of the key's earlier line, or at the end.
      let line = key + " = " + (try written(value, key: key))
      if let first {
        lines.insert(line, at: min(first, lines.count))
      } else {
        if let note { lines.append("# " + note) }
        lines.append(line)
      }
    }
    return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
  }

  /// Removes every line whose key starts with `prefix` (a device's `map.ID.`
  /// lines, say) and appends `newLines`.
  public static func replacing(
    prefix: String, with newLines: [String], in text: String, note: String? = nil
  ) -> String {
    var lines = configurationLines(of: text).map { String($0.text) }
    if lines.last == "" { lines.removeLast() }
    lines.removeAll { lineKey($0)?.hasPrefix(prefix) ?? false }
    // A note left alone above nothing goes too.
    if let note { lines.removeAll { $0 == "# " + note } }
    if let note, !newLines.isEmpty { lines.append("# " + note) }
    lines += newLines
    return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
  }

  /// Whether the text has a line for `key`.
  public static func contains(_ key: String, in text: String) -> Bool {
    configurationLines(of: text).contains {
      lineKey(String($0.text)).map { same($0, key) } ?? false
    }
  }

  /// The key of a `key = value` line, nil for comments and blank lines.
  static func lineKey(_ line: String) -> String? {
    let t = line.drop { $0 == " " || $0 == "\t" }
    guard !t.isEmpty, !t.hasPrefix("#"), !t.hasPrefix(";"), let eq = t.firstIndex(of: "=") else {
      return nil
    }
    var k = t[..<eq]
    while let l = k.last, l == " " || l == "\t" { k = k.dropLast() }
    return String(k)
  }

  /// Input keys (`map.default.KEY_ENTER`) are case sensitive; the others not.
  static func same(_ a: String, _ b: String) -> Bool {
    KioskConfiguration.isInputKey(a.lowercased()) ? a == b : a.lowercased() == b.lowercased()
  }

  /// The value as it must be written to be read back as given: quoted when
  /// it holds a `#` or starts or ends with a blank or a quote.
  static func written(_ value: String, key: String) throws(ConfigError) -> String {
    let here = ConfigSource(file: key, line: 0)
    if value.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }) {
      throw ConfigError(here, "a value is one line (no line break)")
    }
    let needsQuotes =
      value.contains("#") || value.first == " " || value.first == "\t" || value.last == " "
      || value.last == "\t" || value.first == "\""
    guard needsQuotes else { return value }
    guard !value.contains("\"") else {
      throw ConfigError(here, "a value with a `#` or blanks at its ends cannot also hold a `\"`")
    }
    return "\"" + value + "\""
  }
}

extension KioskConfiguration {
  /// The default writable layer (on the image: the data partition).
  public static let defaultConfDir = "/var/lib/kds/kiosk.conf.d"

  /// Settings a running kiosk applies on reload (SIGHUP, `kdsctl set`); the
  /// others take a restart.
  public static let reloadableKeys: Set<String> = [
    "zoom", "sla_orange_after", "sla_red_after", "hold_to_bump_ms", "new_ticket_alert",
    "allergens", "allergen_check", "log_level",
  ]

  /// Whether a running kiosk applies `key` on reload (input lines do).
  public static func isReloadable(_ key: String) -> Bool {
    isInputKey(key) || reloadableKeys.contains(key.lowercased())
  }

  /// Every known key's value as the kiosk uses it, with where it came from
  /// (file:line, a flag, or `default`); the token is never shown, only
  /// whether it is set and its length. Then the input lines, in order.
  public var described: [(key: String, value: String, source: String)] {
    var out: [(String, String, String)] = []
    for (key, _) in Self.knownKeys {
      let source = sources[key].map(\.description) ?? "default"
      out.append((key, shownValue(of: key), source))
    }
    for line in inputLines {
      out.append((line.key, line.value, line.source.description))
    }
    return out
  }

  /// One key's value for `kdsctl config show` (secrets masked).
  public func shownValue(of key: String) -> String {
    func number(_ d: Double) -> String {
      d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
    switch key {
    case "station": return station ?? "(not set)"
    case "server": return server ?? "(not set)"
    case "token": return token.map { "(set, \($0.count) characters, not shown)" } ?? "(not set)"
    case "token_file": return tokenFile ?? "(not set)"
    case "display": return display
    case "rotation": return String(rotation)
    case "zoom": return number(zoom)
    case "mode": return mode ?? "(the screen's preferred mode)"
    case "sync_interval": return number(syncInterval)
    case "request_timeout": return number(requestTimeout)
    case "failback_probe": return number(failbackProbe) + "s"
    case "database": return database
    case "control_socket": return controlSocket
    case "ca_file": return caFile ?? "(not set)"
    case "sla_orange_after": return String(thresholds.orangeAfter)
    case "sla_red_after": return String(thresholds.redAfter)
    case "log_level": return logLevel
    case "hold_to_bump_ms": return String(holdToBumpMillis)
    case "new_ticket_alert": return newTicketAlert.rawValue
    case "allergens":
      return allergens == .standard ? "default" : allergens.words.joined(separator: ", ")
    case "allergen_check": return allergenCheck ? "on" : "off"
    case "push": return push
    case "conf_dir": return confDir
    default: return "(unknown key)"
    }
  }
}

extension KioskConfiguration {
  /// Applies `text` on top of this configuration; a bad line is collected
  /// in `errors` (with its file and line) and left out, the rest applies.
  public mutating func applyLeniently(
    _ text: String, fileName: String, errors: inout [ConfigError]
  ) {
    var current = text
    for _ in 0...configurationLines(of: text).count {
      var attempt = self
      do {
        try attempt.apply(text: current, fileName: fileName)
        self = attempt
        return
      } catch {
        errors.append(error)
        guard error.source.line > 0 else { return }
        current = configurationLines(of: current).map {
          $0.number == error.source.line ? "" : String($0.text)
        }.joined(separator: "\n")
      }
    }
  }
}
