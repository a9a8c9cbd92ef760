import KDSCore
import KDSDisplay
import KDSGeometry
import KDSRender
import KDSSync
import KDSSystem
import Logging
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// Why the kiosk cannot show tickets yet (issue 13), as the loader found it.
public struct SetupDiagnosis: Sendable, Hashable {
  /// What is wrong, each naming its file and line (`kds.txt line 12: ...`).
  /// Empty with `pairing` set: nothing is wrong, the screen is not paired yet.
  public var problems: [String]
  /// The server's base URL, when the `server` line parsed (`local` resolved).
  public var server: String?
  public var caFile: String?
  /// The station the configuration names, if any.
  public var station: String?
  /// Set when the kiosk should pair: a server, no token.
  public var pairing: PairingSession.Options?
  /// The configuration files (and conf.d folders) to watch for changes.
  public var watchPaths: [String]
  /// The configuration files read, in order, for the screen's instructions.
  public var configFiles: [String]

  public init(
    problems: [String], server: String? = nil, caFile: String? = nil, station: String? = nil,
    pairing: PairingSession.Options? = nil, watchPaths: [String] = [], configFiles: [String] = []
  ) {
    self.problems = problems
    self.server = server
    self.caFile = caFile
    self.station = station
    self.pairing = pairing
    self.watchPaths = watchPaths
    self.configFiles = configFiles
  }
}

extension PairingSession.Options: Hashable {
  public static func == (a: Self, b: Self) -> Bool {
    a.serverURL == b.serverURL && a.caFile == b.caFile && a.station == b.station
      && a.deviceName == b.deviceName && a.tokenPath == b.tokenPath
  }
  public func hash(into h: inout Hasher) {
    h.combine(serverURL)
    h.combine(station)
    h.combine(tokenPath)
  }
}

/// The SETUP and PAIRING screens' loop (issue 13): the kiosk cannot show
/// tickets (a missing or bad configuration, or no token yet), so it shows
/// why, and waits. It re-reads the configuration on SIGHUP, when a file in
/// a watched folder changes (inotify) and every few seconds; it answers
/// `kdsctl status` (`"mode":"setup"` or `"pairing"`); it pairs when the
/// configuration names a server and no token; and it returns when the
/// configuration is usable, or on SIGTERM/SIGINT. It never exits the process.
public final class SetupLoop {
  public enum Outcome {
    /// The configuration is usable (with the approval, if pairing got one).
    case ready(PairingSession.Approval?)
    /// SIGTERM or SIGINT.
    case stop
  }

  let output: ScreenOutput?
  let renderer: SetupScreenRenderer?
  let rotated: Canvas?
  let signals: SignalPipe
  let logger: Logger
  let controlPath: String?
  var control: ControlServer?
  var systemd: SystemdNotifier?
  var readySent = false
  var loggedErrors: Set<String> = []
  /// Problems the loader cannot see (the display would not open), shown first.
  public var extraProblems: [String] = []
  /// How often the configuration is re-read without a signal or an event.
  public var recheckMillis: Int64 = 5_000
  /// Off: the configuration is re-read on SIGHUP only (no inotify, no periodic re-read).
  public var watchesFiles = true
  /// What the screen shows now (for `kdsctl status` and the tests).
  public private(set) var screen: SetupScreen?
  public private(set) var framesShown = 0
  var diagnosis = SetupDiagnosis(problems: [])
  var pairing: PairingSession?
  let probe = HealthProbe()
  var watcher: ConfigWatcher?

  /// `output` is the screen (nil: headless, only the control socket and
  /// the log); it stays open when the loop returns.
  public init(
    output: ScreenOutput?, fontsDirectory: String?, controlSocketPath: String?,
    signals: SignalPipe, logger: Logger = Logger(label: "kds.setup")
  ) {
    self.output = output
    self.signals = signals
    self.logger = logger
    controlPath = controlSocketPath
    var renderer: SetupScreenRenderer?
    var rotated: Canvas?
    if let output {
      let size: Size
      switch output {
      case .display(let d): size = d.size
      case .snapshot(_, let w, let h, let rotation):
        size = rotation.logicalSize(physical: Size(width: w, height: h))
        if rotation != .none { rotated = Canvas(width: w, height: h) }
      }
      do {
        renderer = SetupScreenRenderer(
          width: size.width, height: size.height,
          fonts: try FontLocator.load(explicit: fontsDirectory))
      } catch {
        logger.critical("setup screen: no fonts, nothing can be drawn: \(error)")
      }
    }
    self.renderer = renderer
    self.rotated = rotated
  }

