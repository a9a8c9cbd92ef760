import ArgumentParser
import KDSServer
import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `kds-server`: the restaurant server of the sync contract.
@main
struct KDSServerCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kds-server",
    abstract: "The restaurant server of the KDS sync contract (POS and kitchen endpoints).",
    subcommands: [Serve.self, Token.self, MenuCommand.self])
}

/// Writes one line to stdout at once (unbuffered), so a parent process
/// reading the pipe sees it immediately.
func emitLine(_ text: String) {
  let bytes = Array((text + "\n").utf8)
  var offset = 0
  while offset < bytes.count {
    let n = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    if n <= 0 { return }
    offset += n
  }
}

struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the HTTP server. Prints 'kds-server listening on http://HOST:PORT' when ready.")

  @Option(help: "SQLite database file (created if missing).")
  var db: String

  @Option(help: "Address to bind.")
  var host = "127.0.0.1"

  @Option(help: "Port to bind; 0 lets the OS choose (the listening line tells which).")
  var port = 8080

  @Flag(help: "Seed the demo stations and generate live orders.")
  var demo = false

  @Option(
    name: .customLong("demo-tokens"),
    help:
      "With --demo: create a token per demo station and the POS, and write them to this file (mode 0600)."
  )
  var demoTokens: String?

  @Option(name: .customLong("demo-rate"), help: "Demo orders per minute.")
  var demoRate: Double = 4

  @Option(
    name: .customLong("rate-limit"),
    help: "Requests per second per device token ('50', '50/s' or 'off').")
  var rateLimit = "50/s"

  @Option(name: .customLong("rate-burst"), help: "Burst size of the per-token rate limit.")
  var rateBurst: Double = 200

  @Option(
    name: .customLong("idempotency-ttl"), help: "Seconds an idempotency key is kept (default 24 h)."
  )
  var idempotencyTTL: Double = 86_400

  @Option(
    name: .customLong("cleanup-interval"), help: "Seconds between expired-key cleanups.")
  var cleanupInterval: Double = 300

  @Option(
    name: .customLong("retention-hours"),
    help: "GET /kds/queue without since returns tickets updated this many hours back.")
  var retentionHours: Double = 24

  @Option(
    name: .customLong("kiosk-offline-after"),
    help: "Seconds of silence after which the status page shows a kiosk as offline.")
  var kioskOfflineAfter: Double = 30

  @Option(
    name: .customLong("web-root"),
    help:
      "Folder holding pos/ (the POS web app served at /pos/). Default: $KDS_WEB_ROOT, /usr/share/kds/web, or web/ above the executable."
  )
  var webRoot: String?

  func validate() throws {
    _ = try parsedRateLimit()
    guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
    guard idempotencyTTL > 0, cleanupInterval > 0, retentionHours > 0 else {
      throw ValidationError(
        "--idempotency-ttl, --cleanup-interval and --retention-hours must be > 0")
    }
    guard demoRate > 0 else { throw ValidationError("--demo-rate must be > 0") }
  }

  func parsedRateLimit() throws -> Double? {
    let text = rateLimit.lowercased()
    if text == "off" || text == "0" { return nil }
    let number = text.hasSuffix("/s") ? String(text.dropLast(2)) : text
    guard let v = Double(number), v > 0 else {
      throw ValidationError("--rate-limit must be like 50, 50/s or off")
    }
    return v
  }

  func run() async throws {
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = .info
      return handler
    }
    let logger = Logger(label: "kds-server")
    var options = ServerOptions(databasePath: db)
    options.host = host
    options.port = port
    options.demo = demo
    options.demoOrdersPerMinute = demoRate
    options.rateLimit = try parsedRateLimit()
    options.rateBurst = rateBurst
    options.idempotencyTTLSeconds = idempotencyTTL
    options.cleanupIntervalSeconds = cleanupInterval
    options.retentionHours = retentionHours
    options.kioskOfflineAfterSeconds = kioskOfflineAfter
    options.webRoot = webRoot
    do {
      _ = try WebRoot.locate(explicit: webRoot)
    } catch let error as WebRootError {
      throw ValidationError(error.description)
    }
    let service: KDSService
    do {
      service = try KDSService(options: options, logger: logger)
    } catch {
      logger.critical("cannot open database \(db): \(error)")
      throw ExitCode(1)
    }
    if let folder = service.webFolder {
      logger.info("POS app served at /pos/ from \(folder)/pos")
    } else {
      logger.warning(
        "POS app not found (no pos/index.html in \(WebRoot.candidates().prefix(3).joined(separator: ", ")), ...): /pos/ is off"
      )
    }
    if demo {
      try await DemoMenu.seed(service.store)
    }
    if let demoTokens {
      // Tokens for the demo kiosks (one per station) and the POS, in a file
      // only this user can read: never on stdout, which journald keeps.
      var lines = ""
      for station in DemoMenu.stations {
        let token = try await DeviceTokens.create(
          in: service.store, device: "demo-\(station)", stations: [station])
        lines += "kds-server demo token \(station) \(token)\n"
      }
      let pos = try await DeviceTokens.create(in: service.store, device: "demo-pos", stations: [])
      lines += "kds-server demo token pos \(pos)\n"
      let fd = open(demoTokens, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
      guard fd >= 0 else {
        logger.critical("cannot write --demo-tokens \(demoTokens)")
        throw ExitCode(1)
      }
      fchmod(fd, 0o600)
      let bytes = Array(lines.utf8)
      let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      fsync(fd)
      close(fd)
      guard written == bytes.count else {
        logger.critical("cannot write --demo-tokens \(demoTokens)")
        throw ExitCode(1)
      }
      logger.info("demo tokens written to \(demoTokens)")
    }
    logger.info(
      "starting db=\(db) host=\(host) port=\(port) demo=\(demo) rate_limit=\(rateLimit) burst=\(rateBurst)"
    )
    try await KDSHTTPServer.run(service: service) { host, port in
      let shown = host.contains(":") ? "[\(host)]" : host
      emitLine("kds-server listening on http://\(shown):\(port)")
    }
  }
}

struct Token: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Manage device tokens.", subcommands: [Create.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Create a device token; prints it as the last line. Only its SHA-256 is stored.")

    @Option(help: "SQLite database file (created if missing).")
    var db: String

    @Option(help: "Device name (letters, digits, '-', '_', '.').")
    var device: String

    @Option(
      name: .customLong("station"),
      help: "A station the device may use (repeat for more). None: all stations (POS, manager).")
    var stations: [String] = []

    func run() async throws {
      let service = try KDSService(options: ServerOptions(databasePath: db))
      do {
        let token = try await DeviceTokens.create(
          in: service.store, device: device, stations: stations)
        let scope =
          stations.isEmpty ? "all stations" : "stations " + stations.joined(separator: ", ")
        print("token for device \(device) (\(scope)):")
        print(token)
      } catch let error as TokenError {
        throw ValidationError(error.description)
      }
    }
  }
}
