import Synchronization

/// A ticket a committed write changed: its station and its new `updatedAt`.
public struct TicketChange: Sendable, Hashable {
  public var station: String
  public var updatedAt: Int64

  public init(station: String, updatedAt: Int64) {
    self.station = station
    self.updatedAt = updatedAt
  }
}

/// Where the push streams (`GET /kds/stream`) learn that tickets changed.
///
/// A change is a hint, not the data: a stream that hears of one reads its
/// station's tickets newer than what it already sent from the database, so
/// a missed, merged or repeated hint costs nothing but a read. That keeps
/// the contract small enough for other feeds: today the in-process one the
/// writing paths signal after their commit; later, say, a PostgreSQL
/// `LISTEN` loop calling `publish` for the `NOTIFY`s of other servers.
public protocol TicketChangeFeed: Sendable {
  /// Calls `onChange` for every change published from now on, until the
  /// subscription is cancelled. `onChange` must be quick (it runs on the
  /// publisher's thread).
  func subscribe(_ onChange: @escaping @Sendable (TicketChange) -> Void) -> ChangeSubscription
  /// Announces committed changes to every subscriber.
  func publish(_ changes: [TicketChange])
}

/// A subscription to a `TicketChangeFeed`; `cancel()` ends it (also at deinit).
public final class ChangeSubscription: Sendable {
  let onCancel: @Sendable () -> Void
  let cancelled = Atomic<Bool>(false)

  init(onCancel: @escaping @Sendable () -> Void) { self.onCancel = onCancel }

  public func cancel() {
    if !cancelled.exchange(true, ordering: .relaxed) { onCancel() }
  }

  deinit { cancel() }
}

/// The feed of one server process: the writes of this process, as they commit.
public final class InProcessChangeFeed: TicketChangeFeed {
  struct Subscribers {
    var next: UInt64 = 0
    var handlers: [UInt64: @Sendable (TicketChange) -> Void] = [:]
  }
  let subscribers = Mutex(Subscribers())

  public init() {}

  public var subscriberCount: Int { subscribers.withLock { $0.handlers.count } }

  public func subscribe(_ onChange: @escaping @Sendable (TicketChange) -> Void)
    -> ChangeSubscription
  {
    let id = subscribers.withLock { s -> UInt64 in
      s.next += 1
      s.handlers[s.next] = onChange
      return s.next
    }
    return ChangeSubscription { [weak self] in
      _ = self?.subscribers.withLock { $0.handlers.removeValue(forKey: id) }
    }
  }

  public func publish(_ changes: [TicketChange]) {
    guard !changes.isEmpty else { return }
    let handlers = subscribers.withLock { Array($0.handlers.values) }
    for handler in handlers {
      for change in changes { handler(change) }
    }
  }
}

/// Two kds-server processes may share one SQLite file (docs/deploy.md): the
/// in-process feed only hears this process's writes, so every
/// `OtherWriterWatch.interval` the store reads `meta.clock`, and when it moved
/// past everything this process stamped or already noticed, reads which
/// stations changed since and announces them like its own commits (raising
/// the `since` high-water marks and waking the push streams).
final class OtherWriterWatch: Sendable {
  static let interval: Duration = .milliseconds(500)
  /// The largest clock already announced (by a commit here or a check).
  let seen: Mutex<Int64>

  init(seen: Int64) { self.seen = Mutex(seen) }
}

extension ServerStore {
  func startWatchingOtherWriters() {
    Task.detached { [weak self] in
      while !Task.isCancelled {
        do { try await Task.sleep(for: OtherWriterWatch.interval) } catch { return }
        guard let store = self else { return }
        await store.checkOtherWriters()
      }
    }
  }

  /// One check: announces the tickets another process committed since the
  /// last check. A failed read (a busy or closing file) waits for the next.
  func checkOtherWriters() async {
    let own = clock.lastStamp
    let seen = otherWriters.seen.withLock { s -> Int64 in
      s = max(s, own)
      return s
    }
    guard
      let (dbClock, touched) = try? await read({ db -> (Int64, [TicketTouch])? in
        let dbClock =
          try db.fetchOne(Int64.self, sql: "SELECT value FROM meta WHERE key = 'clock'") ?? 0
        guard dbClock > seen else { return nil }
        let rows = try db.fetchAll(
          sql: "SELECT station, MAX(updated_at) FROM tickets WHERE updated_at > ? GROUP BY station",
          arguments: [seen])
        return (dbClock, rows.map { TicketTouch(station: $0[0], updatedAt: $0[1]) })
      })
    else { return }
    otherWriters.seen.withLock { $0 = max($0, dbClock) }
    noteCommitted(touched)
  }
}
