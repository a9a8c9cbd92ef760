import CFreeType
import KDSGeometry

/// A line of text shaped in one style: which glyph goes where. Runs are
/// cached by the engine, so the same string in the same style is shaped once.
public final class TextRun {
  public let text: String
  public let style: TextStyle
  /// Glyph cache keys and pen offsets in whole pixels from the run's origin.
  let glyphKeys: [UInt64]
  let glyphX: [Int32]
  /// Advance width in pixels (rounded up).
  public let width: Int
  /// Ascent and descent of the style (line box above and below the baseline).
  public let ascent: Int
  public let descent: Int
  /// Inked pixels relative to (origin x, baseline y); may be empty.
  public let ink: Rect
  /// How many characters had no glyph in any face and were drawn as a box.
  public let missingGlyphs: Int

  init(
    text: String, style: TextStyle, glyphKeys: [UInt64], glyphX: [Int32], width: Int,
    ascent: Int, descent: Int, ink: Rect, missingGlyphs: Int
  ) {
    self.text = text
    self.style = style
    self.glyphKeys = glyphKeys
    self.glyphX = glyphX
    self.width = width
    self.ascent = ascent
    self.descent = descent
    self.ink = ink
    self.missingGlyphs = missingGlyphs
  }

  public var glyphCount: Int { glyphKeys.count }
  public var lineHeight: Int { ascent + descent }
}

/// Line metrics of a style.
public struct LineMetrics: Hashable, Sendable {
  public var ascent: Int
  public var descent: Int
  public var lineHeight: Int { ascent + descent }
}

/// FreeType text: shaping with kerning, a bounded glyph cache, grayscale
/// anti-aliasing, wrapping, ellipsis and fallback faces; characters no face
/// has are drawn as a visible box. Not thread-safe.
public final class TextEngine {
  public let fonts: FontSet
  let glyphs: GlyphCache
  /// Two generations of shaped runs: a run used in the current generation is
  /// kept; when the current one fills up, the older one is dropped.
  private var runs: [RunKey: TextRun] = [:]
  private var olderRuns: [RunKey: TextRun] = [:]
  private let runGeneration: Int
  private var wraps: [WrapKey: [String]] = [:]
  private var olderWraps: [WrapKey: [String]] = [:]
  /// Laid-out card contents, for the board layout.
  let cardBlocks = CardBlockCache()

  struct RunKey: Hashable {
    var text: String
    var style: TextStyle
  }

  struct WrapKey: Hashable {
    var text: String
    var style: TextStyle
    var width: Int
  }

  /// The glyph used when no face has a character.
  static let boxFace: UInt8 = 255

  public init(fonts: FontSet, glyphCapacity: Int = 2048, runCapacity: Int = 4096) {
    self.fonts = fonts
    glyphs = GlyphCache(capacity: glyphCapacity)
    runGeneration = max(64, runCapacity / 2)
  }

  // MARK: statistics

  public var glyphCacheHits: Int { glyphs.hits }
  public var glyphCacheMisses: Int { glyphs.misses }
  public var glyphCacheCount: Int { glyphs.count }
  public var glyphCacheCapacity: Int { glyphs.capacity }
  public var glyphCacheBytes: Int { glyphs.bytes }
  public var glyphCacheEvictions: Int { glyphs.evictions }
  public func resetCacheCounters() { glyphs.resetCounters() }

  // MARK: metrics

  public func metrics(_ style: TextStyle) -> LineMetrics {
    let face = fonts.face(style.weight)
    let asc = (face.ascender * style.px + face.unitsPerEM / 2) / face.unitsPerEM
    let desc = (-face.descender * style.px + face.unitsPerEM / 2) / face.unitsPerEM
    return LineMetrics(ascent: asc, descent: desc)
  }

  // MARK: shaping

