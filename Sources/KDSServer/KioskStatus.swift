import GRDB
import KDSTime
import Synchronization

/// What a kiosk says about itself on every poll (`GET /kds/queue`), in
/// headers that a backend without this extension simply ignores:
///
///     X-KDS-Version: 0.1.0
///     X-KDS-Connection: connected | reconnecting | offline   (as the kiosk sees it)
///     X-KDS-Pending-Ops: 4
///     X-KDS-Failed-Ops: 0
///     X-KDS-Display: drm 1920x1080
public struct KioskReport: Sendable, Hashable {
  public var device: String
  public var station: String
  public var version: String?
  public var connection: String?
  public var pendingOps: Int?
  public var failedOps: Int?
  public var display: String?
  /// Server wall clock (ms) when the poll arrived.
  public var seenAt: Int64

  public static let headerNames = [
    "X-KDS-Version", "X-KDS-Connection", "X-KDS-Pending-Ops", "X-KDS-Failed-Ops", "X-KDS-Display",
  ]

  /// Builds a report from the poll's headers (`value(name)` looks one up);
  /// values are cut to a sane length and numbers checked, never trusted.
  public init(
    device: String, station: String, seenAt: Int64, value: (String) -> String?
  ) {
    func text(_ name: String) -> String? {
      guard let v = value(name), !v.isEmpty else { return nil }
      var clean = String.UnicodeScalarView()
      clean.append(
        contentsOf: v.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(80))
      return String(clean)
    }
    func count(_ name: String) -> Int? {
      guard let v = value(name), let n = Int(v), n >= 0, n < 1_000_000 else { return nil }
      return n
    }
    self.device = device
    self.station = station
    self.seenAt = seenAt
    version = text("X-KDS-Version")
    let c = text("X-KDS-Connection")
    connection = ["connected", "reconnecting", "offline"].contains(c ?? "") ? c : nil
    pendingOps = count("X-KDS-Pending-Ops")
    failedOps = count("X-KDS-Failed-Ops")
    display = text("X-KDS-Display")
  }
}

/// The kiosks the server has heard from, by device name (in memory: a restart
/// forgets them until their next poll, 5 seconds later).
public final class KioskRegistry: Sendable {
  /// A kiosk silent for longer than this shows as offline.
  public let silenceLimitMillis: Int64
  private let reports = Mutex<[String: KioskReport]>([:])

  public init(silenceLimitMillis: Int64 = 30_000) {
    self.silenceLimitMillis = silenceLimitMillis
  }

  public func record(_ report: KioskReport) {
    reports.withLock { $0[report.device] = report }
  }

  /// A kiosk heard from without a new report (its push stream's
  /// heartbeat): seen now, its last report kept.
  public func touch(device: String, at millis: Int64) {
    reports.withLock { $0[device]?.seenAt = millis }
  }

  public var all: [KioskReport] { reports.withLock { Array($0.values) } }
}

/// One row of the status page: a station device, heard from or not.
struct KioskStatusRow {
  var device: String
  var stations: [String]
  var report: KioskReport?
  /// "connected", "offline" (silent past the limit) or "never" (no poll yet).
  var state: String
  var secondsSinceSeen: Int64?
}

extension KDSService {
  /// Every station device (a token limited to stations), with its last report.
  func kioskStatus(now: Int64) async throws -> [KioskStatusRow] {
    let tokens = try await store.pool.read { db in
      try Row.fetchAll(
        db,
        sql:
          "SELECT device, stations FROM tokens WHERE stations != '' AND revoked_at IS NULL ORDER BY device"
      ).map { row -> (String, [String]) in
        let list: String = row[1]
        return (row[0], list.split(separator: ",").map(String.init))
      }
    }
    var byDevice: [String: KioskReport] = [:]
    for r in kiosks.all { byDevice[r.device] = r }
    var rows: [KioskStatusRow] = []
    var listed = Set<String>()
    for (device, stations) in tokens where listed.insert(device).inserted {
      rows.append(row(device: device, stations: stations, report: byDevice[device], now: now))
    }
    // Devices that polled with a token since removed or renamed still show.
    for (device, report) in byDevice where !listed.contains(device) {
      rows.append(row(device: device, stations: [report.station], report: report, now: now))
    }
    return rows.sorted {
      ($0.stations.first ?? "", $0.device) < ($1.stations.first ?? "", $1.device)
    }
  }

