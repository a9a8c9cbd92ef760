#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// Where an operation of the kiosk's queue stands.
public enum OperationState: String, Hashable, Sendable, Codable {
  /// Waiting for its turn (`nextAttemptAt`).
  case pending
  /// A request carrying it is on the wire.
  case inFlight = "in-flight"
  /// Given up: shown as "Sync failed - tap to retry"; a retry puts it back.
  case failed
  /// The server acknowledged it.
  case done
}

/// Why the last attempt of an operation did not finish it.
public enum AttemptResult: String, Hashable, Sendable, Codable {
  case noAnswer
  case unauthorised
  case serverTrouble
  case rateLimited
}

/// One queued chef action. Its `id` is the ULID sent as `Idempotency-Key`:
/// created once, when the chef acts, and reused for every retry.
public struct QueuedOperation: Hashable, Sendable, Codable, Identifiable {
  public var id: String
  /// Insertion order (the store's row id): FIFO order across the queue.
  public var seq: Int64
  public var kind: TicketAction
  public var ticketId: String
  /// When the chef bumped (server clock), sent as `readyAt` with a bump.
  public var readyAt: Timestamp?
  /// When the operation was queued, on the sync's time line (`ScheduleClock`:
  /// monotonic while running, the wall clock across restarts; the 23-hour limit).
  public var createdAt: Timestamp
  /// When the operation was queued, on the server's clock as the kiosk last
  /// measured it (nil: no answer with a `Date` yet). The 23-hour limit is the
  /// server's: it forgets idempotency keys after 24 hours of its own time.
  public var queuedAtServer: Timestamp?
  /// Attempts that count toward the limit of 10 (answers 5xx).
  public var attempts: Int
  /// Attempts that got no answer, 401/403 or 429: they do not count.
  public var uncountedAttempts: Int
  public var nextAttemptAt: Timestamp
  public var state: OperationState
  public var lastError: String?
  public var lastResult: AttemptResult?
  /// The server's current status of the ticket when it refused the operation.
  public var serverStatus: TicketStatus?
  /// Why it failed, in kitchen words ("voided at 12:31"), for the card.
  public var reason: String?
  /// `allergen_check = on`: when the cook acknowledged the allergy band
  /// (server clock), sent as the extension field `allergenCheckedAt` with a bump.
  public var allergenCheckedAt: Timestamp?
  /// Item marks (issue 14): the line's id (`items[].id`). A mark-done's
  /// `readyAt` is the line's `doneAt`.
  public var itemId: String?
  /// Order-level operations (serve, fire course, rush): the order's id;
  /// `ticketId` is then the ticket the cook acted on (one of the order's).
  public var orderId: String?
  /// Fire course: the course to fire.
  public var course: Int?

  public init(
    id: String, seq: Int64 = 0, kind: TicketAction, ticketId: String, readyAt: Timestamp? = nil,
    createdAt: Timestamp, attempts: Int = 0, uncountedAttempts: Int = 0,
    nextAttemptAt: Timestamp? = nil, state: OperationState = .pending, lastError: String? = nil,
    lastResult: AttemptResult? = nil, serverStatus: TicketStatus? = nil,
    queuedAtServer: Timestamp? = nil
  ) {
    self.id = id
    self.seq = seq
    self.kind = kind
    self.ticketId = ticketId
    self.readyAt = readyAt
    self.createdAt = createdAt
    self.attempts = attempts
    self.uncountedAttempts = uncountedAttempts
    self.nextAttemptAt = nextAttemptAt ?? createdAt
    self.state = state
    self.lastError = lastError
    self.lastResult = lastResult
    self.serverStatus = serverStatus
    self.queuedAtServer = queuedAtServer
  }

  /// Waiting for, or on, the wire.
  public var isOutstanding: Bool { state == .pending || state == .inFlight }

