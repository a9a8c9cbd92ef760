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
  /// Read back from the database at start: offline until the screen polls again.
  public var restored = false

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

/// The kiosks the server has heard from, by device name. Kept in the
/// `screens` table too, so that the list survives a restart: a restored
/// screen shows as offline, with its last seen time, until it polls again.
public final class KioskRegistry: Sendable {
  /// A kiosk silent for longer than this shows as offline.
  public let silenceLimitMillis: Int64
  /// A report is saved when something in it changed, else at most this often.
  static let saveIntervalMillis: Int64 = 30_000

  struct Entry: Sendable {
    var report: KioskReport
    /// `seenAt` of the last saved report.
    var savedSeenAt: Int64?
    /// When the offline alert went out (cleared when the screen is back).
    var alertedAt: Int64?
    /// Silence is counted from here: the last poll, or the server's start
    /// for a screen read back from the database (a restart is no outage of
    /// the screens: they get time to poll again before an alert).
    var silentSince: Int64
  }

  /// What `record` asks the caller to do.
  struct Recorded: Sendable {
    /// Save the report in `screens`.
    var save: Bool
    /// The screen was alerted as offline: it is back (alert cleared).
    var cameBack: Bool
  }

  private let entries = Mutex<[String: Entry]>([:])

  public init(silenceLimitMillis: Int64 = 30_000) {
    self.silenceLimitMillis = silenceLimitMillis
  }

  public func record(_ report: KioskReport) {
    _ = note(report)
  }

  func note(_ report: KioskReport) -> Recorded {
    entries.withLock { map -> Recorded in
      var entry = map[report.device] ?? Entry(report: report, silentSince: report.seenAt)
      let old = entry.report
      var unchanged = old
      unchanged.seenAt = report.seenAt
      let changed = entry.savedSeenAt == nil || unchanged != report
      let due =
        changed || report.seenAt - (entry.savedSeenAt ?? Int64.min) >= Self.saveIntervalMillis
        || report.seenAt < (entry.savedSeenAt ?? Int64.min)
      let cameBack = entry.alertedAt != nil
      entry.report = report
      entry.alertedAt = nil
      entry.silentSince = report.seenAt
      if due { entry.savedSeenAt = report.seenAt }
      map[report.device] = entry
      return Recorded(save: due || cameBack, cameBack: cameBack)
    }
  }

  /// Screens read back from the database at start.
  func restore(_ list: [(KioskReport, alertedAt: Int64?)], now: Int64) {
    entries.withLock { map in
      for (report, alertedAt) in list {
        map[report.device] = Entry(
          report: report, savedSeenAt: report.seenAt, alertedAt: alertedAt,
          silentSince: max(report.seenAt, now))
      }
    }
  }

  /// Screens silent for longer than `limit` that were not alerted yet: they
  /// are marked alerted at `now` and returned.
  func takeNewlySilent(limit: Int64, now: Int64) -> [KioskReport] {
    entries.withLock { map -> [KioskReport] in
      var out: [KioskReport] = []
      for (device, var entry) in map
      where entry.alertedAt == nil && now - entry.silentSince > limit {
        entry.alertedAt = now
        map[device] = entry
        out.append(entry.report)
      }
      return out.sorted { $0.device < $1.device }
    }
  }

  func alertedAt(_ device: String) -> Int64? { entries.withLock { $0[device]?.alertedAt } }

  /// A kiosk heard from without a new report (its push stream's
  /// heartbeat): seen now, its last report kept. (Saved with its next report.)
  public func touch(device: String, at millis: Int64) {
    entries.withLock { map in
      guard var entry = map[device] else { return }
      entry.report.seenAt = max(entry.report.seenAt, millis)
      entry.silentSince = max(entry.silentSince, millis)
      map[device] = entry
    }
  }

  public var all: [KioskReport] { entries.withLock { $0.values.map(\.report) } }
}

