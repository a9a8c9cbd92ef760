#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The write end of the installed pipe, for the async-signal-safe handler.
nonisolated(unsafe) private var signalPipeWriter: Int32 = -1

/// Signals as a readable descriptor (the self-pipe trick): a handler,
/// installed with sigaction whatever the inherited disposition (so a
/// background job's ignored SIGINT works too), writes each signal's number
/// into a non-blocking, close-on-exec pipe. Works whichever thread the kernel
/// delivers the signal to. One per process; SIGPIPE is ignored.
public final class SignalPipe {
  /// Poll this for POLLIN.
  public let fd: Int32
  private let writer: Int32
  private let signals: [Int32]

  public init(_ signals: [Int32]) throws(SystemError) {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { throw SystemError("pipe") }
    for end in fds {
      _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
      _ = fcntl(end, F_SETFD, FD_CLOEXEC)
    }
    fd = fds[0]
    writer = fds[1]
    self.signals = signals
    signalPipeWriter = writer
    for s in signals {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { signo in
        let saved = errno
        var byte = UInt8(truncatingIfNeeded: signo)
        _ = write(signalPipeWriter, &byte, 1)
        errno = saved
      }
      action.sa_flags = SA_RESTART
      sigemptyset(&action.sa_mask)
      sigaction(s, &action, nil)
    }
    signal(SIGPIPE, SIG_IGN)
  }

  deinit {
    for s in signals { signal(s, SIG_DFL) }
    if signalPipeWriter == writer { signalPipeWriter = -1 }
    close(fd)
    close(writer)
  }

  /// The next signal received, or nil when none is waiting.
  public func next() -> Int32? {
    var byte: UInt8 = 0
    return read(fd, &byte, 1) == 1 ? Int32(byte) : nil
  }

  /// Every signal received since the last call.
  public func drain() -> Set<Int32> {
    var buffer = [UInt8](repeating: 0, count: 64)
    var received = Set<Int32>()
    while true {
      let n = read(fd, &buffer, buffer.count)
      if n <= 0 { break }
      for b in buffer[0..<n] { received.insert(Int32(b)) }
    }
    return received
  }
}

@available(*, unavailable) extension SignalPipe: Sendable {}
