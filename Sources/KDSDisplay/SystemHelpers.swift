import Glibc

/// CLOCK_MONOTONIC now, in nanoseconds (the clock of DRM flip events and of
/// the input events once their clock is set to monotonic).
public func monotonicNanoseconds() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// `open(2)` retrying EINTR; returns the descriptor or the errno.
func openRetrying(_ path: String, _ flags: Int32) -> Result<Int32, SystemErrno> {
  while true {
    let fd = open(path, flags)
    if fd >= 0 { return .success(fd) }
    if errno != EINTR { return .failure(SystemErrno(errno)) }
  }
}

/// An errno with its message.
struct SystemErrno: Error, CustomStringConvertible {
  let code: Int32
  init(_ code: Int32) { self.code = code }
  var description: String { String(cString: strerror(code)) }
}

/// Lists `/dev/<prefix>N`-style nodes of a folder, sorted by their number.
func deviceNodes(in folder: String, prefix: String) -> [String] {
  guard let dir = opendir(folder) else { return [] }
  defer { closedir(dir) }
  var found: [(Int, String)] = []
  while let entry = readdir(dir) {
    let name = withUnsafePointer(to: entry.pointee.d_name) {
      $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
    }
    guard name.hasPrefix(prefix), let n = Int(name.dropFirst(prefix.count)) else { continue }
    found.append((n, folder + "/" + name))
  }
  return found.sorted { $0.0 < $1.0 }.map(\.1)
}

/// A hint for a permission error on a device node.
func permissionHint(_ path: String) -> String {
  var st = stat()
  guard stat(path, &st) == 0 else { return "" }
  let group = getgrgid(st.st_gid).map { String(cString: $0.pointee.gr_name) } ?? "\(st.st_gid)"
  return " (owned by group '\(group)', mode \(String(st.st_mode & 0o777, radix: 8)): "
    + "add the kiosk user to that group)"
}
