import Crypto
import KDSContract
import KDSSystem
import KDSTime
import Synchronization

/// The numbers of pairing.
public enum PairingRules {
  /// A code is pending for 10 minutes.
  public static let ttlMillis: Int64 = 600_000
  /// An approved token can still be claimed this long after the approval
  /// (when that is later than the code's expiry); then it is revoked.
  public static let claimGraceMillis: Int64 = 600_000
  /// At most this many codes are pending at once (all clients together).
  public static let maxPending = 32
  /// The longest claim long-poll (`wait`), in seconds.
  public static let maxWaitSeconds = 30
  /// `deviceName`, in Unicode scalars.
  public static let deviceNameMax = 64
  /// Finished pairings are kept this long (a late claim gets 410, not 404).
  public static let keepMillis: Int64 = 86_400_000
}

public enum PairingError: Error, CustomStringConvertible, Equatable {
  /// No pending code like this (never given, expired or already approved).
  case unknownCode
  case invalid(field: String, problem: String)

  public var description: String {
    switch self {
    case .unknownCode: return "No screen is waiting with this code (it may have expired)"
    case .invalid(let field, let problem): return "\(field): \(problem)"
    }
  }
}

/// What an approval made.
public struct PairingApproval: Sendable, Equatable {
  public var station: String
  public var deviceName: String
  public var tokenName: String
}

/// A code waiting for approval, as the status page lists it.
public struct PendingPairing: Sendable, Equatable {
  public var id: String
  public var deviceName: String
  public var proposedStation: String?
  public var expiresAt: Int64
}

/// What a claim finds.
enum ClaimState: Sendable, Equatable {
  case unknown
  case pending(expiresAt: Int64)
  /// Approved, not claimed yet: the token can be taken.
  case approved
  /// Taken now (by this claim).
  case taken(token: String, station: String)
  case claimed
  case expired
}

/// A new code.
struct NewPairing: Sendable {
  var id: String
  var code: String
  var secret: String
  var station: String?
  var expiresAt: Int64
}

public enum Pairings {
  /// Whether `code` is six ASCII digits.
  static func validCode(_ code: String) -> Bool {
    code.utf8.count == 6 && code.utf8.allSatisfy { (0x30...0x39).contains($0) }
  }

