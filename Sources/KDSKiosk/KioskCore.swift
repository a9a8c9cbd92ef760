import KDSCore
import KDSStore
import KDSSync
import Logging

/// Draws a board. The renderer and the display (DRM, fbdev, PNG snapshots)
/// plug in here; `--display none` uses `NullPresenter`.
///
/// Called on the daemon's event-loop thread: on every change and every second.
public protocol BoardPresenter: AnyObject {
  func present(_ snapshot: BoardSnapshot)
}

/// A presenter that draws nothing (headless runs); it counts and keeps the last snapshot.
public final class NullPresenter: BoardPresenter {
  public private(set) var presented = 0
  public private(set) var last: BoardSnapshot?
  public init() {}
  public func present(_ snapshot: BoardSnapshot) {
    presented += 1
    last = snapshot
  }
}

/// What became of a chef's action from the keyboard, bump bar, touch or kdsctl.
public enum KioskActionOutcome: Hashable, Sendable {
  /// Done (for an operation: durably queued, so safe to show as done).
  case done(String)
  /// Refused, with the reason to show.
  case refused(String)

  public var isDone: Bool {
    if case .done = self { return true }
    return false
  }
}

/// The chef's actions, for input devices (keyboard, bump bar, touch). All
/// calls are made on the daemon's event-loop thread.
public protocol KioskActions: AnyObject {
  /// Bumps (marks ready) the selected ticket, or the oldest one if none is selected.
  @discardableResult func bumpSelected() -> KioskActionOutcome
  /// Starts (QUEUED → IN_PROGRESS) the selected ticket.
  @discardableResult func startSelected() -> KioskActionOutcome
  /// Un-bumps the ticket bumped last on this screen.
  @discardableResult func recallLast() -> KioskActionOutcome
  /// Puts failed operations back in the queue: the selected ticket's, or all.
  @discardableResult func retryFailed() -> KioskActionOutcome
  func selectNextTicket()
  func selectPreviousTicket()
  func nextPage()
  func previousPage()
  /// Selects a ticket (a tap on its card), or nothing.
  func select(ticketId: String?)
  /// Bumps a given ticket (a tap on its bump button).
  @discardableResult func bump(ticketId: String) -> KioskActionOutcome
  /// Starts a given ticket.
  @discardableResult func start(ticketId: String) -> KioskActionOutcome
}

/// The kiosk's state for the screen: tickets and queue from the sync engine,
/// plus the selection and page; turns them into `BoardSnapshot`s and carries
/// out chef actions and control-socket requests. Not thread-safe: use it from
/// the event-loop thread (the engine it drives is thread-safe).
public final class KioskCore: KioskActions {
  public let engine: SyncEngine
  public var thresholds: SLAThresholds
  public var zoom: Double = 1.0
  /// The number of pages the layout made of the last snapshot, when the renderer knows it.
  public var pageCount: Int?
  public private(set) var selectedTicketId: String?
  public private(set) var page = 0
  let logger: Logger
  /// Lines the banner shows for as long as the daemon runs (a corrupt
  /// database set aside at start-up, say); `kdsctl status` lists them too.
  public var notices: [String] = []
  /// The last action refused because the store could not save it (a full
  /// disk): on the banner until an action is saved again.
  public private(set) var storageProblem: String?
  var composition: (generation: UInt64, result: BoardComposition.Result)?

  public init(
    engine: SyncEngine, thresholds: SLAThresholds, logger: Logger = Logger(label: "kds.kiosk")
  ) {
    self.engine = engine
    self.thresholds = thresholds
    self.logger = logger
  }

  public var station: String { engine.config.station }

  // MARK: snapshots

