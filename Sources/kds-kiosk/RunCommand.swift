import ArgumentParser
import KDSCore
import KDSKiosk
import Logging

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// The daemon: `kds-kiosk [run] --server URL --station NAME --token TOKEN
/// --db PATH --display none --control-socket PATH`.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Run the kitchen display daemon.")

  @Option(help: "The restaurant server, e.g. http://10.0.0.2:8080.")
  var server: String

  @Option(help: "The station this screen shows (grill, fry, ...).")
  var station: String

  @Option(help: "This device's token (never logged).")
  var token: String?

  @Option(
    name: .customLong("token-file"),
    help: "A file holding the token (first line), instead of --token: keeps it out of `ps`.")
  var tokenFile: String?

  @Option(help: "The kiosk's SQLite database.")
  var db: String

  @Option(
    help:
      "Where to draw: none (headless); snapshot:PATH, auto, drm and fbdev come with the screen work."
  )
  var display: String = "none"

  @Option(name: .customLong("control-socket"), help: "The control socket for kdsctl (mode 0600).")
  var controlSocket: String?

  @Option(name: .customLong("request-timeout"), help: "Seconds before a request is given up.")
  var requestTimeout: Double = 10

  @Option(name: .customLong("sync-interval"), help: "Seconds between two polls of the server.")
  var syncInterval: Double = 5

  @Option(name: .customLong("ca-file"), help: "A CA bundle to trust for an https server.")
  var caFile: String?

  @Option(name: .customLong("orange-after"), help: "Seconds after which a ticket is orange.")
  var orangeAfter: Int64?

  @Option(name: .customLong("red-after"), help: "Seconds after which a ticket is red.")
  var redAfter: Int64?

  @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.")
  var logLevel: String = "info"

  /// The token from --token or the first line of --token-file.
  func resolvedToken() throws -> String {
    if let token { return token }
    guard let tokenFile else { throw ValidationError("--token or --token-file is required") }
    guard let data = FileManager.default.contents(atPath: tokenFile) else {
      throw ValidationError("cannot read --token-file \(tokenFile)")
    }
    let line = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first
    guard let line, !line.trimmingCharacters(in: .whitespaces).isEmpty else {
      throw ValidationError("--token-file \(tokenFile) is empty")
    }
    return line.trimmingCharacters(in: .whitespaces)
  }

  func validate() throws {
    guard (token == nil) != (tokenFile == nil) else {
      throw ValidationError("give exactly one of --token and --token-file")
    }
    guard server.hasPrefix("http://") || server.hasPrefix("https://") else {
      throw ValidationError("--server must be an http:// or https:// URL")
    }
    guard !station.isEmpty else { throw ValidationError("--station must not be empty") }
    guard requestTimeout > 0, syncInterval > 0 else {
      throw ValidationError("--request-timeout and --sync-interval must be positive")
    }
    guard Logger.Level(rawValue: logLevel) != nil else {
      throw ValidationError("unknown --log-level \(logLevel)")
    }
    switch display {
    case "none":
      break
    case "auto", "drm", "fbdev":
      throw ValidationError(
        "--display \(display) is not available in this build yet; use --display none")
    case let d where d.hasPrefix("snapshot:"):
      throw ValidationError(
        "--display snapshot:PATH is not available in this build yet; use --display none")
    default:
      throw ValidationError(
        "unknown --display \(display) (none, snapshot:PATH, auto, drm or fbdev)")
    }
  }

  func run() throws {
    let level = Logger.Level(rawValue: logLevel) ?? .info
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    var config = KioskDaemonOptions(
      serverURL: server, station: station, token: try resolvedToken(), dbPath: db,
      controlSocketPath: controlSocket)
    config.requestTimeoutMillis = Int(requestTimeout * 1000)
    config.syncIntervalMillis = Int64(syncInterval * 1000)
    config.caFile = caFile
    if orangeAfter != nil || redAfter != nil {
      config.thresholds = SLAThresholds(
        orangeAfter: orangeAfter ?? SLAThresholds.standard.orangeAfter,
        redAfter: redAfter ?? SLAThresholds.standard.redAfter)
    }
    let daemon: KioskDaemon
    do {
      daemon = try KioskDaemon(configuration: config, presenter: NullPresenter())
    } catch {
      Logger(label: "kds.kiosk").critical("cannot start: \(error)")
      throw ExitCode(2)
    }
    let status = try daemon.run()
    if status != 0 { throw ExitCode(status) }
  }
}
