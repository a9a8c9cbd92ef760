import Foundation
import KDSCore
import KDSRender
import KDSTestSupport
import Testing

/// A `kds-kiosk run` child with the arguments given as they are (no
/// --server/--station/--token flags: the configuration files decide).
final class ConfiguredKiosk: @unchecked Sendable {
  let process = Process()
  let socket: String
  let logPath: String

  init(_ arguments: [String], socket: String, log: String) throws {
    self.socket = socket
    logPath = log
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    process.executableURL = URL(fileURLWithPath: try Binaries.kiosk)
    process.arguments = ["run", "--control-socket", socket] + arguments
    let handle = FileHandle(forWritingAtPath: log)!
    process.standardError = handle
    process.standardOutput = handle
    try process.run()
  }

  deinit {
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
  }

  var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

  /// `kdsctl status --json`, or nil while the socket does not answer.
  func status() -> KioskStatus? {
    guard let (code, out) = try? KioskProcess.ctl(socket, ["status", "--json"]), code == 0 else {
      return nil
    }
    return try? JSONDecoder().decode(KioskStatus.self, from: Data(out.utf8))
  }

  /// Waits until the status satisfies `condition`; fails with the log.
  @discardableResult
  func waitStatus(
    _ what: String, timeout: TimeInterval = 60, _ condition: (KioskStatus) -> Bool
  ) throws -> KioskStatus {
    var last: KioskStatus?
    let ok = waitFor(what, timeout: timeout) {
      last = status()
      return last.map(condition) ?? false
    }
    guard ok, let last else {
      throw RestaurantError(
        "kiosk never reached: \(what); last status: \(String(describing: last?.setup)) mode \(last?.mode ?? "none")\nlog:\n\(log)"
      )
    }
    return last
  }

  func terminate() -> Int32 {
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    return process.terminationStatus
  }
}

/// The first pixel of the title bar: the SETUP bar is amber, PAIRING blue,
/// the board's banner dark grey.
func titleBarPixel(_ png: String) throws -> (UInt32, width: Int, height: Int) {
  let image = try PNG.read(png)
  return (image.pixel(x: 8, y: 8), image.width, image.height)
}

let setupAmber: UInt32 = 0xF9A825
let pairingBlue: UInt32 = 0x1565C0

/// Issue 13: a kiosk with a missing or bad configuration stays up, shows
/// SETUP (on the screen, in the snapshot PNG and in `kdsctl status --json`),
/// and starts without a restart once the configuration is fixed.
@Suite(.serialized) struct SetupScreenTests {
  @Test func badLineShowsSetupThenFixStartsSyncingWithoutRestart() async throws {
    let r = try Restaurant()
    _ = try await r.sendTickets(count: 2)
    let token = try r.token("kiosk-grill", stations: ["grill"])
    let dir = TempDir()
    let kdsTxt = dir.file("kds.txt")
    let good = "station = grill\nserver = \(r.server.baseURL)\ntoken = \(token)\n"
    try (good + "hold_to_bump_ms = fast\n").write(toFile: kdsTxt, atomically: true, encoding: .utf8)
    let png = dir.file("screen.png")
    let kiosk = try ConfiguredKiosk(
      [
        "--boot-config", kdsTxt, "--db", dir.file("kiosk.db"), "--display", "snapshot:" + png,
        "--size", "1280x800", "--sync-interval", "0.2", "--request-timeout", "2",
      ], socket: dir.file("k.sock"), log: dir.file("kiosk.log"))

    let setup = try kiosk.waitStatus("setup mode with the server's answer") {
      $0.mode == "setup" && ($0.setup?.serverAnswer ?? "").contains("HTTP 200")
    }
    let problems = setup.setup?.problems ?? []
    #expect(problems.count == 1)
    #expect(problems.first?.hasPrefix("kds.txt line 4: hold_to_bump_ms = `fast`: expected") == true)
    #expect(setup.setup?.server == r.server.baseURL)
    #expect(setup.setup?.clockUTC?.hasSuffix("UTC") == true)
    #expect(setup.setup?.watching.contains(dir.path) == true)
    #expect(setup.display?.hasPrefix("snapshot ") == true)
    // A command other than status says why it cannot act.
    let (bumpCode, _) = try KioskProcess.ctl(kiosk.socket, ["bump", "T1"])
    #expect(bumpCode != 0)
    // The snapshot shows the SETUP screen, not a board.
    #expect(waitFor("setup PNG") { (try? titleBarPixel(png))?.0 == setupAmber })
    let (pixel, w, h) = try titleBarPixel(png)
    #expect(pixel == setupAmber && w == 1280 && h == 800)
    #expect(kiosk.log.contains("setup: kds.txt line 4: hold_to_bump_ms"))
    #expect(!kiosk.log.contains(token))

    // Fixed in place (as an editor on the FAT partition writes): inotify sees it.
    try good.write(toFile: kdsTxt, atomically: false, encoding: .utf8)
    let running = try kiosk.waitStatus("run mode, synced") {
      $0.mode == "run" && $0.lastSyncAt != nil && $0.tickets == 2
    }
    #expect(running.setup == nil)
    #expect(kiosk.process.isRunning)
    #expect(waitFor("board PNG") { (try? titleBarPixel(png))?.0 != setupAmber })
    #expect(!kiosk.log.contains(token))
    #expect(kiosk.terminate() == 0)
  }

