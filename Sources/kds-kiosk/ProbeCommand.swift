import ArgumentParser

/// `kds-kiosk probe`: installer's check of the display and input devices.
/// Owned by the display and input work (issue 5).
struct ProbeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "probe", abstract: "Check the display and input devices.")

  func run() throws {
    throw ValidationError("the device probe is not assembled yet")
  }
}
