import ArgumentParser

/// `kds-bench`: speed and memory figures (`make bench`). Each part of the
/// project has its own subcommand in its own file; they print figures and the
/// ratio to their target, and never fail on a timing.
@main
struct KDSBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kds-bench",
    abstract: "Benchmarks of kds-server, the kiosk core and the renderer.",
    subcommands: [
      ServerBench.self, KioskBench.self, RenderBench.self, PushBench.self, ReplicaBench.self,
    ])
}
