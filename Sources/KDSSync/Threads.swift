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
