import KDSCore
import KDSStore
import Logging
import Synchronization

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// `push = auto | off` (docs/sync-contract.md, "Extension: push stream").
public enum PushMode: String, Sendable, CaseIterable {
  /// Read `GET /kds/stream` beside the poll when the server has it.
  case auto
  /// Poll only.
  case off
}

/// The push stream's state as the status shows it.
public enum PushState: String, Sendable, Hashable {
  /// `push = off`, or the engine is not running.
  case off
  /// Opening (or waiting to reopen) the stream; the poll runs at its interval.
  case connecting
  /// The stream is open and healthy: changes arrive as they happen, the poll slows down.
  case streaming
  /// The server has no stream (404/405): polling as before, asked again later.
  case unsupported
}

/// The push stream's bookkeeping, apart from the engine's `State` (its
/// callbacks run on the HTTP client's thread).
final class PushStream: Sendable {
  struct State {
    var transfer: UInt64?
    /// Bumped on every open, so a late callback of an old stream is ignored.
    var epoch: UInt64 = 0
    var open = false
    var nextAttemptAt: Timestamp?
    var failures = 0
    var unsupportedUntil: Timestamp?
    /// The `id` of the last event applied (a server `updatedAt`, RFC 3339).
    var lastEventID: String?
    /// The server's heartbeat interval (its `X-KDS-Heartbeat` header).
    var heartbeatMillis: Int64 = 15_000
    var active = false
    /// The server (index in the client's list) the stream is open on.
    var server = 0
  }
  let state = Mutex(State())
  /// Read by the poll scheduler without taking `state`.
  let healthy = Atomic<Bool>(false)

  /// Full polls in flight, and tickets pushed meanwhile: a full resync
  /// removes cached tickets missing from its answer, so what the stream
  /// applied after the poll was answered is applied again after it.
  struct Gate {
    var fullPollsInFlight = 0
    var pushedDuringFullPoll: [Ticket] = []
  }
  let gate = Mutex(Gate())

  init() {}
}

/// Server-Sent Events, parsed as the bytes come (text/event-stream).
final class SSEParser: Sendable {
  struct Event: Sendable {
    var id: String?
    var type: String
    var data: String
  }
  struct State {
    var line: [UInt8] = []
    var id: String?
    var type = ""
    var data: [String] = []
    var failed: String?
  }
  let state = Mutex(State())
  let maxLineBytes: Int

  init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

  /// Feeds bytes; returns the events they complete, or nil when a line is
  /// longer than the limit (the stream is to be dropped).
  func feed(_ bytes: UnsafeRawBufferPointer) -> [Event]? {
    state.withLock { s -> [Event]? in
      var events: [Event] = []
      for byte in bytes {
        if byte != 0x0A {
          s.line.append(byte)
          if s.line.count > maxLineBytes { return nil }
          continue
        }
        if s.line.last == 0x0D { s.line.removeLast() }
        let line = String(decoding: s.line, as: UTF8.self)
        s.line.removeAll(keepingCapacity: true)
        if line.isEmpty {
          if !s.data.isEmpty {
            events.append(
              Event(
                id: s.id, type: s.type.isEmpty ? "message" : s.type,
                data: s.data.joined(separator: "\n")))
          }
          s.type = ""
          s.data = []
          continue
        }
        if line.hasPrefix(":") { continue }  // a comment: the heartbeat
        let field: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
          field = line[..<colon]
          value = line[line.index(after: colon)...]
          if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
          field = Substring(line)
          value = ""
        }
        switch field {
        case "id": s.id = String(value)
        case "event": s.type = String(value)
        case "data": s.data.append(String(value))
        default: break
        }
      }
      return events
    }
  }
}

/// The push stream beside the poll: `GET /kds/stream` read with libcurl's
/// streaming callbacks; each ticket event goes through the poll's path into
/// the cache (newer `updatedAt` wins). While the stream is healthy the poll
/// slows to `pushPollIntervalMillis`; the moment it breaks (end of the
/// connection, or nothing for more than two heartbeats) the poll is due at
/// once and back to its interval. A server without the stream (404/405) is
/// asked again every `pushRetryUnsupportedMillis` and on every reconnect.
extension SyncEngine {
  /// The poll's interval now.
  public func pollIntervalMillis() -> Int64 {
    guard push.healthy.load(ordering: .relaxed) else { return config.syncIntervalMillis }
    return max(config.syncIntervalMillis, config.pushPollIntervalMillis)
  }

  /// Opens the stream if it is due (on the sync thread, from `tick`);
  /// returns when it is next due, if it is not open.
  func maintainPush(now: Timestamp) -> Timestamp? {
    guard config.push == .auto else { return nil }
    let (due, next) = push.state.withLock { p -> (Bool, Timestamp?) in
      guard p.active, p.transfer == nil else { return (false, nil) }
      if let until = p.unsupportedUntil {
        if now < until { return (false, until) }
        p.unsupportedUntil = nil
      }
      if let at = p.nextAttemptAt, now < at { return (false, at) }
      return (true, nil)
    }
    if due { openPush(now: now) }
    return next
  }

