import KDSCore

/// What an answer (or its absence) from one server of the list means for
/// the failover (docs/deploy.md, "When the kiosk switches servers").
public enum FailoverDecision: Sendable, Hashable {
  /// The server's own answer (2xx, 3xx, any 4xx including 409, 422 and 429,
  /// 501): it stands, nothing switches.
  case keep
  /// A 500 from one replica: this idempotent request is tried once on the
  /// next server too; the server in use stays (another request may well work).
  case retryElsewhere
  /// No answer (refused, timeout, reset, DNS, TLS) or 502/503/504 (a load
  /// balancer without a backend, a replica whose database is gone): the
  /// server in use moves to the next one, and an idempotent request is tried
  /// there at once.
  case switchServer

  public static func of(_ result: Result<HTTPResponse, HTTPFailure>) -> FailoverDecision {
    switch result {
    case .success(let r):
      switch r.status {
      case 502, 503, 504: return .switchServer
      case 500: return .retryElsewhere
      default: return .keep
      }
    case .failure(let f):
      switch f.kind {
      case .refused, .timeout, .reset, .dns, .tls: return .switchServer
      // A cancelled request (the sync stops), an answer too large: not the server's health.
      case .other: return .keep
      }
    }
  }
}

/// The servers of `server = a, b, c`, which one is in use, and each one's
/// health. Pure bookkeeping (the client holds it under a lock):
///
/// - a server that fails (`switchServer`) is skipped for `backoffMillis`;
///   when it was the one in use, the first of the list (in order) not being
///   skipped takes over; when every server is skipped, the next one in
///   order is tried anyway (never "no server");
/// - while a server other than the first is in use, the ones before it are
///   probed every `probeMillis` (`probeDue`); the first that answers takes
///   over again (`probeAnswered`).
struct ServerList: Sendable {
  struct Entry: Sendable, Hashable {
    var url: String
    var lastError: String?
    var lastErrorAt: Timestamp?
    var lastAnswerAt: Timestamp?
    var skipUntil: Timestamp?
  }
  var entries: [Entry]
  var active = 0
  var probeMillis: Int64
  var backoffMillis: Int64
  /// When the servers before the one in use are probed next.
  var nextProbeAt: Timestamp?

  init(urls: [String], probeMillis: Int64, backoffMillis: Int64) {
    entries = urls.map { Entry(url: $0) }
    self.probeMillis = probeMillis
    self.backoffMillis = backoffMillis
  }

  func isSkipped(_ i: Int, now: Timestamp) -> Bool {
    entries[i].skipUntil.map { now < $0 } ?? false
  }

  /// Whether every server failed recently (none answered since its last failure).
  func allDown(now: Timestamp) -> Bool {
    !entries.isEmpty && entries.indices.allSatisfy { isSkipped($0, now: now) }
  }

  /// A server answered (any answer that is not a failure of the server).
  mutating func answered(_ i: Int, now: Timestamp) {
    guard entries.indices.contains(i) else { return }
    entries[i].lastAnswerAt = now
    entries[i].skipUntil = nil
  }

  /// A server failed. Returns the switch (from, to) when the one in use moved.
  mutating func failed(_ i: Int, reason: String, decision: FailoverDecision, now: Timestamp)
    -> (from: Int, to: Int)?
  {
    guard entries.indices.contains(i) else { return nil }
    entries[i].lastError = reason
    entries[i].lastErrorAt = now
    guard decision == .switchServer else { return nil }
    entries[i].skipUntil = now.adding(millis: backoffMillis)
    guard i == active, entries.count > 1 else { return nil }
    let next =
      entries.indices.first { $0 != i && !isSkipped($0, now: now) } ?? (i + 1) % entries.count
    active = next
    if next != 0, nextProbeAt == nil || nextProbeAt! < now {
      nextProbeAt = now.adding(millis: probeMillis)
    }
    return (i, next)
  }

  /// The servers to probe now (those before the one in use, in order), or
  /// none when not due; the next probe is scheduled.
  mutating func probeDue(now: Timestamp) -> [Int] {
    guard active > 0 else {
      nextProbeAt = nil
      return []
    }
    if let at = nextProbeAt, now < at { return [] }
    nextProbeAt = now.adding(millis: probeMillis)
    return Array(0..<active)
  }

  /// A probe of `i` got a usable answer: it takes over if it comes before
  /// the one in use. Returns the switch (from, to).
  mutating func probeAnswered(_ i: Int, now: Timestamp) -> (from: Int, to: Int)? {
    answered(i, now: now)
    guard i < active else { return nil }
    let from = active
    active = i
    if active == 0 { nextProbeAt = nil }
    return (from, i)
  }

  /// The next server for a request that failed on `tried.last`: the one in
  /// use if not tried yet, else the first untried one not skipped, else the
  /// first untried one.
  func retryTarget(tried: [Int], now: Timestamp) -> Int? {
    if !tried.contains(active) { return active }
    let untried = entries.indices.filter { !tried.contains($0) }
    return untried.first { !isSkipped($0, now: now) } ?? untried.first
  }

  func report(now: Timestamp) -> [ServerStatus] {
    entries.indices.map { i in
      let e = entries[i]
      return ServerStatus(
        url: e.url, active: i == active, lastError: e.lastError,
        lastErrorAt: e.lastErrorAt?.iso8601, lastAnswerAt: e.lastAnswerAt?.iso8601,
        skippedUntil: isSkipped(i, now: now) ? e.skipUntil?.iso8601 : nil)
    }
  }
}