  /// The request path, e.g. `/kds/tickets/01JD.../mark-ready`,
  /// `/kds/tickets/01JD.../items/01JE.../mark-done`, `/kds/orders/01JC.../serve`.
  public var path: String {
    if kind.isOrderRoute {
      return "/kds/orders/\(percentEncodePathSegment(orderId ?? ""))/\(kind.pathSuffix)"
    }
    if kind.isItemMark {
      return "/kds/tickets/\(percentEncodePathSegment(ticketId))/items/"
        + "\(percentEncodePathSegment(itemId ?? ""))/\(kind.pathSuffix)"
    }
    return "/kds/tickets/\(percentEncodePathSegment(ticketId))/\(kind.pathSuffix)"
  }

  /// The request body: `{"readyAt": ...}` for a bump, `{"doneAt": ...}` for a
  /// mark-done, `{"rush":true|false}`, `{"course":N}` for a fire course, `{}`
  /// otherwise. Always the same bytes for one operation, so its fingerprint
  /// never changes.
  public var body: String {
    switch kind {
    case .bump: break
    case .markDone: return readyAt.map { "{\"doneAt\":\"\($0.iso8601)\"}" } ?? "{}"
    case .rush: return "{\"rush\":true}"
    case .unrush: return "{\"rush\":false}"
    case .fireCourse: return course.map { "{\"course\":\($0)}" } ?? "{}"
    default: return "{}"
    }
    var fields: [String] = []
    if let allergenCheckedAt {
      fields.append("\"allergenCheckedAt\":\"\(allergenCheckedAt.iso8601)\"")
    }
    if let readyAt { fields.append("\"readyAt\":\"\(readyAt.iso8601)\"") }
    return "{" + fields.joined(separator: ",") + "}"
  }
}

extension QueuedOperation {
  /// Whether this operation changes `ticket` when applied: its own ticket,
  /// or for an order-level operation every ticket of the order (a fire
  /// course: those of the course).
  public func affects(_ ticket: Ticket) -> Bool {
    switch kind {
    case .serve, .rush, .unrush: return orderId == ticket.orderId
    case .fireCourse: return orderId == ticket.orderId && course == ticket.course
    default: return ticketId == ticket.id
    }
  }

  /// `ticket` as the screen shows it after this operation: its status after
  /// the transition (unchanged where not allowed), a rush's priority, an
  /// item mark's `doneAt`.
  public func applied(to ticket: Ticket) -> Ticket {
    guard affects(ticket) else { return ticket }
    var t = ticket
    t.status = TicketStateMachine.apply(kind, to: t.status) ?? t.status
    switch kind {
    case .rush: t.priority = "RUSH"
    case .unrush: if t.priority == "RUSH" { t.priority = nil }
    case .markDone, .markUndone:
      guard TicketStateMachine.apply(kind, to: ticket.status) != nil, let itemId else { break }
      for i in t.items.indices where t.items[i].id == itemId {
        t.items[i].doneAt = kind == .markDone ? (readyAt ?? createdAt) : nil
      }
    default: break
    }
    return t
  }
}

/// An HTTP answer reduced to what the queue policy needs.
public enum HTTPAnswer: Sendable {
  /// The server answered. `retryAfter` in seconds from now when the header was present.
  case response(status: Int, body: Data, retryAfter: Int64?)
  /// Refused, DNS, timeout, TLS, reset, an answer cut off or too large.
  case noAnswer(reason: String)
}