  /// Characters that take no space and draw nothing (joiners, variation
  /// selectors, byte order marks, emoji skin tones without a base).
  @inline(__always)
  static func isIgnorable(_ v: UInt32) -> Bool {
    (v >= 0x200B && v <= 0x200F) || (v >= 0x2060 && v <= 0x2064) || v == 0xFEFF
      || (v >= 0xFE00 && v <= 0xFE0F) || (v >= 0xE0100 && v <= 0xE01EF)
      || (v >= 0x1F3FB && v <= 0x1F3FF) || v == 0xAD
  }

  /// The characters to draw: controls become spaces (line breaks, tabs) or
  /// vanish, invisible format characters vanish.
  static func drawable(_ text: String) -> [UInt32] {
    var out: [UInt32] = []
    out.reserveCapacity(text.utf8.count)
    for s in text.unicodeScalars {
      let v = s.value
      if v < 0x20 || (v >= 0x7F && v < 0xA0) {
        if v == 0x09 || v == 0x0A || v == 0x0D { out.append(0x20) }
        continue
      }
      if v == 0x2028 || v == 0x2029 {
        out.append(0x20)
        continue
      }
      if isIgnorable(v) { continue }
      out.append(v)
    }
    return out
  }

  @inline(__always)
  static func key(face: UInt8, px: Int, glyph: UInt32) -> UInt64 {
    UInt64(face) | UInt64(px & 0xFFFF) << 8 | UInt64(glyph) << 24
  }

  /// The rendered glyph for a cache key, rendering it on a miss.
  func glyph(_ key: UInt64) -> GlyphBitmap {
    if let g = glyphs.lookup(key) { return g }
    let faceId = UInt8(truncatingIfNeeded: key)
    let px = Int((key >> 8) & 0xFFFF)
    let index = UInt32(truncatingIfNeeded: key >> 24)
    let g =
      faceId == TextEngine.boxFace
      ? TextEngine.boxGlyph(px: px) : render(fonts.faces[Int(faceId)], px: px, index: index)
    glyphs.insert(key, g)
    return g
  }

  private func render(_ face: FontFace, px: Int, index: UInt32) -> GlyphBitmap {
    face.setSize(px)
    // FT_LOAD_RENDER | FT_LOAD_TARGET_LIGHT: light hinting, 8-bit grayscale.
    let flags = FT_Int32(1 << 2) | FT_Int32(1 << 16)
    guard FT_Load_Glyph(face.face, FT_UInt(index), flags) == 0, let slot = face.face.pointee.glyph
    else {
      return TextEngine.boxGlyph(px: px)
    }
    let bm = slot.pointee.bitmap
    let w = Int(bm.width)
    let h = Int(bm.rows)
    // Colour (emoji) or monochrome bitmaps are not drawn as coverage: show
    // the box rather than nothing or garbage.
    if w > 0 && h > 0 && bm.pixel_mode != UInt8(FT_PIXEL_MODE_GRAY.rawValue) {
      return TextEngine.boxGlyph(px: px)
    }
    let advance = Int(slot.pointee.linearHoriAdvance) >> 10  // 16.16 -> 26.6
    let g = GlyphBitmap(
      width: w, height: h, left: Int(slot.pointee.bitmap_left), top: Int(slot.pointee.bitmap_top),
      advance: advance)
    if w > 0, h > 0, let buffer = bm.buffer {
      let pitch = Int(bm.pitch)
      for y in 0..<h {
        let src = pitch >= 0 ? buffer + y * pitch : buffer + (h - 1 - y) * -pitch
        (g.data + y * w).update(from: src, count: w)
      }
    }
    return g
  }

  /// A hollow box the size of a capital letter: what a character no face has
  /// looks like (visible, never garbage).
  static func boxGlyph(px: Int) -> GlyphBitmap {
    let w = max(4, px * 6 / 10)
    let h = max(5, px * 3 / 4)
    let t = max(1, px / 14)
    let g = GlyphBitmap(
      width: w, height: h, left: max(1, px / 12), top: h, advance: (w + px / 6) * 64)
    for y in 0..<h {
      for x in 0..<w where y < t || y >= h - t || x < t || x >= w - t {
        g.data[y * w + x] = 255
      }
    }
    return g
  }

