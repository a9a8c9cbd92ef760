import ArgumentParser
import KDSServer

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// `kds-server menu import FILE.json`: replaces the POS menu.
struct MenuCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "menu", abstract: "Manage the POS menu (GET /pos/menu).",
    subcommands: [Import.self])

  struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "import",
      abstract:
        "Replace the menu with a JSON file: an array of {name, station, modifiers?, category?, price?}."
    )

    @Option(
      help:
        "SQLite database file (created if missing), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.")
    var db: String

    @Option(
      help:
        "On PostgreSQL: the restaurant (kds-server restaurant create NAME). Default: the database's first, 'default'."
    )
    var restaurant: String?

    @Argument(help: "The menu file (the format of Tests/Fixtures/menu.json).")
    var file: String

    func run() async throws {
      guard let data = FileManager.default.contents(atPath: file) else {
        throw ValidationError("cannot read \(file)")
      }
      let items: [MenuItem]
      do {
        items = try Menu.parse([UInt8](data))
      } catch let error as MenuError {
        throw ValidationError("\(file): \(error.description)")
      }
      let options = ServerOptions(databasePath: db, restaurant: restaurant)
      let service = try await KDSService(options: options)
      try await Menu.replace(in: service.store, with: items)
      print("kds-server menu imported \(items.count) items from \(file)")
    }
  }
}