  /// Runs until `evaluate` finds the configuration usable (it returns nil)
  /// or a stop signal. `evaluate` runs at once, then after every change.
  public func run(
    evaluate: (PairingSession.Approval?) -> SetupDiagnosis?
  ) -> Outcome {
    systemd = SystemdNotifier()
    if let controlPath {
      do {
        control = try ControlServer(path: controlPath, logger: logger)
      } catch {
        logger.error("setup: no control socket: \(error)")
      }
    }
    watcher = watchesFiles ? ConfigWatcher(logger: logger) : nil
    defer {
      pairing?.stop()
      pairing = nil
      probe.stop()
      control?.close()
      control = nil
      watcher = nil
    }
    guard let first = evaluate(nil) else { return .ready(nil) }
    apply(first, initial: true)
    var lastCheck = SystemClock.monotonicMillis()
    var lastWatchdog = lastCheck
    while true {
      var fds: [pollfd] = [
        pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0),
        pollfd(fd: probe.changed.fd, events: Int16(POLLIN), revents: 0),
        pollfd(fd: watcher?.fd ?? -1, events: Int16(POLLIN), revents: 0),
        pollfd(fd: pairing?.changed.fd ?? -1, events: Int16(POLLIN), revents: 0),
        pollfd(fd: displayFD ?? -1, events: Int16(POLLIN), revents: 0),
      ]
      let controlFDs = control?.pollFDs ?? []
      fds += controlFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      let timeout = Int32(1000 - SystemClock.wallMillis() % 1000)
      if poll(&fds, nfds_t(fds.count), timeout) < 0 && errno != EINTR {
        logOnce("poll", "setup: \(SystemError("poll"))")
      }
      var recheck = false
      if fds[0].revents != 0 {
        let received = signals.drain()
        if received.contains(SIGTERM) || received.contains(SIGINT) {
          logger.notice("signal received: stopping (setup screen)")
          systemd?.stopping()
          return .stop
        }
        if received.contains(SIGHUP) {
          logger.notice("SIGHUP: re-reading the configuration")
          recheck = true
        }
      }
      if fds[1].revents != 0 { probe.changed.drain() }
      if fds[2].revents != 0, let watcher, watcher.drain() {
        logger.notice("setup: a configuration file changed: re-reading it")
        recheck = true
      }
      if fds[3].revents != 0 { pairing?.changed.drain() }
      if fds[4].revents != 0 { handleDisplayEvents() }
      for (i, fd) in controlFDs.enumerated() where fds[5 + i].revents != 0 {
        _ = control?.service(fd: fd, handler: handleControl)
      }
      let approval = pairing?.approval
      let now = SystemClock.monotonicMillis()
      if recheck || approval != nil || (watchesFiles && now - lastCheck >= recheckMillis) {
        lastCheck = now
        guard let next = evaluate(approval) else {
          logger.notice("setup: the configuration is usable: starting")
          return .ready(approval)
        }
        apply(next, initial: false)
      }
      if let systemd, let interval = systemd.watchdogIntervalMillis, now - lastWatchdog >= interval
      {
        systemd.watchdog()
        lastWatchdog = now
      }
      if case .display(let d) = output, d.hasPendingDamage, d.canPresent {
        present()
      }
      draw()
    }
  }

  /// Draws the screen `diagnosis` gives once, without pairing, signals or a
  /// control socket (`kds-kiosk render-setup`): the server is asked once.
  public func renderOnce(_ diagnosis: SetupDiagnosis) {
    self.diagnosis = diagnosis
    if let server = diagnosis.pairing?.serverURL ?? diagnosis.server {
      probe.checkOnce(server, caFile: diagnosis.caFile)
    }
    if diagnosis.pairing != nil {
      // What the pairing screen looks like before the server has answered.
      pairing = PairingSession(options: diagnosis.pairing!)
    }
    draw()
  }

  /// Takes a new diagnosis: logs what changed, starts or stops pairing and
  /// the server probe, and re-arms the watches.
  func apply(_ next: SetupDiagnosis, initial: Bool) {
    let before = diagnosis
    diagnosis = next
    if initial || before.problems != next.problems {
      if next.problems.isEmpty && next.pairing != nil {
        logger.notice("setup: no token configured: pairing with \(next.pairing!.serverURL)")
      }
      for p in next.problems { logger.error("setup: \(p)") }
    }
    if initial || before.pairing != next.pairing {
      pairing?.stop()
      pairing = nil
      if let options = next.pairing {
        let session = PairingSession(options: options, logger: Logger(label: "kds.pairing"))
        session.start()
        pairing = session
      }
    }
    // The server probe: the pairing session talks to the server itself.
    probe.target(next.pairing == nil ? next.server : nil, caFile: next.caFile)
    watcher?.watch(next.watchPaths)
    draw()
  }

  // MARK: the screen

  /// `pairing` while a code is being asked for or shown; `setup` otherwise
  /// (a problem, or a server without pairing).
  var mode: String {
    guard let pairing, diagnosis.problems.isEmpty, extraProblems.isEmpty else { return "setup" }
    return pairing.state.phase == .unsupported ? "setup" : "pairing"
  }

  func currentScreen() -> (SetupScreen, SetupStatus) {
    let wall = SystemClock.wallMillis()
    let clocks = SetupFacts.clockTexts(wallMillis: wall)
    let addresses = SetupFacts.ipAddresses()
    var facts: [SetupScreen.Fact] = []
    facts.append(
      .init(
        "This screen's addresses",
        addresses.isEmpty ? "none: no network connection" : addresses.joined(separator: ", "),
        isProblem: addresses.isEmpty))
    let probeState = probe.state
    var serverAnswer: String?
    var problems = extraProblems + diagnosis.problems
    let pairingState = pairing?.state
    if let server = diagnosis.server {
      if let pairingState {
        switch pairingState.phase {
        case .unsupported:
          serverAnswer = "no pairing (HTTP \(pairingState.unsupportedStatus ?? 404))"
        case .waiting, .approved:
          serverAnswer =
            "pairing code received"
            + (HTTPClientConfig.serverList(server).count > 1
              ? " from \(pairingState.server ?? "?")" : "")
        case .requesting: serverAnswer = pairingState.problem ?? "asking for a pairing code"
        }
      } else {
        serverAnswer = probeState.answer ?? "checking"
      }
      let bad =
        pairingState.map { $0.problem != nil || $0.phase == .unsupported }
        ?? !probeState.healthy
      // A list of servers: each one's answer names its server.
      let list = HTTPClientConfig.serverList(server).count > 1 && pairingState == nil
      facts.append(
        .init(
          list ? "Servers" : "Server", list ? serverAnswer! : "\(server): \(serverAnswer!)",
          isProblem: bad))
    } else {
      facts.append(.init("Server", "not set", isProblem: true))
    }
    facts.append(
      .init("Clock", clocks.offset == 0 ? clocks.utc : "\(clocks.local)  ·  \(clocks.utc)"))
    var steps: [String] = []
    let files = diagnosis.configFiles.isEmpty ? ["kds.txt"] : diagnosis.configFiles
    let fileNames = files.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
    var pairingPanel: SetupScreen.Pairing?
    var pairingStatus: PairingStatus?
    let headline: String
    if let pairingState, pairingState.phase == .unsupported, problems.isEmpty {
      problems.append(
        "The server \(diagnosis.server ?? "") has no pairing (it answered HTTP \(pairingState.unsupportedStatus ?? 404)): this screen needs a token"
      )
    }
    if let pairingState, mode == "pairing", pairingState.phase != .unsupported {
      headline = "Approve this code on the server"
      let left = pairingState.expiresAtMonotonicMillis.map {
        Int(max(0, $0 - SystemClock.monotonicMillis()) / 1000)
      }
      let state: String
      switch pairingState.phase {
      case .requesting: state = pairingState.problem ?? "Asking the server for a code…"
      case .waiting: state = pairingState.problem ?? "Waiting for a manager to approve the code"
      case .approved: state = pairingState.problem ?? "Approved: starting"
      case .unsupported: state = ""
      }
      pairingPanel = SetupScreen.Pairing(
        code: pairingState.code, station: pairingState.station ?? diagnosis.station,
        server: pairingState.server ?? diagnosis.server ?? "",
        secondsLeft: pairingState.code == nil ? nil : left,
        state: state, stateIsProblem: pairingState.problem != nil)
      let code = pairingState.code ?? "CODE"
      let station = pairingState.station ?? diagnosis.station ?? "STATION"
      steps.append(
        "Approve \(SetupScreen.spacedCode(code)) on \(pairingState.server ?? diagnosis.server ?? "the server")/status"
      )
      steps.append("Or on the server: kds-server pair \(code) --station \(station)")
      steps.append("Or set token = ... in \(fileNames.last ?? "kds.txt")")
    } else {
      if pairingState?.phase == .unsupported && diagnosis.problems.isEmpty {
        headline = "This screen needs a token: its server has no pairing"
      } else {
        headline =
          problems.count == 1
          ? "This screen cannot start: fix its configuration"
          : "This screen cannot start: \(problems.count) things to fix"
      }
      steps.append(
        "Edit \(fileNames.contains("kds.txt") ? "kds.txt on the USB/boot partition (KDSBOOT)" : fileNames.joined(separator: " or ")), or run kdsctl set KEY VALUE on this screen"
      )
      steps.append("Check a file before saving it: kdsctl config check FILE")
      steps.append("The screen updates on its own when a file changes")
      if pairingState?.phase == .unsupported {
        steps.insert(
          "Make a token on the server: kds-server token create --device NAME --station \(diagnosis.station ?? "STATION"), then set token = ... in kds.txt",
          at: 0)
      }
    }
    if let pairingState {
      pairingStatus = PairingStatus(
        state: pairingState.phase.rawValue, code: pairingState.code,
        station: pairingState.station ?? diagnosis.station, expiresAt: pairingState.expiresAt,
        secondsLeft: pairingPanel?.secondsLeft, problem: pairingState.problem)
    }
    let screen = SetupScreen(
      kind: pairingPanel != nil ? .pairing : .setup, headline: headline, problems: problems,
      facts: facts, steps: steps, pairing: pairingPanel,
      clock: SetupFacts.shortClock(wallMillis: wall))
    let status = SetupStatus(
      problems: problems, server: diagnosis.server, serverAnswer: serverAnswer,
      addresses: addresses, clockLocal: clocks.local, clockUTC: clocks.utc,
      watching: watcher?.watched ?? [], pairing: pairingStatus)
    return (screen, status)
  }

  func draw() {
    let (screen, _) = currentScreen()
    self.screen = screen
    guard let renderer, renderer.render(screen) else {
      if renderer == nil { announceReady() }
      return
    }
    present()
    systemdStatus()
  }

  func systemdStatus() {
    guard let systemd, readySent else { return }
    systemd.status(statusLine)
  }

  var statusLine: String {
    if mode == "pairing", let code = pairing?.state.code {
      return "Pairing: code \(code) waiting for approval"
    }
    return "Setup: " + (screen?.problems.first ?? diagnosis.problems.first ?? "waiting")
  }

  func announceReady() {
    guard !readySent else { return }
    readySent = true
    systemd?.ready(status: statusLine)
  }

  var displayFD: Int32? {
    if case .display(let d) = output { return d.pollDescriptor }
    return nil
  }

  func present() {
    guard let renderer, let output else { return }
    let canvas = renderer.canvas
    switch output {
    case .display(let d):
      do {
        switch try d.present(canvas.frame, damage: [canvas.bounds]) {
        case .queued, .shown:
          framesShown += 1
          announceReady()
        default: break
        }
      } catch {
        logOnce("present", "setup screen: cannot present a frame: \(error)")
      }
    case .snapshot(let s, _, _, let rotation):
      do {
        if let rotated {
          rotated.copyRotated(from: canvas.frame, rotation: rotation)
          try s.write(rotated)
        } else {
          try s.write(canvas)
        }
        framesShown += 1
        announceReady()
      } catch {
        logOnce("snapshot", "setup screen: cannot write the snapshot \(s.path): \(error)")
      }
    }
  }

  func handleDisplayEvents() {
    guard case .display(let d) = output else { return }
    do {
      for event in try d.handleEvents() {
        if case .resumed = event { present() }
      }
    } catch {
      logOnce("events", "setup screen: display events: \(error)")
    }
  }

  /// Writes what the screen shows to a PNG (`kdsctl screenshot`).
  func screenshot(to path: String) throws {
    guard let renderer else { throw PairingError("this kiosk has no screen") }
    if let rotated {
      try PNGFile.write(rotated, to: path)
    } else {
      try PNGFile.write(renderer.canvas, to: path)
    }
  }

  func handleControl(_ request: ControlRequest) -> ControlResponse {
    switch request.cmd {
    case "status":
      let (_, setup) = currentScreen()
      var status = KioskStatus(
        station: pairing?.state.station ?? diagnosis.station ?? "", connection: "not started",
        lastSyncAt: nil, pendingOps: 0, failedOps: 0, tickets: 0, cachedTickets: 0,
        alerts: setup.problems, disabledActions: [], serverClockOffsetMillis: 0,
        selectedTicketId: nil, page: 0)
      status.mode = mode
      status.setup = setup
      status.version = KDSVersion.current
      status.display = displayDescription
      return ControlResponse(ok: true, status: status)
    case "screenshot":
      guard let path = request.path, path.hasPrefix("/") else {
        return .failure("screenshot needs an absolute path")
      }
      do {
        try screenshot(to: path)
        return ControlResponse(ok: true, message: "screenshot written to \(path)")
      } catch {
        return .failure("cannot write \(path): \(error)")
      }
    default:
      return .failure(
        "the kiosk shows its \(mode) screen: \(statusLine) (kdsctl status for the details)")
    }
  }

  var displayDescription: String {
    switch output {
    case .display(let d)?:
      return "\(d.info.driver) \(d.info.device) \(d.info.connector) \(d.info.mode)"
    case .snapshot(let s, let w, let h, _)?: return "snapshot \(s.path) \(w)x\(h)"
    case nil: return "none"
    }
  }

  func logOnce(_ kind: String, _ message: String) {
    if loggedErrors.insert(kind).inserted { logger.error("\(message)") }
  }
}

