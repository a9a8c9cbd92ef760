import ArgumentParser
import Glibc
import KDSDeviceTestSupport
import KDSDisplay
import KDSGeometry
import KDSInput
import KDSSystem
import Logging

/// `kds-devtest probe`: the QEMU guest's check of the display and input
/// devices (scripts/qemu/steps/device.steps).
///
/// - prints the chosen display (driver, connector, mode, size) or why none;
/// - `--pattern` draws colour bars and grey blocks through the real output
///   and page-flips them; with `--input` every action or tap inverts the bars
///   (only their rectangle is damaged) and a tap draws a white square where
///   it landed; each shown frame prints `latency us=N` (input event kernel
///   timestamp to page-flip completion) and SIGINT/SIGTERM prints a
///   `latency-summary`;
/// - `--input` prints one line per action or tap until SIGINT/SIGTERM.
struct ProbeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "probe", abstract: "Check the display and input devices.")

  @Option(help: "auto | drm[:DEVICE] | fbdev[:DEVICE] | none")
  var display = "auto"
  @Option(help: "Display mode WxH or WxH@Hz (default: the connector's preferred mode).")
  var mode: String?
  @Option(help: "Screen rotation: 0, 90, 180 or 270.")
  var rotation = "0"
  @Flag(help: "Draw a test pattern and page-flip it.")
  var pattern = false
  @Flag(help: "Print each action or tap until SIGINT/SIGTERM.")
  var input = false
  @Option(help: "Input configuration (key maps, touch calibration) file.")
  var keymap: String?

  func run() throws {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: "kds-probe")
    logger.logLevel = .info
    guard let rot = Rotation(parsing: rotation) else {
      throw ValidationError("--rotation must be 0, 90, 180 or 270")
    }
    let selection = try DisplaySelection(parsing: display)
    let request = try mode.map { try DisplayModeRequest(parsing: $0) }
    var config = InputConfig()
    if let keymap {
      let text = try readFile(keymap)
      do {
        config = try InputConfig(parsing: text)
      } catch let e as InputConfigError {
        throw ValidationError("\(keymap): \(e)")
      }
    }

    let output: (any DisplayOutput)?
    do {
      output = try DisplayOpener.open(selection, mode: request, rotation: rot, logger: logger)
    } catch let e as DisplayError {
      emit("display: none: \(e.message)")
      throw ExitCode(2)
    }
    if let output {
      emit("display: \(output.info)")
    } else {
      emit("display: none (selected)")
    }
    defer {
      output?.close()
      emit("probe: closed")
    }
    guard pattern || input else { return }
    let signals = try SignalPipe([SIGINT, SIGTERM])
    let loop = ProbeLoop(output: output, logger: logger)
    if pattern { try loop.showPattern() }
    var manager: InputManager?
    if input {
      let physical = output?.info.physicalSize ?? Size(width: 1920, height: 1080)
      let screen = TouchScreen(
        physicalWidth: physical.width, physicalHeight: physical.height,
        rotation: rot)
      let m = InputManager(config: config, screen: screen, logger: logger)
      for e in try m.start() { loop.report(e) }
      manager = m
      emit("input: ready")
    }
    defer { manager?.close() }
    try loop.run(signals: signals, input: manager, drawOnInput: pattern)
    loop.printSummary()
  }
}

/// The probe's poll loop: display events, input events, signals.
final class ProbeLoop {
  let output: (any DisplayOutput)?
  let logger: Logger
  var shadow: ShadowBuffer?
  var inverted = false
  /// Input timestamps waiting for the frame that shows them.
  var waitingInput: UInt64?
  var frameInput: [UInt64: UInt64] = [:]
  var latencies: [UInt64] = []
  var patternFrameShown = false

  init(output: (any DisplayOutput)?, logger: Logger) {
    self.output = output
    self.logger = logger
  }

  var barsRect: Rect {
    guard let s = shadow else { return .zero }
    return Rect(x: 0, y: 0, width: s.width, height: s.height * 2 / 3)
  }

  static let bars: [UInt32] = [
    0xFFFFFF, 0xFFFF00, 0x00FFFF, 0x00FF00, 0xFF00FF, 0xFF0000, 0x0000FF, 0x000000,
  ]

  func drawBars() {
    guard let s = shadow else { return }
    let r = barsRect
    for (i, color) in Self.bars.enumerated() {
      let x0 = s.width * i / Self.bars.count
      let x1 = s.width * (i + 1) / Self.bars.count
      s.fill(
        Rect(x: x0, y: 0, width: x1 - x0, height: r.height),
        color: inverted ? ~color & 0xFFFFFF : color)
    }
  }