  func openPush(now: Timestamp) {
    let server = client.activeServerIndex
    let (epoch, lastEventID, heartbeat) = push.state.withLock { p -> (UInt64, String?, Int64) in
      p.epoch += 1
      p.transfer = 0  // opening
      p.open = false
      p.server = server
      return (p.epoch, p.lastEventID, p.heartbeatMillis)
    }
    setPushStatus(.connecting)
    // Resume from the last event, else from the poll's cursor (the event id
    // is the ticket's updatedAt: resuming is `since`).
    let (cursor, report) = state.withLock { ($0.cursor?.iso8601, selfReport($0)) }
    // The later of the two (same fixed-width RFC 3339 form: text order is time order).
    let since = [lastEventID, cursor].compactMap { $0 }.max()
    var path = "/kds/stream?station=\(percentEncodePathSegment(config.station))"
    var headers: [(String, String)] = [("Cache-Control", "no-cache")] + report
    if let since {
      path += "&since=\(percentEncodePathSegment(since))"
      headers.append(("Last-Event-ID", since))
    }
    let parser = SSEParser(maxLineBytes: client.config.maxResponseBytes)
    let handlers = StreamHandlers(
      onOpen: { [self] status, headers in
        return pushOpened(epoch: epoch, headers: headers)
      },
      onBody: { [self] bytes in
        guard let events = parser.feed(bytes) else {
          logOnce("push-line", "push stream: a line longer than the answer limit; reopening")
          return false
        }
        if !events.isEmpty { pushEvents(events, epoch: epoch) }
        return true
      })
    let id = client.openStream(
      path: path, headers: headers, idleTimeoutMillis: Int(2 * heartbeat + 1_000),
      server: server, handlers: handlers
    ) { [self] result in
      pushEnded(epoch: epoch, result)
    }
    let stale = push.state.withLock { p -> Bool in
      if p.epoch == epoch, p.transfer == 0 {
        p.transfer = id
        return false
      }
      return p.epoch != epoch
    }
    // Stopped or moved to another server while it was being opened: closed at once.
    if stale, let id { client.cancel(id, reason: "cancelled: the stream was replaced") }
  }

  /// The polls moved to another server (a failover, or back to the first
  /// one): a stream open (or opening) on the old one is closed and opened
  /// at once on the new one, and the poll is due now for what the switch
  /// may have missed. A stream's own end never moves the polls.
  func followActiveServer(now: Timestamp) {
    guard config.push == .auto else { return }
    let active = client.activeServerIndex
    let old = push.state.withLock { p -> UInt64?? in
      guard p.active, p.server != active else { return nil }
      let transfer = p.transfer
      p.epoch += 1
      p.transfer = nil
      p.open = false
      p.failures = 0
      p.nextAttemptAt = nil
      p.unsupportedUntil = nil
      p.server = active
      return .some(transfer)
    }
    guard let old else { return }
    push.healthy.store(false, ordering: .relaxed)
    if let id = old, id != 0 {
      client.cancel(id, reason: "cancelled: the polls use another server")
    }
    logger.notice("push stream follows the polls to \(client.serverInUse)")
    state.withLock { s in if s.nextPollAt > now { s.nextPollAt = now } }
    openPush(now: now)
  }

  /// The stream answered 2xx: healthy, the poll slows down. Returns the idle
  /// limit from the server's heartbeat.
  func pushOpened(epoch: UInt64, headers: [String: String]) -> Int? {
    let type = headers["content-type"]?.lowercased() ?? ""
    guard type.hasPrefix("text/event-stream") else {
      logOnce("push-type", "push stream answered \(type.isEmpty ? "no type" : type), not events")
      return nil
    }
    var heartbeat: Int64 = 15_000
    if let text = headers["x-kds-heartbeat"], let seconds = Double(text), seconds > 0,
      seconds <= 3_600
    {
      heartbeat = Int64(seconds * 1000)
    }
    let current = push.state.withLock { p -> Bool in
      guard p.epoch == epoch else { return false }
      p.open = true
      p.failures = 0
      p.heartbeatMillis = heartbeat
      return true
    }
    guard current else { return nil }
    push.healthy.store(true, ordering: .relaxed)
    logger.notice(
      "push stream open: changes arrive as they happen; polling every \(pollIntervalMillis() / 1000) s"
    )
    setPushStatus(.streaming)
    return Int(2 * heartbeat + 1_000)
  }

