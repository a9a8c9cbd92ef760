import ArgumentParser

/// The daemon. Owned by the kiosk-core work (issue 3).
struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Run the kitchen display daemon.")

  func run() async throws {
    throw ValidationError("the daemon is not assembled yet")
  }
}
