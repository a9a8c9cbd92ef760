import KDSInput
import KDSKiosk
import KDSTestSupport
import Logging
import Testing

/// The daemon owns its input bridge; the bridge's way back does not keep the
/// daemon alive.
@Suite struct DaemonLifetimeTests {
  @Test func daemonAndInputBridgeAreFreed() throws {
    let dir = TempDir()
    weak var weakDaemon: KioskDaemon?
    weak var weakBridge: InputBridge?
    do {
      let daemon = try KioskDaemon(
        configuration: KioskDaemonOptions(
          serverURL: "http://127.0.0.1:9", station: "grill", token: "t",
          dbPath: dir.file("kiosk.db")))
      let bridge = InputBridge(
        manager: InputManager(
          screen: TouchScreen(physicalWidth: 1920, physicalHeight: 1080),
          folder: dir.path, logger: Logger(label: "test")),
        daemon: daemon, screen: nil, logger: Logger(label: "test"))
      daemon.input = bridge
      weakDaemon = daemon
      weakBridge = bridge
      #expect(weakDaemon != nil && weakBridge != nil)
    }
    #expect(weakDaemon == nil)
    #expect(weakBridge == nil)
  }
}
