import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import KDSSystem
import Logging
import ServiceLifecycle

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// The request context: Hummingbird's core storage plus the device token
/// the middleware authenticated.
public struct KDSRequestContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  var token: DeviceToken?
  /// The client's IP address (the key of the unauthenticated-request limit).
  let peer: String

  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    peer = source.channel.remoteAddress?.ipAddress ?? "unknown"
  }

  public var maxUploadSize: Int { 1 << 20 }
}

extension APIResponse {
  var hummingbird: Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    for (name, value) in self.headers {
      if let field = HTTPFields.Element.Name(name) { headers[field] = value }
    }
    return Response(
      status: HTTPResponse.Status(code: status), headers: headers,
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
  }
}

/// Outermost middleware: authentication, rate limit, errors in the
/// contract's shape, and one log line per request (never the token).
struct KDSMiddleware: RouterMiddleware {
  typealias Context = KDSRequestContext
  let service: KDSService

  func handle(
    _ request: Request, context: Context,
    next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    let note = RequestNote()
    return try await RequestNote.$current.withValue(note) {
      try await handle(request, context: context, note: note, next: next)
    }
  }

  func handle(
    _ request: Request, context: Context, note: RequestNote,
    next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    let started = SystemClock.monotonicNanoseconds()
    var context = context
    var response: Response
    var device = "-"
    do {
      if !(request.method == .get && request.uri.path == "/health")
        && !PairingHTTP.isOpen(request)
      {
        let token = try await authenticate(request, peer: context.peer)
        device = token.device
        service.tokens.noteSeen(token)
        if let limiter = service.limiter, let wait = limiter.check(token.id) {
          var e = APIError(429, "Too many requests from this device; retry after \(wait) s")
          e.headers = [("Retry-After", String(wait))]
          throw e
        }
        context.token = token
      }
      response = try await next(request, context)
    } catch let error as APIError {
      response = error.response.hummingbird
    } catch let error as any HTTPResponseError {
      response = mapHTTPError(error, request: request).response.hummingbird
    } catch {
      service.logger.error("internal error on \(request.method) \(request.uri.path): \(error)")
      response = APIError(500, "Internal server error").response.hummingbird
    }
    if service.options.logRequests {
      let ms = Double(SystemClock.monotonicNanoseconds() - started) / 1e6
      var line =
        "request \(request.method) \(request.uri.path) status=\(response.status.code) device=\(device) ms=\(format3(ms))"
      if response.headers[HTTPFields.Element.Name("Idempotent-Replayed")!] != nil {
        line += " replayed=true"
      }
      if response.status.code >= 400, let message = note.message {
        line += " error=\"\(message.replacingNewlines)\""
      }
      if response.status.code >= 500 {
        service.logger.error("\(line)")
      } else {
        service.logger.info("\(line)")
      }
    }
    return response
  }