  /// The board as it stands: active tickets after this kiosk's outstanding
  /// operations (a bump is off the screen at once, online or not).
  public func snapshot() -> BoardSnapshot {
    let view = engine.view()
    let composed: BoardComposition.Result
    if let cached = composition, cached.generation == view.generation {
      // Nothing changed since the last frame but the clock: reuse the board.
      composed = cached.result
    } else {
      composed = BoardComposition.compose(
        cache: view.tickets.values, operations: view.operations, station: station)
      composition = (view.generation, composed)
    }
    selectedTicketId = KitchenSelection.kept(selectedTicketId, shown: composed.tickets)
    return BoardSnapshot(
      station: station, tickets: composed.tickets, now: engine.serverNow(),
      connection: view.status.connection, lastSyncAt: view.status.lastSyncAt,
      pendingOperations: view.outstandingCount,
      alerts: Self.alerts(view)
        + (notices + [storageProblem].compactMap { $0 }).map { .message($0) },
      marks: composed.marks, selectedTicketId: selectedTicketId, page: page,
      thresholds: thresholds, zoom: zoom)
  }

  static func alerts(_ view: SyncView) -> [BoardAlert] {
    var alerts: [BoardAlert] = []
    if let auth = view.status.authProblem { alerts.append(.notAuthorised(auth)) }
    if view.isQueueFull { alerts.append(.queueFull) }
    if view.failedCount > 0 { alerts.append(.failedOperations(view.failedCount)) }
    for action in TicketAction.allCases where view.status.disabledActions.contains(action) {
      alerts.append(.actionUnavailable(action.rawValue))
    }
    if let bad = view.status.badAnswer { alerts.append(.message(bad)) }
    let damaged = view.status.damagedRecords
    if damaged > 0 {
      alerts.append(
        .message(
          "\(damaged) damaged record\(damaged == 1 ? "" : "s") set aside (see kdsctl status)"))
    }
    return alerts
  }

  /// One line of text per alert (the control socket, logs).
  public static func text(of alert: BoardAlert) -> String {
    switch alert {
    case .queueFull: QueuePolicy.queueFullMessage
    case .notAuthorised(let s): s
    case .failedOperations(let n): "Sync failed - tap to retry (\(n) operation\(n == 1 ? "" : "s"))"
    case .actionUnavailable(let a):
      "\(a.capitalized) is not available: the server does not support it"
    case .message(let s): s
    }
  }

  // MARK: KioskActions

  func outcome(_ body: () throws(ActionError) -> ActionResult) -> KioskActionOutcome {
    switch noted(Result { () throws(ActionError) in try body() }) {
    case .success(let result): .done(result.message)
    case .failure(let error): .refused(error.message)
    }
  }

  /// Keeps a storage failure on the banner (and clears it once an action is
  /// saved): a bump the disk refused must not look done.
  func noted(_ r: Result<ActionResult, ActionError>) -> Result<ActionResult, ActionError> {
    switch r {
    case .success(.queued): storageProblem = nil
    case .success: break
    case .failure(let e) where e.kind == .storage:
      storageProblem = "Action NOT saved (storage error): \(e.message)"
      logger.error("action refused by the store: \(e.message)")
    case .failure: break
    }
    return r
  }

  var visibleTickets: [Ticket] { snapshot().tickets }

  @discardableResult
  public func bump(ticketId: String) -> KioskActionOutcome {
    let before = visibleTickets
    let result = outcome { () throws(ActionError) in try engine.perform(.bump, ticketId: ticketId) }
    if result.isDone {
      // The selection moves to the ticket that took the bumped one's place.
      selectedTicketId = KitchenSelection.afterRemoving(
        ticketId, selected: selectedTicketId, shown: before)
    }
    return result
  }

  @discardableResult
  public func start(ticketId: String) -> KioskActionOutcome {
    outcome { () throws(ActionError) in try engine.perform(.start, ticketId: ticketId) }
  }

  @discardableResult
  public func bumpSelected() -> KioskActionOutcome { actOnSelected(.bump) }

  @discardableResult
  public func startSelected() -> KioskActionOutcome { actOnSelected(.start) }

  /// Bumps or starts the selected ticket, or the first one shown.
  func actOnSelected(_ kind: TicketAction) -> KioskActionOutcome {
    guard let id = KitchenSelection.target(selected: selectedTicketId, shown: visibleTickets)
    else { return .refused("no ticket to \(kind.rawValue)") }
    return kind == .bump ? bump(ticketId: id) : start(ticketId: id)
  }

