import KDSCore
import KDSRender
import KDSStore
import KDSSync
import KDSSystem
import Logging

#if canImport(Glibc)
  import Glibc
#endif

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// What `kds-kiosk run` was told.
public struct KioskDaemonOptions: Sendable {
  public var serverURL: String
  public var station: String
  /// The device token. Never logged.
  public var token: String
  public var dbPath: String
  /// The control socket (mode 0600), or nil for none.
  public var controlSocketPath: String?
  public var requestTimeoutMillis: Int = 10_000
  /// `failback_probe`: with several servers, how often the first is probed.
  public var failbackProbeMillis: Int64 = 60_000
  public var syncIntervalMillis: Int64 = 5_000
  public var caFile: String?
  /// Station thresholds to store (nil: keep the stored ones, default 5 and 10 min).
  public var thresholds: SLAThresholds?
  /// Reported to the server on each poll (its status page shows them).
  public var version = KDSVersion.current
  public var displayDescription: String?
  /// Issue 11: how a new ticket announces itself, the allergen words, and
  /// whether an allergy band needs a deliberate first bump.
  public var newTicketAlert: NewTicketAlert = .pulse
  public var allergens: AllergenList = .standard
  public var allergenCheck = false
  /// The push stream beside the poll (`push = auto | off`).
  public var push = PushMode.auto

  public init(
    serverURL: String, station: String, token: String, dbPath: String,
    controlSocketPath: String? = nil
  ) {
    self.serverURL = serverURL
    self.station = station
    self.token = token
    self.dbPath = dbPath
    self.controlSocketPath = controlSocketPath
  }
}

/// The kiosk daemon: one event loop (poll) over the control socket, the sync
/// engine's wake-up fd, the signal pipe and any fd a display or input device
/// registers, presenting a `BoardSnapshot` on every change and every second.
/// SIGTERM and SIGINT stop it cleanly (the write in progress finishes).
///
/// Create it, plug in a presenter and input sources, then call `run()` on
/// the thread that will own the loop; every callback runs on that thread.
public final class KioskDaemon {
  public let configuration: KioskDaemonOptions
  public let store: KioskStore
  public let engine: SyncEngine
  /// The chef's actions (keyboard, bump bar, touch).
  public let core: KioskCore
  public var actions: any KioskActions { core }
  public var presenter: any BoardPresenter
  let logger: Logger
  var sources: [(fd: Int32, handler: () -> Void)] = []
  var control: ControlServer?
  var stopRequested = false
  var systemd: SystemdNotifier?
  var readyAnnounced = false
  /// The screen, when there is one: READY=1 then waits for its first frame.
  public var screen: ScreenPresenter?
  /// Touch screens, keyboards and bump bars.
  public var input: InputBridge?
  /// SIGHUP: re-read the configuration. Returns a line for the log.
  public var onReload: (() -> String)?
  /// Extra control-socket commands (`screenshot`), tried before the core's.
  public var extraCommands: [String: (ControlRequest) -> ControlResponse] = [:]
  /// The process's signal pipe, when the caller made it (the setup screen
  /// ran before the daemon: one pipe for the process's life).
  public var signals: SignalPipe?
  /// Runs once per loop iteration (issue 13: a paired token refused with 401).
  public var onTick: (() -> Void)?

