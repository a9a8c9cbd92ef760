import ArgumentParser
import KDSCore
import KDSDisplay
import KDSGeometry
import KDSInput
import KDSKiosk
import KDSRender
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

/// A configuration the daemon can run with: checked, its token found.
struct PreparedKiosk {
  var configuration: KioskConfiguration
  var input: InputConfig
  var serverURL: String
  var station: String
  /// Never logged.
  var token: String
  /// The token came from pairing (`paired-token`): a 401 deletes it and pairs again.
  var paired: Bool
  var tokenPath: String
}

enum Preparation {
  case ready(PreparedKiosk)
  /// Not usable: why, and the best the files give (for the display and socket).
  case setup(SetupDiagnosis, KioskConfiguration)
}

enum DaemonEnd {
  case stopped(Int32)
  /// The paired token was refused (401) and deleted: pair again.
  case pairAgain
}

/// The daemon could not start with a configuration (its database, say):
/// shown on the setup screen, tried again on a change or after 30 s.
struct StartFailure {
  var message: String
  var configuration: KioskConfiguration
  var atMonotonicMillis: Int64
}

/// The screen's output, opened once and kept across the setup screen and the
/// board (re-opened only when the display settings change).
final class OpenedScreen {
  let output: ScreenOutput
  let key: String
  var console: ConsoleMode?

  init(output: ScreenOutput, key: String, console: ConsoleMode?) {
    self.output = output
    self.key = key
    self.console = console
  }

  static func key(_ c: KioskConfiguration, size: String) -> String {
    "\(c.display)|\(c.rotation)|\(c.mode ?? "")|\(size)"
  }

  func close() {
    if case .display(let d) = output { d.close() }
    console?.restore()
    console = nil
  }
}

extension RunCommand {
  /// `kds.txt line 12: ...` for a file, `--zoom: ...` for a flag.
  static func problemText(_ e: ConfigError) -> String {
    let file = e.source.file
    let name = file.split(separator: "/").last.map(String.init) ?? file
    if e.source.line > 0 { return "\(name) line \(e.source.line): \(e.message)" }
    if file == "configuration" { return e.message }
    return "\(name): \(e.message)"
  }

