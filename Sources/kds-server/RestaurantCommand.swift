import ArgumentParser
import KDSServer

/// `kds-server restaurant create NAME` / `restaurant list`: the restaurants
/// of a PostgreSQL database (one database, several restaurants; each
/// restaurant's data in its own schema, docs/deploy.md). A SQLite database
/// holds one restaurant and needs none of this.
struct RestaurantCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "restaurant",
    abstract: "The restaurants of a PostgreSQL database (a group run from one place).",
    subcommands: [Create.self, List.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Create a restaurant: its own tables, empty. Then: token create --restaurant NAME, serve --restaurant NAME."
    )

    @Argument(help: "The restaurant's name (letters, digits, '-', '_', '.'; unique).")
    var name: String

    @Option(help: "postgres://USER[:PASSWORD]@HOST[:PORT]/DB")
    var db: String

    func validate() throws {
      guard ServerStore.isPostgresURL(db) else {
        throw ValidationError(
          "a SQLite database holds one restaurant; restaurants need --db postgres://…")
      }
      guard !name.isEmpty, name.utf8.count <= 64,
        name.unicodeScalars.allSatisfy({
          ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
            || $0 == "-" || $0 == "_" || $0 == "."
        })
      else {
        throw ValidationError(
          "a restaurant's name is 1 to 64 letters, digits, '-', '_' or '.'")
      }
    }

    func run() async throws {
      let backend = try await PostgresBackend.open(url: db)
      do {
        if try await backend.restaurant(named: name) != nil {
          throw ValidationError("there is already a restaurant named \(name)")
        }
        let id = try await backend.createRestaurant(name: name)
        await backend.close()
        print("restaurant \(name) created (id \(id))")
      } catch {
        await backend.close()
        throw error
      }
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the restaurants: id and name.")

    @Option(help: "postgres://USER[:PASSWORD]@HOST[:PORT]/DB")
    var db: String

    func run() async throws {
      guard ServerStore.isPostgresURL(db) else {
        print("1\tdefault\t(SQLite: one restaurant)")
        return
      }
      let backend = try await PostgresBackend.open(url: db)
      let all = try await backend.restaurants()
      await backend.close()
      for r in all { print("\(r.id)\t\(r.name)") }
    }
  }
}
