import ArgumentParser

/// `kds-kiosk render`: a ticket list to PNG. Owned by the renderer work (issue 4).
struct RenderCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "render", abstract: "Render a ticket list (JSON) to a PNG file.")

  func run() throws {
    throw ValidationError("the renderer is not assembled yet")
  }
}
