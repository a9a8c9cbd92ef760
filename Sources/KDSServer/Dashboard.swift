import KDSContract
import KDSSystem
import KDSTime

/// Ticket times (sent to ready) summed up: count, average and percentiles,
/// in whole seconds (rounded).
struct TicketTimeStats: Sendable, Equatable {
  var count: Int
  var averageSeconds: Int64?
  var p50Seconds: Int64?
  var p90Seconds: Int64?
  var maxSeconds: Int64?

  /// `durations` in milliseconds (negative ones count as 0). Percentiles by
  /// the nearest-rank method: p90 is the smallest time that at least 90 % of
  /// the tickets did not exceed.
  init(millis durations: [Int64]) {
    let sorted = durations.map { max(0, $0) }.sorted()
    count = sorted.count
    guard !sorted.isEmpty else { return }
    func seconds(_ ms: Int64) -> Int64 { (ms + 500) / 1000 }
    func rank(_ p: Int) -> Int64 {
      let index = (p * sorted.count + 99) / 100 - 1
      return seconds(sorted[max(0, min(sorted.count - 1, index))])
    }
    let total = sorted.reduce(Int64(0), +)
    averageSeconds = seconds(total / Int64(sorted.count))
    p50Seconds = rank(50)
    p90Seconds = rank(90)
    maxSeconds = seconds(sorted.last!)
  }

  var json: JSONValue {
    func opt(_ v: Int64?) -> JSONValue { v.map(JSONValue.int) ?? .null }
    return .object([
      ("count", .int(Int64(count))), ("average", opt(averageSeconds)), ("p50", opt(p50Seconds)),
      ("p90", opt(p90Seconds)), ("max", opt(maxSeconds)),
    ])
  }
}

/// The server host's local time: days and hours as the restaurant reads them.
enum LocalTime {
  static func offsetMillis(at ms: Int64) -> Int64 {
    Int64(SystemClock.localOffsetSeconds(atWallMillis: ms)) * 1000
  }

  /// The start of the local day holding `ms`.
  static func startOfDay(_ ms: Int64) -> Int64 {
    let local = ms + offsetMillis(at: ms)
    let midnight = floorDiv(local, 86_400_000) * 86_400_000
    // The offset at midnight itself (a DST change during the day moves it).
    return midnight - offsetMillis(at: midnight - offsetMillis(at: ms))
  }

  /// The start of the local hour holding `ms`.
  static func startOfHour(_ ms: Int64) -> Int64 {
    let offset = offsetMillis(at: ms)
    return floorDiv(ms + offset, 3_600_000) * 3_600_000 - offset
  }

  /// `YYYY-MM-DD` (a local day) to its start.
  static func parseDay(_ text: String) -> Int64? {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
      let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1...12).contains(m),
      (1...31).contains(d)
    else { return nil }
    let utcMidnight = RFC3339.days(year: y, month: m, day: d) * 86_400_000
    return utcMidnight - offsetMillis(at: utcMidnight)
  }

  /// `2026-12-01T13:00:00+01:00`: RFC 3339 in local time, to the second.
  static func format(_ ms: Int64) -> String {
    let offset = offsetMillis(at: ms)
    let local = ms + offset
    let days = floorDiv(local, 86_400_000)
    let (y, mo, d) = RFC3339.civil(fromDays: days)
    let secondOfDay = (local - days * 86_400_000) / 1000
    func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let off = abs(offset) / 60_000
    let sign = offset < 0 ? "-" : "+"
    let year = String(y)
    return "\(String(repeating: "0", count: max(0, 4 - year.count)))\(year)-\(two(Int64(mo)))-"
      + "\(two(Int64(d)))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):"
      + "\(two(secondOfDay % 60))\(sign)\(two(off / 60)):\(two(off % 60))"
  }

  /// `13:00` (local).
  static func hourLabel(_ ms: Int64) -> String {
    let text = format(ms)
    let t = text.firstIndex(of: "T")!
    return String(text[text.index(after: t)...].prefix(5))
  }

  static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : -((-a + b - 1) / b)
  }
}

