import ArgumentParser

/// `kds-kiosk`: the kitchen screen daemon. `kds-kiosk run ...` (the default)
/// starts the daemon; `kds-kiosk render ...` draws a ticket list to a PNG.
@main
struct KDSKioskCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kds-kiosk",
    abstract: "The kitchen display daemon.",
    subcommands: [RunCommand.self, RenderCommand.self, RenderSetupCommand.self],
    defaultSubcommand: RunCommand.self)
}
