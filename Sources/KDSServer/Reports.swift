import KDSContract
import KDSSystem
import KDSTime

/// The manager's reports (docs/dashboard.md): ticket times per ticket and per
/// hour, the audit log (JSON, or CSV with `format=csv` or `Accept: text/csv`),
/// and `/reports`, a page with a chart of ticket times by hour (SVG drawn
/// here, no script).
extension KDSService {
  /// Most rows one report answers; a longer range is refused (narrow it).
  static let reportRowLimit = 100_000

  struct ReportRange {
    var from: Int64
    var to: Int64
    var station: String?
  }

  func report(_ call: Call) async throws -> APIResponse {
    guard call.token.isUnrestricted else {
      throw APIError(
        403, "Reports need a manager token (one without a station limit), like the status page")
    }
    let now = SystemClock.wallMillis()
    let range = try reportRange(call.query, now: now)
    let csv = try wantsCSV(call)
    switch call.route.path {
    case "/reports/ticket-times": return try await ticketTimes(range, csv: csv)
    case "/reports/hourly": return try await hourly(range, csv: csv)
    case "/reports/audit":
      let ticket = call.query["ticket"].flatMap { $0.isEmpty ? nil : $0 }
      return try await audit(range, ticket: ticket, csv: csv)
    default: return try await reportsPage(call.query, now: now)
    }
  }

  func wantsCSV(_ call: Call) throws(APIError) -> Bool {
    switch call.query["format"]?.lowercased() {
    case "csv": return true
    case "json": return false
    case nil, "": return (call.accept ?? "").lowercased().contains("text/csv")
    default: throw APIError.invalid("format", "must be json or csv")
    }
  }

  /// `from` and `to`: RFC 3339 timestamps or local days (`2026-12-01`; a day
  /// as `to` includes that whole day). Default: today so far.
  func reportRange(_ query: [String: String], now: Int64) throws(APIError) -> ReportRange {
    func time(_ name: String, endOfDay: Bool) throws(APIError) -> Int64? {
      guard let raw = query[name], !raw.isEmpty else { return nil }
      let text = String(raw.map { $0 == " " ? "+" : $0 })
      if let day = LocalTime.parseDay(text) {
        return endOfDay ? LocalTime.startOfDay(day + 36 * 3_600_000) : day
      }
      guard let ms = RFC3339.parse(text) else {
        throw APIError.invalid(
          name, "must be a day (2026-12-01) or an RFC 3339 time (2026-12-01T12:00:00Z)")
      }
      return ms
    }
    let from = try time("from", endOfDay: false) ?? LocalTime.startOfDay(now)
    let to = try time("to", endOfDay: true) ?? now + 1
    guard to > from else { throw APIError.invalid("to", "must be after from") }
    var station: String? = nil
    if let s = query["station"], !s.isEmpty {
      guard StationName.isValid(s) else { throw APIError.invalid("station", StationName.rule) }
      station = s
    }
    return ReportRange(from: from, to: to, station: station)
  }

  /// One ticket of the ticket-times report.
  struct TicketTimes {
    var id: String
    var orderNumber: String
    var station: String
    var status: String
    var sentAt: Int64
    var readyAt: Int64?
    /// When the expo served it (issue 14).
    var servedAt: Int64?
    var startedAt: Int64?
    var startedBy: String?
    var recalledAt: Int64?
    var recalledBy: String?
    var bumpedBy: String?
    var voidedBy: String?
    var ticketSeconds: Int64? {
      readyAt.map { (max(0, $0 - sentAt) + 500) / 1000 }
    }
  }