/// The `screens` table: each kiosk's last report, and its offline alert.
enum ScreenTable {
  static func save(_ db: any SQLConnection, _ r: KioskReport, alertedAt: Int64?) throws {
    try db.execute(
      sql: """
        INSERT INTO screens (device, station, version, connection, pending_ops, failed_ops, display,
          seen_at, alerted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (device) DO UPDATE SET station = excluded.station, version = excluded.version,
          connection = excluded.connection, pending_ops = excluded.pending_ops,
          failed_ops = excluded.failed_ops, display = excluded.display,
          seen_at = CASE WHEN screens.seen_at > excluded.seen_at THEN screens.seen_at
            ELSE excluded.seen_at END, alerted_at = excluded.alerted_at
        """,
      arguments: [
        r.device, r.station, r.version, r.connection, r.pendingOps, r.failedOps, r.display,
        r.seenAt, alertedAt,
      ])
  }

  static func setAlerted(_ db: any SQLConnection, device: String, at: Int64?) throws {
    try db.execute(
      sql: "UPDATE screens SET alerted_at = ? WHERE device = ?", arguments: [at, device])
  }

  static func loadAll(_ db: any SQLConnection) throws -> [(KioskReport, alertedAt: Int64?)] {
    try db.fetchAll(
      sql: """
        SELECT device, station, version, connection, pending_ops, failed_ops, display, seen_at,
          alerted_at FROM screens
        """
    ).map { row -> (KioskReport, alertedAt: Int64?) in
      let fields: [String: String?] = [
        "X-KDS-Version": row[2], "X-KDS-Connection": row[3],
        "X-KDS-Pending-Ops": (row[4] as Int?).map(String.init),
        "X-KDS-Failed-Ops": (row[5] as Int?).map(String.init), "X-KDS-Display": row[6],
      ]
      var report = KioskReport(device: row[0], station: row[1], seenAt: row[7]) {
        fields[$0] ?? nil
      }
      report.restored = true
      return (report, row[8])
    }
  }
}

/// One row of the status page: a station device, heard from or not.
struct KioskStatusRow {
  var device: String
  var stations: [String]
  var report: KioskReport?
  /// "connected", "offline" (silent past the limit) or "never" (no poll yet).
  var state: String
  var secondsSinceSeen: Int64?
  /// When the offline alert went out (`--alert-after`), while it stands.
  var alertedAt: Int64?
}

extension KDSService {
  /// Every station device (a token limited to stations), with its last report.
  func kioskStatus(now: Int64) async throws -> [KioskStatusRow] {
    let tokens = try await store.read { db in
      try db.fetchAll(
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
        device: device, stations: stations, report: nil, state: "never", secondsSinceSeen: nil,
        alertedAt: nil)
    }
    let silence = max(0, now - report.seenAt)
    return KioskStatusRow(
      device: device, stations: stations, report: report,
      state: silence > kiosks.silenceLimitMillis || report.restored ? "offline" : "connected",
      secondsSinceSeen: silence / 1000, alertedAt: kiosks.alertedAt(device))
  }