/// What one attempt at an operation came to (the contract's status table).
public enum OperationOutcome: Sendable, Equatable {
  /// 2xx, or 409 `IDEMPOTENCY_DUPLICATE`. The ticket when the body held one.
  case succeeded(Ticket?)
  /// Failed and not retried: 409 `INVALID_STATE_TRANSITION` (with the server's
  /// current status), 409 fingerprint mismatch (`loud`), 422 and other 4xx.
  case rejected(reason: String, serverStatus: TicketStatus?, loud: Bool)
  /// 404 or 405 on an extension (start, recall): the server lacks it.
  case extensionMissing(TicketAction)
  /// 401 or 403: the banner says so, the operation waits, no attempt counted.
  case unauthorised(status: Int)
  /// 5xx, 408, 3xx, or a 2xx that is not a JSON object: back off and
  /// retry; counts toward the 10 attempts.
  case serverTrouble(status: Int, retryAfter: Int64?)
  /// 429: back off, honouring `Retry-After`; not counted.
  case rateLimited(retryAfter: Int64?)
  /// No answer: back off and retry; not counted.
  case noAnswer(reason: String)
}

/// The seed's error body (6.2), decoded tolerantly.
public struct ServerErrorBody: Decodable, Sendable {
  public struct CurrentState: Decodable, Sendable {
    public var id: String?
    public var status: String?
    public var updatedAt: String?
  }
  public var statusCode: Int?
  public var message: String?
  public var conflictType: String?
  public var currentState: CurrentState?

  enum CodingKeys: String, CodingKey { case statusCode, message, conflictType, currentState }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    statusCode = try? c.decodeIfPresent(Int.self, forKey: .statusCode)
    message = try? c.decodeIfPresent(String.self, forKey: .message)
    conflictType = try? c.decodeIfPresent(String.self, forKey: .conflictType)
    currentState = try? c.decodeIfPresent(CurrentState.self, forKey: .currentState)
  }

  public static func decode(_ data: Data) -> ServerErrorBody? {
    try? JSONDecoder().decode(ServerErrorBody.self, from: data)
  }
}

/// The queue rules of the contract and the seed (sections 6 and 10), as values.
public struct QueuePolicy: Hashable, Sendable {
  /// Delay before attempt 1, 2, 3, 4 and 5+ (seconds): immediately, 5, 15, 45, 120.
  public var backoffSeconds: [Int64] = [0, 5, 15, 45, 120]
  /// Counted attempts after which an operation is failed.
  public var maxAttempts = 10
  /// An operation still outstanding this long after it was queued is failed
  /// (the server keeps idempotency keys for 24 hours).
  public var giveUpAfterMillis: Int64 = 23 * 3_600_000
  /// Requests in flight at once.
  public var maxInFlight = 5
  /// Outstanding operations at most; beyond this an action is refused.
  public var maxOutstanding = 100

  public init() {}

  public static let standard = QueuePolicy()

  /// The seed's alert when the queue is full (10.1).
  public static let queueFullMessage = "Too many offline operations. Please connect to sync."

  /// Seconds to wait before attempt `attempt` (1-based).
  public func delaySeconds(beforeAttempt attempt: Int) -> Int64 {
    let index = max(0, min(attempt - 1, backoffSeconds.count - 1))
    return backoffSeconds[index]
  }

