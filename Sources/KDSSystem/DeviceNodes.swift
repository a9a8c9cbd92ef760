#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The `<prefix>N` entries of `folder` (`card0`, `event12`, `fb0`), as full
/// paths sorted by their number. Anything else in the folder is skipped; a
/// folder that cannot be read gives an empty list.
public func deviceNodes(in folder: String, prefix: String) -> [String] {
  guard let dir = opendir(folder) else { return [] }
  defer { closedir(dir) }
  var found: [(Int, String)] = []
  while let entry = readdir(dir) {
    let name = withUnsafePointer(to: entry.pointee.d_name) {
      $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
    }
    guard name.hasPrefix(prefix), let n = Int(name.dropFirst(prefix.count)), n >= 0 else {
      continue
    }
    found.append((n, folder + "/" + name))
  }
  return found.sorted { $0.0 < $1.0 }.map(\.1)
}

/// A hint for a permission error on a device node: its group and mode, and
/// what to do.
public func permissionHint(_ path: String) -> String {
  var st = stat()
  guard stat(path, &st) == 0 else { return "" }
  let group = getgrgid(st.st_gid).map { String(cString: $0.pointee.gr_name) } ?? "\(st.st_gid)"
  return " (owned by group '\(group)', mode \(String(st.st_mode & 0o777, radix: 8)): "
    + "add the kiosk user to that group)"
}
