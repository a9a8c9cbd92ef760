import ArgumentParser

struct ServerBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "server", abstract: "Server benchmarks (not written yet).")

  func run() async throws {
    print("bench server: no figures yet")
  }
}
