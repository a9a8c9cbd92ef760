import ArgumentParser
import KDSCore

/// `kdsctl input tap|hold|key`: drives the kiosk without hands. The events
/// go through the kiosk's own input path (the key map, the touch hit test
/// and hold timer), exactly as a finger or a bump-bar key would.
struct Input: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Inject a tap, a hold or a key press into the kiosk.",
    discussion: """
      Points are screen pixels as the panel is mounted (the frame of the cards in
      `kdsctl status --json`). A hold answers at once: its action (a bump, say) happens
      on the kiosk's own timer once the hold time has passed; read `kdsctl status` for it.
      """,
    subcommands: [InputTap.self, InputHold.self, InputKey.self])
}

struct InputTap: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tap", abstract: "A tap at X Y (a tap only selects).")
  @OptionGroup var options: SocketOption
  @Argument(help: "Screen x in pixels.") var x: Int
  @Argument(help: "Screen y in pixels.") var y: Int
  func run() throws {
    var r = ControlRequest(cmd: "input")
    r.input = "tap"
    r.x = x
    r.y = y
    try act(options.socket, r)
  }
}

struct InputHold: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "hold",
    abstract: "A finger held at X Y for --ms milliseconds (long enough: a bump).")
  @OptionGroup var options: SocketOption
  @Argument(help: "Screen x in pixels.") var x: Int
  @Argument(help: "Screen y in pixels.") var y: Int
  @Option(help: "How long the finger stays down, 1 to 60000 ms.") var ms: Int = 1000
  func validate() throws {
    guard (1...60_000).contains(ms) else { throw ValidationError("--ms: 1 to 60000") }
  }
  func run() throws {
    var r = ControlRequest(cmd: "input")
    r.input = "hold"
    r.x = x
    r.y = y
    r.ms = ms
    try act(options.socket, r)
  }
}

struct InputKey: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "key", abstract: "A key press through the kiosk's key map (e.g. KEY_ENTER).")
  @OptionGroup var options: SocketOption
  @Argument(help: "The key's name, as in key-map lines (KEY_ENTER, KEY_DOWN, KEY_KP4).")
  var name: String
  func run() throws {
    var r = ControlRequest(cmd: "input")
    r.input = "key"
    r.key = name
    try act(options.socket, r)
  }
}
