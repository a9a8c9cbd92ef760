import Crypto
import KDSContract
import KDSSystem
import Synchronization

/// What a token may do.
public enum TokenRole: String, Sendable, CaseIterable {
  /// A POS terminal: the POS endpoints, every station's queue and tickets,
  /// the status page.
  case pos
  /// A manager: reads (the status page, orders, queues), writes nothing.
  case manager
  /// A kiosk: the queue and tickets of its own stations only.
  case station
}

/// A device's token, as the server knows it (never the token itself: only
/// its SHA-256 is stored).
public struct DeviceToken: Sendable, Hashable {
  public var id: Int64
  public var device: String
  /// The stations this device may read and write; empty means all stations
  /// (POS terminals and managers), which is also what the POS endpoints need.
  public var stations: [String]
  public var role: TokenRole

  /// `role` nil: a station token when `stations` are given, else a POS token
  /// (what `token create` without `--role` has always made).
  public init(id: Int64, device: String, stations: [String], role: TokenRole? = nil) {
    self.id = id
    self.device = device
    self.stations = stations
    self.role = role ?? (stations.isEmpty ? .pos : .station)
  }

  public var isUnrestricted: Bool { stations.isEmpty }

  public func allows(station: String) -> Bool { stations.isEmpty || stations.contains(station) }
}

/// A token as `kds-server token list` shows it: never the secret or its hash.
public struct TokenListing: Sendable {
  public var id: Int64
  public var device: String
  public var stations: [String]
  public var role: String
  public var createdAt: Int64
  public var lastSeenAt: Int64?
  public var revokedAt: Int64?
}

public enum TokenError: Error, CustomStringConvertible {
  case invalid(String)
  public var description: String {
    switch self {
    case .invalid(let s): return s
    }
  }
}

/// Creating, listing, revoking and checking device tokens.
public enum DeviceTokens {
  static let namePattern = "letters, digits, '-', '_' and '.' (1 to 64 characters)"

  static func validName(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.count <= 64
      && s.utf8.allSatisfy { c in
        (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) || c == 45
          || c == 95 || c == 46
      }
  }

  /// Creates a token for `device`, limited to `stations` (none: all), and
  /// returns the token text (the only time it exists outside the device).
  /// `role` nil: `.station` with stations, `.pos` without. A station token
  /// needs stations; POS and manager tokens take none.
  public static func create(
    in store: ServerStore, device: String, stations: [String], role: TokenRole? = nil
  ) async throws -> String {
    guard validName(device) else {
      throw TokenError.invalid("device name must be \(namePattern)")
    }
    for s in stations where !StationName.isValid(s) {
      throw TokenError.invalid("station '\(s)' must be \(StationName.rule)")
    }
    let role = role ?? (stations.isEmpty ? .pos : .station)
    switch role {
    case .station where stations.isEmpty:
      throw TokenError.invalid("a station token needs at least one --station")
    case .pos where !stations.isEmpty, .manager where !stations.isEmpty:
      throw TokenError.invalid("a \(role.rawValue) token covers all stations: give no --station")
    default: break
    }
    return try await store.write { db in
      try insert(db, device: device, stations: stations, role: role).token
    }
  }

  /// Inserts a new token in the caller's transaction (names already checked)
  /// and returns its text and row id.
  static func insert(_ db: any SQLConnection, device: String, stations: [String], role: TokenRole)
    throws
    -> (token: String, id: Int64)
  {
    let token = "kds_" + randomHex(bytes: 32)
    let list = Array(Set(stations)).sorted().joined(separator: ",")
    guard
      let id = try db.fetchOne(
        Int64.self,
        sql: """
          INSERT INTO tokens (hash, device, stations, role, created_at) VALUES (?, ?, ?, ?, ?)
          RETURNING id
          """,
        arguments: [sha256Hex(token), device, list, role.rawValue, SystemClock.wallMillis()])
    else { throw ServerInternalError("INSERT INTO tokens returned no id") }
    return (token, id)
  }

