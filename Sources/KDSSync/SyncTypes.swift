import KDSCore
import KDSSystem

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
  /// The kitchen's UTC offset at a time, for failure reasons ("voided at
  /// 12:31"): the system's time zone.
  public var utcOffsetSeconds: @Sendable (Timestamp) -> Int = { t in
    SystemClock.localOffsetSeconds(atWallMillis: t.millis)
  }
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
  /// The server's SLA thresholds (`X-KDS-SLA`), nil until it sends them.
  public var serverThresholds: SLAThresholds?
  public var clock = ServerClockEstimator()
  /// Polls answered usably since this engine started (0: the board is still
  /// the one from before the start, nothing on it is new).
  public var usablePolls = 0
  /// The last reconnect that replayed operations, once its replay finished.
  public var lastReconnect: ReconnectSummary?
  /// The push stream: off, connecting, streaming or unsupported.
  public var push = PushState.off

  public init() {}

  /// Server time since which the polls fail (the banner's "Offline since 12:31").
  public var failingSinceServerTime: Timestamp? {
    failingSince.map { clock.serverTime(at: $0) }
  }
}

/// What a reconnect's replay came to: the reconnect strip's
/// "7 bumps sent · 1 refused (#1042 voided 12:31) · 3 new tickets".
public struct ReconnectSummary: Hashable, Sendable {
  public struct Refusal: Hashable, Sendable {
    public var ticketId: String
    public var kind: TicketAction
    /// In kitchen words ("voided at 12:31").
    public var reason: String
  }
  /// Counts one summary from the next.
  public var serial: Int = 0
  /// Operations the server took, by kind.
  public var sent: [TicketAction: Int] = [:]
  public var refused: [Refusal] = []
  /// Active tickets the reconnecting poll brought that the kiosk did not have.
  public var newTickets = 0
  /// Device time (the sync's time line) the replay finished.
  public var finishedAt: Timestamp?

  public init() {}

  public var isEmpty: Bool { sent.isEmpty && refused.isEmpty }
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
  /// Item marks kept on this kiosk (issue 14): ticket id → line key → done at.
  public var localItemMarks: [String: [String: Timestamp]] = [:]
  /// Item marks stay on this kiosk (the server lacks them).
  public var itemMarksLocal = false

  public var outstandingCount: Int { operations.reduce(0) { $0 + ($1.isOutstanding ? 1 : 0) } }
  public var failedCount: Int { operations.reduce(0) { $0 + ($1.state == .failed ? 1 : 0) } }
  public var isQueueFull: Bool { outstandingCount >= policy.maxOutstanding }
}
