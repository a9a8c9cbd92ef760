import ArgumentParser
import KDSServer

/// `kds-server settings`: the server's settings (today the SLA thresholds the
/// kiosks follow). Works while the server runs: it reads them again within a
/// second, and the kiosks learn them on their next poll.
struct SettingsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "settings",
    abstract: "Show or change the server's settings (sla.amber, sla.red).",
    subcommands: [Set.self, Get.self, List.self, Unset.self])

  struct Set: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Set a setting, e.g. `settings set sla.amber 5m` (durations: 300, 90s, 5m, 1h).")

    @Option(
      help:
        "SQLite database file (created if missing), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.")
    var db: String

    @Option(
      help:
        "On PostgreSQL: the restaurant (kds-server restaurant create NAME). Default: the database's first, 'default'."
    )
    var restaurant: String?

    @Argument(help: "sla.amber or sla.red")
    var key: String

    @Argument(help: "A duration from 1s to 24h: 300, 90s, 5m, 1m30s, 1h.")
    var value: String

    func run() async throws {
      let service = try await KDSService(
        options: ServerOptions(databasePath: db, restaurant: restaurant))
      do {
        let seconds = try await ServerSettings.set(in: service.store, key: key, value: value)
        print("\(key) = \(ServerSettings.formatDuration(seconds)) (\(seconds) s)")
      } catch let error as SettingsError {
        throw ValidationError(error.description)
      }
    }
  }

  struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print one setting's value in seconds (the default when not set).")

    @Option(
      help:
        "SQLite database file (created if missing), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.")
    var db: String

    @Option(
      help:
        "On PostgreSQL: the restaurant (kds-server restaurant create NAME). Default: the database's first, 'default'."
    )
    var restaurant: String?

    @Argument(help: "sla.amber or sla.red")
    var key: String

    func run() async throws {
      let service = try await KDSService(
        options: ServerOptions(databasePath: db, restaurant: restaurant))
      let all = try await ServerSettings.list(in: service.store)
      guard let entry = all.first(where: { $0.key.rawValue == key }) else {
        throw ValidationError(
          "unknown setting '\(key)': known are "
            + ServerSettingKey.allCases.map(\.rawValue).joined(separator: ", "))
      }
      print(entry.seconds)
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List every setting: key, value, whether it is set or the default.")

    @Option(
      help:
        "SQLite database file (created if missing), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.")
    var db: String

    @Option(
      help:
        "On PostgreSQL: the restaurant (kds-server restaurant create NAME). Default: the database's first, 'default'."
    )
    var restaurant: String?

    func run() async throws {
      let service = try await KDSService(
        options: ServerOptions(databasePath: db, restaurant: restaurant))
      for entry in try await ServerSettings.list(in: service.store) {
        let value = ServerSettings.formatDuration(entry.seconds)
        print(
          "\(entry.key.rawValue)  \(value)  \(entry.isSet ? "set" : "default")  # \(entry.key.help)"
        )
      }
    }
  }

  struct Unset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Remove a setting: back to its default.")

    @Option(
      help:
        "SQLite database file (created if missing), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.")
    var db: String

    @Option(
      help:
        "On PostgreSQL: the restaurant (kds-server restaurant create NAME). Default: the database's first, 'default'."
    )
    var restaurant: String?

    @Argument(help: "sla.amber or sla.red")
    var key: String

    func run() async throws {
      let service = try await KDSService(
        options: ServerOptions(databasePath: db, restaurant: restaurant))
      do {
        try await ServerSettings.unset(in: service.store, key: key)
        print("\(key) unset (default)")
      } catch let error as SettingsError {
        throw ValidationError(error.description)
      }
    }
  }
}
