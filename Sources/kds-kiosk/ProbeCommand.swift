import ArgumentParser
import Glibc
import KDSDisplay
import KDSInput
import KDSSystem
import Logging

/// `kds-kiosk probe`: the installer's check of the display and input devices
/// (and the in-guest program of scripts/test-qemu).
///
/// - prints the chosen display (driver, connector, mode, size) or why none;
/// - `--pattern` draws colour bars and grey blocks through the real output
///   and page-flips them; with `--input` every action or tap inverts the bars
///   (only their rectangle is damaged) and a tap draws a white square where
///   it landed; each shown frame prints `latency us=N` (input event kernel
///   timestamp to page-flip completion) and SIGINT/SIGTERM prints a
///   `latency-summary`;
/// - `--input` prints one line per action or tap until SIGINT/SIGTERM;
/// - `--virtual-device touch|keys` is the test helper: it creates a uinput
///   multitouch screen (raw axes 0...4095) or USB keyboard/bump bar
///   (`--id VVVV:PPPP`) and obeys lines on stdin (or from the FIFO
///   `--commands PATH`): `tap X Y`, `key KEY_NAME`, `unplug`, `plug`, `quit`.
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
  @Option(help: "Test helper: create a uinput device (touch or keys) driven by stdin.")
  var virtualDevice: String?
  @Option(help: "USB vendor:product of the virtual keys device.")
  var id = "1209:0001"
  @Option(help: "Virtual device: read commands from this FIFO (made if missing) instead of stdin.")
  var commands: String?
  @Option(help: "Learn a key map from this device (a /dev/input/event* path or VVVV:PPPP).")
  var learnKeys: String?
  @Option(help: "The actions to learn, comma separated (default: all).")
  var learnActions: String?

  func run() throws {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: "kds-probe")
    logger.logLevel = .info
    if let kind = virtualDevice {
      try runVirtualDevice(kind)
      return
    }
    if let learnKeys {
      try runLearnKeys(learnKeys)
      return
    }
    guard let rot = DisplayRotation(degrees: rotation) else {
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
      let physical = output?.info.physicalSize ?? DisplaySize(width: 1920, height: 1080)
      let screen = TouchScreen(
        physicalWidth: physical.width, physicalHeight: physical.height,
        rotation: InputRotation(rawValue: rot.rawValue) ?? .none)
      let m = InputManager(config: config, screen: screen, logger: logger)
      for e in try m.start() { loop.report(e) }
      manager = m
      emit("input: ready")
    }
    defer { manager?.close() }
    try loop.run(signals: signals, input: manager, drawOnInput: pattern)
    loop.printSummary()
  }

  /// The core of `kdsctl learn-keys`: one prompt line per action, then the
  /// learnt map as configuration lines.
  private func runLearnKeys(_ target: String) throws {
    var actions = KioskInputAction.allCases
    if let learnActions {
      actions = try learnActions.split(separator: ",").map {
        guard let a = KioskInputAction(rawValue: String($0)) else {
          throw ValidationError("unknown action \($0)")
        }
        return a
      }
    }
    var path = target
    if let wanted = InputDeviceID(target) {
      guard let found = InputDeviceID.findNode(wanted) else {
        throw ValidationError("no input device \(wanted)")
      }
      path = found
    }
    let (learner, id) = try KeyLearner.learn(
      devicePath: path, actions: actions,
      prompt: { emit("learn: press the key for \($0.rawValue)") },
      report: { step in
        if case .duplicate(let code, let other) = step {
          emit("learn: \(KeyNames.name(code)) already does \(other.rawValue), press another key")
        }
      })
    for line in learner.configLines(device: id) { emit(line) }
  }

  private func runVirtualDevice(_ kind: String) throws {
    var source: UnsafeMutablePointer<FILE>? = nil
    if let commands {
      // The FIFO exists before the device does (and before "created").
      if mkfifo(commands, 0o600) != 0 && errno != EEXIST {
        throw ValidationError("\(commands): \(String(cString: strerror(errno)))")
      }
      // Read and write: the FIFO never reports end-of-file between writers.
      let fd = open(commands, O_RDWR | O_CLOEXEC)
      guard fd >= 0, let f = fdopen(fd, "r") else {
        throw ValidationError("\(commands): \(String(cString: strerror(errno)))")
      }
      source = f
    }
    defer { if let source { fclose(source) } }
    let device: VirtualInputDevice
    switch kind {
    case "touch":
      device = try VirtualInputDevice(kind: .touch, name: "kds virtual touch")
    case "keys", "bumpbar", "keyboard":
      guard let devID = InputDeviceID(id) else { throw ValidationError("--id: VVVV:PPPP") }
      device = try VirtualInputDevice(kind: .keys(devID), name: "kds virtual \(kind)")
    default:
      throw ValidationError("--virtual-device: touch or keys")
    }
    emit("virtual: created \(kind) \(device.devnode ?? "?")")
    func nextLine() -> String? {
      guard let source else { return readLine() }
      var buffer: UnsafeMutablePointer<CChar>? = nil
      var capacity = 0
      defer { free(buffer) }
      guard getline(&buffer, &capacity, source) >= 0, let buffer else { return nil }
      var line = String(cString: buffer)
      while line.hasSuffix("\n") { line.removeLast() }
      return line
    }
    while let line = nextLine() {
      let words = line.split(separator: " ").map(String.init)
      guard let verb = words.first else { continue }
      do {
        switch verb {
        case "tap" where words.count == 3:
          guard let x = Int32(words[1]), let y = Int32(words[2]) else {
            throw InputError("tap X Y")
          }
          try device.tap(x: x, y: y)
        case "key" where words.count == 2:
          guard let code = KeyNames.code(words[1]) else {
            throw InputError("unknown key \(words[1])")
          }
          try device.press(code: code)
        case "unplug": device.destroy()
        case "plug": try device.create()
        case "quit":
          device.destroy()
          emit("virtual: done")
          return
        default: throw InputError("unknown command: \(line)")
        }
        emit("virtual: ok \(line)\(verb == "plug" ? " \(device.devnode ?? "?")" : "")")
      } catch {
        emit("virtual: error \(error)")
      }
    }
    device.destroy()
    emit("virtual: done")
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

  var barsRect: DisplayRect {
    guard let s = shadow else { return DisplayRect(x: 0, y: 0, width: 0, height: 0) }
    return DisplayRect(x: 0, y: 0, width: s.width, height: s.height * 2 / 3)
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
        DisplayRect(x: x0, y: 0, width: x1 - x0, height: r.height),
        color: inverted ? ~color & 0xFFFFFF : color)
    }
  }

  func showPattern() throws {
    guard let output else { return }
    let s = ShadowBuffer(size: output.size)
    shadow = s
    drawBars()
    // Grey ramp blocks in the bottom third, no text.
    let top = s.height * 2 / 3
    for i in 0..<16 {
      let x0 = s.width * i / 16
      let x1 = s.width * (i + 1) / 16
      let v = UInt32(i * 17)
      s.fill(
        DisplayRect(x: x0, y: top, width: x1 - x0, height: s.height - top),
        color: v << 16 | v << 8 | v)
    }
    try present([s.frame.bounds])
  }

  func present(_ damage: [DisplayRect]) throws {
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
    case .tap(let x, let y, _): emit("tap \(x) \(y)")
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
        case .tap(let x, let y, let time):
          let square = DisplayRect(x: x - 20, y: y - 20, width: 40, height: 40)
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

/// One line on stdout, flushed (the QEMU harness waits for these lines).
func emit(_ line: String) {
  print(line)
  fflush(nil)
}

func readFile(_ path: String) throws -> String {
  guard let f = fopen(path, "r") else {
    throw ValidationError("\(path): \(String(cString: strerror(errno)))")
  }
  defer { fclose(f) }
  var data: [UInt8] = []
  var buf = [UInt8](repeating: 0, count: 4096)
  while true {
    let n = fread(&buf, 1, buf.count, f)
    if n <= 0 { break }
    data.append(contentsOf: buf[0..<n])
  }
  return String(decoding: data, as: UTF8.self)
}
