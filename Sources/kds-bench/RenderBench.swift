import ArgumentParser

struct RenderBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "render", abstract: "Render benchmarks (not written yet).")

  func run() async throws {
    print("bench render: no figures yet")
  }
}
