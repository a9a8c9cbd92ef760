import Foundation
import KDSCore
import KDSTestSupport

/// The built `kds-kiosk` and `kdsctl` (next to `kds-server`).
enum Binaries {
  static var folder: String {
    get throws { (try ServerProcess.binaryPath() as NSString).deletingLastPathComponent }
  }
  static var kiosk: String { get throws { try folder + "/kds-kiosk" } }
  static var kdsctl: String { get throws { try folder + "/kdsctl" } }
}

/// A `kds-kiosk run --display none` child process.
final class KioskProcess: @unchecked Sendable {
  let process = Process()
  let socketPath: String
  let logPath: String

  init(
    server: String, token: String, db: String, socket: String, log: String,
    station: String = "grill",
    extra: [String] = ["--sync-interval", "0.2", "--request-timeout", "1"],
    environment: [String: String] = [:], tokenInFile: Bool = false, display: String = "none"
  ) throws {
    socketPath = socket
    logPath = log
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    process.executableURL = URL(fileURLWithPath: try Binaries.kiosk)
    process.arguments =
      [
        "--server", server, "--station", station, "--db", db, "--display", display,
        "--control-socket", socket,
      ] + extra
    if tokenInFile {
      let file = log + ".token"
      try (token + "\n").write(toFile: file, atomically: true, encoding: .utf8)
      process.arguments! += ["--token-file", file]
    } else {
      process.arguments! += ["--token", token]
    }
    let handle = FileHandle(forWritingAtPath: log)!
    handle.seekToEndOfFile()
    process.standardError = handle
    process.standardOutput = handle
    if !environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    try process.run()
  }

  var pid: Int32 { process.processIdentifier }

  /// Waits until the control socket answers (a bounded poll with a deadline).
  func waitReady(timeout: TimeInterval = 30) throws {
    let ok = waitFor("control socket", timeout: timeout) {
      (try? Self.ctl(socketPath, ["status", "--json"]))?.0 == 0
    }
    guard ok else { throw RestaurantError("kiosk did not come up; log:\n\(log)") }
  }

  func status() throws -> KioskStatus {
    let (code, out) = try Self.ctl(socketPath, ["status", "--json"])
    guard code == 0 else { throw RestaurantError("status failed: \(out)") }
    return try JSONDecoder().decode(KioskStatus.self, from: Data(out.utf8))
  }

  func killHard() {
    kill(pid, SIGKILL)
    process.waitUntilExit()
  }

  func terminate() -> Int32 {
    kill(pid, SIGTERM)
    process.waitUntilExit()
    return process.terminationStatus
  }

  var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

  /// Runs kdsctl with `--socket path`; returns its exit status and stdout.
  static func ctl(_ socket: String, _ args: [String]) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try Binaries.kdsctl)
    // Subcommand first, then its options.
    p.arguments = [args[0], "--socket", socket] + args.dropFirst()
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}