/// `GET /health` on the configured server, once per target and then every
/// 30 s, on a thread of its own: what the setup screen says the server answered.
final class HealthProbe: Sendable {
  struct State: Sendable {
    var answer: String?
    var healthy = false
  }
  let changed = WakeSignal()
  let box = Mutex(State())
  let targetBox = Mutex<(server: String?, caFile: String?, generation: Int)>((nil, nil, 0))
  let wake = WakeSignal()
  let stopped = Atomic<Bool>(false)
  let started = Atomic<Bool>(false)

  var state: State { box.withLock { $0 } }

  func target(_ server: String?, caFile: String?) {
    let moved = targetBox.withLock { t -> Bool in
      guard t.server != server || t.caFile != caFile else { return false }
      t = (server, caFile, t.generation + 1)
      return true
    }
    guard moved else { return }
    box.withLock { $0 = State() }
    if server != nil, !started.exchange(true, ordering: .sequentiallyConsistent) {
      spawnThread { [self] in loop() }
    }
    wake.signal()
  }

  func stop() {
    stopped.store(true, ordering: .sequentiallyConsistent)
    wake.signal()
  }

  /// Asks `server` now, on the calling thread.
  func checkOnce(_ server: String, caFile: String?) {
    box.withLock { $0 = Self.check(server, caFile: caFile) }
  }