  /// The device token of `request`. Requests without a valid token count
  /// against their address's bucket; once it is empty they get 429, and a
  /// token not already cached is not even looked up.
  func authenticate(_ request: Request, peer: String) async throws -> DeviceToken {
    let limiter = service.unauthenticatedLimiter
    func tooMany(_ wait: Int) -> APIError {
      var e = APIError(
        429, "Too many requests without a valid device token; retry after \(wait) s")
      e.headers = [("Retry-After", String(wait))]
      return e
    }
    /// Takes one from the address's bucket: the 429 to throw when empty.
    func charge() -> APIError? { limiter?.check(peer).map(tooMany) }
    // The status page is opened in a browser: it also takes the token as the
    // password of HTTP Basic authentication, and asks the browser for it.
    let isStatusPage =
      request.uri.path.hasPrefix("/status") || request.uri.path.hasPrefix("/reports")
    func unauthorised(_ message: String) -> APIError {
      var e = APIError(401, message)
      if isStatusPage {
        e.headers = [("WWW-Authenticate", "Basic realm=\"kds-server\", charset=\"UTF-8\"")]
      }
      return e
    }
    guard let header = request.headers[.authorization] else {
      throw charge() ?? unauthorised("Missing Authorization: Bearer <device token>")
    }
    let parts = header.split(separator: " ", maxSplits: 1)
    let secret: String
    if parts.count == 2, parts[0].lowercased() == "bearer" {
      secret = String(parts[1]).trimmingSpaces
    } else if isStatusPage, parts.count == 2, parts[0].lowercased() == "basic",
      let decoded = Data(base64Encoded: String(parts[1]).trimmingSpaces),
      let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
    {
      secret = String(text[text.index(after: colon)...])
    } else {
      throw charge() ?? unauthorised("Authorization must be 'Bearer <device token>'")
    }
    var refusedWait = 0
    let resolution = try await service.tokens.resolve(secret) {
      guard let wait = limiter?.check(peer, consume: false) else { return true }
      refusedWait = wait
      return false
    }
    switch resolution {
    case .known(let token): return token
    case .refused: throw tooMany(refusedWait)
    case .unknown: throw charge() ?? unauthorised("Unknown device token")
    }
  }

  func mapHTTPError(_ error: any HTTPResponseError, request: Request) -> APIError {
    switch error.status.code {
    case 404:
      let path = request.uri.path
      let methods = KDSService.routes.filter { $0.matches(path: path) }.map(\.method)
      if !methods.isEmpty {
        var e = APIError(405, "\(request.method) is not allowed on \(path)")
        e.headers = [("Allow", methods.joined(separator: ", "))]
        return e
      }
      return APIError(404, "No route for \(request.method) \(path)")
    case 413:
      return APIError(413, "Request body is larger than 1 MiB")
    default:
      return APIError(error.status.code, error.status.reasonPhrase)
    }
  }
}

func format3(_ v: Double) -> String {
  let scaled = Int((v * 1000).rounded())
  let frac = scaled % 1000
  return "\(scaled / 1000)." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + "\(frac)"
}