  @Test func sighupRereadsWhenWatchingIsOff() throws {
    let r = try Restaurant()
    let token = try r.token("kiosk-fry", stations: ["fry"])
    let dir = TempDir()
    let kdsTxt = dir.file("kds.txt")
    // No server line at all.
    try "station = fry\ntoken = \(token)\n".write(
      toFile: kdsTxt, atomically: true, encoding: .utf8)
    let kiosk = try ConfiguredKiosk(
      [
        "--boot-config", kdsTxt, "--db", dir.file("kiosk.db"), "--display", "none",
        "--sync-interval", "0.2", "--request-timeout", "2", "--config-watch", "off",
      ], socket: dir.file("k.sock"), log: dir.file("kiosk.log"))
    let setup = try kiosk.waitStatus("setup mode") { $0.mode == "setup" }
    #expect(setup.setup?.problems.first?.contains("No server set") == true)
    #expect(setup.setup?.server == nil)

    try "station = fry\ntoken = \(token)\nserver = \(r.server.baseURL)\n".write(
      toFile: kdsTxt, atomically: true, encoding: .utf8)
    // Without watching, the fix is not seen until SIGHUP.
    #expect(kiosk.status()?.mode == "setup")
    kill(kiosk.process.processIdentifier, SIGHUP)
    try kiosk.waitStatus("run mode after SIGHUP") { $0.mode == "run" && $0.lastSyncAt != nil }
    #expect(kiosk.log.contains("SIGHUP: re-reading the configuration"))
    #expect(kiosk.terminate() == 0)
  }

  @Test func unreadableConfigurationStaysUpAndStopsCleanly() throws {
    let dir = TempDir()
    let kiosk = try ConfiguredKiosk(
      [
        "--config", dir.file("missing/kiosk.conf"), "--db", dir.file("kiosk.db"), "--display",
        "none",
      ], socket: dir.file("k.sock"), log: dir.file("kiosk.log"))
    let setup = try kiosk.waitStatus("setup mode") { $0.mode == "setup" }
    let problems = setup.setup?.problems ?? []
    #expect(problems.contains("kiosk.conf: cannot read the configuration file"))
    #expect(problems.contains { $0.hasPrefix("No server set") })
    #expect(kiosk.process.isRunning)
    // SIGTERM: a clean stop, status 0 (systemd does not count it as a failure).
    #expect(kiosk.terminate() == 0)
  }

  @Test func renderSetupDrawsTheScreenAConfigurationGives() throws {
    let dir = TempDir()
    let kdsTxt = dir.file("kds.txt")
    try "station = grill\nserver = http://127.0.0.1:9\nzoom = huge\n".write(
      toFile: kdsTxt, atomically: true, encoding: .utf8)
    let png = dir.file("setup.png")
    let (code, out) = try ServerProcess.run(
      try Binaries.kiosk,
      ["render-setup", "--boot-config", kdsTxt, "--db", dir.file("kiosk.db"), "--output", png])
    #expect(code == 0, "\(out)")
    #expect(out.contains("problem: kds.txt line 3: zoom = `huge`"))
    let (pixel, w, h) = try titleBarPixel(png)
    #expect(pixel == setupAmber && w == 1280 && h == 800)

    // A usable configuration gives no setup screen.
    try "station = grill\nserver = http://127.0.0.1:9\ntoken = abc\n".write(
      toFile: kdsTxt, atomically: true, encoding: .utf8)
    let (usable, _) = try ServerProcess.run(
      try Binaries.kiosk,
      ["render-setup", "--boot-config", kdsTxt, "--db", dir.file("kiosk.db"), "--output", png])
    #expect(usable == 3)
  }
}