  private func row(device: String, stations: [String], report: KioskReport?, now: Int64)
    -> KioskStatusRow
  {
    guard let report else {
      return KioskStatusRow(
        device: device, stations: stations, report: nil, state: "never", secondsSinceSeen: nil)
    }
    let silence = max(0, now - report.seenAt)
    return KioskStatusRow(
      device: device, stations: stations, report: report,
      state: silence > kiosks.silenceLimitMillis ? "offline" : "connected",
      secondsSinceSeen: silence / 1000)
  }

  func statusJSON(now: Int64) async throws -> APIResponse {
    let rows = try await kioskStatus(now: now)
    func opt(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
    func opt(_ v: Int?) -> JSONValue { v.map { .int(Int64($0)) } ?? .null }
    let kiosks: [JSONValue] = rows.map { r in
      .object([
        ("device", .string(r.device)),
        ("stations", .array(r.stations.map(JSONValue.string))),
        ("state", .string(r.state)),
        ("lastSeenAt", r.report.map { .string(RFC3339.format(millis: $0.seenAt)) } ?? .null),
        ("secondsSinceLastSeen", r.secondsSinceSeen.map { .int($0) } ?? .null),
        ("station", opt(r.report?.station)),
        ("version", opt(r.report?.version)),
        ("connection", opt(r.report?.connection)),
        ("pendingOps", opt(r.report?.pendingOps)),
        ("failedOps", opt(r.report?.failedOps)),
        ("display", opt(r.report?.display)),
      ])
    }
    return APIResponse(
      status: 200,
      json: .object([
        ("generatedAt", .string(RFC3339.format(millis: now))), ("kiosks", .array(kiosks)),
      ]))
  }

  func statusHTML(now: Int64) async throws -> APIResponse {
    let rows = try await kioskStatus(now: now)
    var html = """
      <!doctype html><html lang="en"><head><meta charset="utf-8">
      <meta http-equiv="refresh" content="5"><meta name="viewport" content="width=device-width">
      <title>Kitchen screens</title><style>
      body{font:16px system-ui,sans-serif;margin:2em;background:#111820;color:#e8edf2}
      table{border-collapse:collapse;width:100%}th,td{padding:.5em .8em;text-align:left;
      border-bottom:1px solid #2a3440}th{color:#9fb0c0;font-weight:600}
      .connected{color:#3fcf6a}.reconnecting{color:#f0b400}.offline,.never{color:#ff5a4f}
      .n{text-align:right;font-variant-numeric:tabular-nums}
      </style></head><body><h1>Kitchen screens</h1>
      <p>As of \(escapeHTML(RFC3339.format(millis: now))). A screen silent for \(kiosks.silenceLimitMillis / 1000) s shows as offline.</p>
      <table><tr><th>Screen</th><th>Station</th><th>State</th><th>Last sync</th>
      <th>Screen says</th><th class="n">Queued</th><th class="n">Failed</th><th>Display</th><th>Version</th></tr>
      """
    for r in rows {
      let lastSync = r.secondsSinceSeen.map { "\($0) s ago" } ?? "never"
      let state = r.state == "never" ? "never connected" : r.state
      let says = r.report?.connection ?? "-"
      html += "<tr><td>\(escapeHTML(r.device))</td>"
      html += "<td>\(escapeHTML(r.report?.station ?? r.stations.joined(separator: ", ")))</td>"
      html += "<td class=\"\(r.state)\">\(state)</td><td>\(lastSync)</td>"
      html += "<td class=\"\(escapeHTML(says))\">\(escapeHTML(says))</td>"
      html += "<td class=\"n\">\(r.report?.pendingOps.map(String.init) ?? "-")</td>"
      html += "<td class=\"n\">\(r.report?.failedOps.map(String.init) ?? "-")</td>"
      html += "<td>\(escapeHTML(r.report?.display ?? "-"))</td>"
      html += "<td>\(escapeHTML(r.report?.version ?? "-"))</td></tr>\n"
    }
    if rows.isEmpty {
      html += "<tr><td colspan=\"9\">No kitchen screens yet: create one with "
      html += "<code>kds-server token create --device NAME --station S</code>.</td></tr>"
    }
    html += "</table></body></html>\n"
    return APIResponse(
      status: 200, body: Array(html.utf8),
      headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")])
  }
}

func escapeHTML(_ s: String) -> String {
  var out = ""
  out.reserveCapacity(s.utf8.count)
  for c in s {
    switch c {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&#39;"
    default: out.append(c)
    }
  }
  return out
}
