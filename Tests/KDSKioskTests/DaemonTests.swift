import Foundation
import KDSCore
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

    let (human, text) = try KioskProcess.ctl(kiosk.socketPath, ["status"])
    #expect(human == 0)
    #expect(text.contains("connected"))
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
      var buffer = [UInt8](repeating: 0, count: 512)
      let n = recv(fd, &buffer, buffer.count, 0)  // blocks until the datagram (30 s cap)
      return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    }
    #expect(receive().hasPrefix("READY=1"))
    // The token came from --token-file: the server accepts it.
    #expect(waitFor("connected") { (try? kiosk.status().connection) == "connected" })
    #expect(kiosk.terminate() == 0)
    #expect(receive() == "STOPPING=1")
  }

  @Test(arguments: ["drm", "fbdev", "auto", "snapshot:/tmp/x.png", "hdmi"])
  func displaysNotYetAvailableAreRefused(display: String) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try Binaries.kiosk)
    p.arguments = [
      "--server", "http://127.0.0.1:9", "--station", "grill", "--token", "t", "--db",
      "/tmp/unused.db",
      "--display", display,
    ]
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus != 0)
    #expect(text.contains("--display"))
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
