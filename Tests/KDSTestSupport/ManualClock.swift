import Foundation
import KDSCore

/// A clock tests move by hand: "two minutes later" without sleeping.
public final class ManualClock: KioskClock, @unchecked Sendable {
  private let lock = NSLock()
  private var current: Timestamp

  /// Starts at the real time (so the server's Date headers look sane).
  public init(start: Timestamp? = nil) {
    current = start ?? Timestamp(millis: Int64(Date().timeIntervalSince1970 * 1000))
  }

  public func now() -> Timestamp { lock.withLock { current } }

  public func advance(seconds: Int64) {
    lock.withLock { current = current.adding(seconds: seconds) }
  }

  public func advance(millis: Int64) { lock.withLock { current = current.adding(millis: millis) } }

  public func set(_ t: Timestamp) { lock.withLock { current = t } }
}