  func statusJSON(now: Int64) async throws -> APIResponse {
    let rows = try await kioskStatus(now: now)
    let figures = try await stationFigures(now: now, screens: rows)
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
        ("alertedAt", r.alertedAt.map { .string(RFC3339.format(millis: $0)) } ?? .null),
      ])
    }
    let sla = kitchen.sla
    let alerts: [JSONValue] = rows.filter { $0.alertedAt != nil }.map { r in
      .object([
        ("event", .string("screen-offline")), ("device", .string(r.device)),
        ("station", opt(r.report?.station ?? r.stations.first)),
        ("since", r.report.map { .string(RFC3339.format(millis: $0.seenAt)) } ?? .null),
      ])
    }
    return APIResponse(
      status: 200,
      json: .object([
        ("generatedAt", .string(RFC3339.format(millis: now))),
        (
          "sla",
          .object([
            ("amber", .int(sla.orangeAfterSeconds)), ("red", .int(sla.redAfterSeconds)),
          ])
        ),
        ("alerts", .array(alerts)),
        ("stations", stationsJSON(figures)),
        ("kiosks", .array(kiosks)),
        ("pairings", try await pairingJSON(now: now)),
      ]))
  }

  func statusHTML(now: Int64, token: DeviceToken) async throws -> APIResponse {
    let rows = try await kioskStatus(now: now)
    let figures = try await stationFigures(now: now, screens: rows)
    let pairing = try await pairingSection(
      now: now, token: token, stations: figures.map(\.station))
    // Not while a screen waits to be paired: the manager is typing its code.
    let refresh = pairing.pending == 0 ? "<meta http-equiv=\"refresh\" content=\"5\">" : ""
    let sla = kitchen.sla
    var html = """
      <!doctype html><html lang="en"><head><meta charset="utf-8">
      \(refresh)<meta name="viewport" content="width=device-width">
      <title>Kitchen dashboard</title><style>
      body{font:16px system-ui,sans-serif;margin:2em;background:#111820;color:#e8edf2}
      table{border-collapse:collapse;width:100%;margin-bottom:2em}th,td{padding:.5em .8em;text-align:left;
      border-bottom:1px solid #2a3440}th{color:#9fb0c0;font-weight:600}
      .connected{color:#3fcf6a}.reconnecting,.amber{color:#f0b400}.offline,.never,.red{color:#ff5a4f}
      .n{text-align:right;font-variant-numeric:tabular-nums}a{color:#7fb8ff}
      .alert{background:#5a1410;border:2px solid #ff5a4f;padding:.8em 1em;margin-bottom:1.5em;
      font-size:1.15em}.alert strong{color:#ffb3ad}.sub{color:#9fb0c0;font-size:.85em}
      </style></head><body>

      """
    let alerted = rows.filter { $0.alertedAt != nil }
    if !alerted.isEmpty {
      html +=
        "<div class=\"alert\" id=\"offline-alert\"><strong>Screens offline</strong> for more than "
      html += "\(formatSeconds(Int64(options.alertAfterSeconds))): "
      html += alerted.map { r in
        let since = r.report.map { "since " + LocalTime.format($0.seenAt) } ?? ""
        return
          "\(escapeHTML(r.device)) (\(escapeHTML(r.report?.station ?? r.stations.joined(separator: ", "))), \(since))"
      }.joined(separator: "; ")
      html += "</div>\n"
    }
    html += """
      <h1>Kitchen dashboard</h1>
      <p>As of \(escapeHTML(LocalTime.format(now))). Amber from \(formatSeconds(sla.orangeAfterSeconds)), \
      red from \(formatSeconds(sla.redAfterSeconds)). Ticket time: sent to ready. \
      <a href="/reports">Reports</a></p>
      <table id="stations"><tr><th>Station</th><th class="n">Open</th><th class="n">Amber+</th>
      <th class="n">Red</th><th class="n">Oldest</th><th class="n">Last hour avg / p90 (n)</th>
      <th class="n">Today avg / p90 (n)</th><th>Screens (queued actions)</th></tr>

      """
    func times(_ t: TicketTimeStats) -> String {
      t.count == 0
        ? "-" : "\(formatSeconds(t.averageSeconds)) / \(formatSeconds(t.p90Seconds)) (\(t.count))"
    }
    for f in figures {
      html += "<tr><td>\(escapeHTML(f.station))</td><td class=\"n\">\(f.open)</td>"
      html += "<td class=\"n\(f.overAmber > 0 ? " amber" : "")\">\(f.overAmber)</td>"
      html += "<td class=\"n\(f.overRed > 0 ? " red" : "")\">\(f.overRed)</td>"
      html += "<td class=\"n\">\(formatSeconds(f.oldestSeconds))</td>"
      html += "<td class=\"n\">\(times(f.lastHour))</td><td class=\"n\">\(times(f.today))</td><td>"
      html += f.screens.map { r in
        "<span class=\"\(r.state)\">\(escapeHTML(r.device)) \(r.state == "never" ? "never connected" : r.state)</span>"
          + " (\(r.report?.pendingOps.map(String.init) ?? "-"))"
      }.joined(separator: ", ")
      html += "</td></tr>\n"
    }
    if figures.isEmpty {
      html += "<tr><td colspan=\"8\">No stations yet.</td></tr>\n"
    }
    html += """
      </table><h2>Kitchen screens</h2>
      <p class="sub">A screen silent for \(kiosks.silenceLimitMillis / 1000) s shows as offline.</p>
      <table id="screens"><tr><th>Screen</th><th>Station</th><th>State</th><th>Last sync</th>
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
    html += "</table>\n" + pairing.html + "</body></html>\n"
    return .page(html)
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
