#if canImport(Glibc)
  import Glibc
#endif

/// sd_notify without libsystemd: one datagram to `$NOTIFY_SOCKET`
/// (`READY=1`, `WATCHDOG=1`, `STOPPING=1`). Does nothing outside systemd.
public struct SystemdNotifier {
  let path: String?
  /// Half the watchdog interval, when systemd asked for one.
  public let watchdogIntervalMillis: Int64?

  public init() {
    path = getenv("NOTIFY_SOCKET").map { String(cString: $0) }
    if let usec = getenv("WATCHDOG_USEC").flatMap({ Int64(String(cString: $0)) }), usec > 0 {
      watchdogIntervalMillis = usec / 2000
    } else {
      watchdogIntervalMillis = nil
    }
  }

  @discardableResult
  public func notify(_ state: String) -> Bool {
    guard let path, !path.isEmpty else { return false }
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    var bytes = Array(path.utf8)
    if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
    let message = Array(state.utf8)
    let sent = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        sendto(fd, message, message.count, Int32(MSG_NOSIGNAL), $0, length)
      }
    }
    return sent == message.count
  }
}
