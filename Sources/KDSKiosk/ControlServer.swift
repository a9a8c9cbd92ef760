import KDSCore
import KDSSystem
import Logging

#if canImport(Glibc)
  import Glibc
#endif

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// The control socket: a unix stream socket (mode 0600) taking one JSON
/// request per line and answering one JSON line each.
final class ControlServer {
  let path: String
  let listenFD: Int32
  var clients: [Int32: [UInt8]] = [:]
  let logger: Logger

  init(path: String, logger: Logger) throws {
    self.path = path
    self.logger = logger
    var st = stat()
    if lstat(path, &st) == 0 {
      guard st.st_mode & S_IFMT == S_IFSOCK else {
        throw ControlSocketError("\(path) exists and is not a socket")
      }
      unlink(path)
    }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ControlSocketError(SystemError("socket").description) }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
      Glibc.close(fd)
      throw ControlSocketError("socket path too long: \(path)")
    }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    // Only this user may connect: no window where the socket is wider open.
    let oldMask = umask(0o177)
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    umask(oldMask)
    guard bound == 0 else {
      let error = SystemError("bind \(path)")
      Glibc.close(fd)
      throw ControlSocketError(error.description)
    }
    chmod(path, 0o600)
    guard listen(fd, 16) == 0 else {
      let error = SystemError("listen \(path)")
      Glibc.close(fd)
      throw ControlSocketError(error.description)
    }
    listenFD = fd
  }

  var pollFDs: [Int32] { [listenFD] + clients.keys.sorted() }

  /// Handles readiness of `fd`; true if a request may have changed state.
  func service(fd: Int32, handler: (ControlRequest) -> ControlResponse) -> Bool {
    if fd == listenFD {
      while true {
        let c = accept(listenFD, nil, nil)
        if c < 0 { break }
        _ = fcntl(c, F_SETFD, FD_CLOEXEC)
        _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
        clients[c] = []
      }
      return false
    }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = read(fd, &buffer, buffer.count)
    if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
      drop(fd)
      return false
    }
    guard n > 0 else { return false }
    clients[fd, default: []] += buffer[0..<n]
    var acted = false
    while let nl = clients[fd]?.firstIndex(of: 0x0A) {
      let line = Array(clients[fd]![..<nl])
      clients[fd]!.removeSubrange(...nl)
      let response: ControlResponse
      do {
        let request = try JSONDecoder().decode(ControlRequest.self, from: Data(line))
        response = handler(request)
        if request.cmd != "status" && request.cmd != "queue" { acted = true }
      } catch {
        response = .failure("bad request: \(describe(error))")
      }
      var out = (try? JSONEncoder().encode(response)) ?? Data("{\"ok\":false}".utf8)
      out.append(0x0A)
      if !writeAll(fd, out) {
        drop(fd)
        return acted
      }
    }
    if (clients[fd]?.count ?? 0) > 65_536 {
      logger.warning("control client sent an over-long line: dropped")
      drop(fd)
    }
    return acted
  }

  func writeAll(_ fd: Int32, _ data: Data) -> Bool {
    var offset = 0
    let bytes = [UInt8](data)
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n > 0 {
        offset += n
      } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        if poll(&p, 1, 1000) <= 0 { return false }
      } else {
        return false
      }
    }
    return true
  }

  func drop(_ fd: Int32) {
    clients[fd] = nil
    Glibc.close(fd)
  }

  func close() {
    for fd in clients.keys { Glibc.close(fd) }
    clients.removeAll()
    Glibc.close(listenFD)
    unlink(path)
  }
}

struct ControlSocketError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