  /// Tickets sent in the range, with their times from the audit log.
  func ticketTimesRows(_ range: ReportRange) async throws -> [TicketTimes] {
    let limit = Self.reportRowLimit
    let rows = try await store.read { db -> [TicketTimes]? in
      var sql =
        "SELECT id, order_number, station, status, sent_at, ready_at, served_at FROM tickets WHERE sent_at >= ? AND sent_at < ?"
      var arguments: SQLArguments = [range.from, range.to]
      if let station = range.station {
        sql += " AND station = ?"
        arguments += [station]
      }
      var tickets = try db.fetchAll(
        sql: sql + " ORDER BY sent_at, id LIMIT ?", arguments: arguments + [limit + 1]
      ).map { row in
        TicketTimes(
          id: row[0], orderNumber: row[1], station: row[2], status: row[3], sentAt: row[4],
          readyAt: row[5], servedAt: row[6])
      }
      guard tickets.count <= limit else { return nil }
      var index: [String: Int] = [:]
      for (n, t) in tickets.enumerated() { index[t.id] = n }
      let audit = try db.fetchAll(
        sql: """
          SELECT ticket_id, action, at, device FROM audit_log WHERE ticket_id IN (
            SELECT id FROM tickets WHERE \(sql.split(separator: "WHERE", maxSplits: 1)[1]))
          ORDER BY at, id
          """, arguments: arguments)
      for row in audit {
        let ticket: String = row[0]
        guard let n = index[ticket] else { continue }
        let at: Int64 = row[2]
        let device: String = row[3]
        switch row[1] as String {
        case "start":
          if tickets[n].startedAt == nil {
            tickets[n].startedAt = at
            tickets[n].startedBy = device
          }
        case "recall":
          tickets[n].recalledAt = at
          tickets[n].recalledBy = device
        case "mark-ready": tickets[n].bumpedBy = device
        case "void": tickets[n].voidedBy = device
        default: break
        }
      }
      return tickets
    }
    guard let rows else {
      throw APIError(
        422, "More than \(limit) tickets in this range: narrow it with from, to or station")
    }
    return rows
  }

  func ticketTimes(_ range: ReportRange, csv: Bool) async throws -> APIResponse {
    let rows = try await ticketTimesRows(range)
    func time(_ ms: Int64?) -> String? { ms.map { RFC3339.format(millis: $0) } }
    if csv {
      var table = CSVTable(header: [
        "ticket", "order_number", "station", "status", "sent_at", "started_at", "started_by",
        "ready_at", "bumped_by", "recalled_at", "recalled_by", "voided_by", "ticket_seconds",
      ])
      for t in rows {
        table.add([
          t.id, t.orderNumber, t.station, t.status, time(t.sentAt), time(t.startedAt), t.startedBy,
          time(t.readyAt), t.bumpedBy, time(t.recalledAt), t.recalledBy, t.voidedBy,
          t.ticketSeconds.map(String.init),
        ])
      }
      return table.response(name: "ticket-times")
    }
    func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    let list: [JSONValue] = rows.map { t in
      .object([
        ("id", .string(t.id)), ("orderNumber", .string(t.orderNumber)),
        ("station", .string(t.station)), ("status", .string(t.status)),
        ("sentAt", opt(time(t.sentAt))), ("startedAt", opt(time(t.startedAt))),
        ("startedBy", opt(t.startedBy)), ("readyAt", opt(time(t.readyAt))),
        ("bumpedBy", opt(t.bumpedBy)), ("recalledAt", opt(time(t.recalledAt))),
        ("recalledBy", opt(t.recalledBy)), ("voidedBy", opt(t.voidedBy)),
        ("ticketSeconds", t.ticketSeconds.map(JSONValue.int) ?? .null),
        ("servedAt", opt(time(t.servedAt))),
      ])
    }
    return APIResponse(
      status: 200,
      json: .object(rangeMembers(range) + [("tickets", .array(list))]))
  }

  func rangeMembers(_ range: ReportRange) -> [(String, JSONValue)] {
    [
      ("from", .string(RFC3339.format(millis: range.from))),
      ("to", .string(RFC3339.format(millis: range.to))),
      ("station", range.station.map(JSONValue.string) ?? .null),
    ]
  }

  /// One hour at one station: tickets sent in that (local) hour.
  struct HourRow {
    var hour: Int64
    var station: String
    var sent: Int
    var stats: TicketTimeStats
  }

