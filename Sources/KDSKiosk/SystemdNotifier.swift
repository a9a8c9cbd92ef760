#if canImport(Glibc)
  import Glibc
#endif

/// Talks to systemd's service manager: one datagram per message to the unix
/// socket named by `$NOTIFY_SOCKET` (no libsystemd needed). Outside systemd
/// (no variable) every call does nothing.
public final class SystemdNotifier: @unchecked Sendable {
  private let fd: Int32
  private var address = sockaddr_un()
  private let addressLength: socklen_t
  private var lastStatus = ""
  /// Half the watchdog interval systemd asked for (`WATCHDOG_USEC`), if any.
  public let watchdogIntervalMillis: Int64?

  /// nil when not started by systemd with `Type=notify`.
  public init?(environment socketPath: String? = SystemdNotifier.socketFromEnvironment()) {
    guard var path = socketPath, !path.isEmpty else { return nil }
    if let usec = getenv("WATCHDOG_USEC").flatMap({ Int64(String(cString: $0)) }), usec > 0 {
      watchdogIntervalMillis = usec / 2000
    } else {
      watchdogIntervalMillis = nil
    }
    let abstract = path.hasPrefix("@")
    if abstract { path.removeFirst() }
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard bytes.count + (abstract ? 1 : 0) < capacity else { return nil }
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      let offset = abstract ? 1 : 0  // abstract sockets start with a NUL byte
      for (i, b) in bytes.enumerated() { raw[i + offset] = b }
    }
    addressLength = socklen_t(
      MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 1 : 0) + (abstract ? 0 : 1))
    fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
  }

  deinit { close(fd) }

  public static func socketFromEnvironment() -> String? {
    guard let value = getenv("NOTIFY_SOCKET") else { return nil }
    return String(cString: value)
  }

  /// Sends `READY=1` (the first frame is on the screen).
  public func ready(status: String? = nil) {
    send("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? ""))
  }

  /// Sends `WATCHDOG=1`: the render loop is alive.
  public func watchdog() { send("WATCHDOG=1") }

  /// Sends `STATUS=...` when it changed (what `systemctl status` shows).
  public func status(_ text: String) {
    guard text != lastStatus else { return }
    lastStatus = text
    send("STATUS=\(text)")
  }

  public func reloading() { send("RELOADING=1") }

  public func stopping() { send("STOPPING=1") }

  /// Sends one datagram; errors are ignored (systemd may be gone at shutdown).
  public func send(_ message: String) {
    var bytes = Array(message.utf8)
    _ = withUnsafePointer(to: &address) { addr in
      addr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
        sendto(fd, &bytes, bytes.count, Int32(MSG_NOSIGNAL), sa, addressLength)
      }
    }
  }
}
