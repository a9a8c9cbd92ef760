import KDSCore
import KDSInput
import KDSRender
import Logging

/// Turns touch taps and bump-bar keys into the chef's actions, and keeps the
/// daemon's event loop watching every input device as they come and go.
///
/// The daemon owns its bridge (`KioskDaemon.input`); the bridge's way back is
/// weak, so neither keeps the other alive. Without a daemon it does nothing.
public final class InputBridge {
  public let manager: InputManager
  private weak var daemon: KioskDaemon?
  private weak var screen: ScreenPresenter?
  private var watched: Set<Int32> = []
  private let logger: Logger

  public init(manager: InputManager, daemon: KioskDaemon, screen: ScreenPresenter?, logger: Logger)
  {
    self.manager = manager
    self.daemon = daemon
    self.screen = screen
    self.logger = logger
  }

  /// Opens the devices there are and starts following hotplug.
  public func start() throws {
    handle(try manager.start())
    rewatch()
  }

  /// The devices in use, for `kdsctl status`.
  public var deviceNames: [String] { manager.openDevices.map(\.description) }

  /// Reads whatever the devices have to say (called when one is readable).
  public func service() {
    handle(manager.handleEvents())
    rewatch()
  }

  public func close() {
    for fd in watched { daemon?.removeSource(fd: fd) }
    watched.removeAll()
    manager.close()
  }

  private func rewatch() {
    guard let daemon else { return }
    let now = Set(manager.pollDescriptors)
    for fd in watched.subtracting(now) { daemon.removeSource(fd: fd) }
    for fd in now.subtracting(watched) {
      daemon.addSource(fd: fd) { [weak self] in self?.service() }
    }
    watched = now
  }

  func handle(_ events: [InputEvent]) {
    guard let actions = daemon?.actions else { return }
    for event in events {
      switch event {
      case .action(let action, let time, let device):
        let outcome = perform(action, on: actions)
        screen?.pendingInputTime = time
        if let outcome, !outcome.isDone {
          logger.notice("\(action.rawValue) from \(device): \(outcome)")
        }
      case .tap(let x, let y, let time):
        screen?.pendingInputTime = time
        tap(x: x, y: y, actions: actions)
      case .deviceAdded(let info):
        logger.notice("input device added: \(info)")
      case .deviceRemoved(let path, let name):
        logger.notice("input device removed: \(name) (\(path))")
      case .keyPress:
        break
      }
    }
  }

  @discardableResult
  func perform(_ action: KioskInputAction, on actions: any KioskActions) -> KioskActionOutcome? {
    switch action {
    case .nextTicket: actions.selectNextTicket()
    case .previousTicket: actions.selectPreviousTicket()
    case .nextPage: actions.nextPage()
    case .previousPage: actions.previousPage()
    case .bump: return actions.bumpSelected()
    case .start: return actions.startSelected()
    case .recallLast: return actions.recallLast()
    case .retryFailed: return actions.retryFailed()
    }
    return nil
  }

  /// A tap selects a card; a tap on the card already selected bumps it. The
  /// banner's Recall button recalls, the page indicator turns the page, and
  /// "tap to retry" (on a card or in the alerts) retries failed operations.
  func tap(x: Int, y: Int, actions: any KioskActions) {
    guard let daemon, let target = screen?.renderer.hitTest(x: x, y: y) else { return }
    switch target {
    case .ticket(let id, .retry):
      actions.retryFailed()
      actions.select(ticketId: id)
    case .ticket(let id, _):
      if daemon.core.selectedTicketId == id {
        let outcome = actions.bump(ticketId: id)
        if !outcome.isDone { logger.notice("tap bump \(id): \(outcome)") }
      } else {
        actions.select(ticketId: id)
      }
    case .recall:
      let outcome = actions.recallLast()
      if !outcome.isDone { logger.notice("tap recall: \(outcome)") }
    case .pageIndicator:
      let before = daemon.core.page
      actions.nextPage()
      if daemon.core.page == before {
        while daemon.core.page > 0 { actions.previousPage() }  // wrap to the first page
      }
    case .alerts:
      actions.retryFailed()
    case .status:
      break
    }
  }
}
