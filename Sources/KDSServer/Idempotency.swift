import Crypto
import KDSSystem
import Synchronization

/// An idempotency key claimed by a request: its scope (device token, method,
/// concrete path, key) and the fingerprint of its canonical body.
struct IdempotencyClaim: Sendable {
  var tokenID: Int64
  var method: String
  var path: String
  var key: String
  var fingerprint: String

  var scope: String { "\(tokenID)\u{1}\(method)\u{1}\(path)\u{1}\(key)" }
}

/// The idempotency layer of every POST and PATCH (docs/sync-contract.md,
/// "Idempotency").
///
/// One effect per key, however concurrent the requests: a request first
/// takes the key's in-process lock (a concurrent duplicate waits for the
/// first answer and then replays it), and the stored answer is looked up again
/// and written inside the same write transaction as the effect, under a
/// primary key on the scope, so even two processes on one database could not
/// both run the effect.
final class Idempotency: Sendable {
  let store: ServerStore
  let ttlMillis: Int64
  private let inFlight = Mutex<[String: [CheckedContinuation<Bool, Never>]]>([:])

  init(store: ServerStore, ttlSeconds: Double) {
    self.store = store
    self.ttlMillis = Int64(ttlSeconds * 1000)
  }

  static let keyRule =
    "Idempotency-Key must be 1 to 255 characters: letters, digits, '-', '_', '.' and ':'"

  static func validKey(_ key: String) -> Bool {
    let u = key.utf8
    return !u.isEmpty && u.count <= 255
      && u.allSatisfy { c in
        (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) || c == 45
          || c == 95 || c == 46 || c == 58
      }
  }

  /// SHA-256 of the canonical body (keys sorted, no whitespace,
  /// `_idempotencyKey` already removed), in hex.
  static func fingerprint(_ body: JSONValue) -> String {
    DeviceTokens.hex(SHA256.hash(data: body.canonicalBytes))
  }

  /// Only the outcome of the operation is stored: 2xx, 409 and 422.
  static func storable(_ status: Int) -> Bool {
    (200..<300).contains(status) || status == 409 || status == 422
  }

  // MARK: the in-process lock per scope

  /// Waits until no other request holds `scope`, then holds it.
  func acquire(_ scope: String) async {
    while true {
      let owner: Bool = await withCheckedContinuation { (cont: CheckedContinuation<Bool, Never>) in
        let becameOwner = inFlight.withLock { map -> Bool in
          if map[scope] != nil {
            map[scope]!.append(cont)
            return false
          }
          map[scope] = []
          return true
        }
        if becameOwner { cont.resume(returning: true) }
      }
      if owner { return }
    }
  }

  func release(_ scope: String) {
    let waiters = inFlight.withLock { map in map.removeValue(forKey: scope) ?? [] }
    for w in waiters { w.resume(returning: false) }
  }

  // MARK: stored answers

  /// The stored answer for `claim`, as a replay (same fingerprint) or a 409
  /// mismatch; nil when the key is new or expired.
  func lookup(_ db: any SQLConnection, _ claim: IdempotencyClaim, now: Int64) throws -> APIResponse?
  {
    guard
      let row = try db.fetchOne(
        sql: """
          SELECT fingerprint, status, body FROM idempotency_keys
          WHERE token_id = ? AND method = ? AND path = ? AND key = ? AND expires_at > ?
          """,
        arguments: [claim.tokenID, claim.method, claim.path, claim.key, now])
    else { return nil }
    let fingerprint: String = row[0]
    guard fingerprint == claim.fingerprint else {
      var mismatch = APIError(
        409,
        "Idempotency-Key \(claim.key) was already used for \(claim.method) \(claim.path) "
          + "with a different body",
        conflictType: "IDEMPOTENCY_FINGERPRINT_MISMATCH"
      ).response
      mismatch.stored = true
      return mismatch
    }
    let status: Int = row[1]
    let bodyText: String = row[2]
    let body = Array(bodyText.utf8)
    var replay = APIResponse(status: status, body: body, headers: [("Idempotent-Replayed", "true")])
    replay.stored = true
    return replay
  }

  func save(_ db: any SQLConnection, _ claim: IdempotencyClaim, _ response: APIResponse, now: Int64)
    throws
  {
    try db.executeUnread(
      sql: """
        INSERT INTO idempotency_keys
          (token_id, method, path, key, fingerprint, status, body, created_at, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (token_id, method, path, key) DO UPDATE SET
          fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body,
          created_at = excluded.created_at, expires_at = excluded.expires_at
        """,
      arguments: [
        claim.tokenID, claim.method, claim.path, claim.key, claim.fingerprint, response.status,
        String(decoding: response.body, as: UTF8.self), now, now + ttlMillis,
      ])
  }

  /// Runs `effect` (a write) with the key's claim inside the same transaction:
  /// replays a stored answer instead if there is one, and stores the effect's
  /// answer when it is an outcome (2xx, 409, 422).
  func perform(
    _ claim: IdempotencyClaim?,
    _ effect: @escaping @Sendable (any SQLConnection) throws -> WriteOutcome
  ) async throws -> APIResponse {
    let outcome = try await store.write { db -> WriteOutcome in
      let now = SystemClock.wallMillis()
      if let claim, db.dialect == .postgres {
        // Another process may hold the same key right now: the in-process
        // lock does not reach it, and READ COMMITTED would let both look up
        // nothing and both run the effect. A transaction-long advisory lock
        // on the scope makes the second wait for the first's commit, then
        // find its stored answer. (SQLite: the write lock does this.)
        try db.execute(
          sql: "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", arguments: [claim.scope])
      }
      if let claim, let stored = try self.lookup(db, claim, now: now) {
        return WriteOutcome(response: stored)
      }
      var outcome = WriteOutcome(response: APIResponse(status: 500, body: []))
      do {
        try db.inSavepoint {
          outcome = try effect(db)
        }
      } catch let error as APIError {
        outcome = WriteOutcome(response: error.response)
      }
      if let claim, Self.storable(outcome.response.status) {
        try self.save(db, claim, outcome.response, now: now)
        outcome.response.stored = true
      }
      // The other replicas' push streams hear of it at COMMIT (PostgreSQL).
      try PostgresChangeFeed.notify(
        db, outcome.touched.map { TicketChange(station: $0.station, updatedAt: $0.updatedAt) })
      return outcome
    }
    store.noteCommitted(outcome.touched)
    return outcome.response
  }

  /// Stores an answer produced outside a write (a 422 from validation).
  func storeLate(_ claim: IdempotencyClaim, _ response: APIResponse) async throws {
    try await store.write { db in
      let now = SystemClock.wallMillis()
      if try self.lookup(db, claim, now: now) == nil {
        try self.save(db, claim, response, now: now)
      }
    }
  }

  /// Deletes expired keys; returns how many.
  func cleanup() async throws -> Int {
    try await store.write { db in
      try db.execute(
        sql: "DELETE FROM idempotency_keys WHERE expires_at <= ?",
        arguments: [SystemClock.wallMillis()])
      return db.changesCount
    }
  }
}
