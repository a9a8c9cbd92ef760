/// A rendered glyph: an 8-bit coverage bitmap and where it sits relative to
/// the pen on the baseline.
final class GlyphBitmap {
  let width: Int
  let height: Int
  /// Offset from the pen to the bitmap's left edge.
  let left: Int
  /// Offset from the baseline up to the bitmap's top edge.
  let top: Int
  /// Advance in 1/64 pixel.
  let advance: Int
  let data: UnsafeMutablePointer<UInt8>

  init(width: Int, height: Int, left: Int, top: Int, advance: Int) {
    self.width = width
    self.height = height
    self.left = left
    self.top = top
    self.advance = advance
    data = .allocate(capacity: max(1, width * height))
    data.initialize(repeating: 0, count: max(1, width * height))
  }

  deinit { data.deallocate() }

  var byteCount: Int { width * height + 64 }
}

/// A bounded cache of rendered glyphs. When full, the CLOCK algorithm (an
/// approximation of least-recently-used) picks the glyph to drop.
/// Not thread-safe.
final class GlyphCache {
  let capacity: Int
  private var index: [UInt64: Int] = [:]
  private var slots: [GlyphBitmap?]
  private var keys: [UInt64]
  private var referenced: [Bool]
  private var hand = 0
  private var used = 0
  private(set) var hits = 0
  private(set) var misses = 0
  private(set) var evictions = 0
  private(set) var bytes = 0

  init(capacity: Int) {
    self.capacity = max(16, capacity)
    slots = Array(repeating: nil, count: self.capacity)
    keys = Array(repeating: 0, count: self.capacity)
    referenced = Array(repeating: false, count: self.capacity)
    index.reserveCapacity(self.capacity)
  }

  var count: Int { used }

  @inline(__always)
  func lookup(_ key: UInt64) -> GlyphBitmap? {
    if let slot = index[key] {
      hits += 1
      referenced[slot] = true
      return slots[slot]
    }
    misses += 1
    return nil
  }

  func insert(_ key: UInt64, _ glyph: GlyphBitmap) {
    let slot: Int
    if used < capacity {
      slot = used
      used += 1
    } else {
      // Sweep: clear reference bits until an unreferenced glyph comes up.
      while referenced[hand] {
        referenced[hand] = false
        hand = (hand + 1) % capacity
      }
      slot = hand
      hand = (hand + 1) % capacity
      index[keys[slot]] = nil
      bytes -= slots[slot]?.byteCount ?? 0
      evictions += 1
    }
    slots[slot] = glyph
    keys[slot] = key
    referenced[slot] = true
    index[key] = slot
    bytes += glyph.byteCount
  }

  func resetCounters() {
    hits = 0
    misses = 0
    evictions = 0
  }
}
