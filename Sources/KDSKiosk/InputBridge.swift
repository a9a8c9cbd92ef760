import KDSCore
import KDSInput
import KDSRender
import KDSSystem
import Logging

/// Turns touches and bump-bar keys into the chef's actions, and keeps the
/// daemon's event loop watching every input device as they come and go.
///
/// Touch (see docs/touch-and-keys.md): a tap only selects. A press-and-hold
/// on a card (`holdMillis`, `hold_to_bump_ms`) bumps it, on its status chip
/// starts it, on its failure line dismisses the failure; a ring fills on the
/// card while the finger is down (`KioskCore.hold`). Lifting early does
/// nothing, sliding off the part held cancels, a second contact (a palm)
/// cancels and nothing at all happens until every finger lifted. The hold
/// timer runs on the daemon's loop with the monotonic clock (`tick`).
///
/// `kdsctl input tap|hold|key` come in through the control socket and take
/// the same path: a key name through the key map, a point through the same
/// touch-down / touch-up handling (hit test, hold timer).
///
/// The daemon owns its bridge (`KioskDaemon.input`); the bridge's way back is
/// weak, so neither keeps the other alive. Without a daemon it does nothing.
public final class InputBridge {
  public let manager: InputManager
  /// Whether the manager reads /dev/input (false: only `kdsctl input`).
  public var devicesEnabled = true
  /// How long a press-and-hold lasts before it acts (`hold_to_bump_ms`).
  public var holdMillis: Int64 = Int64(KioskConfiguration.defaultHoldToBumpMillis)
  weak var daemon: KioskDaemon?
  private weak var screen: ScreenPresenter?
  private var watched: Set<Int32> = []
  let logger: Logger

  /// The finger down now (touch screen or `kdsctl input`).
  struct Touch {
    var target: HitTarget?
    /// The part a completed hold acts on, nil for targets that only tap.
    var holdPart: HoldIndicator.Part?
    var ticketId: String?
    var startMillis: Int64
    /// Acted (the hold completed) or cancelled (slid off): the lift does nothing.
    var finished = false
    /// `kdsctl input hold`: the finger lifts at this time.
    var releaseAtMillis: Int64?
    var source: String
  }
  private(set) var touch: Touch?
  /// `kdsctl learn-keys` on this running kiosk (see KeyLearnSession.swift).
  var learning: KeyLearnSession?

  public init(manager: InputManager, daemon: KioskDaemon, screen: ScreenPresenter?, logger: Logger)
  {
    self.manager = manager
    self.daemon = daemon
    self.screen = screen
    self.logger = logger
  }

  /// Opens the devices there are (when `devicesEnabled`) and starts following
  /// hotplug; takes the control socket's `input` command.
  public func start() throws {
    daemon?.extraCommands["input"] = { [weak self] request in
      self?.control(request) ?? .failure("no input")
    }
    daemon?.extraCommands["learn-keys"] = { [weak self] request in
      self?.learnKeys(request) ?? .failure("no input")
    }
    guard devicesEnabled else { return }
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
    endTouch()
  }

