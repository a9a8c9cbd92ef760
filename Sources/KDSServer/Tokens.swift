import Crypto
import GRDB
import KDSContract
import KDSSystem
import Synchronization

/// A device's token, as the server knows it (never the token itself: only
/// its SHA-256 is stored).
public struct DeviceToken: Sendable, Hashable {
  public var id: Int64
  public var device: String
  /// The stations this device may read and write; empty means all stations
  /// (POS terminals and managers), which is also what the POS endpoints need.
  public var stations: [String]

  public var isUnrestricted: Bool { stations.isEmpty }

  public func allows(station: String) -> Bool { stations.isEmpty || stations.contains(station) }
}

public enum TokenError: Error, CustomStringConvertible {
  case invalid(String)
  public var description: String {
    switch self {
    case .invalid(let s): return s
    }
  }
}

/// Creating and checking device tokens.
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
  public static func create(in store: ServerStore, device: String, stations: [String]) async throws
    -> String
  {
    guard validName(device) else {
      throw TokenError.invalid("device name must be \(namePattern)")
    }
    for s in stations where !StationName.isValid(s) {
      throw TokenError.invalid("station '\(s)' must be \(StationName.rule)")
    }
    let token = "kds_" + randomHex(bytes: 32)
    let hash = sha256Hex(token)
    let list = Array(Set(stations)).sorted().joined(separator: ",")
    try await store.write { db in
      try db.execute(
        sql: "INSERT INTO tokens (hash, device, stations, created_at) VALUES (?, ?, ?, ?)",
        arguments: [hash, device, list, SystemClock.wallMillis()])
    }
    return token
  }

  static func lookup(_ db: Database, token: String) throws -> DeviceToken? {
    guard
      let row = try Row.fetchOne(
        db, sql: "SELECT id, device, stations FROM tokens WHERE hash = ?",
        arguments: [sha256Hex(token)])
    else { return nil }
    let list: String = row[2]
    return DeviceToken(
      id: row[0], device: row[1],
      stations: list.isEmpty ? [] : list.split(separator: ",").map(String.init))
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

/// Token lookups, cached (tokens are never changed once created; a token
/// created by `kds-server token create` while the server runs is found on its
/// first use).
final class TokenCache: Sendable {
  private let known = Mutex<[String: DeviceToken]>([:])
  let store: ServerStore

  init(store: ServerStore) { self.store = store }

  func resolve(_ token: String) async throws -> DeviceToken? {
    if let hit = known.withLock({ $0[token] }) { return hit }
    guard token.utf8.count <= 256 else { return nil }
    guard let found = try await store.pool.read({ db in try DeviceTokens.lookup(db, token: token) })
    else { return nil }
    known.withLock { $0[token] = found }
    return found
  }
}

/// A per-token token bucket: `rate` requests a second on average, bursts of
/// up to `burst`.
final class RateLimiter: Sendable {
  struct Bucket {
    var tokens: Double
    var last: UInt64
  }
  let rate: Double
  let burst: Double
  private let buckets = Mutex<[Int64: Bucket]>([:])

  init(rate: Double, burst: Double) {
    self.rate = rate
    self.burst = max(1, burst)
  }

  /// Nil when allowed; otherwise the whole seconds to wait (Retry-After).
  func check(tokenID: Int64) -> Int? {
    let now = SystemClock.monotonicNanoseconds()
    return buckets.withLock { map -> Int? in
      var b = map[tokenID] ?? Bucket(tokens: burst, last: now)
      b.tokens = min(burst, b.tokens + Double(now &- b.last) / 1e9 * rate)
      b.last = now
      if b.tokens >= 1 {
        b.tokens -= 1
        map[tokenID] = b
        return nil
      }
      map[tokenID] = b
      let wait = (1 - b.tokens) / rate
      return max(1, Int(wait.rounded(.up)))
    }
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
