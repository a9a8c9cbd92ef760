import ArgumentParser

struct KioskBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kiosk", abstract: "Kiosk benchmarks (not written yet).")

  func run() async throws {
    print("bench kiosk: no figures yet")
  }
}