  /// Every token, oldest first, revoked ones included.
  public static func list(in store: ServerStore) async throws -> [TokenListing] {
    try await store.read { db in
      try db.fetchAll(
        sql:
          "SELECT id, device, stations, role, created_at, last_seen_at, revoked_at FROM tokens ORDER BY id"
      ).map { row in
        let list: String = row[2]
        return TokenListing(
          id: row[0], device: row[1],
          stations: list.isEmpty ? [] : list.split(separator: ",").map(String.init),
          role: row[3], createdAt: row[4], lastSeenAt: row[5], revokedAt: row[6])
      }
    }
  }

  public enum RevokeResult: Sendable { case revoked, alreadyRevoked, notFound }

  /// Revokes token `id`. A running server refuses it from its next request:
  /// the revocation raises `token_generation` in `meta` in the same
  /// transaction, and the server's token cache is only trusted while that
  /// generation is unchanged.
  public static func revoke(in store: ServerStore, id: Int64) async throws -> RevokeResult {
    try await store.write { db in
      guard
        let revokedAt = try db.fetchOne(
          sql: "SELECT revoked_at FROM tokens WHERE id = ?", arguments: [id])
      else { return .notFound }
      if (revokedAt[0] as Int64?) != nil { return .alreadyRevoked }
      try db.execute(
        sql: "UPDATE tokens SET revoked_at = ? WHERE id = ?",
        arguments: [SystemClock.wallMillis(), id])
      try db.execute(sql: "UPDATE meta SET value = value + 1 WHERE key = 'token_generation'")
      return .revoked
    }
  }

  static func generation(_ db: any SQLConnection) throws -> Int64 {
    try db.fetchOne(Int64.self, sql: "SELECT value FROM meta WHERE key = 'token_generation'") ?? 0
  }

  /// The live (not revoked) token with this SHA-256.
  static func lookup(_ db: any SQLConnection, hash: String) throws -> DeviceToken? {
    guard
      let row = try db.fetchOne(
        sql: "SELECT id, device, stations, role FROM tokens WHERE hash = ? AND revoked_at IS NULL",
        arguments: [hash])
    else { return nil }
    let list: String = row[2]
    let stations = list.isEmpty ? [] : list.split(separator: ",").map(String.init)
    return DeviceToken(
      id: row[0], device: row[1], stations: stations, role: TokenRole(rawValue: row[3]))
  }

  public static func sha256Hex(_ text: String) -> String {
    hex(SHA256.hash(data: Array(text.utf8)))
  }