  /// The files and folders whose change may fix the configuration.
  func watchPaths(_ c: KioskConfiguration) -> [String] {
    var paths: [String] = []
    if let config { paths.append(absolute(config)) }
    if let bootConfig { paths.append(absolute(bootConfig)) }
    if let tokenFile = c.tokenFile { paths.append(tokenFile) }
    // conf.d folders (`kiosk.conf.d/*.conf`, read after the files): watched
    // when they exist, else their parent, so that their creation is seen.
    let dropIns = [confDir.map(absolute) ?? c.confDir]
    for folder in dropIns {
      var st = stat()
      if stat(folder, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR {
        paths.append(folder + "/")  // any *.conf in it
      } else {
        paths.append(folder)  // its creation, in its parent
      }
    }
    return paths
  }

  /// Reads the configuration and decides: ready to run (with its token), or
  /// the setup screen (what is wrong), or the pairing screen (a server, no token).
  func prepare(
    approval: PairingSession.Approval?, startFailure: StartFailure?, logger: Logger
  ) -> Preparation {
    var errors: [ConfigError] = []
    let c = loadConfiguration(collecting: &errors)
    var problems = errors.map(Self.problemText)
    let serverURL = c.server.map { $0 == "local" ? "http://127.0.0.1:8080" : $0 }
    let files = [config, bootConfig].compactMap { $0 }
    func setup(pairing: PairingSession.Options? = nil) -> Preparation {
      .setup(
        SetupDiagnosis(
          problems: problems, server: serverURL, caFile: c.caFile, station: c.station,
          pairing: pairing, watchPaths: watchPaths(c), configFiles: files), c)
    }
    var input: InputConfig?
    do {
      input = try InputConfig(parsing: c.inputText)
    } catch let e as InputConfigError {
      let source =
        c.inputLines.indices.contains(e.line - 1)
        ? c.inputLines[e.line - 1].source : ConfigSource(file: "input settings", line: 0)
      problems.append(Self.problemText(ConfigError(source, e.message)))
    } catch {
      problems.append("input settings: \(error)")
    }
    guard let serverURL else {
      problems.append(
        "No server set: add server = http://SERVER:8080 (or server = local) to kds.txt")
      return setup()
    }
    guard problems.isEmpty, let input else { return setup() }
    let tokenPath = PairedTokenStore.path(forDatabase: c.database)
    var token: String
    var station: String
    var paired = false
    if c.token != nil || c.tokenFile != nil {
      // A token set by hand wins over a paired one.
      guard let s = c.station else {
        problems.append("No station set: add station = grill (the station this screen shows)")
        return setup()
      }
      do {
        token = try resolvedToken(c)
      } catch {
        problems.append("\(error)")
        return setup()
      }
      station = s
    } else if let approval {
      (token, station, paired) = (approval.token, approval.station, true)
    } else {
      var stored: PairedToken?
      do {
        stored = try PairedTokenStore.load(path: tokenPath)
      } catch {
        logger.error("\(error): deleted, pairing again")
        PairedTokenStore.delete(path: tokenPath)
      }
      guard let stored, stored.server == serverURL else {
        var options = PairingSession.Options(
          serverURL: serverURL, station: c.station, deviceName: SetupFacts.deviceName(),
          tokenPath: tokenPath)
        options.caFile = c.caFile
        options.requestTimeoutMillis = Int(c.requestTimeout * 1000)
        return setup(pairing: options)
      }
      (token, station, paired) = (stored.token, stored.station, true)
      if let configured = c.station, configured != station {
        logger.notice(
          "paired for station \(station) (kds.txt says \(configured)): the approved station is used"
        )
      }
    }
    if let startFailure, startFailure.configuration == c,
      SystemClock.monotonicMillis() - startFailure.atMonotonicMillis < 30_000
    {
      problems.append(startFailure.message)
      return setup()
    }
    return .ready(
      PreparedKiosk(
        configuration: c, input: input, serverURL: serverURL, station: station, token: token,
        paired: paired, tokenPath: tokenPath))
  }

  /// Opens the output the configuration names (nil for `display = none`),
  /// with the terminal in graphics mode for a real screen.
  func openOutput(_ c: KioskConfiguration, logger: Logger) throws -> OpenedScreen? {
    guard let rotation = Rotation(rawValue: c.rotation) else {
      throw ValidationError("bad rotation \(c.rotation)")
    }
    let selection = try DisplaySelection(parsing: c.display)
    let output: ScreenOutput
    switch selection {
    case .none:
      return nil
    case .snapshot(let path):
      let (w, h) = parseSize(size)!
      output = .snapshot(SnapshotOutput(path: path), width: w, height: h, rotation: rotation)
    default:
      let request = try c.mode.map { try DisplayModeRequest(parsing: $0) }
      guard
        let out = try DisplayOpener.open(
          selection, mode: request, rotation: rotation, logger: Logger(label: "kds.display"))
      else { return nil }
      output = .display(out)
    }
    var console: ConsoleMode?
    if case .display = output {
      // Under systemd, standard input is the kiosk's terminal (tty1).
      console = ConsoleMode(fd: 0)
      if console != nil { logger.notice("console: graphics mode (no text or cursor)") }
    }
    return OpenedScreen(output: output, key: OpenedScreen.key(c, size: size), console: console)
  }

  /// Runs the daemon with `ready` until it stops; the screen is handed to it
  /// (and closed when it stops).
  func runDaemon(
    _ ready: PreparedKiosk, opened: inout OpenedScreen?, signals: SignalPipe,
    startFailure: inout StartFailure?, logger: Logger
  ) throws -> DaemonEnd? {
    let c = ready.configuration
    let key = OpenedScreen.key(c, size: size)
    if opened?.key != key {
      opened?.close()
      opened = nil
      do {
        opened = try openOutput(c, logger: logger)
      } catch {
        logger.critical("cannot start the display: \(error)")
        throw ExitCode(2)
      }
    }
    var options = KioskDaemonOptions(
      serverURL: ready.serverURL, station: ready.station, token: ready.token, dbPath: c.database,
      controlSocketPath: c.controlSocket)
    options.requestTimeoutMillis = Int(c.requestTimeout * 1000)
    options.syncIntervalMillis = Int64(c.syncInterval * 1000)
    options.failbackProbeMillis = Int64(c.failbackProbe * 1000)
    options.caFile = c.caFile
    options.thresholds = c.thresholds
    options.newTicketAlert = c.newTicketAlert
    options.allergens = c.allergens
    options.allergenCheck = c.allergenCheck
    options.push = c.push == "off" ? .off : .auto

    // The screen, before the daemon: its description goes to the server.
    var screen: ScreenPresenter?
    if let opened {
      do {
        screen = try ScreenPresenter(
          output: opened.output, fontsDirectory: fonts, logger: Logger(label: "kds.screen"))
      } catch {
        logger.critical("cannot start the display: \(error)")
        throw ExitCode(2)
      }
      screen?.console = opened.console
      logger.notice("screen: \(screen!.description)")
    }
    options.displayDescription = screen?.description

    let daemon: KioskDaemon
    do {
      daemon = try KioskDaemon(configuration: options)
    } catch {
      // Shown on the setup screen (the screen stays open), tried again later.
      logger.critical("cannot start: \(error)")
      startFailure = StartFailure(
        message: "Cannot start: \(error)", configuration: c,
        atMonotonicMillis: SystemClock.monotonicMillis())
      return nil
    }
    startFailure = nil
    // From here the screen (and its console) belong to the daemon.
    let ownedScreen = opened
    opened = nil
    daemon.signals = signals
    daemon.core.zoom = c.zoom
    daemon.core.thresholdsExplicit = c.thresholdsExplicit
    daemon.screen = screen
    let wantInput = input == "on" || (input == "auto" && screen != nil && !isSnapshot(c.display))
    // The bridge always runs: `kdsctl input` goes through it; it reads
    // /dev/input only when input is wanted.
    let physical = screenPhysicalSize(screen)
    let manager = InputManager(
      config: ready.input,
      screen: TouchScreen(
        physicalWidth: physical.width, physicalHeight: physical.height,
        rotation: Rotation(degrees: c.rotation) ?? .none),
      logger: Logger(label: "kds.input"))
    let bridge = InputBridge(
      manager: manager, daemon: daemon, screen: screen, logger: Logger(label: "kds.input"))
    bridge.devicesEnabled = wantInput
    bridge.holdMillis = Int64(c.holdToBumpMillis)
    daemon.input = bridge
    daemon.extraCommands["screenshot"] = { [weak screen] request in
      guard let screen else { return .failure("this kiosk has no screen (--display none)") }
      guard let path = request.path, path.hasPrefix("/") else {
        return .failure("screenshot needs an absolute path")
      }
      do {
        try screen.screenshot(to: path)
        return ControlResponse(ok: true, message: "screenshot written to \(path)")
      } catch {
        return .failure("cannot write \(path): \(error)")
      }
    }
    daemon.onReload = { [weak daemon] in
      guard let daemon else { return "no daemon" }
      do {
        let fresh = try loadConfiguration()
        let freshInput: InputConfig
        do {
          freshInput = try InputConfig(parsing: fresh.inputText)
        } catch let e as InputConfigError {
          throw ConfigError(
            ConfigSource(file: fresh.inputSource(ofLine: e.line), line: 0), e.message)
        }
        daemon.core.thresholds = fresh.thresholds
        daemon.core.thresholdsExplicit = fresh.thresholdsExplicit
        daemon.core.zoom = fresh.zoom
        daemon.core.marker.settings.newTicketAlert = fresh.newTicketAlert
        daemon.core.allergens = fresh.allergens
        daemon.core.allergenCheck = fresh.allergenCheck
        daemon.input?.manager.config = freshInput
        daemon.input?.holdMillis = Int64(fresh.holdToBumpMillis)
        daemon.screen?.renderer.invalidate()
        var restart: [String] = []
        if fresh.server != c.server { restart.append("server") }
        if !ready.paired && fresh.station != c.station { restart.append("station") }
        if fresh.token != c.token || fresh.tokenFile != c.tokenFile { restart.append("token") }
        if fresh.display != c.display || fresh.rotation != c.rotation || fresh.mode != c.mode {
          restart.append("display")
        }
        if fresh.database != c.database { restart.append("database") }
        return "configuration reloaded (thresholds, zoom, keys, hold time, alerts, allergens)"
          + (restart.isEmpty ? "" : "; restart to apply: " + restart.joined(separator: ", "))
      } catch {
        return "configuration NOT reloaded, the running one stays: \(error)"
      }
    }
    // A paired token the server refuses (401) is deleted and the kiosk pairs again.
    var pairAgain = false
    if ready.paired {
      var lastCheck = Int64(0)
      daemon.onTick = { [weak daemon] in
        guard let daemon else { return }
        let now = SystemClock.monotonicMillis()
        guard now - lastCheck >= 1000 else { return }
        lastCheck = now
        guard let problem = daemon.engine.view().status.authProblem, problem.contains("401")
        else { return }
        PairedTokenStore.delete(path: ready.tokenPath)
        logger.error(
          "the server refused the paired token (HTTP 401): \(ready.tokenPath) deleted, pairing again"
        )
        pairAgain = true
        daemon.requestStop()
      }
    }
    _ = ownedScreen
    let status = try daemon.run()
    if pairAgain { return .pairAgain }
    return .stopped(status)
  }
}