  func showPattern() throws {
    guard let output else { return }
    let s = ShadowBuffer(
      size: Size(width: output.size.width, height: output.size.height))
    shadow = s
    drawBars()
    // Grey ramp blocks in the bottom third, no text.
    let top = s.height * 2 / 3
    for i in 0..<16 {
      let x0 = s.width * i / 16
      let x1 = s.width * (i + 1) / 16
      let v = UInt32(i * 17)
      s.fill(
        Rect(x: x0, y: top, width: x1 - x0, height: s.height - top),
        color: v << 16 | v << 8 | v)
    }
    try present([s.frame.bounds])
  }

  func present(_ damage: [Rect]) throws {
    guard let output, let s = shadow else { return }
    switch try output.present(s.frame, damage: damage) {
    case .queued(let frame):
      if let t = waitingInput { frameInput[frame] = t }
      waitingInput = nil
    case .shown(let frame, let ns):
      if let t = waitingInput { record(frame: frame, start: t, end: ns) }
      waitingInput = nil
      shown(frame)
    case .deferred, .paused:
      break
    }
  }

  func shown(_ frame: UInt64) {
    if !patternFrameShown {
      patternFrameShown = true
      emit("pattern: shown frame \(frame)")
    }
  }

  func record(frame: UInt64, start: UInt64, end: UInt64) {
    let us = end >= start ? (end - start) / 1000 : 0
    latencies.append(us)
    emit("latency frame=\(frame) us=\(us)")
  }

  func report(_ e: InputEvent) {
    switch e {
    case .touchDown(let x, let y, _): emit("touch down \(x) \(y)")
    case .touchMove(let x, let y, _): emit("touch move \(x) \(y)")
    case .touchUp(let x, let y, _): emit("touch up \(x) \(y)")
    case .touchCancel(let reason, _): emit("touch cancel \(reason)")
    case .action(let a, _, let device): emit("action \(a.rawValue) \(device)")
    case .keyPress(let code, _, let device): emit("key \(KeyNames.name(code)) \(device)")
    case .deviceAdded(let info): emit("input: added \(info)")
    case .deviceRemoved(let path, let name): emit("input: removed \(path) \"\(name)\"")
    }
  }

  func run(signals: SignalPipe, input: InputManager?, drawOnInput: Bool) throws {
    while true {
      var fds = [pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0)]
      if let fd = output?.pollDescriptor {
        fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
      }
      for fd in input?.pollDescriptors ?? [] {
        fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
      }
      let timeout = min(output?.timerInterval ?? 1000, input?.timerInterval ?? 1000)
      let n = poll(&fds, nfds_t(fds.count), timeout)
      if n < 0 && errno != EINTR { throw InputError("poll: \(String(cString: strerror(errno)))") }
      if fds[0].revents != 0, let sig = signals.next() {
        emit("probe: signal \(sig), exiting")
        return
      }
      for e in input?.handleEvents() ?? [] {
        report(e)
        guard drawOnInput, shadow != nil else { continue }
        switch e {
        case .action(_, let time, _):
          inverted.toggle()
          drawBars()
          waitingInput = waitingInput ?? time
          try present([barsRect])
        case .touchDown(let x, let y, let time):
          let square = Rect(x: x - 20, y: y - 20, width: 40, height: 40)
          shadow?.fill(square, color: 0xFFFFFF)
          waitingInput = waitingInput ?? time
          try present([square])
        default: break
        }
      }
      for e in try output?.handleEvents() ?? [] {
        switch e {
        case .frameShown(let frame, let ns):
          if let start = frameInput.removeValue(forKey: frame) {
            record(frame: frame, start: start, end: ns)
          }
          shown(frame)
          if output?.hasPendingDamage == true { try present([]) }
        case .paused(let reason): emit("display: paused: \(reason)")
        case .resumed:
          emit("display: resumed")
          patternFrameShown = false
          try present([])
        case .resized(let size): emit("display: resized \(size)")
        }
      }
    }
  }

  func printSummary() {
    guard !latencies.isEmpty else { return }
    let sorted = latencies.sorted()
    let median = sorted[sorted.count / 2]
    emit(
      "latency-summary n=\(sorted.count) median_us=\(median) max_us=\(sorted.last!) min_us=\(sorted.first!)"
    )
  }
}