  /// `GET /health` on each server of `server` (a list: every one, in
  /// order, each one's answer on the setup screen).
  static func check(_ server: String, caFile: String?) -> State {
    let client = CurlHTTPClient(
      config: HTTPClientConfig(
        baseURL: server, token: "", connectTimeoutMillis: 2_000, requestTimeoutMillis: 3_000,
        caFile: caFile, maxResponseBytes: 4096))
    let servers = client.config.servers
    var answers: [String] = []
    var healthy = true
    for i in servers.indices {
      let answer: String
      switch client.send(method: "GET", path: "/health", server: i) {
      case .success(let r):
        let ok = (200..<300).contains(r.status)
        healthy = healthy && ok
        answer = ok ? "answers (HTTP \(r.status))" : "answered HTTP \(r.status) to GET /health"
      case .failure(let f):
        healthy = false
        answer = "no answer (\(f))"
      }
      answers.append(servers.count > 1 ? "\(servers[i]) \(answer)" : answer)
    }
    if answers.isEmpty { return State(answer: "no server", healthy: false) }
    return State(answer: answers.joined(separator: "; "), healthy: healthy)
  }

  func loop() {
    while !stopped.load(ordering: .sequentiallyConsistent) {
      let (server, caFile, generation) = targetBox.withLock { $0 }
      if let server {
        let answer = Self.check(server, caFile: caFile)
        if targetBox.withLock({ $0.generation }) == generation {
          box.withLock { $0 = answer }
          changed.signal()
        }
      }
      wake.wait(timeoutMillis: 30_000)
    }
  }
}