  /// The shaped run of `text` in `style` (cached).
  public func run(_ text: String, _ style: TextStyle) -> TextRun {
    let key = RunKey(text: text, style: style)
    if let r = runs[key] { return r }
    let r = olderRuns[key] ?? shape(text, style)
    if runs.count >= runGeneration {
      olderRuns = runs
      runs = [:]
      runs.reserveCapacity(runGeneration)
    }
    runs[key] = r
    return r
  }

  /// Pen positions (1/64 px) and advances of each drawable character.
  private func layoutScalars(_ scalars: [UInt32], _ style: TextStyle) -> (
    keys: [UInt64], pen: [Int], advance: [Int], missing: Int
  ) {
    var keys: [UInt64] = []
    var pens: [Int] = []
    var advs: [Int] = []
    keys.reserveCapacity(scalars.count)
    pens.reserveCapacity(scalars.count)
    advs.reserveCapacity(scalars.count)
    var pen = 0
    var prevFace: FontFace?
    var prevGlyph: UInt32 = 0
    var missing = 0
    for s in scalars {
      let key: UInt64
      if let (face, index) = fonts.resolve(s, style.weight) {
        if let pf = prevFace, pf === face {
          let k = face.kerning(prevGlyph, index)
          if k != 0 { pen += k * style.px * 64 / face.unitsPerEM }
        }
        key = TextEngine.key(face: face.id, px: style.px, glyph: index)
        prevFace = face
        prevGlyph = index
      } else {
        key = TextEngine.key(face: TextEngine.boxFace, px: style.px, glyph: 0)
        prevFace = nil
        missing += 1
      }
      let g = glyph(key)
      keys.append(key)
      pens.append(pen)
      advs.append(g.advance)
      pen += g.advance
    }
    return (keys, pens, advs, missing)
  }

  private func shape(_ text: String, _ style: TextStyle) -> TextRun {
    let scalars = TextEngine.drawable(text)
    let (keys, pens, advs, missing) = layoutScalars(scalars, style)
    var xs: [Int32] = []
    xs.reserveCapacity(keys.count)
    var ink = Rect.zero
    for i in 0..<keys.count {
      let x = (pens[i] + 32) >> 6
      xs.append(Int32(x))
      let g = glyph(keys[i])
      if g.width > 0 && g.height > 0 {
        ink = ink.union(Rect(x: x + g.left, y: -g.top, width: g.width, height: g.height))
      }
    }
    let total = keys.isEmpty ? 0 : pens[keys.count - 1] + advs[keys.count - 1]
    let m = metrics(style)
    return TextRun(
      text: text, style: style, glyphKeys: keys, glyphX: xs, width: (total + 63) >> 6,
      ascent: m.ascent, descent: m.descent, ink: ink, missingGlyphs: missing)
  }

  /// The advance width of `text` in `style`, in pixels.
  public func width(_ text: String, _ style: TextStyle) -> Int { run(text, style).width }

  // MARK: wrapping and ellipsis

  /// `text` broken into lines no wider than `maxWidth`: at spaces, after
  /// hyphens and slashes, and inside a word only when the word alone is too wide.
  public func wrap(_ text: String, _ style: TextStyle, width maxWidth: Int) -> [String] {
    let key = WrapKey(text: text, style: style, width: maxWidth)
    if let w = wraps[key] { return w }
    let lines = olderWraps[key] ?? computeWrap(text, style, maxWidth)
    if wraps.count >= runGeneration {
      olderWraps = wraps
      wraps = [:]
    }
    wraps[key] = lines
    return lines
  }