  /// Classifies an answer to an operation of kind `kind` (contract status table).
  public func classify(_ answer: HTTPAnswer, kind: TicketAction) -> OperationOutcome {
    switch answer {
    case .noAnswer(let reason):
      return .noAnswer(reason: reason)
    case .response(let status, let body, let retryAfter):
      switch status {
      case 204:
        return .succeeded(nil)
      case 200..<300:
        // Only the contract's answer (a JSON object: the ticket) counts: a
        // captive portal's or a proxy's page, or a body cut short, means the
        // server may never have seen the operation.
        guard Self.isJSONObject(body) || (kind.isOrderRoute && Self.isJSONArray(body)) else {
          return .serverTrouble(status: status, retryAfter: retryAfter)
        }
        return .succeeded(try? JSONDecoder().decode(Ticket.self, from: body))
      case 300..<400:
        // A redirect (a proxy, a portal): the server did not take it; retry.
        return .serverTrouble(status: status, retryAfter: retryAfter)
      case 401, 403:
        return .unauthorised(status: status)
      case 404 where kind.isExtension, 405 where kind.isExtension:
        return .extensionMissing(kind)
      case 409:
        let error = ServerErrorBody.decode(body)
        switch error?.conflictType {
        case "IDEMPOTENCY_DUPLICATE":
          return .succeeded(nil)
        case "IDEMPOTENCY_FINGERPRINT_MISMATCH":
          return .rejected(
            reason: "idempotency key reused with a different body (client bug)",
            serverStatus: nil, loud: true)
        default:
          let current = error?.currentState?.status.map(TicketStatus.init(wire:))
          var reason = error?.message ?? "state conflict"
          if let current { reason += " (server: \(current.wire))" }
          return .rejected(reason: reason, serverStatus: current, loud: false)
        }
      case 429:
        return .rateLimited(retryAfter: retryAfter)
      case 408, 500..<600:
        return .serverTrouble(status: status, retryAfter: retryAfter)
      default:
        let message = ServerErrorBody.decode(body)?.message
        return .rejected(
          reason: "HTTP \(status)" + (message.map { ": \($0)" } ?? ""), serverStatus: nil,
          loud: false)
      }
    }
  }

  /// Whether `body` is one complete JSON object (the shape of the contract's
  /// answers to operations).
  static func isJSONObject(_ body: Data) -> Bool {
    (try? JSONDecoder().decode(AnyJSONObject.self, from: body)) != nil
  }

  /// Whether `body` is one complete JSON array of objects (an order's tickets,
  /// the answer to serve or fire course).
  static func isJSONArray(_ body: Data) -> Bool {
    (try? JSONDecoder().decode([AnyJSONObject].self, from: body)) != nil
  }

  /// The operation after an attempt with `outcome`, finished at `now`.
  public func record(_ outcome: OperationOutcome, on op: QueuedOperation, now: Timestamp)
    -> QueuedOperation
  {
    var op = op
    switch outcome {
    case .succeeded:
      op.state = .done
      op.lastError = nil
      op.lastResult = nil
    case .rejected(let reason, let serverStatus, _):
      op.state = .failed
      op.lastError = reason
      op.serverStatus = serverStatus
      op.lastResult = nil
    case .extensionMissing(let kind):
      op.state = .failed
      op.lastError = "the server does not support \(kind.rawValue)"
      op.lastResult = nil
    case .unauthorised(let status):
      op.state = .pending
      op.uncountedAttempts += 1
      op.lastResult = .unauthorised
      op.lastError = "HTTP \(status): not authorised"
      op.nextAttemptAt = now.adding(seconds: delaySeconds(beforeAttempt: op.uncountedAttempts + 1))
    case .noAnswer(let reason):
      op.state = .pending
      op.uncountedAttempts += 1
      op.lastResult = .noAnswer
      op.lastError = reason
      op.nextAttemptAt = now.adding(seconds: delaySeconds(beforeAttempt: op.uncountedAttempts + 1))
    case .rateLimited(let retryAfter):
      op.state = .pending
      op.uncountedAttempts += 1
      op.lastResult = .rateLimited
      op.lastError = "HTTP 429: rate limited"
      let backoff = delaySeconds(beforeAttempt: op.uncountedAttempts + 1)
      op.nextAttemptAt = now.adding(
        seconds: max(backoff, min(retryAfter ?? 0, HTTPDate.maxRetryAfterSeconds)))
    case .serverTrouble(let status, let retryAfter):
      op.attempts += 1
      op.lastResult = .serverTrouble
      op.lastError = "HTTP \(status)"
      if op.attempts >= maxAttempts {
        op.state = .failed
        op.lastError = "Sync failed after \(op.attempts) attempts (HTTP \(status))"
      } else {
        op.state = .pending
        let backoff = delaySeconds(beforeAttempt: op.attempts + 1)
        op.nextAttemptAt = now.adding(
          seconds: max(backoff, min(retryAfter ?? 0, HTTPDate.maxRetryAfterSeconds)))
      }
    }
    return op
  }

