import ArgumentParser
import KDSCore
import KDSDisplay
import KDSGeometry
import KDSInput
import KDSKiosk
import KDSRender
import KDSSystem
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

  @Option(
    name: .customLong("conf-dir"),
    help:
      "The writable layer: *.conf files read in name order after the two files (default: conf_dir, else /var/lib/kds/kiosk.conf.d)."
  )
  var confDir: String?

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

  @Option(
    name: .customLong("failback-probe"),
    help: "With several servers: how often the first is probed while another is in use (60s).")
  var failbackProbe: String?

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

  @Option(
    name: .customLong("config-watch"),
    help: """
      on: the setup screen re-reads the configuration when its files change (inotify) and \
      every 5 s; off: only on SIGHUP (systemctl reload kds-kiosk).
      """)
  var configWatch: String = "on"

  /// The configuration: files, then flags. Throws a `ConfigError` naming the
  /// file and line (or the flag) of the first bad value. (`kds-kiosk run`
  /// itself reads it with `loadConfiguration(collecting:)`, which goes on
  /// past bad lines for the setup screen; this is the SIGHUP reload's.)
  func loadConfiguration() throws -> KioskConfiguration {
    var errors: [ConfigError] = []
    let c = loadConfiguration(collecting: &errors)
    if let first = errors.first { throw first }
    return c
  }

  /// The configuration: files (kiosk.conf, kds.txt, the writable layer's
  /// `*.conf`: `ConfigurationLayers`, the same reading as `kdsctl config
  /// show`), then flags, each overriding the one before. A bad line is
  /// skipped and its error collected (with its file and line), so that what
  /// is good still counts: the display, the control socket and the server of
  /// a file with one typo are still used by the setup screen.
  func loadConfiguration(collecting errors: inout [ConfigError]) -> KioskConfiguration {
    let layers = ConfigurationLayers(
      config: config, bootConfig: bootConfig, confDir: confDir.map(absolute))
    var c = layers.load(
      read: readTextFile,
      list: { try? FileManager.default.contentsOfDirectory(atPath: $0) },
      collecting: &errors
    ).configuration
    let flags: [(String, String, String?)] = [
      ("server", "--server", server), ("station", "--station", station),
      ("token", "--token", token), ("token_file", "--token-file", tokenFile),
      ("database", "--db", db.map(absolute)), ("display", "--display", display),
      ("mode", "--mode", mode), ("rotation", "--rotate", rotate), ("zoom", "--zoom", zoom),
      ("control_socket", "--control-socket", controlSocket.map(absolute)),
      ("request_timeout", "--request-timeout", requestTimeout),
      ("sync_interval", "--sync-interval", syncInterval),
      ("failback_probe", "--failback-probe", failbackProbe),
      ("ca_file", "--ca-file", caFile.map(absolute)),
      ("sla_orange_after", "--orange-after", orangeAfter),
      ("sla_red_after", "--red-after", redAfter), ("log_level", "--log-level", logLevel),
      ("hold_to_bump_ms", "--hold-to-bump-ms", holdToBumpMs),
      ("push", "--push", push),
    ]
    for (key, flag, value) in flags {
      guard let value else { continue }
      do {
        try c.set(key: key, value: value, source: ConfigSource(file: flag, line: 0))
      } catch {
        errors.append(error)
      }
    }
    if token != nil { c.tokenFile = nil }
    if tokenFile != nil { c.token = nil }
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
    guard ["on", "off"].contains(configWatch) else {
      throw ValidationError("--config-watch must be on or off")
    }
  }

  func run() throws {
    // The log level from a first look (a bad file still sets it if its line is good).
    var firstErrors: [ConfigError] = []
    let firstLook = loadConfiguration(collecting: &firstErrors)
    let level = Logger.Level(rawValue: firstLook.logLevel) ?? .info
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    let logger = Logger(label: "kds.kiosk")
    let signals: SignalPipe
    do {
      signals = try SignalPipe([SIGTERM, SIGINT, SIGHUP])
    } catch {
      logger.critical("cannot start: \(error)")
      throw ExitCode(2)
    }
    // Issue 13: a missing or bad configuration, or no token yet, opens the
    // screen anyway and shows SETUP or PAIRING until it is fixed; the kiosk
    // then starts without a restart. Only SIGTERM/SIGINT end the process.
    var opened: OpenedScreen?
    var startFailure: StartFailure?
    while true {
      var prepared: PreparedKiosk?
      switch prepare(approval: nil, startFailure: startFailure, logger: logger) {
      case .ready(let p):
        prepared = p
      case .setup(_, let best):
        if opened?.key != OpenedScreen.key(best, size: size) {
          opened?.close()
          opened = nil
        }
        var displayProblem: String?
        if opened == nil {
          do {
            opened = try openOutput(best, logger: logger)
          } catch {
            logger.critical("setup screen: cannot start the display: \(error)")
            displayProblem = "Display: \(error)"
          }
        }
        let loop = SetupLoop(
          output: opened?.output, fontsDirectory: fonts, controlSocketPath: best.controlSocket,
          signals: signals)
        loop.extraProblems = displayProblem.map { [$0] } ?? []
        loop.watchesFiles = configWatch == "on"
        let outcome = loop.run { approval -> SetupDiagnosis? in
          switch prepare(approval: approval, startFailure: startFailure, logger: logger) {
          case .ready(let p):
            prepared = p
            return nil
          case .setup(let d, _):
            return d
          }
        }
        if case .stop = outcome {
          opened?.close()
          return
        }
      }
      guard let ready = prepared else { continue }
      let end = try runDaemon(
        ready, opened: &opened, signals: signals, startFailure: &startFailure, logger: logger)
      guard case .stopped(let status)? = end else { continue }  // pair again, or start failed
      if status != 0 { throw ExitCode(status) }
      return
    }
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