  func hourlyRows(_ range: ReportRange) async throws -> [HourRow] {
    let tickets = try await ticketTimesRows(range)
    var groups: [String: (hour: Int64, station: String, sent: Int, times: [Int64])] = [:]
    // A HELD course is not in the kitchen yet: it counts from its fire time.
    for t in tickets where t.status != "CANCELLED" && t.status != "HELD" {
      let hour = LocalTime.startOfHour(t.sentAt)
      let key = "\(hour) \(t.station)"
      var g = groups[key] ?? (hour, t.station, 0, [])
      g.sent += 1
      if let ready = t.readyAt { g.times.append(ready - t.sentAt) }
      groups[key] = g
    }
    return groups.values.map {
      HourRow(
        hour: $0.hour, station: $0.station, sent: $0.sent, stats: TicketTimeStats(millis: $0.times))
    }.sorted { ($0.hour, $0.station) < ($1.hour, $1.station) }
  }

  func hourly(_ range: ReportRange, csv: Bool) async throws -> APIResponse {
    let rows = try await hourlyRows(range)
    if csv {
      var table = CSVTable(header: [
        "hour", "station", "sent", "ready", "average_seconds", "p50_seconds", "p90_seconds",
        "max_seconds",
      ])
      for r in rows {
        table.add(
          [LocalTime.format(r.hour), r.station, String(r.sent), String(r.stats.count)] as [String?]
            + [r.stats.averageSeconds, r.stats.p50Seconds, r.stats.p90Seconds, r.stats.maxSeconds]
            .map { $0.map(String.init) })
      }
      return table.response(name: "hourly")
    }
    let list: [JSONValue] = rows.map { r in
      var members: [(String, JSONValue)] = [
        ("hour", .string(LocalTime.format(r.hour))), ("station", .string(r.station)),
        ("sent", .int(Int64(r.sent))), ("ready", .int(Int64(r.stats.count))),
      ]
      if case .object(let stats) = r.stats.json { members += stats.filter { $0.0 != "count" } }
      return .object(members)
    }
    return APIResponse(
      status: 200, json: .object(rangeMembers(range) + [("hours", .array(list))]))
  }

  func audit(_ range: ReportRange, ticket: String?, csv: Bool) async throws -> APIResponse {
    let limit = Self.reportRowLimit
    let entries = try await store.read { db in
      try AuditLog.entries(
        db, from: range.from, to: range.to, station: range.station, ticket: ticket,
        limit: limit + 1)
    }
    guard entries.count <= limit else {
      throw APIError(
        422, "More than \(limit) audit entries in this range: narrow it with from, to or station")
    }
    if csv {
      var table = CSVTable(header: ["at", "device", "action", "ticket", "order", "station"])
      for e in entries {
        table.add([RFC3339.format(millis: e.at), e.device, e.action, e.ticket, e.order, e.station])
      }
      return table.response(name: "audit")
    }
    func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    let list: [JSONValue] = entries.map { e in
      .object(
        [
          ("at", .string(RFC3339.format(millis: e.at))), ("device", .string(e.device)),
          ("action", .string(e.action)), ("ticket", opt(e.ticket)), ("order", opt(e.order)),
          ("station", opt(e.station)),
        ] + (e.detail.map { [("detail", JSONValue.string($0))] } ?? []))
    }
    return APIResponse(
      status: 200, json: .object(rangeMembers(range) + [("entries", .array(list))]))
  }

  // MARK: the page