  /// A new pending code, unique among pending ones; nil when `maxPending`
  /// codes are pending (then `retryAfterMillis` is when the oldest expires).
  static func create(
    _ db: any SQLConnection, deviceName: String, station: String?, peer: String, now: Int64
  ) throws -> Result<NewPairing, RetryLater> {
    let pending = try db.fetchOne(
      sql:
        "SELECT COUNT(*), MIN(expires_at) FROM pairings WHERE approved_at IS NULL AND expires_at > ?",
      arguments: [now])!
    let count: Int = pending[0]
    if count >= PairingRules.maxPending {
      let earliest: Int64 = (pending[1] as Int64?) ?? now + 1000
      return .failure(RetryLater(millis: max(1000, earliest - now)))
    }
    var rng = SystemRandomNumberGenerator()
    var code = ""
    repeat {
      let n = UInt32.random(in: 0..<1_000_000, using: &rng)
      let digits = String(n)
      code = String(repeating: "0", count: 6 - digits.count) + digits
    } while try db.fetchOne(
      Bool.self,
      sql: "SELECT 1 FROM pairings WHERE code = ? AND approved_at IS NULL AND expires_at > ?",
      arguments: [code, now]) == true
    let secret = DeviceTokens.randomHex(bytes: 32)
    let id = ULID.make(millis: now)
    let expiresAt = now + PairingRules.ttlMillis
    try db.execute(
      sql: """
        INSERT INTO pairings (id, code, secret_hash, device_name, proposed_station, peer,
          created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        id, code, DeviceTokens.sha256Hex(secret), deviceName, station, peer, now, expiresAt,
      ])
    return .success(
      NewPairing(id: id, code: code, secret: secret, station: station, expiresAt: expiresAt))
  }

  struct RetryLater: Error {
    var millis: Int64
    var seconds: Int { Int((millis + 999) / 1000) }
  }

  /// Approves pending `code` for `station` (nil: the station the screen
  /// proposed): creates the station token, named after the device, and
  /// records the approval in the audit log (`pair`, by `approver`).
  static func approve(
    _ db: any SQLConnection, code: String, station: String?, approver: String, now: Int64
  ) throws -> PairingApproval {
    guard validCode(code) else {
      throw PairingError.invalid(field: "code", problem: "must be the 6 digits the screen shows")
    }
    if let station, !StationName.isValid(station) {
      throw PairingError.invalid(field: "station", problem: "must be \(StationName.rule)")
    }
    guard
      let row = try db.fetchOne(
        sql: """
          SELECT id, device_name, proposed_station FROM pairings
          WHERE code = ? AND approved_at IS NULL AND expires_at > ?
          """, arguments: [code, now])
    else { throw PairingError.unknownCode }
    let id: String = row[0]
    let deviceName: String = row[1]
    let proposed: String? = row[2]
    guard let chosen = station ?? proposed, StationName.isValid(chosen) else {
      throw PairingError.invalid(
        field: "station", problem: "is required (the screen proposed none)")
    }
    let name = try uniqueTokenName(db, for: deviceName)
    let made = try DeviceTokens.insert(db, device: name, stations: [chosen], role: .station)
    try db.execute(
      sql: """
        UPDATE pairings SET approved_at = ?, approved_by = ?, station = ?, token_id = ?,
          token_name = ?, token = ? WHERE id = ?
        """, arguments: [now, approver, chosen, made.id, name, made.token, id])
    try db.execute(
      sql: """
        INSERT INTO audit_log (at, device, action, ticket_id, order_id, station, subject)
        VALUES (?, ?, 'pair', NULL, NULL, ?, ?)
        """, arguments: [now, approver, chosen, name])
    return PairingApproval(station: chosen, deviceName: deviceName, tokenName: name)
  }

  /// `approve` in its own durable transaction (the CLI, the HTTP handlers).
  public static func approve(
    in store: ServerStore, code: String, station: String?, approver: String
  ) async throws -> PairingApproval {
    try await store.write { db in
      try approve(
        db, code: code, station: station, approver: approver, now: SystemClock.wallMillis())
    }
  }

  /// A token name (`DeviceTokens.validName`) made from the screen's name,
  /// not used by another live token.
  static func uniqueTokenName(_ db: any SQLConnection, for deviceName: String) throws -> String {
    var base = String(
      String.UnicodeScalarView(
        deviceName.unicodeScalars.map { c -> Unicode.Scalar in
          DeviceTokens.validName(String(c)) ? c : "-"
        }))
    base = String(base.prefix(56))
    if base.allSatisfy({ $0 == "-" }) { base = "screen" }
    var candidate = base
    var n = 2
    while try db.fetchOne(
      Bool.self, sql: "SELECT 1 FROM tokens WHERE device = ? AND revoked_at IS NULL",
      arguments: [candidate]) == true
    {
      candidate = "\(base)-\(n)"
      n += 1
    }
    return candidate
  }

  /// The state of pairing `id` for the holder of `secret` (compared as
  /// SHA-256 in constant time: a wrong secret is `unknown`).
  static func state(_ db: any SQLConnection, id: String, secret: String, now: Int64) throws
    -> ClaimState
  {
    guard
      let row = try db.fetchOne(
        sql: """
          SELECT secret_hash, expires_at, approved_at, token, claimed_at FROM pairings
          WHERE id = ?
          """, arguments: [id])
    else { return .unknown }
    let stored: String = row[0]
    guard constantTimeEqual(stored, DeviceTokens.sha256Hex(secret)) else { return .unknown }
    let expiresAt: Int64 = row[1]
    let approvedAt: Int64? = row[2]
    let token: String? = row[3]
    let claimedAt: Int64? = row[4]
    if claimedAt != nil { return .claimed }
    if let approvedAt {
      let deadline = max(expiresAt, approvedAt + PairingRules.claimGraceMillis)
      return token != nil && now < deadline ? .approved : .expired
    }
    return now < expiresAt ? .pending(expiresAt: expiresAt) : .expired
  }

  /// Takes the approved token (once): the row keeps no copy of it.
  static func take(_ db: any SQLConnection, id: String, secret: String, now: Int64) throws
    -> ClaimState
  {
    let found = try state(db, id: id, secret: secret, now: now)
    guard found == .approved else { return found }
    let row = try db.fetchOne(
      sql: "SELECT token, station FROM pairings WHERE id = ?", arguments: [id])!
    let token: String = row[0]
    let station: String = row[1]
    try db.execute(
      sql: "UPDATE pairings SET token = NULL, claimed_at = ? WHERE id = ?", arguments: [now, id])
    return .taken(token: token, station: station)
  }

  /// Codes waiting for approval, the soonest to expire first.
  public static func pending(_ db: any SQLConnection, now: Int64) throws -> [PendingPairing] {
    try db.fetchAll(
      sql: """
        SELECT id, device_name, proposed_station, expires_at FROM pairings
        WHERE approved_at IS NULL AND expires_at > ? ORDER BY expires_at, id
        """, arguments: [now]
    ).map { row in
      PendingPairing(
        id: row[0], deviceName: row[1], proposedStation: row[2], expiresAt: row[3])
    }
  }

  /// Approved tokens never claimed in time are revoked (nobody has them) and
  /// their copy wiped; pairings finished a day ago are deleted. Returns the
  /// names of the revoked tokens.
  static func cleanup(_ db: any SQLConnection, now: Int64) throws -> [String] {
    let stale = try db.fetchAll(
      sql: """
        SELECT id, token_id, token_name FROM pairings
        WHERE token IS NOT NULL AND expires_at <= ? AND approved_at + ? <= ?
        """, arguments: [now, PairingRules.claimGraceMillis, now])
    var revoked: [String] = []
    for row in stale {
      let id: String = row[0]
      let tokenID: Int64? = row[1]
      let name: String? = row[2]
      try db.execute(sql: "UPDATE pairings SET token = NULL WHERE id = ?", arguments: [id])
      if let tokenID {
        try db.execute(
          sql: "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
          arguments: [now, tokenID])
        if db.changesCount > 0 {
          try db.execute(sql: "UPDATE meta SET value = value + 1 WHERE key = 'token_generation'")
          revoked.append(name ?? String(tokenID))
        }
      }
    }
    try db.execute(
      sql: "DELETE FROM pairings WHERE token IS NULL AND expires_at < ?",
      arguments: [now - PairingRules.keepMillis])
    return revoked
  }

  static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<x.count { diff |= x[i] ^ y[i] }
    return diff == 0
  }
}

/// Rung when an approval commits in this process: the claims waiting on it
/// look at the database again at once (approvals by another process are seen
/// by their periodic look).
final class PairingBell: Sendable {
  private struct State {
    var generation: UInt64 = 0
    var nextWaiter = 0
    var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    var cancelled: Set<Int> = []
  }
  private let state = Mutex(State())

  var generation: UInt64 { state.withLock { $0.generation } }

  func ring() {
    let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
      s.generation &+= 1
      let list = Array(s.waiters.values)
      s.waiters = [:]
      return list
    }
    for w in waiters { w.resume() }
  }

  /// Returns once the bell rang after `generation` was read, or after
  /// `millis`, or when the task is cancelled.
  func wait(since generation: UInt64, millis: Int64) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { try? await Task.sleep(for: .milliseconds(max(0, millis))) }
      group.addTask { await self.rung(since: generation) }
      _ = await group.next()
      group.cancelAll()
    }
  }

  private func rung(since generation: UInt64) async {
    let id = state.withLock { s -> Int in
      s.nextWaiter += 1
      return s.nextWaiter
    }
    await withTaskCancellationHandler {
      await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        let now = self.state.withLock { s -> Bool in
          if s.generation != generation || s.cancelled.remove(id) != nil { return true }
          s.waiters[id] = c
          return false
        }
        if now { c.resume() }
      }
    } onCancel: {
      let waiter = self.state.withLock { s -> CheckedContinuation<Void, Never>? in
        if let w = s.waiters.removeValue(forKey: id) { return w }
        s.cancelled.insert(id)
        return nil
      }
      waiter?.resume()
    }
  }
}

/// The server's pairing desk: the bell, the limits and the status form's key.
final class PairingDesk: Sendable {
  let bell = PairingBell()
  /// New codes per client address: a burst of 5, then one per 20 s.
  let codeLimiter = RateLimiter<String>(rate: 1.0 / 20, burst: 5)
  /// Wrong codes at approval, per token and per address: 10, then one per 30 s.
  let wrongCodeLimiter = RateLimiter<String>(rate: 1.0 / 30, burst: 10)
  /// Signs the status page form. The same on every server process of the
  /// database (`server_secrets`), so a form from one replica is good on the
  /// other behind a load balancer.
  let formKey: SymmetricKey

  init(formKey: SymmetricKey = SymmetricKey(size: .bits256)) { self.formKey = formKey }

  /// The hidden field of the status page's pairing form for token `id`.
  func formToken(tokenID: Int64) -> String {
    DeviceTokens.hex(
      HMAC<SHA256>.authenticationCode(for: Array("pair-form:\(tokenID)".utf8), using: formKey))
  }
}
