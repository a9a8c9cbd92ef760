import Foundation
import KDSKiosk
import Testing

/// A NOTIFY_SOCKET as systemd makes one: a bound datagram socket we read from.
final class NotifySocket {
  let fd: Int32
  let path: String

  init() throws {
    path = NSTemporaryDirectory() + "kds-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
      for (i, b) in path.utf8.enumerated() { raw[i] = b }
    }
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    #expect(rc == 0)
  }

  /// The next datagram, waiting at most `timeout` seconds.
  func receive(timeout: Int32 = 5) -> String? {
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, timeout * 1000) == 1 else { return nil }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = recv(fd, &buffer, buffer.count, 0)
    return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
  }

  deinit {
    close(fd)
    unlink(path)
  }
}

@Suite struct SystemdNotifierTests {
  @Test func sendsReadyWatchdogAndStatusDatagrams() throws {
    let sock = try NotifySocket()
    let notifier = try #require(SystemdNotifier(environment: sock.path))
    notifier.ready(status: "Connected - last sync 3 s ago")
    #expect(sock.receive() == "READY=1\nSTATUS=Connected - last sync 3 s ago")
    notifier.watchdog()
    #expect(sock.receive() == "WATCHDOG=1")
    notifier.status("Offline - 4 bumps queued")
    #expect(sock.receive() == "STATUS=Offline - 4 bumps queued")
    // An unchanged status is not sent again; the next message is the stop.
    notifier.status("Offline - 4 bumps queued")
    notifier.stopping()
    #expect(sock.receive() == "STOPPING=1")
  }

  @Test func withoutNotifySocketThereIsNoNotifier() {
    #expect(SystemdNotifier(environment: nil) == nil)
    #expect(SystemdNotifier(environment: "") == nil)
  }
}