  /// `/reports?date=2026-12-01&station=grill`: a day's ticket times by hour,
  /// one chart per station.
  func reportsPage(_ query: [String: String], now: Int64) async throws -> APIResponse {
    var day = LocalTime.startOfDay(now)
    if let raw = query["date"], !raw.isEmpty {
      guard let d = LocalTime.parseDay(raw) else {
        throw APIError.invalid("date", "must be a day such as 2026-12-01")
      }
      day = d
    }
    let dayEnd = LocalTime.startOfDay(day + 36 * 3_600_000)
    let station = query["station"].flatMap { $0.isEmpty ? nil : $0 }
    if let station, !StationName.isValid(station) {
      throw APIError.invalid("station", StationName.rule)
    }
    let range = ReportRange(from: day, to: dayEnd, station: station)
    let rows = try await hourlyRows(range)
    let dayText = String(LocalTime.format(day).prefix(10))
    var stations = Array(Set(rows.map(\.station))).sorted()
    if let station, stations.isEmpty { stations = [station] }
    var html = """
      <!doctype html><html lang="en"><head><meta charset="utf-8">
      <meta name="viewport" content="width=device-width"><title>Ticket times \(dayText)</title><style>
      body{font:16px system-ui,sans-serif;margin:2em;background:#111820;color:#e8edf2}
      a{color:#7fb8ff}table{border-collapse:collapse;margin:1em 0 2.5em}th,td{padding:.35em .8em;
      border-bottom:1px solid #2a3440;text-align:right;font-variant-numeric:tabular-nums}
      th{color:#9fb0c0}td:first-child,th:first-child{text-align:left}
      form{margin:1em 0}input,button{font:inherit;padding:.2em .4em}
      .key{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:-.1em}
      svg{display:block;background:#0b1118;border:1px solid #2a3440;margin:.5em 0}
      </style></head><body><h1>Ticket times, \(escapeHTML(dayText))</h1>
      <p>Sent to ready, by the hour the ticket was sent (server local time). <a href="/status">Dashboard</a></p>
      <form method="get" action="/reports"><label>Day <input name="date" value="\(escapeHTML(dayText))"></label>
      <label>Station <input name="station" value="\(escapeHTML(station ?? ""))" placeholder="all"></label>
      <button type="submit">Show</button></form>
      <p>Download: <a href="/reports/ticket-times?from=\(dayText)&amp;to=\(dayText)\(station.map { "&amp;station=" + $0 } ?? "")&amp;format=csv">tickets (CSV)</a>,
      <a href="/reports/hourly?from=\(dayText)&amp;to=\(dayText)\(station.map { "&amp;station=" + $0 } ?? "")&amp;format=csv">hourly (CSV)</a>,
      <a href="/reports/audit?from=\(dayText)&amp;to=\(dayText)\(station.map { "&amp;station=" + $0 } ?? "")&amp;format=csv">audit log (CSV)</a></p>

      """
    if stations.isEmpty {
      html += "<p>No tickets sent on \(escapeHTML(dayText)).</p>"
    }
    for s in stations {
      let mine = rows.filter { $0.station == s }
      html += "<h2>\(escapeHTML(s))</h2>\n"
      html += "<div><span class=\"key\" style=\"background:#4f9bff\"></span>average"
      html += "<span class=\"key\" style=\"background:#ff9f40\"></span>90th percentile</div>\n"
      html += HourChart(day: day, dayEnd: dayEnd, rows: mine, station: s).svg
      html += "<table><tr><th>Hour</th><th>Sent</th><th>Ready</th><th>Average</th><th>p90</th>"
      html += "<th>Max</th></tr>\n"
      for r in mine {
        html +=
          "<tr><td>\(LocalTime.hourLabel(r.hour))</td><td>\(r.sent)</td><td>\(r.stats.count)</td>"
        html += "<td>\(formatSeconds(r.stats.averageSeconds))</td>"
        html += "<td>\(formatSeconds(r.stats.p90Seconds))</td>"
        html += "<td>\(formatSeconds(r.stats.maxSeconds))</td></tr>\n"
      }
      html += "</table>\n"
    }
    html += "</body></html>\n"
    return .page(html)
  }
}

/// A bar chart of one station's day: per hour, the average and the 90th
/// percentile ticket time, in minutes.
struct HourChart {
  var day: Int64
  var dayEnd: Int64
  var rows: [KDSService.HourRow]
  var station: String

  static let width = 960
  static let height = 300
  static let left = 56
  static let right = 16
  static let top = 16
  static let bottom = 36

