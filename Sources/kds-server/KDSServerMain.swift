import ArgumentParser
import KDSServer
import KDSSystem
import KDSTime
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
    subcommands: [
      Serve.self, Token.self, TLS.self, MenuCommand.self, SettingsCommand.self, PairCommand.self,
      RestaurantCommand.self,
    ])
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
    abstract:
      "Run the HTTP(S) server. Prints 'kds-server listening on http(s)://HOST:PORT' when ready.")

  @Option(
    help: "SQLite database file (created if missing), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB."
  )
  var db: String

  @Option(
    help:
      "On PostgreSQL: the restaurant (kds-server restaurant create NAME). Default: the database's first, 'default'."
  )
  var restaurant: String?

  @Option(help: "Address to bind.")
  var host = "127.0.0.1"

  @Option(help: "Port to bind; 0 lets the OS choose (the listening line tells which).")
  var port = 8080

  @Option(
    name: .customLong("listen"),
    help: ArgumentHelp(
      "Listen on http://HOST:PORT or https://HOST:PORT (repeat for more); replaces --host and --port.",
      discussion:
        "E.g. --listen http://127.0.0.1:8080 --listen https://0.0.0.0:8443: the kiosk on this machine over loopback, the restaurant's network over TLS (https needs --tls-cert and --tls-key)."
    ))
  var listen: [String] = []

  @Option(
    name: .customLong("tls-cert"),
    help:
      "PEM certificate (chain) of the server: with --tls-key, HTTPS only. Without TLS every token crosses the network in clear."
  )
  var tlsCert: String?

  @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
  var tlsKey: String?

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
    name: .customLong("db-connections"),
    help: "On PostgreSQL: the most connections this process opens (its transactions at once).")
  var dbConnections = 8

  @Flag(
    name: .customLong("no-request-log"),
    help: "Leave out the log line per request (benchmarks); events are still logged.")
  var noRequestLog = false

  @Option(
    name: .customLong("rate-limit"),
    help: "Requests per second per device token ('50', '50/s' or 'off').")
  var rateLimit = "50/s"

  @Option(name: .customLong("rate-burst"), help: "Burst size of the per-token rate limit.")
  var rateBurst: Double = 200

  @Option(
    name: .customLong("unauthenticated-rate"),
    help:
      "Requests per second per client address without a valid token ('1', '1/s' or 'off'); beyond it: 429."
  )
  var unauthenticatedRate = "1/s"

  @Option(
    name: .customLong("unauthenticated-burst"),
    help: "Burst size of the per-address limit on requests without a valid token.")
  var unauthenticatedBurst: Double = 20

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
    name: .customLong("alert-after"),
    help:
      "Seconds of silence after which a screen is alerted: top of /status, the log, --alert-webhook."
  )
  var alertAfter: Double = 60

  @Option(
    name: .customLong("alert-webhook"),
    help:
      "URL (http or https) to POST screen alerts to as JSON ({\"event\":\"screen-offline\",...}); 3 tries each."
  )
  var alertWebhook: String?

  @Option(
    name: .customLong("stream-heartbeat"),
    help: "Seconds between two heartbeats of a push stream (GET /kds/stream).")
  var streamHeartbeat: Double = 15

  @Option(
    name: .customLong("web-root"),
    help:
      "Folder holding pos/ (the POS web app served at /pos/). Default: $KDS_WEB_ROOT, /usr/share/kds/web, or web/ above the executable."
  )
  var webRoot: String?

  func validate() throws {
    _ = try parsedRateLimit()
    _ = try Self.parseRate(unauthenticatedRate, option: "--unauthenticated-rate")
    guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
    guard idempotencyTTL > 0, cleanupInterval > 0, retentionHours > 0 else {
      throw ValidationError(
        "--idempotency-ttl, --cleanup-interval and --retention-hours must be > 0")
    }
    guard demoRate > 0 else { throw ValidationError("--demo-rate must be > 0") }
    guard alertAfter > 0, alertAfter.isFinite else {
      throw ValidationError("--alert-after must be > 0 seconds")
    }
    if let alertWebhook {
      let lower = alertWebhook.lowercased()
      guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), alertWebhook.count > 8,
        !alertWebhook.contains(where: { $0 == " " || $0 == "\n" })
      else {
        throw ValidationError("--alert-webhook must be an http:// or https:// URL")
      }
    }
    guard streamHeartbeat >= 0.05, streamHeartbeat <= 3_600 else {
      throw ValidationError("--stream-heartbeat must be 0.05 to 3600 seconds")
    }
    guard (tlsCert == nil) == (tlsKey == nil) else {
      throw ValidationError("--tls-cert and --tls-key go together")
    }
    let listeners = try parsedListeners()
    if tlsCert == nil, let l = listeners.first(where: \.tls) {
      throw ValidationError("--listen \(l) needs --tls-cert and --tls-key")
    }
  }

  func parsedListeners() throws -> [ServerListener] {
    try listen.map { text in
      guard let l = ServerListener.parse(text) else {
        throw ValidationError(
          "--listen must be http://HOST:PORT or https://HOST:PORT, not '\(text)'")
      }
      return l
    }
  }

  func parsedRateLimit() throws -> Double? {
    try Self.parseRate(rateLimit, option: "--rate-limit")
  }

  /// `50`, `50/s`, `0.5/s` or `off` (nil).
  static func parseRate(_ raw: String, option: String) throws -> Double? {
    let text = raw.lowercased()
    if text == "off" || text == "0" { return nil }
    let number = text.hasSuffix("/s") ? String(text.dropLast(2)) : text
    guard let v = Double(number), v > 0, v.isFinite else {
      throw ValidationError("\(option) must be like 50, 50/s or off")
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
    var options = ServerOptions(databasePath: db, restaurant: restaurant)
    options.host = host
    options.port = port
    options.demo = demo
    options.demoOrdersPerMinute = demoRate
    options.logRequests = !noRequestLog
    options.databaseConnections = max(1, min(dbConnections, 256))
    options.rateLimit = try parsedRateLimit()
    options.rateBurst = rateBurst
    options.unauthenticatedRate = try Self.parseRate(
      unauthenticatedRate, option: "--unauthenticated-rate")
    options.unauthenticatedBurst = unauthenticatedBurst
    options.idempotencyTTLSeconds = idempotencyTTL
    options.cleanupIntervalSeconds = cleanupInterval
    options.retentionHours = retentionHours
    options.kioskOfflineAfterSeconds = kioskOfflineAfter
    options.alertAfterSeconds = alertAfter
    options.alertWebhookURL = alertWebhook
    options.tlsCertificatePath = tlsCert
    options.tlsKeyPath = tlsKey
    options.webRoot = webRoot
    options.streamHeartbeatSeconds = streamHeartbeat
    options.listeners = try parsedListeners()
    do {
      _ = try WebRoot.locate(explicit: webRoot)
    } catch let error as WebRootError {
      throw ValidationError(error.description)
    }
    let service: KDSService
    do {
      service = try await KDSService(options: options, logger: logger)
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
    let listeners =
      options.listeners.isEmpty
      ? [ServerListener(host: host, port: port, tls: tlsCert != nil)] : options.listeners
    logger.info(
      "starting db=\(ServerStore.describe(database: db)) restaurant=\(restaurant ?? "default") listen=\(listeners.map(\.description).joined(separator: ",")) demo=\(demo) rate_limit=\(rateLimit) burst=\(rateBurst)"
    )
    if let tlsCert, listeners.contains(where: \.tls),
      let fingerprint = try? SelfSignedTLS.fingerprint(path: tlsCert)
    {
      // For a manager to compare with what a browser or a screen shows.
      logger.info("TLS certificate \(tlsCert) SHA256 \(fingerprint)")
    }
    for l in listeners where !l.tls && !l.isLoopback {
      logger.warning(
        "serving plain HTTP on \(l.host): every device token crosses the network in clear; use --tls-cert and --tls-key (kds-server tls self-signed makes them)"
      )
    }
    do {
      try await KDSHTTPServer.serve(
        service: service,
        onListening: { listener, port in
          var bound = listener
          bound.port = port
          emitLine("kds-server listening on \(bound)")
        })
    } catch let error as TLSSetupError {
      logger.critical("TLS: \(error)")
      throw ExitCode(1)
    }
  }
}

struct Token: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Manage device tokens.", subcommands: [Create.self, List.self, Revoke.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Create a device token; prints it as the last line. Only its SHA-256 is stored.")

    @Option(
      help:
        "SQLite database file (created if missing), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.")
    var db: String

    @Option(
      help:
        "On PostgreSQL: the restaurant (kds-server restaurant create NAME). Default: the database's first, 'default'."
    )
    var restaurant: String?

    @Option(help: "Device name (letters, digits, '-', '_', '.').")
    var device: String

    @Option(
      name: .customLong("station"),
      help: "A station the device may use (repeat for more). None: all stations (POS, manager).")
    var stations: [String] = []

    @Option(
      help: """
        pos (POS endpoints, all stations), manager (reads only: status page, orders, queues) \
        or station (its --station queues only). Default: station with --station, else pos.
        """)
    var role: String?

    func run() async throws {
      var parsedRole: TokenRole? = nil
      if let role {
        guard let r = TokenRole(rawValue: role) else {
          throw ValidationError("--role must be pos, manager or station")
        }
        parsedRole = r
      }
      let service = try await KDSService(
        options: ServerOptions(databasePath: db, restaurant: restaurant))
      do {
        let token = try await DeviceTokens.create(
          in: service.store, device: device, stations: stations, role: parsedRole)
        let scope =
          stations.isEmpty ? "all stations" : "stations " + stations.joined(separator: ", ")
        let shown = parsedRole ?? (stations.isEmpty ? .pos : .station)
        print("token for device \(device) (role \(shown.rawValue), \(scope)):")
        print(token)
      } catch let error as TokenError {
        throw ValidationError(error.description)
      }
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "List the tokens: id, device, role, stations, created, last seen, revoked (never the token)."
    )

    @Option(
      help:
        "SQLite database file (created if missing), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.")
    var db: String

    @Option(
      help:
        "On PostgreSQL: the restaurant (kds-server restaurant create NAME). Default: the database's first, 'default'."
    )
    var restaurant: String?

    func run() async throws {
      let service = try await KDSService(
        options: ServerOptions(databasePath: db, restaurant: restaurant))
      let tokens = try await DeviceTokens.list(in: service.store)
      func time(_ ms: Int64?) -> String { ms.map { RFC3339.format(millis: $0) } ?? "-" }
      var rows = [["ID", "DEVICE", "ROLE", "STATIONS", "CREATED", "LAST SEEN", "REVOKED"]]
      for t in tokens {
        rows.append([
          String(t.id), t.device, t.role,
          t.stations.isEmpty ? "*" : t.stations.joined(separator: ","), time(t.createdAt),
          time(t.lastSeenAt), time(t.revokedAt),
        ])
      }
      var widths = [Int](repeating: 0, count: rows[0].count)
      for row in rows {
        for (n, cell) in row.enumerated() { widths[n] = max(widths[n], cell.count) }
      }
      for row in rows {
        let line = row.enumerated().map { n, cell in
          n == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[n] - cell.count)
        }.joined(separator: "  ")
        print(line)
      }
    }
  }

  struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Revoke a token by its id (see `token list`); a running server refuses it from its next request."
    )

    @Option(
      help:
        "SQLite database file (created if missing), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.")
    var db: String

    @Option(
      help:
        "On PostgreSQL: the restaurant (kds-server restaurant create NAME). Default: the database's first, 'default'."
    )
    var restaurant: String?

    @Argument(help: "The token's id.")
    var id: Int64

    func run() async throws {
      let service = try await KDSService(
        options: ServerOptions(databasePath: db, restaurant: restaurant))
      switch try await DeviceTokens.revoke(in: service.store, id: id) {
      case .revoked: print("token \(id) revoked")
      case .alreadyRevoked: print("token \(id) was already revoked")
      case .notFound: throw ValidationError("no token with id \(id) (see `kds-server token list`)")
      }
    }
  }
}

