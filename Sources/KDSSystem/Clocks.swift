#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The process's clocks, read one way everywhere.
///
/// Durations, timeouts and schedules use `monotonicNanoseconds()` (it never
/// jumps: NTP steps and a wrong RTC do not move it); only what is shown or
/// stored as a date uses `wallMillis()`.
public enum SystemClock {
  /// CLOCK_MONOTONIC in nanoseconds: the clock of DRM flip events and of
  /// evdev events once their clock is set to monotonic.
  @inline(__always)
  public static func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }

  /// CLOCK_MONOTONIC in milliseconds.
  public static func monotonicMillis() -> Int64 {
    Int64(monotonicNanoseconds() / 1_000_000)
  }

  /// The wall clock (CLOCK_REALTIME) in milliseconds since the Unix epoch.
  public static func wallMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
  }

  /// The local time zone's offset from UTC at `wallMillis`, in seconds (what
  /// the screen's clock adds to UTC).
  public static func localOffsetSeconds(atWallMillis millis: Int64) -> Int {
    var t = time_t(millis / 1000)
    var parts = tm()
    guard localtime_r(&t, &parts) != nil else { return 0 }
    return Int(parts.tm_gmtoff)
  }
}