/// One station's live figures on the dashboard.
struct StationFigures: Sendable {
  var station: String
  var open = 0
  /// Open tickets at least `sla.amber` old (red ones included).
  var overAmber = 0
  /// Open tickets at least `sla.red` old.
  var overRed = 0
  var oldestSeconds: Int64?
  var lastHour = TicketTimeStats(millis: [])
  var today = TicketTimeStats(millis: [])
  var screens: [KioskStatusRow] = []
}

extension KDSService {
  /// Every station's figures at `now`: stations with tickets (open, or ready
  /// today), with a station token, or with a screen.
  func stationFigures(now: Int64, screens: [KioskStatusRow]) async throws -> [StationFigures] {
    let sla = kitchen.sla
    let dayStart = LocalTime.startOfDay(now)
    let hourAgo = now - 3_600_000
    let (open, ready) = try await store.read { db in
      let open = try db.fetchAll(
        sql: "SELECT station, sent_at FROM tickets WHERE status IN ('QUEUED', 'IN_PROGRESS')"
      ).map { row -> (String, Int64) in (row[0], row[1]) }
      let ready = try db.fetchAll(
        sql: """
          SELECT station, sent_at, ready_at FROM tickets
          WHERE ready_at >= ? AND ready_at <= ? AND status != 'CANCELLED'
          """, arguments: [min(dayStart, hourAgo), now]
      ).map { row -> (String, Int64, Int64) in (row[0], row[1], row[2]) }
      return (open, ready)
    }
    var byStation: [String: StationFigures] = [:]
    func touch(_ s: String) { if byStation[s] == nil { byStation[s] = StationFigures(station: s) } }
    for (station, sentAt) in open {
      touch(station)
      let age = max(0, now - sentAt)
      byStation[station]!.open += 1
      if age / 1000 >= sla.orangeAfterSeconds { byStation[station]!.overAmber += 1 }
      if age / 1000 >= sla.redAfterSeconds { byStation[station]!.overRed += 1 }
      byStation[station]!.oldestSeconds = max(byStation[station]!.oldestSeconds ?? 0, age / 1000)
    }
    var hour: [String: [Int64]] = [:]
    var day: [String: [Int64]] = [:]
    for (station, sentAt, readyAt) in ready {
      touch(station)
      if readyAt >= hourAgo { hour[station, default: []].append(readyAt - sentAt) }
      if readyAt >= dayStart { day[station, default: []].append(readyAt - sentAt) }
    }
    for row in screens {
      for station in row.report.map({ [$0.station] }) ?? row.stations {
        touch(station)
        byStation[station]!.screens.append(row)
      }
    }
    for (station, list) in hour { byStation[station]!.lastHour = TicketTimeStats(millis: list) }
    for (station, list) in day { byStation[station]!.today = TicketTimeStats(millis: list) }
    return byStation.values.sorted { $0.station < $1.station }
  }

  /// `stations` of `/status.json`.
  func stationsJSON(_ figures: [StationFigures]) -> JSONValue {
    .array(
      figures.map { f in
        .object([
          ("station", .string(f.station)),
          ("open", .int(Int64(f.open))),
          ("overAmber", .int(Int64(f.overAmber))),
          ("overRed", .int(Int64(f.overRed))),
          ("oldestSeconds", f.oldestSeconds.map(JSONValue.int) ?? .null),
          ("lastHour", f.lastHour.json),
          ("today", f.today.json),
          (
            "screens",
            .array(
              f.screens.map { r in
                .object([
                  ("device", .string(r.device)), ("state", .string(r.state)),
                  ("pendingOps", r.report?.pendingOps.map { .int(Int64($0)) } ?? .null),
                  ("failedOps", r.report?.failedOps.map { .int(Int64($0)) } ?? .null),
                ])
              })
          ),
        ])
      })
  }
}

/// `3:07`, `1:02:45`, or `-`.
func formatSeconds(_ s: Int64?) -> String {
  guard let s else { return "-" }
  let h = s / 3600
  let m = s / 60 % 60
  let sec = s % 60
  let ss = sec < 10 ? "0\(sec)" : "\(sec)"
  if h > 0 { return "\(h):\(m < 10 ? "0" : "")\(m):\(ss)" }
  return "\(m):\(ss)"
}
