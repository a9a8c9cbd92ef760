import KDSSystem
import Synchronization

/// Settings kept on the server (`kds-server settings set sla.amber 5m`), in
/// the `settings` table. Today: the SLA thresholds, which the kiosks follow
/// through the `X-KDS-SLA` header of every poll (docs/sync-contract.md).
public enum ServerSettingKey: String, Sendable, CaseIterable {
  /// Seconds from which a ticket is amber (the contract's ORANGE).
  case slaAmber = "sla.amber"
  /// Seconds from which a ticket is red.
  case slaRed = "sla.red"

  public var help: String {
    switch self {
    case .slaAmber: return "age at which a ticket turns amber (e.g. 5m, 300s, 300); default 5m"
    case .slaRed: return "age at which a ticket turns red, more than sla.amber; default 10m"
    }
  }

  /// The value used while the key is not set, in seconds.
  public var defaultSeconds: Int64 {
    switch self {
    case .slaAmber: return 300
    case .slaRed: return 600
    }
  }
}

public struct SettingsError: Error, CustomStringConvertible {
  public var description: String
  init(_ d: String) { description = d }
}

/// Reading and writing the settings (also used by `kds-server settings`, in
/// another process than the running server).
public enum ServerSettings {
  /// `90`, `90s`, `5m`, `1h`, `1m30s`: whole seconds, 1 s to 24 h.
  public static func parseDuration(_ raw: String) -> Int64? {
    let text = raw.trimmingSpaces.lowercased()
    guard !text.isEmpty else { return nil }
    if let plain = Int64(text) { return (1...86_400).contains(plain) ? plain : nil }
    var total: Int64 = 0
    var number = ""
    var sawUnit = false
    for c in text {
      if c.isASCII && c.isNumber {
        number.append(c)
        guard number.count <= 6 else { return nil }
        continue
      }
      guard let n = Int64(number) else { return nil }
      switch c {
      case "h": total += n * 3600
      case "m": total += n * 60
      case "s": total += n
      default: return nil
      }
      number = ""
      sawUnit = true
    }
    guard number.isEmpty, sawUnit, (1...86_400).contains(total) else { return nil }
    return total
  }

  /// `300` → `5m`, `90` → `1m30s`.
  public static func formatDuration(_ seconds: Int64) -> String {
    var out = ""
    let h = seconds / 3600
    let m = seconds / 60 % 60
    let s = seconds % 60
    if h > 0 { out += "\(h)h" }
    if m > 0 { out += "\(m)m" }
    if s > 0 || out.isEmpty { out += "\(s)s" }
    return out
  }

  /// The stored value of every key that is set, in seconds.
  static func stored(_ db: any SQLConnection) throws -> [ServerSettingKey: Int64] {
    var out: [ServerSettingKey: Int64] = [:]
    for row in try db.fetchAll(sql: "SELECT key, value FROM settings") {
      let key: String = row[0]
      let value: String = row[1]
      if let k = ServerSettingKey(rawValue: key), let v = Int64(value) { out[k] = v }
    }
    return out
  }

  /// The thresholds in force: stored values over the defaults.
  static func sla(_ values: [ServerSettingKey: Int64]) -> ServerSLA {
    var sla = ServerSLA()
    sla.orangeAfterSeconds = values[.slaAmber] ?? ServerSettingKey.slaAmber.defaultSeconds
    sla.redAfterSeconds = values[.slaRed] ?? ServerSettingKey.slaRed.defaultSeconds
    return sla
  }

  /// Sets `key` (a duration) after checking it against the other threshold.
  public static func set(in store: ServerStore, key rawKey: String, value raw: String) async throws
    -> Int64
  {
    guard let key = ServerSettingKey(rawValue: rawKey) else {
      throw SettingsError(
        "unknown setting '\(rawKey)': known are "
          + ServerSettingKey.allCases.map(\.rawValue).joined(separator: ", "))
    }
    guard let seconds = parseDuration(raw) else {
      throw SettingsError(
        "\(key.rawValue) = '\(raw)': expected a duration from 1s to 24h, e.g. 5m, 90s, 300")
    }
    try await store.write { db in
      var values = try stored(db)
      values[key] = seconds
      let thresholds = sla(values)
      guard thresholds.redAfterSeconds > thresholds.orangeAfterSeconds else {
        throw SettingsError(
          "sla.red (\(formatDuration(thresholds.redAfterSeconds))) must be more than sla.amber "
            + "(\(formatDuration(thresholds.orangeAfterSeconds)))")
      }
      try db.execute(
        sql: """
          INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
          ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
          """, arguments: [key.rawValue, String(seconds), SystemClock.wallMillis()])
    }
    return seconds
  }

  /// Every key with its value in seconds and whether it is set (else the default).
  public static func list(in store: ServerStore) async throws -> [(
    key: ServerSettingKey, seconds: Int64, isSet: Bool
  )] {
    let values = try await store.read { db in try stored(db) }
    return ServerSettingKey.allCases.map { k in
      (k, values[k] ?? k.defaultSeconds, values[k] != nil)
    }
  }

  /// Removes `key` (back to its default).
  public static func unset(in store: ServerStore, key rawKey: String) async throws {
    guard let key = ServerSettingKey(rawValue: rawKey) else {
      throw SettingsError("unknown setting '\(rawKey)'")
    }
    try await store.write { db in
      var values = try stored(db)
      values[key] = nil
      let thresholds = sla(values)
      guard thresholds.redAfterSeconds > thresholds.orangeAfterSeconds else {
        throw SettingsError(
          "without \(key.rawValue), sla.red (\(formatDuration(thresholds.redAfterSeconds))) would "
            + "not be more than sla.amber (\(formatDuration(thresholds.orangeAfterSeconds)))")
      }
      try db.execute(sql: "DELETE FROM settings WHERE key = ?", arguments: [key.rawValue])
    }
  }
}

/// The settings a running server uses: read from the database at most once a
/// second (`kds-server settings set` writes from another process), so a
/// change reaches the kiosks within a poll or two. `refreshIfDue` runs before
/// each request is handled (never inside a write transaction: the backends
/// are not re-entrant); `sla` is what was read last.
final class SettingsCache: Sendable {
  private struct State {
    var sla = ServerSLA()
    var loadedAt: Int64?
  }
  private let state = Mutex(State())
  private let store: ServerStore
  static let refreshMillis: Int64 = 1000

  init(store: ServerStore) async {
    self.store = store
    if let values = try? await store.read({ db in try ServerSettings.stored(db) }) {
      state.withLock { s in
        s.sla = ServerSettings.sla(values)
        s.loadedAt = SystemClock.monotonicMillis()
      }
    }
  }

  /// Reads the settings again when the last read is a second old or more.
  func refreshIfDue() async {
    let now = SystemClock.monotonicMillis()
    let due = state.withLock { s in s.loadedAt.map { now - $0 >= Self.refreshMillis } ?? true }
    guard due else { return }
    guard let values = try? await store.read({ db in try ServerSettings.stored(db) }) else {
      return
    }
    let fresh = ServerSettings.sla(values)
    state.withLock { s in
      s.sla = fresh
      s.loadedAt = now
    }
  }

  /// The thresholds in force, as last read.
  var sla: ServerSLA { state.withLock { $0.sla } }

  /// The `X-KDS-SLA` header of a poll's answer: `amber=300; red=600` (seconds).
  var headerValue: String {
    let sla = self.sla
    return "amber=\(sla.orangeAfterSeconds); red=\(sla.redAfterSeconds)"
  }
}
