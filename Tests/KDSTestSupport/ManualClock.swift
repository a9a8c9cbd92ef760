import Foundation
import KDSCore

/// A clock tests move by hand: "two minutes later" without sleeping.
public final class ManualClock: KioskClock, @unchecked Sendable {
  private let lock = NSLock()
  private var current: Timestamp
  private var monotonic: Int64 = 1_000_000

  /// Starts at the real time (so the server's Date headers look sane).
  public init(start: Timestamp? = nil) {
    current = start ?? Timestamp(millis: Int64(Date().timeIntervalSince1970 * 1000))
  }

  public func now() -> Timestamp { lock.withLock { current } }

  public func monotonicMillis() -> Int64 { lock.withLock { monotonic } }

  /// Time passes: the wall and the monotonic clock move together.
  public func advance(seconds: Int64) { advance(millis: seconds * 1000) }

  public func advance(millis: Int64) {
    lock.withLock {
      current = current.adding(millis: millis)
      monotonic += millis
    }
  }

  /// The wall clock steps (NTP, `date -s`); no time passes.
  public func stepWall(seconds: Int64) {
    lock.withLock { current = current.adding(seconds: seconds) }
  }

  /// Sets the wall clock; the monotonic clock moves by the difference when it
  /// is forward (time passed), not at all when it is backward.
  public func set(_ t: Timestamp) {
    lock.withLock {
      monotonic += max(0, t.millis(since: current))
      current = t
    }
  }
}