  public init(
    configuration: KioskDaemonOptions, presenter: any BoardPresenter = NullPresenter(),
    clock: any KioskClock = WallClock(), logger: Logger = Logger(label: "kds.kiosk")
  ) throws {
    self.configuration = configuration
    self.presenter = presenter
    self.logger = logger
    // A corrupt database is set aside and the kiosk starts afresh (a full
    // resync), keeping the queued actions it can still read: a kiosk that
    // cannot start is worse than one with an empty cache.
    let (store, recovery) = try KioskStore.openRecovering(path: configuration.dbPath)
    self.store = store
    if let recovery { logger.critical("\(recovery)") }
    if let t = configuration.thresholds {
      try store.setThresholds(t, station: configuration.station)
    }
    var clientConfig = HTTPClientConfig(
      baseURL: configuration.serverURL, token: configuration.token,
      requestTimeoutMillis: configuration.requestTimeoutMillis, caFile: configuration.caFile)
    clientConfig.failbackProbeMillis = configuration.failbackProbeMillis
    let client = CurlHTTPClient(config: clientConfig)
    var syncConfig = SyncConfig(station: configuration.station)
    syncConfig.syncIntervalMillis = configuration.syncIntervalMillis
    syncConfig.version = configuration.version
    syncConfig.displayDescription = configuration.displayDescription
    syncConfig.push = configuration.push
    engine = try SyncEngine(
      config: syncConfig, store: store, client: client, clock: clock,
      logger: Logger(label: "kds.sync"))
    engine.restoreServerThresholds()
    core = KioskCore(
      engine: engine, thresholds: try store.thresholds(station: configuration.station),
      logger: logger)
    if let recovery { core.notices.append(recovery.alertText) }
    core.marker.settings.newTicketAlert = configuration.newTicketAlert
    core.allergens = configuration.allergens
    core.allergenCheck = configuration.allergenCheck
  }

  /// Watches `fd` for input in the event loop (a DRM fd, an evdev device):
  /// `onReadable` runs on the loop thread when it is readable.
  public func addSource(fd: Int32, onReadable: @escaping () -> Void) {
    sources.append((fd, onReadable))
  }

  /// Stops watching `fd` (a device went away).
  public func removeSource(fd: Int32) {
    sources.removeAll { $0.fd == fd }
  }

  /// Asks the loop to stop after the current iteration.
  public func requestStop() { stopRequested = true }

  /// Presents a snapshot now (after an input action, say), and tells systemd
  /// what the banner says.
  public func presentNow() {
    let snapshot = core.snapshot()
    presenter.present(snapshot)
    if readyAnnounced { systemd?.status(BoardRenderer.statusText(snapshot)) }
  }

  /// Answers one control-socket request.
  func handleControl(_ request: ControlRequest) -> ControlResponse {
    if let extra = extraCommands[request.cmd] { return extra(request) }
    if request.cmd == "reload" {
      // `kdsctl set`: the same as SIGHUP, with the outcome as the answer.
      systemd?.reloading()
      let result = onReload?() ?? "nothing to reload"
      logger.notice("reload (control socket): \(result)")
      systemd?.ready()
      return ControlResponse(ok: true, message: result)
    }
    // The status describes the screen as it is now: draw what changed first.
    if request.cmd == "status", screen != nil { presentNow() }
    var response = core.handle(request)
    if request.cmd == "status", var status = response.status {
      status.mode = "run"
      status.version = configuration.version
      status.display = screen?.description ?? "none"
      status.inputDevices = input?.deviceNames ?? []
      status.zoom = core.zoom
      status.holdToBumpMs = input.map { Int($0.holdMillis) }
      status.slaOrangeAfter = core.thresholds.orangeAfter
      status.slaRedAfter = core.thresholds.redAfter
      if let screen {
        // The cards on the page shown, in screen pixels (what a finger touches).
        let snap = core.snapshot()
        status.cards = screen.cardStatuses { id in
          var marks = snap.cardMarks[id]?.names ?? []
          if case .syncFailed? = snap.marks[id], !marks.contains("FAILED") {
            marks.append("FAILED")
          }
          return marks
        }
      }
      response.status = status
    }
    return response
  }

  func announceReady() {
    guard !readyAnnounced else { return }
    readyAnnounced = true
    systemd?.ready(status: BoardRenderer.statusText(core.snapshot()))
    logger.notice("ready: first frame on \(screen?.description ?? "no screen (headless)")")
  }

