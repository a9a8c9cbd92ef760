import KDSSystem
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

final class ThreadBody {
  let run: @Sendable () -> Void
  init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a detached POSIX thread running `body`.
public func spawnThread(_ body: @escaping @Sendable () -> Void) {
  let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
  var tid = pthread_t()
  let r = pthread_create(
    &tid, nil,
    { arg in
      let body = Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue()
      body.run()
      return nil
    }, box)
  precondition(r == 0, "pthread_create failed: \(r)")
  pthread_detach(tid)
}

/// The end of a thread's loop, to wait for with a deadline.
final class LoopEnd: Sendable {
  let running = Mutex<Bool>(false)
  let signal = WakeSignal()

  func begin() {
    running.withLock { $0 = true }
    signal.drain()
  }

  func end() {
    running.withLock { $0 = false }
    signal.signal()
  }

  /// Returns when the loop has ended, or after `timeoutMillis`.
  func wait(timeoutMillis: Int) {
    let deadline = SystemClock.monotonicMillis() + Int64(timeoutMillis)
    while running.withLock({ $0 }) {
      let left = deadline - SystemClock.monotonicMillis()
      if left <= 0 { return }
      signal.wait(timeoutMillis: Int(left))
    }
  }
}