  private func computeWrap(_ text: String, _ style: TextStyle, _ maxWidth: Int) -> [String] {
    let scalars = TextEngine.drawable(text)
    if scalars.isEmpty { return [] }
    let (_, pens, advs, _) = layoutScalars(scalars, style)
    let limit = max(1, maxWidth) * 64
    func width(_ a: Int, _ b: Int) -> Int { b <= a ? 0 : pens[b - 1] + advs[b - 1] - pens[a] }
    func isSpace(_ v: UInt32) -> Bool { v == 0x20 || v == 0xA0 || v == 0x3000 }
    func breaksAfter(_ v: UInt32) -> Bool { v == 0x2D || v == 0x2F || v == 0x2014 || v == 0x2013 }
    var lines: [String] = []
    var start = 0
    let n = scalars.count
    func emit(_ a: Int, _ b: Int) {
      var end = b
      while end > a && isSpace(scalars[end - 1]) { end -= 1 }
      if end > a {
        var s = String.UnicodeScalarView()
        for v in scalars[a..<end] { s.append(Unicode.Scalar(v)!) }
        lines.append(String(s))
      }
    }
    while start < n {
      while start < n && isSpace(scalars[start]) { start += 1 }
      if start >= n { break }
      var end = n
      while end > start && isSpace(scalars[end - 1]) { end -= 1 }
      if width(start, end) <= limit {
        emit(start, end)
        break
      }
      // The last break opportunity whose line fits.
      var best = -1
      var i = start + 1
      while i < n {
        let atBreak = isSpace(scalars[i]) || breaksAfter(scalars[i - 1])
        if atBreak {
          var e = i
          while e > start && isSpace(scalars[e - 1]) { e -= 1 }
          if width(start, e) <= limit { best = i } else { break }
        }
        i += 1
      }
      if best <= start {
        // One word wider than the line: cut it where it stops fitting.
        var e = start + 1
        while e < n && width(start, e + 1) <= limit { e += 1 }
        best = e
      }
      emit(start, best)
      start = best
    }
    return lines
  }

  /// `text` as it fits in `maxWidth`: whole, or cut with an ellipsis.
  public func ellipsize(_ text: String, _ style: TextStyle, width maxWidth: Int) -> String {
    if width(text, style) <= maxWidth { return text }
    let ell = "\u{2026}"
    let ellW = width(ell, style)
    if ellW > maxWidth { return "" }
    var scalars = Array(text.unicodeScalars)
    // Binary search the longest prefix that fits with the ellipsis.
    var lo = 0
    var hi = scalars.count
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      var s = String.UnicodeScalarView()
      s.append(contentsOf: scalars[0..<mid])
      if width(String(s), style) + ellW <= maxWidth { lo = mid } else { hi = mid - 1 }
    }
    scalars = Array(scalars[0..<lo])
    while let last = scalars.last, last == " " { scalars.removeLast() }
    var s = String.UnicodeScalarView()
    s.append(contentsOf: scalars)
    return String(s) + ell
  }

  // MARK: drawing

  /// Draws `run` with its origin at `x` and its baseline at `baseline`.
  public func draw(_ run: TextRun, on canvas: Canvas, x: Int, baseline: Int, color: Color) {
    let clip = canvas.clip
    // Quick reject of runs fully outside the clip.
    if x + run.ink.maxX <= clip.x || x + run.ink.x >= clip.maxX
      || baseline + run.ink.maxY <= clip.y || baseline + run.ink.y >= clip.maxY
    {
      return
    }
    let keys = run.glyphKeys
    let xs = run.glyphX
    for i in 0..<keys.count {
      let g = glyph(keys[i])
      if g.width == 0 { continue }
      canvas.drawMask(
        g.data, maskWidth: g.width, maskHeight: g.height, maskPitch: g.width,
        x: x + Int(xs[i]) + g.left, y: baseline - g.top, color: color.rgb)
    }
  }
}

@available(*, unavailable)
extension TextEngine: Sendable {}

@available(*, unavailable)
extension TextRun: Sendable {}
