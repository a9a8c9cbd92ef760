import ArgumentParser
import KDSCore
import KDSDisplay
import KDSGeometry
import KDSInput
import KDSKiosk
import KDSRender
import Logging

#if canImport(Glibc)
  import Glibc
#endif

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// The daemon. Settings come from `--config` (/etc/kds/kiosk.conf), then
/// `--boot-config` (kds.txt on the boot partition), then the flags below,
/// each overriding the one before; every value is checked at start.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Run the kitchen display daemon.")

  @Option(help: "The configuration file (e.g. /etc/kds/kiosk.conf).")
  var config: String?

  @Option(
    name: .customLong("boot-config"),
    help: "Overrides an installer edits on the boot partition (kds.txt); skipped if missing.")
  var bootConfig: String?

  @Option(help: "The restaurant server, e.g. http://kds-server:8080, or `local`.")
  var server: String?

  @Option(help: "The station this screen shows (grill, fry, ...).")
  var station: String?

  @Option(help: "This device's token (never logged).")
  var token: String?

  @Option(
    name: .customLong("token-file"),
    help: "A file holding the token (first line), instead of --token: keeps it out of `ps`.")
  var tokenFile: String?

  @Option(help: "The kiosk's SQLite database.")
  var db: String?

  @Option(help: "Where to draw: auto, none, drm[:DEVICE], fbdev[:DEVICE] or snapshot:PATH.png.")
  var display: String?

  @Option(help: "The panel size for --display snapshot:PATH, WxH.")
  var size: String = "1920x1080"

  @Option(help: "Video mode WxH or WxH@Hz (default: the screen's preferred mode).")
  var mode: String?

  @Option(help: "Screen rotation: 0, 90, 180 or 270.")
  var rotate: String?

  @Option(help: "Text size multiplier, 0.5 to 3.")
  var zoom: String?

  @Option(help: "Read touch screens and keyboards: auto (with a screen), on or off.")
  var input: String = "auto"

  @Option(help: "Folder of the fonts (default: /usr/share/kds/fonts or the source tree's).")
  var fonts: String?

  @Option(name: .customLong("control-socket"), help: "The control socket for kdsctl (mode 0600).")
  var controlSocket: String?

  @Option(name: .customLong("request-timeout"), help: "Seconds before a request is given up.")
  var requestTimeout: String?

  @Option(name: .customLong("sync-interval"), help: "Seconds between two polls of the server.")
  var syncInterval: String?

  @Option(name: .customLong("ca-file"), help: "A CA bundle to trust for an https server.")
  var caFile: String?

  @Option(
    name: .customLong("hold-to-bump-ms"),
    help: "Milliseconds a finger holds a card to bump it, 300 to 2000 (default 600).")
  var holdToBumpMs: String?

  @Option(name: .customLong("orange-after"), help: "Seconds after which a ticket is orange.")
  var orangeAfter: String?

  @Option(name: .customLong("red-after"), help: "Seconds after which a ticket is red.")
  var redAfter: String?

  @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.")
  var logLevel: String?

  @Option(help: "auto: read the server's push stream beside the poll; off: poll only.")
  var push: String?

  /// The configuration: files, then flags. Throws a `ConfigError` naming the
  /// file and line (or the flag) of a bad value.
  func loadConfiguration() throws -> KioskConfiguration {
    var c = KioskConfiguration()
    if let config {
      guard let text = readTextFile(config) else {
        throw ConfigError(ConfigSource(file: config, line: 0), "cannot read the configuration file")
      }
      try c.apply(text: text, fileName: config)
    }
    if let bootConfig, let text = readTextFile(bootConfig) {
      try c.apply(text: text, fileName: bootConfig)
    }
    let flags: [(String, String, String?)] = [
      ("server", "--server", server), ("station", "--station", station),
      ("token", "--token", token), ("token_file", "--token-file", tokenFile),
      ("database", "--db", db.map(absolute)), ("display", "--display", display),
      ("mode", "--mode", mode), ("rotation", "--rotate", rotate), ("zoom", "--zoom", zoom),
      ("control_socket", "--control-socket", controlSocket.map(absolute)),
      ("request_timeout", "--request-timeout", requestTimeout),
      ("sync_interval", "--sync-interval", syncInterval),
      ("ca_file", "--ca-file", caFile.map(absolute)),
      ("sla_orange_after", "--orange-after", orangeAfter),
      ("sla_red_after", "--red-after", redAfter), ("log_level", "--log-level", logLevel),
      ("hold_to_bump_ms", "--hold-to-bump-ms", holdToBumpMs),
      ("push", "--push", push),
    ]
    for (key, flag, value) in flags {
      if let value { try c.set(key: key, value: value, source: ConfigSource(file: flag, line: 0)) }
    }
    if token != nil { c.tokenFile = nil }
    if tokenFile != nil { c.token = nil }
    try c.validateForRun()
    return c
  }

  /// The token: inline, or the first line of its file.
  func resolvedToken(_ c: KioskConfiguration) throws -> String {
    if let t = c.token { return t }
    let path = c.tokenFile ?? ""
    guard let text = readTextFile(path) else {
      throw ValidationError("cannot read the token file \(path)")
    }
    guard
      let line = text.split(whereSeparator: \.isNewline).first?.trimmingCharacters(
        in: .whitespaces), !line.isEmpty
    else { throw ValidationError("the token file \(path) is empty") }
    return line
  }

  func validate() throws {
    guard ["auto", "on", "off"].contains(input) else {
      throw ValidationError("--input must be auto, on or off")
    }
    guard parseSize(size) != nil else { throw ValidationError("--size must be WxH, e.g. 1280x800") }
  }

  func run() throws {
    let c: KioskConfiguration
    do {
      c = try loadConfiguration()
    } catch let e as ConfigError {
      let line = "kds-kiosk: configuration: \(e)\n"
      _ = line.withCString { write(2, $0, strlen($0)) }
      throw ExitCode(2)
    }
    let level = Logger.Level(rawValue: c.logLevel) ?? .info
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    let logger = Logger(label: "kds.kiosk")
    let inputConfig: InputConfig
    do {
      inputConfig = try InputConfig(parsing: c.inputText)
    } catch let e as InputConfigError {
      logger.critical("configuration: \(c.inputSource(ofLine: e.line)): \(e.message)")
      throw ExitCode(2)
    }

    var options = KioskDaemonOptions(
      serverURL: c.server == "local" ? "http://127.0.0.1:8080" : c.server!,
      station: c.station!, token: try resolvedToken(c), dbPath: c.database,
      controlSocketPath: c.controlSocket)
    options.requestTimeoutMillis = Int(c.requestTimeout * 1000)
    options.syncIntervalMillis = Int64(c.syncInterval * 1000)
    options.caFile = c.caFile
    options.thresholds = c.thresholds
    options.newTicketAlert = c.newTicketAlert
    options.allergens = c.allergens
    options.allergenCheck = c.allergenCheck
    options.push = c.push == "off" ? .off : .auto

    // The screen, before the daemon: its description goes to the server.
    let screen: ScreenPresenter?
    do {
      screen = try openScreen(c, logger: logger)
    } catch {
      logger.critical("cannot start the display: \(error)")
      throw ExitCode(2)
    }
    options.displayDescription = screen?.description

    let daemon: KioskDaemon
    do {
      daemon = try KioskDaemon(configuration: options)
    } catch {
      logger.critical("cannot start: \(error)")
      screen?.close()
      throw ExitCode(2)
    }
    daemon.core.zoom = c.zoom
    daemon.core.thresholdsExplicit = c.thresholdsExplicit
    daemon.screen = screen
    let wantInput = input == "on" || (input == "auto" && screen != nil && !isSnapshot(c.display))
    // The bridge always runs: `kdsctl input` goes through it; it reads
    // /dev/input only when input is wanted.
    let physical = screenPhysicalSize(screen)
    let manager = InputManager(
      config: inputConfig,
      screen: TouchScreen(
        physicalWidth: physical.width, physicalHeight: physical.height,
        rotation: Rotation(degrees: c.rotation) ?? .none),
      logger: Logger(label: "kds.input"))
    let bridge = InputBridge(
      manager: manager, daemon: daemon, screen: screen, logger: Logger(label: "kds.input"))
    bridge.devicesEnabled = wantInput
    bridge.holdMillis = Int64(c.holdToBumpMillis)
    daemon.input = bridge
    daemon.extraCommands["screenshot"] = { [weak screen] request in
      guard let screen else { return .failure("this kiosk has no screen (--display none)") }
      guard let path = request.path, path.hasPrefix("/") else {
        return .failure("screenshot needs an absolute path")
      }
      do {
        try screen.screenshot(to: path)
        return ControlResponse(ok: true, message: "screenshot written to \(path)")
      } catch {
        return .failure("cannot write \(path): \(error)")
      }
    }
    daemon.onReload = { [weak daemon] in
      guard let daemon else { return "no daemon" }
      do {
        let fresh = try loadConfiguration()
        let freshInput: InputConfig
        do {
          freshInput = try InputConfig(parsing: fresh.inputText)
        } catch let e as InputConfigError {
          throw ConfigError(
            ConfigSource(file: fresh.inputSource(ofLine: e.line), line: 0), e.message)
        }
        daemon.core.thresholds = fresh.thresholds
        daemon.core.thresholdsExplicit = fresh.thresholdsExplicit
        daemon.core.zoom = fresh.zoom
        daemon.core.marker.settings.newTicketAlert = fresh.newTicketAlert
        daemon.core.allergens = fresh.allergens
        daemon.core.allergenCheck = fresh.allergenCheck
        daemon.input?.manager.config = freshInput
        daemon.input?.holdMillis = Int64(fresh.holdToBumpMillis)
        daemon.screen?.renderer.invalidate()
        var restart: [String] = []
        if fresh.server != c.server { restart.append("server") }
        if fresh.station != c.station { restart.append("station") }
        if fresh.display != c.display || fresh.rotation != c.rotation || fresh.mode != c.mode {
          restart.append("display")
        }
        if fresh.database != c.database { restart.append("database") }
        return "configuration reloaded (thresholds, zoom, keys, hold time, alerts, allergens)"
          + (restart.isEmpty ? "" : "; restart to apply: " + restart.joined(separator: ", "))
      } catch {
        return "configuration NOT reloaded, the running one stays: \(error)"
      }
    }
    let status = try daemon.run()
    if status != 0 { throw ExitCode(status) }
  }

  func openScreen(_ c: KioskConfiguration, logger: Logger) throws -> ScreenPresenter? {
    guard let rotation = Rotation(rawValue: c.rotation) else {
      throw ValidationError("bad rotation \(c.rotation)")
    }
    let selection = try DisplaySelection(parsing: c.display)
    let output: ScreenOutput
    switch selection {
    case .none:
      return nil
    case .snapshot(let path):
      let (w, h) = parseSize(size)!
      output = .snapshot(SnapshotOutput(path: path), width: w, height: h, rotation: rotation)
    default:
      let request = try c.mode.map { try DisplayModeRequest(parsing: $0) }
      guard
        let out = try DisplayOpener.open(
          selection, mode: request, rotation: rotation, logger: Logger(label: "kds.display"))
      else { return nil }
      output = .display(out)
    }
    let screen = try ScreenPresenter(
      output: output, fontsDirectory: fonts, logger: Logger(label: "kds.screen"))
    if case .display = output {
      // Under systemd, standard input is the kiosk's terminal (tty1).
      screen.console = ConsoleMode(fd: 0)
      if screen.console != nil { logger.notice("console: graphics mode (no text or cursor)") }
    }
    logger.notice("screen: \(screen.description)")
    return screen
  }

  func screenPhysicalSize(_ screen: ScreenPresenter?) -> (width: Int, height: Int) {
    switch screen?.output {
    case .display(let d)?: return (d.info.physicalSize.width, d.info.physicalSize.height)
    case .snapshot(_, let w, let h, _)?: return (w, h)
    case nil: return (1920, 1080)
    }
  }

  func isSnapshot(_ display: String) -> Bool { display.hasPrefix("snapshot:") }
}

/// `WxH` to numbers.
func parseSize(_ text: String) -> (Int, Int)? {
  let parts = text.split(separator: "x")
  guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), (64...8192).contains(w),
    (64...8192).contains(h)
  else { return nil }
  return (w, h)
}

/// A file's text, or nil when it cannot be read.
func readTextFile(_ path: String) -> String? {
  guard let data = FileManager.default.contents(atPath: path) else { return nil }
  return String(decoding: data, as: UTF8.self)
}

/// A path made absolute against the working directory.
func absolute(_ path: String) -> String {
  path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
