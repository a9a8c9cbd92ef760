import KDSTime
import Synchronization

/// An answer the API gives instead of the normal one. Its body is the
/// contract's error shape: `{statusCode, message, conflictType?, currentState?}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
  public var status: Int
  public var message: String
  public var conflictType: String?
  public var currentState: JSONValue?
  public var headers: [(String, String)] = []

  public init(
    _ status: Int, _ message: String, conflictType: String? = nil, currentState: JSONValue? = nil
  ) {
    self.status = status
    self.message = message
    self.conflictType = conflictType
    self.currentState = currentState
  }

  public var description: String { "\(status) \(message)" }

  public var body: JSONValue {
    var members: [(String, JSONValue)] = [
      ("statusCode", .int(Int64(status))), ("message", .string(message)),
    ]
    if let conflictType { members.append(("conflictType", .string(conflictType))) }
    if let currentState { members.append(("currentState", currentState)) }
    return .object(members)
  }

  public var response: APIResponse {
    RequestNote.current?.set(message)
    return APIResponse(status: status, body: body.bytes, headers: headers)
  }

  // MARK: the usual ones

  static func invalid(_ field: String, _ problem: String) -> APIError {
    APIError(422, "\(field): \(problem)")
  }

  static func notFound(_ what: String) -> APIError { APIError(404, what) }

  static func stateConflict(_ message: String, id: String, status: String, updatedAt: Int64)
    -> APIError
  {
    APIError(
      409, message, conflictType: "INVALID_STATE_TRANSITION",
      currentState: .object([
        ("id", .string(id)), ("status", .string(status)),
        ("updatedAt", .string(RFC3339.format(millis: updatedAt))),
      ]))
  }
}

/// A complete answer: status, JSON body and extra headers.
public struct APIResponse: Sendable {
  public var status: Int
  public var body: [UInt8]
  public var headers: [(String, String)]
  /// Set when the idempotency layer has already stored this answer.
  var stored = false

  public init(status: Int, body: [UInt8], headers: [(String, String)] = []) {
    self.status = status
    self.body = body
    self.headers = headers
  }

  public init(status: Int, json: JSONValue) {
    self.init(status: status, body: json.bytes)
  }

  /// A page for a browser (the status page, the reports), never cached.
  static func page(_ html: String) -> APIResponse {
    APIResponse(
      status: 200, body: Array(html.utf8),
      headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")])
  }
}

/// The error message of the request being answered, for its log line (bound
/// per request by the middleware; set wherever an error answer is made).
final class RequestNote: Sendable {
  @TaskLocal static var current: RequestNote?
  private let text = Mutex<String?>(nil)
  func set(_ message: String) { text.withLock { $0 = message } }
  var message: String? { text.withLock { $0 } }
}
