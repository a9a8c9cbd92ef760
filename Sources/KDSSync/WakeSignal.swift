import KDSCore
import KDSSystem

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A self-pipe (non-blocking, close-on-exec) that one thread signals and
/// another polls: the sync thread's wake-up (a chef acted) and the daemon's
/// wake-up (the sync changed something).
public final class WakeSignal: Sendable {
  /// Poll this for POLLIN.
  public let fd: Int32
  let writeFD: Int32

  public init() {
    var fds: [Int32] = [-1, -1]
    if pipe(&fds) != 0 { preconditionFailure("\(SystemError("pipe"))") }
    for f in fds {
      _ = fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK)
      _ = fcntl(f, F_SETFD, FD_CLOEXEC)
    }
    fd = fds[0]
    writeFD = fds[1]
  }

  deinit {
    close(fd)
    close(writeFD)
  }

  /// Wakes the waiter (cheap; several signals before a wait count as one; a
  /// full pipe already means "wake up").
  public func signal() {
    var one: UInt8 = 1
    _ = write(writeFD, &one, 1)
  }

  /// Clears pending signals; true if there was any.
  @discardableResult
  public func drain() -> Bool {
    var buffer = [UInt8](repeating: 0, count: 64)
    var any = false
    while read(fd, &buffer, buffer.count) > 0 { any = true }
    return any
  }

  /// Waits up to `timeoutMillis` for a signal (and clears it). True if
  /// signalled. The deadline is on the monotonic clock: an interrupted wait
  /// goes on for what is left, whatever the wall clock does.
  @discardableResult
  public func wait(timeoutMillis: Int) -> Bool {
    let deadline = SystemClock.monotonicMillis() + Int64(max(0, timeoutMillis))
    while true {
      var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let left = max(0, deadline - SystemClock.monotonicMillis())
      let r = poll(&p, 1, Int32(clamping: left))
      if r > 0 { return drain() }
      if r == 0 || errno != EINTR || left == 0 { return false }
    }
  }
}

/// The device's real wall clock, as a `KioskClock`.
public struct WallClock: KioskClock {
  public init() {}
  public func now() -> Timestamp { Timestamp(millis: SystemClock.wallMillis()) }
  public func monotonicMillis() -> Int64 { SystemClock.monotonicMillis() }
}
