import ArgumentParser
import Foundation

/// Real kds-server processes for a benchmark, on 127.0.0.1 (ports chosen by
/// the OS), all on one database (`db`: a SQLite file or a postgres:// URL),
/// with a POS token and a grill kiosk token. `stop()` ends them (call it
/// from a `defer`).
final class BenchServer {
  let processes: [Process]
  /// Each replica's `http://127.0.0.1:PORT`, in start order.
  let baseURLs: [String]
  let posToken: String
  let kioskToken: String

  /// The first replica's address.
  var baseURL: String { baseURLs[0] }
  /// Each replica's port.
  var ports: [Int] { baseURLs.map { Int($0.split(separator: ":").last!)! } }

  /// `bin`: the folder of the built binaries (kds-server beside kds-bench).
  /// `db` nil: a SQLite file in `dir`.
  init(bin: String, dir: String, db: String? = nil, replicas: Int = 1) throws {
    let database = db ?? dir + "/server.db"
    var processes: [Process] = []
    var urls: [String] = []
    do {
      for _ in 0..<max(1, replicas) {
        let (process, url) = try Self.launch(bin: bin, db: database)
        processes.append(process)
        urls.append(url)
      }
      posToken = try KioskBench.run(
        bin + "/kds-server", ["token", "create", "--db", database, "--device", "pos"])
      kioskToken = try KioskBench.run(
        bin + "/kds-server",
        ["token", "create", "--db", database, "--device", "k", "--station", "grill"])
    } catch {
      for p in processes {
        p.terminate()
        p.waitUntilExit()
      }
      throw error
    }
    self.processes = processes
    baseURLs = urls
  }

  /// Starts one `kds-server serve` and waits for its listening line.
  static func launch(bin: String, db: String) throws -> (Process, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: bin + "/kds-server")
    process.arguments = [
      "serve", "--db", db, "--host", "127.0.0.1", "--port", "0", "--rate-limit", "off",
      "--no-request-log",
    ]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    var buffer = Data()
    while true {
      let chunk = out.fileHandleForReading.availableData
      guard !chunk.isEmpty else {
        process.waitUntilExit()
        throw ValidationError("kds-server exited before listening (db \(db))")
      }
      buffer.append(chunk)
      for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n")
      where line.hasPrefix("kds-server listening on ") {
        return (process, String(line.dropFirst("kds-server listening on ".count)))
      }
    }
  }

  func stop() {
    for p in processes where p.isRunning {
      p.terminate()
      p.waitUntilExit()
    }
  }

  /// The folder of the running benchmark's binaries.
  static var binaryFolder: String {
    URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
      .deletingLastPathComponent().path
  }
}
