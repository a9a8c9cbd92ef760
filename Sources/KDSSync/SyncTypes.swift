import KDSCore

/// The sync loop's settings.
public struct SyncConfig: Sendable {
  public var station: String
  /// Poll `GET /kds/queue` this often (5 s; docs/sync-contract.md,
  /// "Tickets and the queue").
  public var syncIntervalMillis: Int64 = 5_000
  /// `since` = largest server `updatedAt` received minus this.
  public var overlapMillis: Int64 = 30_000
  /// A full resync (no `since`) this often, and after every reconnect.
  public var fullResyncEveryMillis: Int64 = 600_000
  /// Failing polls for longer than this, or `offlineAfterFailures` in a row: offline.
  public var offlineAfterMillis: Int64 = 30_000
  public var offlineAfterFailures = 3
  /// A ticket with more items than this is refused as unusable (logged, skipped).
  public var maxItemsPerTicket = 200
  public var policy = QueuePolicy.standard
  /// Done operations are kept this long (for `kdsctl queue`), then removed.
  public var doneRetentionMillis: Int64 = 3_600_000
  /// Sent as `X-KDS-Version` on every poll (the server's status page shows it).
  public var version = "unknown"
  /// Sent as `X-KDS-Display` on every poll, e.g. `drm 1920x1080`.
  public var displayDescription: String?
  /// The push stream beside the poll (`GET /kds/stream`); the daemon sets
  /// it from `push = auto | off`. Off here: an engine driven by `tick()`
  /// alone (tests, benchmarks) only polls.
  public var push = PushMode.off
  /// The poll's interval while the push stream is healthy (never less than
  /// `syncIntervalMillis`).
  public var pushPollIntervalMillis: Int64 = 30_000
  /// A server without the stream (404) is asked again this often (and on every reconnect).
  public var pushRetryUnsupportedMillis: Int64 = 600_000

  public init(station: String) { self.station = station }
}

/// The connection as the banner shows it, and what the sync knows of the server.
public struct SyncStatus: Hashable, Sendable {
  public var connection: ConnectionState = .reconnecting
  /// Server time of the last successful poll.
  public var lastSyncAt: Timestamp?
  public var consecutiveFailures = 0
  /// Device time of the first failure of the current run of failures.
  public var failingSince: Timestamp?
  /// Set while the server answers 401 or 403.
  public var authProblem: String?
  /// Set while the server's answers are unusable (malformed, too large...).
  public var badAnswer: String?
  /// Extensions the server lacks (404/405 on start or recall).
  public var disabledActions: Set<TicketAction> = []
  /// Stored rows that could not be read and were set aside (the quarantine table).
  public var damagedRecords = 0
  public var clock = ServerClockEstimator()
  /// The push stream: off, connecting, streaming or unsupported.
  public var push = PushState.off

  public init() {}
}

/// A consistent read of the sync's state, for the screen and the control socket.
public struct SyncView: Sendable {
  /// Changes whenever tickets, operations or the status change.
  public var generation: UInt64
  public var tickets: [String: Ticket]
  /// Operations not done (pending, in flight, failed), in queue order.
  public var operations: [QueuedOperation]
  public var status: SyncStatus
  public var policy: QueuePolicy

  public var outstandingCount: Int { operations.reduce(0) { $0 + ($1.isOutstanding ? 1 : 0) } }
  public var failedCount: Int { operations.reduce(0) { $0 + ($1.state == .failed ? 1 : 0) } }
  public var isQueueFull: Bool { outstandingCount >= policy.maxOutstanding }
}