/// `kds-server serve`: the HTTP server, the idempotency cleanup job and,
/// with `--demo`, the demo traffic.
public enum KDSHTTPServer {
  static func buildRouter(service: KDSService) -> Router<KDSRequestContext> {
    let router = Router(context: KDSRequestContext.self)
    if let folder = service.webFolder {
      router.add(
        middleware: StaticFilesMiddleware(
          folder: folder + "/pos", logger: service.logger, logRequests: service.options.logRequests)
      )
    }
    router.add(middleware: KDSMiddleware(service: service))
    let maxBody = service.options.maxBodyBytes
    for route in KDSService.routes {
      let method = HTTPRequest.Method(route.method)!
      router.on(RouterPath(route.routerPath), method: method) {
        request, context -> Response in
        if PairingHTTP.handles(route) {
          return try await PairingHTTP.answer(
            service, route: route, request: request, context: context)
        }
        let token = context.token ?? DeviceToken(id: 0, device: "-", stations: [])
        try KDSService.requireWriter(token, method: route.method, path: route.path)
        var query: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
        var bodyBytes: [UInt8]? = nil
        var headerKey: String? = nil
        if route.method == "POST" || route.method == "PATCH" {
          if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBody {
            throw APIError(413, "Request body is larger than 1 MiB")
          }
          var buffer: ByteBuffer
          do {
            buffer = try await request.body.collect(upTo: maxBody)
          } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(413, "Request body is larger than 1 MiB")
          }
          bodyBytes = buffer.readBytes(length: buffer.readableBytes) ?? []
          headerKey = request.headers[HTTPFields.Element.Name("Idempotency-Key")!]
        }
        var call = try service.prepare(
          route: route, path: request.uri.path, id: context.parameters.get("id") ?? "",
          query: query, token: token, method: route.method, bodyBytes: bodyBytes,
          headerKey: headerKey)
        call.itemID = context.parameters.get("itemId") ?? ""
        if route.path.hasPrefix("/reports") { call.accept = request.headers[.accept] }
        if route.path == "/kds/queue" || route.path == "/kds/stream" {
          for name in KioskReport.headerNames {
            if let field = HTTPFields.Element.Name(name), let value = request.headers[field] {
              call.kioskHeaders[name] = value
            }
          }
        }
        if route.path == "/kds/stream" {
          let lastEventID = request.headers[HTTPFields.Element.Name("Last-Event-ID")!]
          return try await service.stream(call, lastEventID: lastEventID)
        }
        return try await service.execute(call).hummingbird
      }
    }
    return router
  }

  /// Runs the server until SIGTERM/SIGINT (graceful: requests in flight are
  /// answered, writes committed) or until the calling task is cancelled.
  /// `onListening` gets the host and the bound port once connections are
  /// accepted.
  public static func run(
    service: KDSService,
    onListening: @escaping @Sendable (_ host: String, _ port: Int) -> Void
  ) async throws {
    try await serve(
      service: service,
      onListening: { (listener: ServerListener, port: Int) in
        onListening(listener.host, port)
      })
  }

  /// Runs the server on every listener of `service.options.listeners` (one
  /// router, one database); `onListening` is called once per listener.
  public static func serve(
    service: KDSService,
    onListening: @escaping @Sendable (_ listener: ServerListener, _ port: Int) -> Void
  ) async throws {
    let options = service.options
    let router = buildRouter(service: service)
    var hbLogger = Logger(label: "kds-server.http")
    hbLogger.logLevel = options.frameworkLogLevel
    var tls: TLSConfiguration? = nil
    if let certificate = options.tlsCertificatePath, let key = options.tlsKeyPath {
      tls = try ServerTLS.configuration(certificatePath: certificate, keyPath: key)
    }
    var apps: [any Service] = []
    for listener in options.effectiveListeners {
      let server: HTTPServerBuilder
      if listener.tls {
        guard let tls else {
          throw TLSSetupError("\(listener) needs --tls-cert and --tls-key")
        }
        server = try .tls(.http1(), tlsConfiguration: tls)
      } else {
        server = .http1()
      }
      apps.append(
        Application(
          router: router, server: server,
          configuration: .init(address: .hostname(listener.host, port: listener.port)),
          onServerRunning: { channel in
            onListening(listener, channel.localAddress?.port ?? listener.port)
          },
          logger: hbLogger))
    }
    let listeners = ServiceGroup(
      configuration: .init(
        services: apps, gracefulShutdownSignals: [.sigterm, .sigint], logger: hbLogger))
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await listeners.run() }
      group.addTask { await cleanupLoop(service) }
      group.addTask { await pairingCleanupLoop(service) }
      group.addTask { await ScreenAlerts(service: service).run() }
      if let webhook = service.webhook { group.addTask { await webhook.run() } }
      if options.demo {
        group.addTask { await DemoTraffic(service: service).run() }
      }
      _ = try await group.next()
      group.cancelAll()
    }
    service.logger.info("stopped")
  }

  /// At start, then once a minute: approved pairing tokens nobody claimed
  /// are revoked.
  static func pairingCleanupLoop(_ service: KDSService) async {
    while !Task.isCancelled {
      await service.pairingCleanup()
      do { try await Task.sleep(for: .seconds(60)) } catch { return }
    }
  }

  static func cleanupLoop(_ service: KDSService) async {
    let interval = service.options.cleanupIntervalSeconds
    while !Task.isCancelled {
      do {
        try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
      } catch { return }
      do {
        let removed = try await service.idempotency.cleanup()
        if removed > 0 { service.logger.info("idempotency cleanup removed=\(removed)") }
      } catch {
        service.logger.error("idempotency cleanup failed: \(error)")
      }
    }
  }
}

extension String {
  var replacingNewlines: String {
    String(map { $0.isNewline ? " " : $0 }).replacing("\"", with: "'")
  }
}