  /// Ticket events: into the cache through the poll's path, as one batch.
  func pushEvents(_ events: [SSEParser.Event], epoch: UInt64) {
    // A stream being closed by `stop()`: the store may be closing too.
    guard !stopping.load(ordering: .relaxed) else { return }
    var tickets: [Ticket] = []
    var lastID: String?
    for event in events where event.type == "ticket" {
      lastID = event.id ?? lastID
      do {
        let batch = try TicketBatch.decode(Data(("[" + event.data + "]").utf8))
        for (_, reason) in batch.skipped {
          logOnce("bad-ticket", "bad ticket in the push stream skipped: \(reason)")
        }
        tickets += batch.tickets
      } catch {
        logOnce(
          "push-malformed", "push stream: an event that is not a ticket skipped: \(describe(error))"
        )
      }
    }
    if !tickets.isEmpty {
      let (accepted, _) = acceptable(tickets)
      applyPushed(accepted)
    }
    if let lastID {
      push.state.withLock { p in if p.epoch == epoch { p.lastEventID = lastID } }
    }
  }

  /// The stream ended: the poll is due now and back to its interval; the
  /// stream is opened again after a backoff, or later for a server without it.
  func pushEnded(epoch: UInt64, _ result: Result<HTTPResponse, HTTPFailure>) {
    let now = schedule.now()
    let stopped = stopping.load(ordering: .relaxed)
    var unsupported = false
    var reason: String
    switch result {
    case .success(let response):
      unsupported = response.status == 404 || response.status == 405
      reason =
        (200..<300).contains(response.status)
        ? "the server ended it" : "HTTP \(response.status)"
    case .failure(let failure):
      reason = failure.description
    }
    let (current, wasOpen, retryIn) = push.state.withLock { p -> (Bool, Bool, Int64) in
      guard p.epoch == epoch else { return (false, false, 0) }
      let wasOpen = p.open
      p.transfer = nil
      p.open = false
      var retry: Int64 = 0
      if unsupported {
        p.unsupportedUntil = now.adding(millis: config.pushRetryUnsupportedMillis)
        retry = config.pushRetryUnsupportedMillis
      } else {
        p.failures = wasOpen ? 1 : p.failures + 1
        retry = min(30_000, 1_000 << Int64(min(p.failures - 1, 5)))
        p.nextAttemptAt = now.adding(millis: retry)
      }
      return (true, wasOpen, retry)
    }
    guard current else { return }
    push.healthy.store(false, ordering: .relaxed)
    if stopped { return }
    if unsupported {
      logOnce(
        "push-unsupported",
        "the server has no push stream (\(reason)): polling every \(config.syncIntervalMillis / 1000) s; asking again in \(retryIn / 60_000) min"
      )
      setPushStatus(.unsupported)
    } else {
      if wasOpen {
        logger.warning(
          "push stream lost (\(reason)): polling every \(config.syncIntervalMillis / 1000) s; reopening in \(retryIn / 1000) s"
        )
      } else {
        logger.debug("push stream not opened (\(reason)); again in \(retryIn / 1000) s")
      }
      setPushStatus(.connecting)
    }
    if wasOpen {
      // Whatever the stream missed: poll now.
      state.withLock { s in if s.nextPollAt > now { s.nextPollAt = now } }
    }
    wake.signal()
  }

  /// The engine starts: the stream may open.
  func startPush() {
    guard config.push == .auto else { return }
    push.state.withLock { p in
      p.active = true
      p.nextAttemptAt = nil
      p.failures = 0
    }
  }

  /// The engine stops: the stream is closed.
  func stopPush() {
    let id = push.state.withLock { p -> UInt64? in
      p.active = false
      p.epoch += 1
      defer { p.transfer = nil }
      p.open = false
      return p.transfer
    }
    push.healthy.store(false, ordering: .relaxed)
    if let id, id != 0 { client.cancel(id, reason: "cancelled: the sync is stopping") }
    setPushStatus(.off)
  }

  /// The server answered again after a failure: a server without the stream
  /// may have been upgraded, and a broken stream may open at once.
  func retryPushOnReconnect() {
    push.state.withLock { p in
      p.unsupportedUntil = nil
      p.nextAttemptAt = nil
    }
  }

  func setPushStatus(_ value: PushState) {
    let changed = state.withLock { s -> Bool in
      guard s.status.push != value else { return false }
      s.status.push = value
      return true
    }
    if changed { changes.signal() }
  }

  /// Tickets from the stream into the cache and on screen now.
  func applyPushed(_ tickets: [Ticket]) {
    guard !tickets.isEmpty else { return }
    push.gate.withLock { gate in
      if gate.fullPollsInFlight > 0 { gate.pushedDuringFullPoll += tickets }
      let changes = applyTickets(tickets, full: false, complete: false, now: nil)
      if let changes, !changes.changed.isEmpty {
        logger.info("push: \(changes.changed.count) tickets updated")
      }
    }
    changes.signal()
  }
}
