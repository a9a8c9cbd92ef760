import ArgumentParser
import Glibc
import KDSDeviceTestSupport
import KDSInput

/// `kds-devtest virtual-device touch|keys`: creates a uinput multitouch
/// screen (raw axes 0...4095) or USB keyboard/bump bar (`--id VVVV:PPPP`) and
/// obeys lines on stdin (or from the FIFO `--commands PATH`): `tap X Y`,
/// `down X Y`, `move X Y`, `up`, `hold X Y MS` (down, MS milliseconds, up:
/// a finger held still), `palm X Y X2 Y2` (two contacts at once, then up),
/// `key KEY_NAME`, `unplug`, `plug`, `quit`. One line per command answers.
struct VirtualDeviceCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "virtual-device", abstract: "A uinput touch screen or bump bar driven by commands."
  )

  @Argument(help: "touch | keys")
  var kind: String
  @Option(help: "USB vendor:product of the virtual keys device.")
  var id = "1209:0001"
  @Option(help: "Read commands from this FIFO (made if missing) instead of stdin.")
  var commands: String?

  func run() throws {
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
      throw ValidationError("virtual-device: touch or keys")
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
        case "down" where words.count == 3, "move" where words.count == 3:
          guard let x = Int32(words[1]), let y = Int32(words[2]) else {
            throw InputError("\(verb) X Y")
          }
          if verb == "down" { try device.down(x: x, y: y) } else { try device.move(x: x, y: y) }
        case "up" where words.count == 1:
          try device.up()
        case "hold" where words.count == 4:
          guard let x = Int32(words[1]), let y = Int32(words[2]), let ms = UInt32(words[3]),
            ms <= 60_000
          else { throw InputError("hold X Y MS (MS up to 60000)") }
          try device.down(x: x, y: y)
          // The finger stays down this long: the test stands in for a cook.
          usleep(ms * 1000)
          try device.up()
        case "palm" where words.count == 5:
          guard let x = Int32(words[1]), let y = Int32(words[2]), let x2 = Int32(words[3]),
            let y2 = Int32(words[4])
          else { throw InputError("palm X Y X2 Y2") }
          try device.down(x: x, y: y)
          try device.secondContact(x: x2, y: y2)
          try device.up()
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
