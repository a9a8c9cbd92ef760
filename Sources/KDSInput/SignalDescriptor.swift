import CEvdev
import Glibc

/// The write end of the signal pipe, for the async-signal-safe handler.
nonisolated(unsafe) private var signalPipeWriter: Int32 = -1

/// Signals as a readable descriptor: a handler (installed with sigaction,
/// whatever the inherited disposition, so a background job's ignored SIGINT
/// works too) writes each signal's number into a non-blocking pipe. Works
/// whichever thread the kernel delivers the signal to. One per process.
public final class SignalDescriptor {
  public let fd: Int32
  private let writer: Int32

  public init(_ signals: [Int32]) throws {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else {
      throw InputError("pipe2: \(String(cString: strerror(errno)))")
    }
    fd = fds[0]
    writer = fds[1]
    for end in fds {
      _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
      _ = fcntl(end, F_SETFD, FD_CLOEXEC)
    }
    signalPipeWriter = writer
    for s in signals {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { signo in
        var byte = UInt8(truncatingIfNeeded: signo)
        _ = write(signalPipeWriter, &byte, 1)
      }
      action.sa_flags = SA_RESTART
      sigemptyset(&action.sa_mask)
      sigaction(s, &action, nil)
    }
  }

  /// The next signal received, or nil.
  public func read() -> UInt32? {
    var byte: UInt8 = 0
    return Glibc.read(fd, &byte, 1) == 1 ? UInt32(byte) : nil
  }

  public func close() {
    Glibc.close(fd)
    Glibc.close(writer)
  }
}

@available(*, unavailable) extension SignalDescriptor: Sendable {}
