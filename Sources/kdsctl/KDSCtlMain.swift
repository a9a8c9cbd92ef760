import ArgumentParser

/// `kdsctl`: the operator's tool, talking to the kiosk over its control socket.
@main
struct KDSCtl: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kdsctl", abstract: "Control a running kds-kiosk.")

  func run() throws {
    throw ValidationError("kdsctl is not assembled yet")
  }
}
