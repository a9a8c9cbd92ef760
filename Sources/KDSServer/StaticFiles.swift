import Hummingbird
import KDSSystem
import Logging

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

public struct WebRootError: Error, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}

/// Where the POS web app is: a folder holding `pos/index.html`.
public enum WebRoot {
  public static let installDirectory = "/usr/share/kds/web"
  public static let environmentVariable = "KDS_WEB_ROOT"

  /// The folders searched, in order: `explicit`, `$KDS_WEB_ROOT`, the install
  /// path, then `web/` in every folder above the running executable (the
  /// source tree, for binaries under `.build/`).
  public static func candidates(explicit: String? = nil) -> [String] {
    var dirs: [String] = []
    if let explicit, !explicit.isEmpty { dirs.append(explicit) }
    if let env = ProcessInfo.processInfo.environment[environmentVariable], !env.isEmpty {
      dirs.append(env)
    }
    dirs.append(installDirectory)
    var exe =
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
      ?? CommandLine.arguments.first ?? ""
    while let slash = exe.lastIndex(of: "/"), slash != exe.startIndex {
      exe = String(exe[..<slash])
      dirs.append(exe + "/web")
    }
    return dirs
  }

  /// The first candidate with the app; an explicit folder without it is an error.
  public static func locate(explicit: String? = nil) throws -> String? {
    if let explicit, !explicit.isEmpty {
      guard hasApp(explicit) else {
        throw WebRootError("--web-root \(explicit) has no pos/index.html")
      }
      return explicit
    }
    return candidates().first(where: hasApp)
  }

  static func hasApp(_ dir: String) -> Bool {
    FileManager.default.isReadableFile(atPath: dir + "/pos/index.html")
  }
}

/// Serves the POS web app's files under `/pos/` without a token: the app
/// shell is public, the token lives in the browser (IndexedDB) and goes only
/// in the Authorization header of API calls. Only plain file names directly
/// in `pos/` are served; every other path (the API's `/pos/menu`,
/// `/pos/orders`...) goes on to the API.
struct StaticFilesMiddleware: RouterMiddleware {
  typealias Context = KDSRequestContext
  let folder: String
  let logger: Logger
  let logRequests: Bool

  static let types: [String: String] = [
    "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8", "svg": "image/svg+xml", "png": "image/png",
    "webmanifest": "application/manifest+json", "json": "application/json",
  ]

  /// The file a path names, if it is one of the app's.
  func file(for path: String) -> String? {
    guard path.hasPrefix("/pos/") else { return nil }
    let name = path == "/pos/" ? "index.html" : String(path.dropFirst(5))
    guard !name.isEmpty, !name.hasPrefix("."), name.count <= 64,
      name.utf8.allSatisfy({ c in
        (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) || c == 45
          || c == 95 || c == 46
      }),
      let ext = name.split(separator: ".").last, name.contains("."),
      Self.types[String(ext)] != nil
    else { return nil }
    let full = folder + "/" + name
    return FileManager.default.isReadableFile(atPath: full) ? full : nil
  }

  func handle(
    _ request: Request, context: Context,
    next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    let path = request.uri.path
    guard request.method == .get || request.method == .head else {
      return try await next(request, context)
    }
    if path == "/pos" {
      return log(request, Response(status: .movedPermanently, headers: [.location: "/pos/"]))
    }
    guard let full = file(for: path), let data = FileManager.default.contents(atPath: full) else {
      return try await next(request, context)
    }
    let ext = String(full.split(separator: ".").last ?? "")
    var headers = HTTPFields()
    headers[.contentType] = Self.types[ext] ?? "application/octet-stream"
    // The Service Worker keeps the offline copy; the network copy is always checked.
    headers[.cacheControl] = "no-cache"
    headers[HTTPFields.Element.Name("X-Content-Type-Options")!] = "nosniff"
    let body = request.method == .head ? ByteBuffer() : ByteBuffer(bytes: data)
    headers[.contentLength] = String(data.count)
    return log(
      request, Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body)))
  }

  func log(_ request: Request, _ response: Response) -> Response {
    if logRequests {
      logger.info(
        "request \(request.method) \(request.uri.path) status=\(response.status.code) device=- static=true"
      )
    }
    return response
  }
}
