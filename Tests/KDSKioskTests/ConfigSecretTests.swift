import Foundation
import KDSCore
import KDSTestSupport
import Testing

/// A configuration error never shows a token's value: not from
/// `kdsctl config check`, not in the kiosk's log after a SIGHUP reload.
@Suite(.serialized) struct ConfigSecretTests {
  static let secret = "s3cr3t-t0ken-zq81"
  static let badFiles = [
    "station = grill\ntoken = \(secret) trailing words\n",
    "station = grill\ntoken \(secret)\n",
    "token = \(secret)\ntokn = \(secret)\n",
    "token = \"\(secret)\n",
    "station = grill\n\(secret)0123456789abcdef0123456789==\n",
  ]

  @Test func kdsctlConfigCheckDoesNotPrintTheToken() throws {
    let dir = TempDir()
    for (i, text) in Self.badFiles.enumerated() {
      let file = dir.file("kiosk-\(i).conf")
      try text.write(toFile: file, atomically: true, encoding: .utf8)
      let (code, out) = try ServerProcess.run(try Binaries.kdsctl, ["config", "check", file])
      #expect(code == 1, "\(out)")
      #expect(out.contains(file), "\(out)")
      #expect(!out.contains(Self.secret), "\(out)")
    }
  }

  @Test func aBadReloadDoesNotLogTheToken() throws {
    let dir = TempDir()
    let config = dir.file("kiosk.conf")
    try "zoom = 1   # a comment\n".write(toFile: config, atomically: true, encoding: .utf8)
    let kiosk = try KioskProcess(
      server: "http://127.0.0.1:9", token: "t", db: dir.file("kiosk.sqlite"),
      socket: dir.file("ctl.sock"), log: dir.file("kiosk.log"),
      extra: ["--config", config, "--sync-interval", "0.2", "--request-timeout", "1"])
    defer { _ = kiosk.terminate() }
    try kiosk.waitReady()
    for (i, text) in Self.badFiles.enumerated() {
      try text.write(toFile: config, atomically: true, encoding: .utf8)
      kill(kiosk.pid, SIGHUP)
      #expect(
        waitFor("reload \(i) refused") {
          kiosk.log.components(separatedBy: "NOT reloaded").count - 1 == i + 1
        }, "\(kiosk.log)")
    }
    #expect(!kiosk.log.contains(Self.secret), "\(kiosk.log)")
  }
}