  @discardableResult
  public func recallLast() -> KioskActionOutcome {
    outcome { () throws(ActionError) in try engine.recallLast() }
  }

  @discardableResult
  public func retryFailed() -> KioskActionOutcome {
    var n = 0
    if let id = selectedTicketId { n = engine.retryFailed(ticketId: id) }
    if n == 0 { n = engine.retryFailed() }
    return n == 0 ? .refused("no failed operation") : .done("\(n) operation(s) queued again")
  }

  public func selectNextTicket() { moveSelection(by: 1) }
  public func selectPreviousTicket() { moveSelection(by: -1) }

  func moveSelection(by delta: Int) {
    selectedTicketId = KitchenSelection.moved(
      by: delta, selected: selectedTicketId, shown: visibleTickets)
  }

  public func nextPage() { page = KitchenSelection.nextPage(after: page, pageCount: pageCount) }

  public func previousPage() { page = max(0, page - 1) }

  public func select(ticketId: String?) { selectedTicketId = ticketId }

  // MARK: control socket

  /// The state `kdsctl status` prints.
  /// Whether the screen animates at `millis` (monotonic): a hold in progress,
  /// a NEW header pulse. The daemon then draws at animation rate, not once a second.
  public func isAnimating(atMonotonicMillis millis: Int64) -> Bool {
    false
  }

  public func status() -> KioskStatus {
    let view = engine.view()
    let snap = snapshot()
    var status = KioskStatus(
      station: station, connection: view.status.connection.rawValue,
      lastSyncAt: view.status.lastSyncAt?.iso8601, pendingOps: view.outstandingCount,
      failedOps: view.failedCount, tickets: snap.tickets.count, cachedTickets: view.tickets.count,
      alerts: snap.alerts.map(Self.text(of:)),
      disabledActions: TicketAction.allCases.filter { view.status.disabledActions.contains($0) }
        .map(\.rawValue),
      serverClockOffsetMillis: view.status.clock.offsetMillis, selectedTicketId: selectedTicketId,
      page: page)
    status.damagedRecords = view.status.damagedRecords
    status.push = view.status.push.rawValue
    status.pollIntervalSeconds = Double(engine.pollIntervalMillis()) / 1000
    return status
  }

  /// Answers one control-socket request.
  public func handle(_ request: ControlRequest) -> ControlResponse {
    func respond(_ r: Result<ActionResult, ActionError>) -> ControlResponse {
      switch noted(r) {
      case .success(let result):
        var response = ControlResponse(ok: true, message: result.message)
        if case .queued(let op) = result { response.operation = OperationInfo(op) }
        return response
      case .failure(let e):
        return .failure(e.message)
      }
    }
    switch request.cmd {
    case "status":
      return ControlResponse(ok: true, status: status())
    case "bump", "start":
      guard let ticket = request.ticket, !ticket.isEmpty else {
        return .failure("\(request.cmd) needs a ticket id")
      }
      let kind: TicketAction = request.cmd == "bump" ? .bump : .start
      return respond(
        Result { () throws(ActionError) in try engine.perform(kind, ticketId: ticket) })
    case "recall":
      return respond(Result { () throws(ActionError) in try engine.recallLast() })
    case "queue":
      do {
        let ops = try engine.store.operations(includeDone: true)
        return ControlResponse(ok: true, operations: ops.map(OperationInfo.init))
      } catch {
        return .failure("could not read the queue: \(error)")
      }
    case "retry":
      guard let op = request.op, !op.isEmpty else { return .failure("retry needs an operation id") }
      do {
        let retried = try engine.retry(operationId: op)
        return ControlResponse(
          ok: true, message: "queued again: \(retried.kind.rawValue) \(retried.id)",
          operation: OperationInfo(retried))
      } catch {
        return .failure(error.message)
      }
    default:
      return .failure("unknown command \(request.cmd)")
    }
  }
}
