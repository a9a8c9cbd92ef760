import ArgumentParser
import KDSCore
import KDSDisplay
import KDSGeometry
import KDSKiosk
import KDSSystem
import Logging

/// `kds-kiosk render-setup`: the SETUP (or PAIRING) screen a configuration
/// would give, drawn to a PNG without starting anything (issue 13). For an
/// installer's check from a laptop, and for tests.
struct RenderSetupCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "render-setup",
    abstract: "Draw the setup screen a configuration gives to a PNG file.")

  @Option(help: "The configuration file (e.g. /etc/kds/kiosk.conf).")
  var config: String?

  @Option(name: .customLong("boot-config"), help: "The installer's overrides (kds.txt).")
  var bootConfig: String?

  @Option(help: "The database path whose folder holds paired-token (as `database =`).")
  var db: String?

  @Option(help: "The screen size WIDTHxHEIGHT.")
  var size: String = "1280x800"

  @Option(help: "Turn the frame clockwise: 0, 90, 180 or 270.")
  var rotate: Int = 0

  @Option(help: "A folder holding DejaVuSans.ttf and DejaVuSans-Bold.ttf.")
  var fonts: String?

  @Option(help: "The PNG file to write.")
  var output: String

  func run() throws {
    guard let (w, h) = parseSize(size) else {
      throw ValidationError("--size must be WIDTHxHEIGHT between 64 and 8192, got \(size)")
    }
    guard let rotation = Rotation(degrees: rotate), rotate % 90 == 0 else {
      throw ValidationError("--rotate must be 0, 90, 180 or 270, got \(rotate)")
    }
    var args: [String] = []
    if let config { args += ["--config", config] }
    if let bootConfig { args += ["--boot-config", bootConfig] }
    if let db { args += ["--db", db] }
    let loader = try RunCommand.parse(args)
    let logger = Logger(label: "kds.render-setup")
    switch loader.prepare(approval: nil, startFailure: nil, logger: logger) {
    case .ready:
      RenderLog.write(
        "kds-kiosk render-setup: the configuration is usable: the kiosk shows tickets, not a setup screen"
      )
      throw ExitCode(3)
    case .setup(let diagnosis, _):
      let signals = try SignalPipe([])
      let loop = SetupLoop(
        output: .snapshot(
          SnapshotOutput(path: absolute(output)), width: w, height: h, rotation: rotation),
        fontsDirectory: fonts, controlSocketPath: nil, signals: signals, logger: logger)
      loop.renderOnce(diagnosis)
      guard loop.framesShown > 0 else {
        throw ValidationError("nothing was drawn (fonts missing? see the log)")
      }
      for p in loop.screen?.problems ?? [] { RenderLog.write("problem: \(p)") }
      RenderLog.write("kds-kiosk render-setup: wrote \(output)")
    }
  }
}