struct TLS: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "TLS certificates for the server.", subcommands: [SelfSigned.self, Fingerprint.self])

  struct Fingerprint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Print the SHA-256 fingerprint of a PEM certificate (as a browser shows it), to check it by eye."
    )

    @Argument(help: "A PEM certificate file (e.g. ca.pem or server.pem).")
    var file: String

    func run() async throws {
      do {
        print("SHA256 " + (try SelfSignedTLS.fingerprint(path: file)))
      } catch let error as TLSSetupError {
        throw ValidationError(error.description)
      }
    }
  }

  struct SelfSigned: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "self-signed",
      abstract:
        "Make a private CA (ca.pem, ca-key.pem) and a server certificate it signed (server.pem, server-key.pem).",
      discussion: """
        For a restaurant without a PKI. Serve with --tls-cert DIR/server.pem --tls-key \
        DIR/server-key.pem; copy ca.pem to each kiosk (ca_file in kiosk.conf). Keep \
        ca-key.pem away from the server if you can: whoever holds it can impersonate it.
        """)

    @Option(help: "Folder for the four files (created if missing).")
    var out: String

    @Option(
      name: .customLong("host"),
      help: "A DNS name of the server (repeat for more). Default: localhost and 127.0.0.1.")
    var hosts: [String] = []

    @Option(name: .customLong("ip"), help: "An IP address of the server (repeat for more).")
    var ips: [String] = []

    @Option(name: .customLong("days"), help: "Days the certificates are valid.")
    var days = 3650

    @Flag(
      name: .customLong("reuse-ca"),
      help:
        "Keep the CA already in --out (ca.pem, ca-key.pem) and make only a new server certificate: new names, the kiosks' ca_file stays good."
    )
    var reuseCA = false

    func run() async throws {
      var hosts = self.hosts
      var ips = self.ips
      if hosts.isEmpty && ips.isEmpty {
        hosts = ["localhost"]
        ips = ["127.0.0.1"]
      }
      guard days > 0 else { throw ValidationError("--days must be > 0") }
      if mkdir(out, 0o755) != 0 && errno != EEXIST {
        throw ValidationError("cannot create \(out): \(errnoText(errno))")
      }
      do {
        let paths = try SelfSignedTLS.make(
          directory: out, hosts: hosts, ips: ips, validDays: days, reuseCA: reuseCA)
        for path in paths { print(path) }
        print(
          "names: " + (hosts.map { "DNS:\($0)" } + ips.map { "IP:\($0)" }).joined(separator: ", "))
      } catch let error as TLSSetupError {
        throw ValidationError(error.description)
      }
    }
  }
}
