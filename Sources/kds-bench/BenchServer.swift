import ArgumentParser
import Foundation

/// A real kds-server for a benchmark: a process on 127.0.0.1 (port chosen by
/// the OS) with its database in `dir`, a POS token and a grill kiosk token.
/// `stop()` ends it (call it from a `defer`).
final class BenchServer {
  let process = Process()
  let baseURL: String
  let posToken: String
  let kioskToken: String

  /// `bin`: the folder of the built binaries (kds-server beside kds-bench).
  init(bin: String, dir: String) throws {
    process.executableURL = URL(fileURLWithPath: bin + "/kds-server")
    process.arguments = [
      "serve", "--db", dir + "/server.db", "--host", "127.0.0.1", "--port", "0", "--rate-limit",
      "off",
    ]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    var buffer = Data()
    var found: String?
    while found == nil {
      let chunk = out.fileHandleForReading.availableData
      guard !chunk.isEmpty else {
        process.waitUntilExit()
        throw ValidationError("kds-server exited before listening")
      }
      buffer.append(chunk)
      for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n")
      where line.hasPrefix("kds-server listening on ") {
        found = String(line.dropFirst("kds-server listening on ".count))
      }
    }
    baseURL = found!
    do {
      posToken = try KioskBench.run(
        bin + "/kds-server", ["token", "create", "--db", dir + "/server.db", "--device", "pos"])
      kioskToken = try KioskBench.run(
        bin + "/kds-server",
        ["token", "create", "--db", dir + "/server.db", "--device", "k", "--station", "grill"])
    } catch {
      process.terminate()
      process.waitUntilExit()
      throw error
    }
  }

  func stop() {
    process.terminate()
    process.waitUntilExit()
  }

  /// The folder of the running benchmark's binaries.
  static var binaryFolder: String {
    URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
      .deletingLastPathComponent().path
  }
}
