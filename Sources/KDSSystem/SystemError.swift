#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The text of an errno value: "No such file or directory".
public func errnoText(_ code: Int32) -> String {
  String(cString: strerror(code))
}

/// A failed system call: what was tried, and the errno it gave, as text.
/// `"open /dev/dri/card0: Permission denied"`.
public struct SystemError: Error, CustomStringConvertible, Sendable {
  /// What failed, e.g. "open /dev/dri/card0" or "poll".
  public let operation: String
  public let code: Int32

  /// `code` defaults to the thread's current errno: build the error right
  /// after the failing call.
  public init(_ operation: String, code: Int32 = errno) {
    self.operation = operation
    self.code = code
  }

  /// For the C APIs (libdrm, libevdev) that return `-errno`.
  public init(_ operation: String, negativeReturn rc: Int32) {
    self.init(operation, code: rc < 0 ? -rc : rc)
  }

  /// The errno's text alone.
  public var reason: String { errnoText(code) }
  public var description: String { "\(operation): \(reason)" }
}

/// `open(2)`, retrying EINTR.
public func openRetrying(_ path: String, _ flags: Int32, mode: mode_t = 0) -> Result<
  Int32, SystemError
> {
  while true {
    let fd = open(path, flags, mode)
    if fd >= 0 { return .success(fd) }
    let code = errno
    if code != EINTR { return .failure(SystemError("open \(path)", code: code)) }
  }
}
