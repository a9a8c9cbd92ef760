/// ULIDs (https://github.com/ulid/spec): 48 bits of milliseconds and 80 random
/// bits, written as 26 characters of Crockford base32. The generator is
/// monotonic: within one millisecond (or when the clock steps back) it
/// increments the previous random part, so keys sort in creation order.
public struct ULIDGenerator: Sendable {
  private var lastMillis: Int64 = -1
  private var lastHigh: UInt16 = 0  // top 16 of the 80 random bits
  private var lastLow: UInt64 = 0  // low 64 of the 80 random bits

  public init() {}

  static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

  /// The next ULID for a clock reading of `now`.
  public mutating func next(now: Timestamp) -> String {
    var rng = SystemRandomNumberGenerator()
    return next(now: now, using: &rng)
  }

  public mutating func next(now: Timestamp, using rng: inout some RandomNumberGenerator)
    -> String
  {
    var millis = max(0, min(now.millis, (1 << 48) - 1))
    if millis <= lastMillis {
      // Same millisecond, or the clock went back: stay monotonic.
      millis = lastMillis
      let (low, overflow) = lastLow.addingReportingOverflow(1)
      lastLow = low
      if overflow {
        if lastHigh == UInt16.max {
          // 80 bits exhausted within one millisecond: borrow the next one.
          millis += 1
          lastHigh = UInt16.random(in: 0...(UInt16.max / 2), using: &rng)
          lastLow = rng.next()
        } else {
          lastHigh += 1
        }
      }
    } else {
      // Leave head room so increments within the millisecond cannot overflow.
      lastHigh = UInt16.random(in: 0...(UInt16.max / 2), using: &rng)
      lastLow = rng.next()
    }
    lastMillis = millis
    return Self.encode(millis: millis, high: lastHigh, low: lastLow)
  }

  static func encode(millis: Int64, high: UInt16, low: UInt64) -> String {
    var out = [UInt8](repeating: 0, count: 26)
    // 48-bit time -> 10 characters (the first holds 3 bits).
    var t = UInt64(millis)
    for i in stride(from: 9, through: 0, by: -1) {
      out[i] = alphabet[Int(t & 31)]
      t >>= 5
    }
    // 80-bit randomness -> 16 characters.
    var hi = UInt64(high)
    var lo = low
    for i in stride(from: 25, through: 10, by: -1) {
      out[i] = alphabet[Int(lo & 31)]
      lo = (lo >> 5) | ((hi & 31) << 59)
      hi >>= 5
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The millisecond time stamped in a ULID, or nil if it is not one.
  public static func timestamp(of ulid: String) -> Timestamp? {
    let chars = Array(ulid.utf8)
    guard chars.count == 26 else { return nil }
    var t: Int64 = 0
    for c in chars[0..<10] {
      guard let v = alphabet.firstIndex(of: c) else { return nil }
      t = t << 5 | Int64(v)
    }
    for c in chars[10...] where !alphabet.contains(c) { return nil }
    return Timestamp(millis: t)
  }
}