/// inotify on the folders of the configuration files (and conf.d folders):
/// a configuration file created, written, moved or deleted there wakes the
/// setup loop (other files in those folders, a snapshot PNG say, do not).
final class ConfigWatcher {
  let fd: Int32
  let logger: Logger
  var watches: [String: Int32] = [:]
  /// Per watch: the names that matter in it (nil: every name, a conf.d folder).
  var interest: [Int32: Set<String>?] = [:]
  var watched: [String] { watches.keys.sorted() }

  init?(logger: Logger) {
    fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
    self.logger = logger
    if fd < 0 {
      logger.warning(
        "setup: no inotify (\(SystemError("inotify_init1"))): re-reading every few seconds")
      return nil
    }
  }

  deinit { close(fd) }

  /// Watches the folder of each file path (for that file's name), and each
  /// folder path ending in `/` (for any name); a path ending in neither that
  /// does not exist is watched in its parent (for its creation).
  func watch(_ paths: [String]) {
    var folders: [String: Set<String>?] = [:]
    for path in paths {
      if path.hasSuffix("/") {
        let folder = path.count > 1 ? String(path.dropLast()) : path
        folders[folder] = .some(nil)
      } else if let slash = path.lastIndex(of: "/") {
        let folder = slash == path.startIndex ? "/" : String(path[..<slash])
        let name = String(path[path.index(after: slash)...])
        if let existing = folders[folder] {
          if var names = existing {
            names.insert(name)
            folders[folder] = .some(names)
          }
        } else {
          folders[folder] = .some([name])
        }
      }
    }
    for (folder, wd) in watches where folders[folder] == nil {
      inotify_rm_watch(fd, wd)
      watches[folder] = nil
      interest[wd] = nil
    }
    let mask =
      UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_MOVED_FROM) | UInt32(IN_CREATE)
      | UInt32(IN_DELETE) | UInt32(IN_ATTRIB)
    for (folder, names) in folders {
      if watches[folder] == nil {
        let wd = inotify_add_watch(fd, folder, mask)
        guard wd >= 0 else { continue }  // a missing folder: the periodic re-read covers it
        watches[folder] = wd
      }
      if let wd = watches[folder] { interest[wd] = .some(names) }
    }
  }

  /// Reads the pending events; true if one concerns a configuration file.
  func drain() -> Bool {
    var buffer = [UInt8](repeating: 0, count: 8192)
    var relevant = false
    while true {
      let n = read(fd, &buffer, buffer.count)
      if n <= 0 { break }
      var offset = 0
      let header = MemoryLayout<inotify_event>.size
      while offset + header <= n {
        let (wd, length) = buffer.withUnsafeBytes { raw -> (Int32, Int) in
          let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
          let len = raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)
          return (wd, Int(len))
        }
        let nameBytes = buffer[(offset + header)..<min(n, offset + header + length)]
        let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
        offset += header + length
        guard let names = interest[wd] else { continue }
        if let names {
          if names.contains(name) { relevant = true }
        } else if name.hasSuffix(".conf") || name.isEmpty {
          relevant = true
        }
      }
    }
    return relevant
  }
}