  /// Runs until SIGTERM or SIGINT; returns the exit status (0 on a clean stop).
  public func run() throws -> Int32 {
    let signals = try self.signals ?? SignalPipe([SIGTERM, SIGINT, SIGHUP])
    if let path = configuration.controlSocketPath {
      control = try ControlServer(path: path, logger: logger)
    }
    systemd = SystemdNotifier()
    if let screen {
      presenter = screen
      screen.onFirstFrame = { [weak self] in self?.announceReady() }
      screen.onLayout = { [weak self] layout in
        self?.core.layoutChanged(pages: ScreenPresenter.pages(of: layout))
      }
      if let fd = screen.pollDescriptor {
        addSource(fd: fd) { [weak screen] in screen?.handleDisplayEvents() }
      }
    }
    if let input {
      do {
        try input.start()
      } catch {
        logger.error("input devices unavailable: \(error)")
      }
    }
    engine.start()
    logger.notice(
      "kds-kiosk ready: station \(configuration.station), server \(configuration.serverURL), control socket \(configuration.controlSocketPath ?? "none")"
    )
    presentNow()
    if screen == nil { announceReady() }
    // Schedules run on the monotonic clock (a wall clock step neither stalls
    // nor hurries the watchdog and the device timers); the per-second redraw
    // follows the wall clock's second, which the screen shows.
    var lastWatchdog = SystemClock.monotonicMillis()
    var lastTimerSecond = lastWatchdog / 1000
    var lastSecond = SystemClock.wallMillis() / 1000
    while !stopRequested {
      var fds: [pollfd] = [
        pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0),
        pollfd(fd: engine.changes.fd, events: Int16(POLLIN), revents: 0),
      ]
      let controlFDs = control?.pollFDs ?? []
      fds += controlFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      let sourceFDs = sources.map(\.fd)
      fds += sourceFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      // Once a second (the clock and the timers), or at animation rate
      // (~30 frames a second) while a hold or a pulse is on screen.
      let timeout =
        core.isAnimating(atMonotonicMillis: SystemClock.monotonicMillis())
        ? Int32(33) : Int32(1000 - SystemClock.wallMillis() % 1000)
      let r = poll(&fds, nfds_t(fds.count), timeout)
      if r < 0 && errno != EINTR {
        logger.error("\(SystemError("poll"))")
      }
      var changed = false
      if fds[0].revents != 0 {
        let received = signals.drain()
        if received.contains(SIGTERM) || received.contains(SIGINT) {
          logger.notice("signal received: stopping")
          break
        }
        if received.contains(SIGHUP) {
          systemd?.reloading()
          let result = onReload?() ?? "nothing to reload"
          logger.notice("SIGHUP: \(result)")
          systemd?.ready()
          changed = true
        }
      }
      if fds[1].revents != 0 {
        engine.changes.drain()
        changed = true
      }
      for (i, fd) in controlFDs.enumerated() where fds[2 + i].revents != 0 {
        if control?.service(fd: fd, handler: handleControl) == true { changed = true }
      }
      for (i, fd) in sourceFDs.enumerated() where fds[2 + controlFDs.count + i].revents != 0 {
        sources.first { $0.fd == fd }?.handler()
        changed = true
      }
      let monotonic = SystemClock.monotonicMillis()
      if let systemd, let interval = systemd.watchdogIntervalMillis,
        monotonic - lastWatchdog >= interval
      {
        systemd.watchdog()
        lastWatchdog = monotonic
      }
      if monotonic / 1000 != lastTimerSecond {
        lastTimerSecond = monotonic / 1000
        // Timers of the devices: connector re-probe, input permission retry.
        screen?.handleDisplayEvents()
        if input?.manager.timerInterval != nil { input?.service() }
      }
      input?.tick(atMonotonicMillis: monotonic)  // the press-and-hold timer
      onTick?()
      let second = SystemClock.wallMillis() / 1000
      if second != lastSecond || changed || core.isAnimating(atMonotonicMillis: monotonic) {
        lastSecond = second
        presentNow()
      }
    }
    systemd?.stopping()
    input?.close()
    screen?.close()
    shutdown()
    return 0
  }

  func shutdown() {
    engine.stop()
    control?.close()
    control = nil
    do {
      // Waits for the write in progress (if the sync thread is in one).
      try store.close()
    } catch {
      logger.error("closing the database: \(error)")
    }
    logger.notice("kds-kiosk stopped")
  }
}