  func rewatch() {
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
      case .touchDown(let x, let y, let time):
        screen?.pendingInputTime = time
        touchDown(x: x, y: y, atMillis: Self.millis(time), source: "touch")
      case .touchMove(let x, let y, _):
        touchMove(x: x, y: y)
      case .touchUp(let x, let y, let time):
        screen?.pendingInputTime = time
        touchUp(x: x, y: y, atMillis: Self.millis(time))
      case .touchCancel(let reason, _):
        if touch != nil { logger.notice("touch cancelled: \(reason)") }
        endTouch()
      case .deviceAdded(let info):
        logger.notice("input device added: \(info)")
      case .deviceRemoved(let path, let name):
        logger.notice("input device removed: \(name) (\(path))")
        learningDeviceGone(path)
        if manager.openDevices.allSatisfy({ $0.kind != .touch }), touch?.source == "touch" {
          endTouch()  // the touch screen went away with a finger on it
        }
      case .keyPress(let code, _, let device):
        learnt(code: code, device: device)
      }
    }
  }

  static func millis(_ ns: UInt64) -> Int64 { Int64(ns / 1_000_000) }

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
    case .nextItem: actions.selectNextItem()
    case .itemDone: return actions.toggleSelectedItem()
    case .allDay: actions.toggleAllDay()
    case .recallList: actions.toggleRecallList()
    case .back: actions.back()
    case .sendBack: return actions.sendBackSelected()
    case .fireCourse: return actions.fireNextCourse()
    case .rush: return actions.toggleRush()
    }
    return nil
  }

  // MARK: touch

  /// A finger came down at logical (x, y), at monotonic `millis`.
  func touchDown(x: Int, y: Int, atMillis millis: Int64, source: String) {
    endTouch()
    let target = screen?.renderer.hitTest(x: x, y: y)
    var t = Touch(target: target, startMillis: millis, source: source)
    if case .ticket(let id, let area) = target {
      t.ticketId = id
      t.holdPart =
        switch area {
        case .header, .body: .card
        case .chip: .chip
        case .retry: .failure
        }
    }
    touch = t
    if let part = t.holdPart, let id = t.ticketId {
      daemon?.core.hold = HoldIndicator(ticketId: id, part: part, progress: 0)
    }
  }

  /// The finger moved: off the part it came down on, the touch is void.
  func touchMove(x: Int, y: Int) {
    guard let t = touch, !t.finished else { return }
    let now = screen?.renderer.hitTest(x: x, y: y)
    if Self.samePart(t.target, now) { return }
    logger.debug("touch slid off its target: cancelled")
    touch?.finished = true
    daemon?.core.hold = nil
  }

  /// The finger lifted at logical (x, y), at monotonic `millis`: a tap (it
  /// only selects) unless the hold completed, which then acts now.
  func touchUp(x: Int, y: Int, atMillis millis: Int64) {
    guard let t = touch else { return }
    defer { endTouch() }
    guard !t.finished, let daemon else { return }
    let actions = daemon.actions
    if t.holdPart != nil {
      if millis - t.startMillis >= holdMillis {
        completeHold(t)  // held long enough; the loop had not noticed yet
        return
      }
      // Lifted early: a tap, which selects and never acts on the ticket.
    }
    if let tool = screen?.renderer.layout.toolHitTest(x: x, y: y),
      tapTool(tool, daemon: daemon)
    {
      return
    }
    if !Self.samePart(t.target, screen?.renderer.hitTest(x: x, y: y)) { return }
    switch t.target {
    case .ticket(let id, .retry)?:
      // "tap to retry" on a card: that card's failed operations only.
      actions.select(ticketId: id)
      let outcome = actions.retryFailed(ticketId: id)
      if !outcome.isDone { logger.notice("tap retry \(id): \(outcome)") }
    case .ticket(let id, .body)? where daemon.core.selectedTicketId == id && !daemon.core.isExpo:
      // A tap on a line of the selected card toggles it done (item-level bump).
      if let index = itemLine(ticketId: id, x: x, y: y) {
        let outcome = actions.toggleItem(ticketId: id, index: index)
        if !outcome.isDone { logger.notice("tap line \(index + 1) of \(id): \(outcome)") }
      }
    case .ticket(let id, _)?:
      actions.select(ticketId: id)
    case .recall?:
      let outcome = actions.recallLast()
      if !outcome.isDone { logger.notice("tap recall: \(outcome)") }
    case .pageIndicator?:
      let before = daemon.core.page
      actions.nextPage()
      if daemon.core.page == before {
        while daemon.core.page > 0 { actions.previousPage() }  // wrap to the first page
      }
    case .alerts?:
      actions.retryFailed()
    case .status?, nil:
      break
    }
  }

  /// A tap on the kitchen tools' areas (issue 14): the banner's All day
  /// button, the recall list's rows and Close, an expo order card. False
  /// for an item line, which the card's own tap handles (it needs the card
  /// selected first).
  func tapTool(_ tool: ToolHit, daemon: KioskDaemon) -> Bool {
    let actions = daemon.actions
    switch tool {
    case .allDayToggle:
      actions.toggleAllDay()
    case .recallRow(let index):
      let outcome = daemon.core.tapRecallRow(index)
      if !outcome.isDone { logger.debug("tap recall row \(index + 1): \(outcome)") }
    case .recallClose:
      actions.back()
    case .expoOrder(let orderId):
      actions.select(ticketId: orderId)
    case .itemLine:
      return false
    }
    return true
  }

  /// The line of ticket `id` drawn at (x, y) on the page shown, from the
  /// layout's item placements (each line's rectangle: name, modifiers, notes).
  func itemLine(ticketId id: String, x: Int, y: Int) -> Int? {
    guard let layout = screen?.renderer.layout else { return nil }
    for p in layout.items where p.ticketId == id && p.rect.contains(x: x, y: y) {
      if layout.fragments.indices.contains(p.fragment),
        layout.fragments[p.fragment].page == layout.page
      {
        return p.itemIndex
      }
    }
    return nil
  }

  /// Runs the hold timer (the daemon's loop calls it every turn; it turns at
  /// animation rate while a hold is on screen): the ring's progress, the
  /// hold's completion, and the lift of a `kdsctl input hold`.
  public func tick(atMonotonicMillis now: Int64) {
    learningTick(atMonotonicMillis: now)
    guard let t = touch else { return }
    if !t.finished, let part = t.holdPart, let id = t.ticketId {
      let elapsed = now - t.startMillis
      if let screen, !screen.renderer.layout.visibleFragments.contains(where: { $0.ticketId == id })
      {
        // The card left the page under the finger (bumped elsewhere, say).
        touch?.finished = true
        daemon?.core.hold = nil
      } else if elapsed >= holdMillis {
        touch?.finished = true
        completeHold(t)
      } else {
        daemon?.core.hold = HoldIndicator(
          ticketId: id, part: part, progress: Double(max(0, elapsed)) / Double(holdMillis))
      }
    }
    if let release = touch?.releaseAtMillis, now >= release {
      injectedLift(atMillis: release)
    }
  }

  /// A completed hold: bump, start or dismiss the ticket held. Nothing is
  /// armed afterwards (the card that slides in needs its own hold).
  private func completeHold(_ t: Touch) {
    daemon?.core.hold = nil
    guard let daemon, let part = t.holdPart, let id = t.ticketId else { return }
    let actions = daemon.actions
    let outcome: KioskActionOutcome
    switch part {
    case .card: outcome = actions.bump(ticketId: id)
    case .chip: outcome = actions.start(ticketId: id)
    case .failure: outcome = actions.dismissFailure(ticketId: id)
    }
    switch outcome {
    case .done(let what): logger.info("\(t.source) hold \(part.rawValue) \(id): \(what)")
    case .refused(let why):
      logger.notice("\(t.source) hold \(part.rawValue) \(id): refused: \(why)")
    }
    daemon.presentNow()
  }

  private func endTouch() {
    touch = nil
    daemon?.core.hold = nil
  }

  /// Whether two hit targets are the same part of the same card (a finger
  /// still on what it came down on).
  static func samePart(_ a: HitTarget?, _ b: HitTarget?) -> Bool {
    switch (a, b) {
    case (.ticket(let i1, let a1)?, .ticket(let i2, let a2)?):
      guard i1 == i2 else { return false }
      let card: Set<TicketArea> = [.header, .body]
      return a1 == a2 || (card.contains(a1) && card.contains(a2))
    default:
      return a == b
    }
  }

  // MARK: kdsctl input

  private var lastInjected: (x: Int, y: Int)?

  private func injectedLift(atMillis millis: Int64) {
    let p = lastInjected ?? (0, 0)
    touchUp(x: p.x, y: p.y, atMillis: millis)
  }

  /// `{"cmd":"input","input":"tap"|"hold"|"key",...}`. A tap or hold at
  /// screen pixel (x, y) goes through touch-down / touch-up like a finger; a
  /// hold's lift (and so its action) happens later on the daemon's timer, so
  /// the reply comes at once: poll `kdsctl status` for the result.
  func control(_ request: ControlRequest) -> ControlResponse {
    guard let daemon else { return .failure("no kiosk") }
    let now = SystemClock.monotonicMillis()
    switch request.input {
    case "key":
      guard let name = request.key, let code = KeyNames.code(name) else {
        return .failure("unknown key \(request.key ?? "(none)"): use a name such as KEY_ENTER")
      }
      guard let action = manager.config.defaultMap[code] else {
        return .failure("\(name) is not mapped to an action (map.default.\(name) = ...)")
      }
      let outcome = perform(action, on: daemon.actions)
      switch outcome {
      case .refused(let why)?: return .failure("\(name) → \(action.rawValue): \(why)")
      case .done(let what)?:
        return ControlResponse(ok: true, message: "\(name) → \(action.rawValue): \(what)")
      case nil: return ControlResponse(ok: true, message: "\(name) → \(action.rawValue)")
      }
    case "tap", "hold":
      guard let screen else {
        return .failure("this kiosk has no screen (--display none): nothing to touch")
      }
      guard let x = request.x, let y = request.y,
        let p = screen.logicalPoint(screenX: x, screenY: y)
      else {
        let size = screen.panelSize
        return .failure(
          "input \(request.input!) needs X Y on the screen (0-\(size.width - 1), 0-\(size.height - 1))"
        )
      }
      if request.input == "tap" {
        touchDown(x: p.x, y: p.y, atMillis: now, source: "kdsctl")
        touchUp(x: p.x, y: p.y, atMillis: now)
        return ControlResponse(ok: true, message: "tapped \(x) \(y)")
      }
      guard let ms = request.ms, (1...60_000).contains(ms) else {
        return .failure("input hold needs --ms from 1 to 60000")
      }
      touchDown(x: p.x, y: p.y, atMillis: now, source: "kdsctl")
      lastInjected = p
      touch?.releaseAtMillis = now + Int64(ms)
      return ControlResponse(
        ok: true,
        message: "holding \(x) \(y) for \(ms) ms (the hold acts after \(holdMillis) ms)")
    default:
      return .failure("input: tap, hold or key")
    }
  }
}
