import GRDB
import KDSCore

#if canImport(Glibc)
  import Glibc
#endif

/// What `KioskStore.openRecovering` did with a corrupt database.
public struct StoreRecovery: Hashable, Sendable, CustomStringConvertible {
  /// Where the corrupt file now is (`kiosk.sqlite.corrupt-20261130T233749Z`).
  public var movedTo: String
  /// Why it was set aside (SQLite's error, or `integrity_check`'s first lines).
  public var reason: String
  /// Outstanding operations read from the old file and queued again, with
  /// their idempotency keys (the server de-duplicates them).
  public var carriedOver: Int
  /// Outstanding operations that could not be read back (a count, or nil when
  /// the operations table itself could not be read).
  public var lost: Int?

  public var description: String {
    let lostText = lost.map { $0 > 0 ? ", \($0) lost" : "" } ?? ", the rest unreadable"
    return "corrupt database moved to \(movedTo) (\(reason)); started empty, "
      + "\(carriedOver) queued operation\(carriedOver == 1 ? "" : "s") carried over\(lostText)"
  }

  /// The banner's line (and `kdsctl status`'s).
  public var alertText: String {
    "Local database was damaged: started afresh, \(carriedOver) queued "
      + "action\(carriedOver == 1 ? "" : "s") kept (old file: \(movedTo))"
  }
}

extension KioskStore {
  /// Opens the store at `path`; when the file is corrupt (the open fails with
  /// SQLITE_CORRUPT or SQLITE_NOTADB, or `PRAGMA integrity_check` is not ok),
  /// moves it aside with its -wal and -shm as `PATH.corrupt-<UTC date-time>`,
  /// starts an empty store at `path` (its first poll is a full resync: it has
  /// no cursor) and queues again the outstanding operations still readable in
  /// the old file, under their own idempotency keys. Other errors (a missing
  /// directory, permissions, a full disk) are thrown as before.
  public static func openRecovering(
    path: String, nowMillis: Int64 = wallClockMillis()
  ) throws -> (store: KioskStore, recovery: StoreRecovery?) {
    let reason: String
    do {
      let store = try KioskStore(path: path)
      let check = try store.integrityCheck()
      if check == "ok" { return (store, nil) }
      reason = "integrity_check: \(check.prefix(200))"
    } catch let error as DatabaseError
      where error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB
    {
      let name = error.resultCode == .SQLITE_NOTADB ? "SQLITE_NOTADB" : "SQLITE_CORRUPT"
      reason = "\(name): \(error.message ?? "malformed")"
    }
    // The failed store (if any) is gone: its connection closed on deinit.
    let movedTo = "\(path).corrupt-\(utcStamp(millis: nowMillis))"
    for suffix in ["", "-wal", "-shm"] where access(path + suffix, F_OK) == 0 {
      guard rename(path + suffix, movedTo + suffix) == 0 else {
        throw StoreError.corrupt(
          "\(reason); could not move \(path + suffix) aside: \(String(cString: strerror(errno)))")
      }
    }
    let (readable, lost) = readOutstandingOperations(at: movedTo)
    let store = try KioskStore(path: path)
    var carried = 0
    for var op in readable {
      op.state = .pending
      op.seq = 0
      _ = try store.enqueue(op, maxOutstanding: Int.max)
      carried += 1
    }
    return (
      store, StoreRecovery(movedTo: movedTo, reason: reason, carriedOver: carried, lost: lost)
    )
  }

  /// The outstanding (pending or in-flight) operations that can be read from
  /// a corrupt file, opened read-only, row by row; and how many could not be
  /// (nil when the table could not be read at all).
  static func readOutstandingOperations(at path: String) -> ([QueuedOperation], Int?) {
    var config = Configuration()
    config.readonly = true
    guard let old = try? DatabaseQueue(path: path, configuration: config) else { return ([], nil) }
    var ops: [QueuedOperation] = []
    var lost = 0
    do {
      try old.read { db in
        let seqs = try Int64.fetchAll(
          db, sql: "SELECT seq FROM operations WHERE state IN ('pending', 'in-flight') ORDER BY seq"
        )
        for seq in seqs {
          do {
            guard
              let row = try Row.fetchOne(
                db, sql: "SELECT * FROM operations WHERE seq = ?", arguments: [seq])
            else { continue }
            ops.append(try operation(from: row))
          } catch {
            lost += 1
          }
        }
      }
    } catch {
      return (ops, ops.isEmpty ? nil : lost)
    }
    return (ops, lost)
  }

  /// `20261130T233749Z`: a UTC date-time for file names.
  static func utcStamp(millis: Int64) -> String {
    var seconds = time_t(millis / 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
      + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
  }

  /// The wall clock in milliseconds (only a file name's date).
  public static func wallClockMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
  }
}