  /// How long ago an operation was queued. The server forgets an idempotency
  /// key after 24 hours of its own clock, so the age is the server's: the
  /// server's time now (`serverNow`, measured from its answers) since the
  /// server's time at queueing. The kiosk's own time line (`now`, monotonic
  /// while running) must agree: the age is the smaller of the two, so that
  /// neither a `Date` header years off nor a step of the device's clock fails
  /// the queue. Without a server measurement, the kiosk's time line alone.
  public func age(of op: QueuedOperation, now: Timestamp, serverNow: Timestamp?) -> Int64 {
    let local = now.millis(since: op.createdAt)
    guard let queued = op.queuedAtServer, let serverNow else { return local }
    return min(local, serverNow.millis(since: queued))
  }

  /// Whether an outstanding operation must be given up (23 hours after it
  /// was queued, see `age(of:now:serverNow:)`).
  public func hasExpired(_ op: QueuedOperation, now: Timestamp, serverNow: Timestamp? = nil)
    -> Bool
  {
    op.isOutstanding && age(of: op, now: now, serverNow: serverNow) >= giveUpAfterMillis
  }

  /// The operation after the 23-hour limit.
  public func expire(_ op: QueuedOperation) -> QueuedOperation {
    var op = op
    op.state = .failed
    op.lastError = "gave up after 23 hours without reaching the server"
    return op
  }

  /// The pending operations to send now, oldest first: at most `maxInFlight`
  /// in flight altogether, never two for one ticket, and per ticket strictly
  /// in queue order (a later operation never overtakes an earlier outstanding
  /// one). Failed operations do not hold back later ones. `ops` may be in any order.
  public func selectForDispatch(_ ops: [QueuedOperation], now: Timestamp) -> [QueuedOperation] {
    let ordered = ops.sorted { $0.seq < $1.seq }
    var inFlight = ordered.reduce(0) { $0 + ($1.state == .inFlight ? 1 : 0) }
    var heldTickets = Set(ordered.filter { $0.state == .inFlight }.map(\.ticketId))
    var chosen: [QueuedOperation] = []
    for op in ordered {
      guard inFlight < maxInFlight else { break }
      switch op.state {
      case .pending:
        if heldTickets.contains(op.ticketId) { continue }
        heldTickets.insert(op.ticketId)
        if op.nextAttemptAt <= now {
          chosen.append(op)
          inFlight += 1
        }
      case .inFlight, .failed, .done:
        continue
      }
    }
    return chosen
  }

  /// When the next operation that may be sent becomes due, if any: the
  /// oldest outstanding operation of each ticket (later ones wait behind it,
  /// so their own times do not count).
  public func nextDue(_ ops: [QueuedOperation]) -> Timestamp? {
    var seen = Set<String>()
    var due: Timestamp?
    for op in ops.sorted(by: { $0.seq < $1.seq }) where op.isOutstanding {
      guard seen.insert(op.ticketId).inserted, op.state == .pending else { continue }
      if due == nil || op.nextAttemptAt < due! { due = op.nextAttemptAt }
    }
    return due
  }
}

/// Percent-encodes a path segment (ticket ids are ULIDs, but be safe).
public func percentEncodePathSegment(_ s: String) -> String {
  var out = ""
  for b in s.utf8 {
    switch b {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
      UInt8(ascii: "."), UInt8(ascii: "~"):
      out.unicodeScalars.append(UnicodeScalar(b))
    default:
      let hex = Array("0123456789ABCDEF".utf8)
      out += "%" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 15)]], as: UTF8.self)
    }
  }
  return out
}

/// Any JSON object (the decoder reads the whole document, so a body cut
/// short fails).
struct AnyJSONObject: Decodable {
  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }
  init(from decoder: any Decoder) throws { _ = try decoder.container(keyedBy: Key.self) }
}