  static func hex(_ digest: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in digest {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  static func randomHex(bytes n: Int) -> String {
    var rng = SystemRandomNumberGenerator()
    return hex((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
  }
}

/// Token lookups, cached by the token's SHA-256.
///
/// Revocation: `kds-server token revoke` runs in another process and raises
/// `token_generation` in the database. Each request that hits the cache reads
/// that generation (one indexed row); when it moved, the cache is emptied and
/// the token looked up again, so a revoked token is refused on the next
/// request. A token that is not cached costs a lookup, which the caller
/// guards with the per-address limit (`admit`), so a flood of made-up tokens
/// never reaches SQLite.
final class TokenCache: Sendable {
  enum Resolution: Sendable {
    case known(DeviceToken)
    case unknown
    /// Not cached, and `admit` refused the lookup.
    case refused
  }

  private struct State {
    var generation: Int64 = -1
    var byHash: [String: DeviceToken] = [:]
    /// When each token's `last_seen_at` was last written (wall ms).
    var lastSeenSaved: [Int64: Int64] = [:]
  }

  private let state = Mutex(State())
  let store: ServerStore
  /// `last_seen_at` is written at most this often per token.
  static let lastSeenIntervalMillis: Int64 = 60_000

  init(store: ServerStore) { self.store = store }

  func resolve(_ secret: String, admit: () -> Bool) async throws -> Resolution {
    guard secret.utf8.count <= 256 else { return admit() ? .unknown : .refused }
    let hash = DeviceTokens.sha256Hex(secret)
    if state.withLock({ $0.byHash[hash] }) != nil {
      let generation = try await store.read { db in try DeviceTokens.generation(db) }
      let hit = state.withLock { s -> DeviceToken? in
        if s.generation != generation {
          s.byHash = [:]
          s.generation = generation
        }
        return s.byHash[hash]
      }
      if let hit { return .known(hit) }
    }
    guard admit() else { return .refused }
    let (generation, found) = try await store.read { db in
      (try DeviceTokens.generation(db), try DeviceTokens.lookup(db, hash: hash))
    }
    state.withLock { s in
      if s.generation != generation {
        s.byHash = [:]
        s.generation = generation
      }
      if let found { s.byHash[hash] = found }
    }
    return found.map(Resolution.known) ?? .unknown
  }

  /// Records that `token` was used now: `last_seen_at` in the database, at
  /// most once a minute per token, written in the background.
  func noteSeen(_ token: DeviceToken) {
    let now = SystemClock.wallMillis()
    let due = state.withLock { s -> Bool in
      if let saved = s.lastSeenSaved[token.id], now - saved < Self.lastSeenIntervalMillis,
        now >= saved
      {
        return false
      }
      s.lastSeenSaved[token.id] = now
      return true
    }
    guard due else { return }
    let store = self.store
    Task {
      try? await store.write { db in
        try db.execute(
          sql: "UPDATE tokens SET last_seen_at = ? WHERE id = ?", arguments: [now, token.id])
      }
    }
  }
}

/// A token bucket per key (a device token's id, or a client address):
/// `rate` requests a second on average, bursts of up to `burst`.
final class RateLimiter<Key: Hashable & Sendable>: Sendable {
  struct Bucket {
    var tokens: Double
    var last: UInt64
  }
  let rate: Double
  let burst: Double
  private struct State {
    var buckets: [Key: Bucket] = [:]
    /// Beyond this many keys, full buckets are forgotten (a missing bucket is
    /// a full one); then the threshold doubles past what is left, so pruning
    /// stays rare however many keys there are.
    var pruneAbove = 10_000
  }
  private let state = Mutex(State())

  init(rate: Double, burst: Double) {
    self.rate = rate
    self.burst = max(1, burst)
  }

  /// Nil when allowed (and one request is taken from the bucket, unless
  /// `consume` is false); otherwise the whole seconds to wait (Retry-After).
  func check(_ key: Key, consume: Bool = true) -> Int? {
    let now = SystemClock.monotonicNanoseconds()
    return state.withLock { s -> Int? in
      var b = s.buckets[key] ?? Bucket(tokens: burst, last: now)
      b.tokens = min(burst, b.tokens + Double(now &- b.last) / 1e9 * rate)
      b.last = now
      if b.tokens >= 1 {
        if consume { b.tokens -= 1 }
        s.buckets[key] = b
        if s.buckets.count > s.pruneAbove { prune(&s, now: now) }
        return nil
      }
      s.buckets[key] = b
      let wait = (1 - b.tokens) / rate
      return max(1, Int(min(wait, 86_400).rounded(.up)))
    }
  }

  private func prune(_ s: inout State, now: UInt64) {
    s.buckets = s.buckets.filter { _, b in
      b.tokens + Double(now &- b.last) / 1e9 * rate < burst
    }
    s.pruneAbove = max(10_000, s.buckets.count * 2)
  }
}

/// ULIDs for orders and tickets: 48 bits of milliseconds, 80 random bits,
/// Crockford base 32.
enum ULID {
  private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

  static func make(millis: Int64 = SystemClock.wallMillis()) -> String {
    var rng = SystemRandomNumberGenerator()
    let high = UInt64(max(0, millis)) & 0xFFFF_FFFF_FFFF
    let randHigh = UInt64(rng.next() & 0xFFFF)  // 16 bits
    let randLow = rng.next()  // 64 bits
    // 128 bits: time(48) | randHigh(16) | randLow(64)
    let hi: UInt64 = high << 16 | randHigh
    let lo: UInt64 = randLow
    var out = [UInt8](repeating: 0, count: 26)
    // 26 chars * 5 bits = 130 bits; the first char holds the top 3 bits.
    for i in 0..<26 {
      let shift = 125 - i * 5
      let v: UInt64
      if shift >= 64 {
        v = hi >> UInt64(shift - 64)
      } else if shift > 59 {
        v = (hi << UInt64(64 - shift)) | (lo >> UInt64(shift))
      } else {
        v = lo >> UInt64(shift)
      }
      out[i] = alphabet[Int(v & 31)]
    }
    return String(decoding: out, as: UTF8.self)
  }
}
