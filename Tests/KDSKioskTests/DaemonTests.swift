import Foundation
import KDSCore
import KDSRender
import KDSTestSupport
import Testing

@Suite(.serialized) struct DaemonTests {
  @Test func headlessDaemonWithControlSocket() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 3)
    let dir = TempDir()
    let kiosk = try KioskProcess(
      server: r.server.baseURL, token: try r.token("k", stations: ["grill"]),
      db: dir.file("kiosk.db"), socket: dir.file("ctl.sock"), log: dir.file("kiosk.log"))
    try kiosk.waitReady()
    var attributes = try FileManager.default.attributesOfItem(atPath: dir.file("ctl.sock"))
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    #expect(waitFor("synced") { (try? kiosk.status().tickets) == 3 })
    let status = try kiosk.status()
    #expect(status.connection == "connected")
    #expect(status.station == "grill")
    #expect(status.lastSyncAt != nil)
    #expect(status.pendingOps == 0)
    #expect(status.failedOps == 0)
    #expect(status.damagedRecords == 0)

    let (human, text) = try KioskProcess.ctl(kiosk.socketPath, ["status"])
    #expect(human == 0)
    #expect(text.contains("connected"))
    #expect(text.contains("damaged:     0 records set aside"))
    let (bumped, out) = try KioskProcess.ctl(kiosk.socketPath, ["bump", ids[0]])
    #expect(bumped == 0)
    #expect(out.hasPrefix("ok:"))
    #expect((try kiosk.status()).tickets == 2)  // off the screen at once
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["start", ids[1]]).0 == 0)
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["bump", "no-such-ticket"]).0 == 1)
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["retry", "no-such-op"]).0 == 1)
    var serverState: [String: String] = [:]
    let done = waitFor("server has the bump") {
      serverState = (try? syncStatuses(r)) ?? [:]
      return serverState[ids[0]] == "READY" && serverState[ids[1]] == "IN_PROGRESS"
    }
    #expect(done, "\(serverState)")
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["recall"]).0 == 0)
    #expect(
      waitFor("recall reached the server") { (try? syncStatuses(r))?[ids[0]] == "IN_PROGRESS" })
    let (q, queueJSON) = try KioskProcess.ctl(kiosk.socketPath, ["queue", "--json"])
    #expect(q == 0)
    let ops = try JSONDecoder().decode([OperationInfo].self, from: Data(queueJSON.utf8))
    #expect(ops.map(\.kind) == ["bump", "start", "recall"])
    #expect(kiosk.terminate() == 0)
    #expect(!FileManager.default.fileExists(atPath: dir.file("ctl.sock")))
    #expect(kiosk.log.contains("kds-kiosk stopped"))
    #expect(!kiosk.log.contains("Bearer"))
    attributes = [:]
  }

  @Test func tellsSystemdWhenReadyAndStopping() async throws {
    let r = try Restaurant()
    let dir = TempDir()
    let notifyPath = dir.file("notify.sock")
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
      for (i, b) in notifyPath.utf8.enumerated() { raw[i] = b }
    }
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    #expect(bound == 0)
    var tv = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let kiosk = try KioskProcess(
      server: r.server.baseURL, token: try r.token("k", stations: ["grill"]),
      db: dir.file("kiosk.db"), socket: dir.file("ctl.sock"), log: dir.file("kiosk.log"),
      environment: ["NOTIFY_SOCKET": notifyPath], tokenInFile: true)
    func receive() -> String {
      // The next message that is not a STATUS= update (those come every change).
      while true {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buffer, buffer.count, 0)  // blocks until the datagram (30 s cap)
        let text = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        if !text.hasPrefix("STATUS=") { return text }
      }
    }
    #expect(receive().hasPrefix("READY=1"))
    // The token came from --token-file: the server accepts it.
    #expect(waitFor("connected") { (try? kiosk.status().connection) == "connected" })
    #expect(kiosk.terminate() == 0)
    #expect(receive() == "STOPPING=1")
  }

  /// Runs kds-kiosk to its exit; returns the status and what it wrote to stderr.
  func runToExit(_ arguments: [String]) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try Binaries.kiosk)
    p.arguments = arguments
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
  }

  @Test func unusableDisplaysAreRefusedWithTheReason() throws {
    let base = [
      "--server", "http://127.0.0.1:9", "--station", "grill", "--token", "t", "--db",
      NSTemporaryDirectory() + "kds-unused-\(getpid()).db", "--control-socket",
      NSTemporaryDirectory() + "kds-unused-\(getpid()).sock",
    ]
    // A bad --display value is a configuration error: the kiosk stays up on
    // its setup screen (issue 13; here headless) and says why.
    let dir = TempDir()
    let bad = try ConfiguredKiosk(
      [
        "--server", "http://127.0.0.1:9", "--station", "grill", "--token", "t", "--db",
        dir.file("k.db"), "--display", "hdmi",
      ], socket: dir.file("k.sock"), log: dir.file("k.log"))
    let badStatus = try bad.waitStatus("setup mode") { $0.mode == "setup" }
    let badText = badStatus.setup?.problems.joined(separator: "\n") ?? ""
    #expect(badText.contains("--display") && badText.contains("hdmi"), "\(badText)")
    #expect(bad.terminate() == 0)
    // A good value whose display cannot be opened still ends the kiosk (2).
    let (drmCode, drmText) = try runToExit(base + ["--display", "drm:/nonexistent/card9"])
    #expect(drmCode == 2)
    #expect(drmText.contains("/nonexistent/card9"), "\(drmText)")
    #expect(!drmText.contains("Fatal error"))
    let hasDevices =
      FileManager.default.fileExists(atPath: "/dev/dri")
      || FileManager.default.fileExists(atPath: "/dev/fb0")
    if !hasDevices {
      // This machine has neither: auto says what it tried and why each failed.
      let (autoCode, autoText) = try runToExit(base + ["--display", "auto"])
      #expect(autoCode == 2)
      #expect(autoText.contains("no usable display") && autoText.contains("drm"), "\(autoText)")
      #expect(autoText.contains("fbdev"), "\(autoText)")
    }
  }

  @Test func badConfigurationNamesFileAndLine() throws {
    let dir = TempDir()
    let conf = dir.file("kiosk.conf")
    let boot = dir.file("kds.txt")
    try "station = grill\nserver = http://127.0.0.1:9\ntoken = t\n".write(
      toFile: conf, atomically: true, encoding: .utf8)
    try "# installer's overrides\nrotation = 45\n".write(
      toFile: boot, atomically: true, encoding: .utf8)
    // Issue 13: the kiosk stays up (setup screen) and names the file and line.
    let kiosk = try ConfiguredKiosk(
      ["--config", conf, "--boot-config", boot, "--display", "none", "--db", dir.file("k.db")],
      socket: dir.file("k.sock"), log: dir.file("k.log"))
    let first = try kiosk.waitStatus("setup mode") { $0.mode == "setup" }
    let text = first.setup?.problems.joined(separator: "\n") ?? ""
    #expect(text.contains("kds.txt line 2: rotation"), "\(text)")
    #expect(kiosk.log.contains("kds.txt line 2: rotation"))
    try "map.default.KEY_NOPE = bump\n".write(toFile: boot, atomically: true, encoding: .utf8)
    let second = try kiosk.waitStatus("the key map's problem") {
      ($0.setup?.problems ?? []).contains { $0.contains("KEY_NOPE") }
    }
    let text2 = second.setup?.problems.joined(separator: "\n") ?? ""
    #expect(text2.contains("kds.txt line 1: ") && text2.contains("KEY_NOPE"), "\(text2)")
    #expect(kiosk.terminate() == 0)
  }

  @Test func screenDaemonDrawsTellsSystemdAndTakesScreenshots() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 4)
    let dir = TempDir()
    let notify = try NotifySocket()
    let screen = dir.file("screen.png")
    let kiosk = try KioskProcess(
      server: r.server.baseURL, token: try r.token("k", stations: ["grill"]),
      db: dir.file("kiosk.db"), socket: dir.file("ctl.sock"), log: dir.file("kiosk.log"),
      extra: [
        "--sync-interval", "0.2", "--request-timeout", "1", "--size", "800x480", "--fonts",
        TestPaths.repoRoot + "/Fonts",
      ],
      environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"],
      display: "snapshot:" + screen)
    defer { _ = kiosk.terminate() }
    // READY=1 comes only once the first frame is on the "screen".
    var ready = false
    var statuses: [String] = []
    for _ in 0..<20 {
      guard let message = notify.receive(timeout: 30) else { break }
      statuses.append(message)
      if message.hasPrefix("READY=1") {
        ready = true
        #expect(FileManager.default.fileExists(atPath: screen))
        break
      }
    }
    #expect(ready, "\(statuses)")
    let first = try PNG.read(screen)
    #expect(first.width == 800 && first.height == 480)
    #expect(waitFor("tickets drawn") { (try? kiosk.status().tickets) == 4 })
    let status = try kiosk.status()
    #expect(status.display?.hasPrefix("snapshot") == true)
    // STATUS= carries the banner's words for `systemctl status`.
    var sawConnected = statuses.contains { $0.contains("Connected") }
    for _ in 0..<20 where !sawConnected {
      guard let m = notify.receive(timeout: 10) else { break }
      sawConnected = m.contains("STATUS=Connected")
    }
    #expect(sawConnected)
    // WATCHDOG=1 from the render loop, at half the interval systemd asked for.
    var sawWatchdog = statuses.contains("WATCHDOG=1")
    for _ in 0..<40 where !sawWatchdog {
      guard let m = notify.receive(timeout: 10) else { break }
      sawWatchdog = m == "WATCHDOG=1"
    }
    #expect(sawWatchdog)

    let shot = dir.file("shot.png")
    let (code, out) = try KioskProcess.ctl(kiosk.socketPath, ["screenshot", shot])
    #expect(code == 0, "\(out)")
    let before = try PNG.read(shot)
    #expect(before.width == 800 && before.height == 480)
    // A bump takes a card off: the next screenshot differs.
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["bump", ids[0]]).0 == 0)
    let changed = waitFor("screen changed") {
      _ = try? KioskProcess.ctl(kiosk.socketPath, ["screenshot", shot])
      guard let after = try? PNG.read(shot) else { return false }
      return after.pixels != before.pixels && (try? kiosk.status().tickets) == 3
    }
    #expect(changed)
    #expect(kiosk.terminate() == 0)
  }

  @Test func hangupReloadsTheConfigurationOrKeepsTheRunningOne() async throws {
    let r = try Restaurant()
    let dir = TempDir()
    let conf = dir.file("kiosk.conf")
    try "sla_orange_after = 120\nsla_red_after = 240\n".write(
      toFile: conf, atomically: true, encoding: .utf8)
    let kiosk = try KioskProcess(
      server: r.server.baseURL, token: try r.token("k", stations: ["grill"]),
      db: dir.file("kiosk.db"), socket: dir.file("ctl.sock"), log: dir.file("kiosk.log"),
      extra: ["--config", conf, "--sync-interval", "0.2"])
    try kiosk.waitReady()
    try "sla_orange_after = 60\nsla_red_after = 90\n".write(
      toFile: conf, atomically: true, encoding: .utf8)
    kill(kiosk.pid, SIGHUP)
    #expect(waitFor("reloaded") { kiosk.log.contains("configuration reloaded") })
    try "sla_orange_after = sixty\n".write(toFile: conf, atomically: true, encoding: .utf8)
    kill(kiosk.pid, SIGHUP)
    #expect(waitFor("refused") { kiosk.log.contains("NOT reloaded") })
    #expect(kiosk.log.contains("\(conf):1"))
    #expect((try? kiosk.status().connection) != nil)  // still running
    #expect(kiosk.terminate() == 0)
  }
}

/// The server's statuses, synchronously (for wait-for-condition loops).
func syncStatuses(_ r: Restaurant) throws -> [String: String] {
  let out = try r.sqlite("SELECT id || '=' || status FROM tickets;")
  var map: [String: String] = [:]
  for line in out.split(separator: "\n") {
    let parts = line.split(separator: "=")
    if parts.count == 2 { map[String(parts[0])] = String(parts[1]) }
  }
  return map
}
