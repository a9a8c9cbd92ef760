import ArgumentParser
import KDSServer

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `kds-server pair CODE --station grill`: approves the code a new screen
/// shows, on the server machine (the same database as a running server,
/// which hands the token to the screen at once).
struct PairCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pair",
    abstract: "Approve the 6-digit code a new kitchen screen shows (pairing).",
    discussion: """
      The screen gets a station token named after it and starts showing that \
      station's tickets. Works while the server runs (it writes the same database).
      """)

  @Argument(help: "The 6-digit code the screen shows.")
  var code: String

  @Option(help: "The station the screen shows. Default: the station the screen proposes.")
  var station: String?

  @Option(
    help: "SQLite database file (created if missing), or postgres://USER[:PASSWORD]@HOST[:PORT]/DB."
  )
  var db = "/var/lib/kds-server/kds.sqlite"

  @Option(
    help:
      "On PostgreSQL: the restaurant (kds-server restaurant create NAME). Default: the database's first, 'default'."
  )
  var restaurant: String?

  func run() async throws {
    let digits = code.filter { !$0.isWhitespace }
    var info = stat()
    guard ServerStore.isPostgresURL(db) || stat(db, &info) == 0 else {
      throw ValidationError("no database at \(db) (give --db FILE)")
    }
    let store: ServerStore
    do {
      store = try await ServerStore.open(database: db, restaurant: restaurant)
    } catch {
      throw ValidationError("cannot open the database \(db): \(error)")
    }
    let approval: PairingApproval
    do {
      approval = try await Pairings.approve(
        in: store, code: digits, station: station, approver: "kds-server-pair")
    } catch let error as PairingError {
      throw ValidationError(error.description)
    }
    // Run as root on a database that belongs to the service's user: files
    // SQLite made here (its write-ahead log) go back to that user.
    if geteuid() == 0 {
      for suffix in ["-wal", "-shm"] {
        _ = chown(db + suffix, info.st_uid, info.st_gid)
      }
    }
    print(
      "paired \(approval.deviceName) as station \(approval.station) (device token \(approval.tokenName))"
    )
  }
}