  var svg: String {
    var hours: [Int64] = []
    var h = day
    while h < dayEnd && hours.count < 26 {
      hours.append(h)
      h = LocalTime.startOfHour(h + 3_600_000 + 1)
    }
    let byHour = Dictionary(rows.map { ($0.hour, $0) }, uniquingKeysWith: { a, _ in a })
    let peak = rows.compactMap { $0.stats.p90Seconds }.max() ?? 0
    // The scale: whole minutes, at least 5, in steps that give ≤ 6 lines.
    let peakMinutes = max(5, Int((peak + 59) / 60))
    let step = [1, 2, 5, 10, 15, 30, 60].first { peakMinutes / $0 <= 6 } ?? 120
    let topMinutes = (peakMinutes + step - 1) / step * step
    let plotW = Self.width - Self.left - Self.right
    let plotH = Self.height - Self.top - Self.bottom
    func y(_ seconds: Int64) -> Int {
      Self.top + plotH - Int(Double(seconds) / Double(topMinutes * 60) * Double(plotH))
    }
    let slot = Double(plotW) / Double(max(1, hours.count))
    let bar = max(2, Int(slot * 0.36))
    var out =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.width)\" height=\"\(Self.height)\" "
      + "viewBox=\"0 0 \(Self.width) \(Self.height)\" role=\"img\" "
      + "aria-label=\"Ticket times by hour at \(escapeHTML(station))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    var m = 0
    while m <= topMinutes {
      let yy = y(Int64(m * 60))
      out +=
        "<line x1=\"\(Self.left)\" y1=\"\(yy)\" x2=\"\(Self.width - Self.right)\" y2=\"\(yy)\" stroke=\"#2a3440\"/>"
      out +=
        "<text x=\"\(Self.left - 8)\" y=\"\(yy + 4)\" fill=\"#9fb0c0\" text-anchor=\"end\">\(m) min</text>\n"
      m += step
    }
    for (n, hour) in hours.enumerated() {
      let x0 = Double(Self.left) + slot * Double(n)
      if n % 2 == 0 {
        out +=
          "<text x=\"\(Int(x0 + slot / 2))\" y=\"\(Self.height - Self.bottom + 18)\" fill=\"#9fb0c0\" text-anchor=\"middle\">\(LocalTime.hourLabel(hour))</text>"
      }
      guard let r = byHour[hour] else { continue }
      let center = Int(x0 + slot / 2)
      if let avg = r.stats.averageSeconds {
        let yy = y(avg)
        out +=
          "<rect class=\"avg\" x=\"\(center - bar)\" y=\"\(yy)\" width=\"\(bar)\" height=\"\(Self.top + plotH - yy)\" fill=\"#4f9bff\"><title>\(LocalTime.hourLabel(hour)) average \(formatSeconds(avg))</title></rect>"
      }
      if let p90 = r.stats.p90Seconds {
        let yy = y(p90)
        out +=
          "<rect class=\"p90\" x=\"\(center)\" y=\"\(yy)\" width=\"\(bar)\" height=\"\(Self.top + plotH - yy)\" fill=\"#ff9f40\"><title>\(LocalTime.hourLabel(hour)) p90 \(formatSeconds(p90))</title></rect>"
      }
      out += "\n"
    }
    out +=
      "<line x1=\"\(Self.left)\" y1=\"\(Self.top + plotH)\" x2=\"\(Self.width - Self.right)\" y2=\"\(Self.top + plotH)\" stroke=\"#9fb0c0\"/>\n"
    out += "</svg>\n"
    return out
  }
}

/// RFC 4180 CSV: fields with a comma, quote or line break are quoted.
struct CSVTable {
  var text: String

  init(header: [String]) {
    text = ""
    add(header)
  }

  mutating func add(_ fields: [String?]) {
    text +=
      fields.map { field -> String in
        guard let f = field else { return "" }
        // A leading = + - @ would be a formula to a spreadsheet: quoted with a '.
        let safe = f.first.map { "=+-@".contains($0) } == true ? "'" + f : f
        guard safe.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
        else { return safe }
        return "\"" + safe.replacing("\"", with: "\"\"") + "\""
      }.joined(separator: ",") + "\r\n"
  }

  func response(name: String) -> APIResponse {
    APIResponse(
      status: 200, body: Array(text.utf8),
      headers: [
        ("Content-Type", "text/csv; charset=utf-8"),
        ("Content-Disposition", "attachment; filename=\"\(name).csv\""),
      ])
  }
}
