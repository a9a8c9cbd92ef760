import KDSCore
import KDSSystem

#if canImport(Glibc)
  import Glibc
#endif

/// What a kiosk that is not set up can say about itself: its addresses, its
/// clock, its name. Read fresh for every setup or pairing screen.
public enum SetupFacts {
  /// The machine's IP addresses from getifaddrs (`eth0 192.168.1.23`),
  /// loopback and IPv6 link-local addresses left out.
  public static func ipAddresses() -> [String] {
    var first: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&first) == 0, let first else { return [] }
    defer { freeifaddrs(first) }
    var out: [String] = []
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = cursor {
      defer { cursor = entry.pointee.ifa_next }
      guard let addr = entry.pointee.ifa_addr else { continue }
      let family = Int32(addr.pointee.sa_family)
      guard family == AF_INET || family == AF_INET6 else { continue }
      if entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) != 0 { continue }
      var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
      let length =
        family == AF_INET
        ? socklen_t(MemoryLayout<sockaddr_in>.size) : socklen_t(MemoryLayout<sockaddr_in6>.size)
      guard getnameinfo(addr, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0
      else { continue }
      let text = String(
        decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      if family == AF_INET6 && text.lowercased().hasPrefix("fe80") { continue }
      let name = String(cString: entry.pointee.ifa_name)
      out.append("\(name) \(text)")
    }
    return out
  }

  /// The host name, or nil.
  public static func hostName() -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
    let name = String(
      decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? nil : name
  }

  /// The name a pairing request gives this screen (`kds-grill-1`): the host
  /// name, at most 64 characters.
  public static func deviceName() -> String {
    String((hostName() ?? "kds-kiosk").prefix(64))
  }

  /// `14:05:09` in local time and `2026-12-01 13:05:09 UTC`, for `wallMillis`.
  public static func clockTexts(wallMillis: Int64) -> (local: String, utc: String, offset: Int) {
    let offset = SystemClock.localOffsetSeconds(atWallMillis: wallMillis)
    func parts(_ seconds: Int64) -> (date: String, time: String) {
      let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
      let secs = seconds - days * 86_400
      let (y, m, d) = civil(days)
      return (
        "\(y)-\(two(m))-\(two(d))", "\(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60))"
      )
    }
    let utc = parts(wallMillis / 1000)
    let local = parts(wallMillis / 1000 + Int64(offset))
    let sign = offset >= 0 ? "+" : "-"
    let a = abs(offset)
    let zone = offset == 0 ? "UTC" : "UTC\(sign)\(two(Int64(a / 3600))):\(two(Int64(a / 60 % 60)))"
    return (
      "\(local.date) \(local.time) (\(zone))", "\(utc.date) \(utc.time) UTC", offset
    )
  }

  /// `HH:MM:SS` local, for the title bar.
  public static func shortClock(wallMillis: Int64) -> String {
    let offset = SystemClock.localOffsetSeconds(atWallMillis: wallMillis)
    let s = wallMillis / 1000 + Int64(offset)
    let secs = ((s % 86_400) + 86_400) % 86_400
    return "\(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60))"
  }

  static func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }

  /// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
  static func civil(_ days: Int64) -> (Int64, Int64, Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
  }
}
