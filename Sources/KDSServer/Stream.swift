import Hummingbird
import KDSContract
import KDSSystem
import KDSTime
import ServiceLifecycle
import Synchronization

/// `GET /kds/stream?station=…&since=…`: the push stream beside the poll
/// (docs/sync-contract.md, "Extension: push stream"). Server-Sent Events:
/// one `ticket` event per changed ticket (the JSON of a `/kds/queue` item,
/// its `id` the ticket's `updatedAt`), and a comment line every heartbeat.
/// Authentication and station scoping are those of `/kds/queue`; a client
/// resumes with `Last-Event-ID` (or `since`): the tickets updated after it
/// come first, then the changes as they commit.
extension KDSService {
  /// Tickets read per database query while catching up.
  static let streamBatch = 200

  func stream(_ call: Call, lastEventID: String?) async throws -> Response {
    let station = try checkedStation(call)
    var since: Int64? = nil
    if let raw = lastEventID?.trimmingSpaces, !raw.isEmpty {
      guard let ms = RFC3339.parse(raw) else {
        throw APIError.invalid(
          "Last-Event-ID", "must be the id of an event (an RFC 3339 timestamp)")
      }
      since = ms
    } else if let raw = call.query["since"] {
      let text = String(raw.map { $0 == " " ? "+" : $0 })
      guard let ms = RFC3339.parse(text) else {
        throw APIError.invalid(
          "since", "must be an RFC 3339 timestamp such as 2025-11-21T14:35:00.123Z")
      }
      since = ms
    }
    let session = StreamSession(
      service: self, station: station, since: since, token: call.token,
      kioskHeaders: call.kioskHeaders)
    let heartbeat = options.streamHeartbeatSeconds
    var headers = HTTPFields()
    headers[.contentType] = "text/event-stream; charset=utf-8"
    headers[.cacheControl] = "no-cache"
    headers[HTTPFields.Element.Name("X-KDS-Heartbeat")!] = format3(heartbeat)
    headers[HTTPFields.Element.Name("X-Accel-Buffering")!] = "no"
    return Response(
      status: .ok, headers: headers,
      body: ResponseBody { writer in
        await session.run(&writer)
        try? await writer.finish(nil)
      })
  }

  /// The `station` query parameter of `/kds/queue` and `/kds/stream`,
  /// checked against the rule and the token.
  func checkedStation(_ call: Call) throws(APIError) -> String {
    guard let station = call.query["station"], !station.isEmpty else {
      throw APIError.invalid("station", "query parameter is required (e.g. ?station=grill)")
    }
    guard StationName.isValid(station) else {
      throw APIError.invalid("station", "must be \(StationName.rule)")
    }
    guard call.token.allows(station: station) else {
      throw APIError(403, "This device may not read the queue of station \(station)")
    }
    return station
  }
}

/// One open stream: waits for the change feed's hints and the heartbeat,
/// and writes the station's tickets newer than what it sent.
final class StreamSession: Sendable {
  struct Flags {
    var changed = false
    var heartbeat = false
  }
  let service: KDSService
  let station: String
  let since: Int64?
  let token: DeviceToken
  let kioskHeaders: [String: String]
  let flags = Mutex(Flags())

  init(
    service: KDSService, station: String, since: Int64?, token: DeviceToken,
    kioskHeaders: [String: String]
  ) {
    self.service = service
    self.station = station
    self.since = since
    self.token = token
    self.kioskHeaders = kioskHeaders
  }

  /// Until the client goes, the server shuts down or the task is cancelled.
  func run(_ writer: inout any ResponseBodyWriter) async {
    let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    let station = self.station
    // Subscribed before the first read: no change falls between the two.
    let subscription = service.store.changeFeed.subscribe { [self] change in
      guard change.station == station || KitchenTools.isAllStationsView(station) else { return }
      flags.withLock { $0.changed = true }
      wake.yield()
    }
    defer { subscription.cancel() }
    let interval = service.options.streamHeartbeatSeconds
    let heartbeat = Task { [self] in
      while !Task.isCancelled {
        do {
          try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
        } catch { return }
        flags.withLock { $0.heartbeat = true }
        wake.yield()
      }
    }
    defer { heartbeat.cancel() }
    let started = SystemClock.monotonicMillis()
    var cursor = since ?? service.store.highWater(station: station) ?? Int64.min
    var sent = 0
    var reason = "client gone"
    noteKiosk(report: true)
    do {
      try await write(&writer, ": kds-server push stream, station \(station)\nretry: 5000\n\n")
      if since != nil { sent += try await sendNewer(&writer, cursor: &cursor) }
      try await withGracefulShutdownHandler {
        for await _ in wakes {
          let due = flags.withLock { f -> Flags in
            let due = f
            f = Flags()
            return due
          }
          if due.changed { sent += try await sendNewer(&writer, cursor: &cursor) }
          if due.heartbeat {
            noteKiosk(report: false)
            try await write(&writer, ": heartbeat\n\n")
          }
        }
      } onGracefulShutdown: {
        wake.finish()
      }
      reason = Task.isCancelled ? "cancelled" : "server stopping"
    } catch {
      reason = "client gone"
    }
    if service.options.logRequests {
      let seconds = Double(SystemClock.monotonicMillis() - started) / 1000
      service.logger.info(
        "stream closed station=\(station) device=\(token.device) events=\(sent) seconds=\(format3(seconds)) reason=\"\(reason)\""
      )
    }
  }

  /// A kiosk's stream keeps it "seen" on the status page between its
  /// (slower) polls: its self-report on open, then each heartbeat.
  func noteKiosk(report: Bool) {
    guard token.role != .manager else { return }
    guard report else {
      service.kiosks.touch(device: token.device, at: SystemClock.wallMillis())
      return
    }
    let headers = kioskHeaders
    service.kiosks.record(
      KioskReport(device: token.device, station: station, seenAt: SystemClock.wallMillis()) {
        headers[$0]
      })
  }

  func write(_ writer: inout any ResponseBodyWriter, _ text: String) async throws {
    try await writer.write(ByteBuffer(string: text))
  }

  /// Writes the station's tickets updated after `cursor`, oldest first, and
  /// moves `cursor` on; returns how many.
  func sendNewer(_ writer: inout any ResponseBodyWriter, cursor: inout Int64) async throws -> Int {
    let station = self.station
    let sla = service.kitchen.sla
    var count = 0
    while true {
      let after = cursor
      // The expo's stream (`?station=expo`) carries every station (issue 14).
      let all = KitchenTools.isAllStationsView(station)
      let rows = try await service.store.read { db -> [TicketRow] in
        try db.fetchAll(
          sql:
            "SELECT \(TicketRow.columns) FROM tickets WHERE \(all ? "" : "station = ? AND ")updated_at > ? ORDER BY updated_at LIMIT ?",
          arguments: all
            ? [after, KDSService.streamBatch] : [station, after, KDSService.streamBatch]
        ).map(TicketRow.init(row:))
      }
      guard let last = rows.last else { return count }
      let now = SystemClock.wallMillis()
      var out: [UInt8] = []
      for row in rows {
        out += Array("id: \(RFC3339.format(millis: row.updatedAt))\nevent: ticket\ndata: ".utf8)
        out += row.json(now: now, sla: sla)
        out += Array("\n\n".utf8)
      }
      try await writer.write(ByteBuffer(bytes: out))
      cursor = last.updatedAt
      count += rows.count
      if rows.count < KDSService.streamBatch { return count }
    }
  }
}
