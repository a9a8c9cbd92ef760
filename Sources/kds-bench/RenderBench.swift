import ArgumentParser
import KDSCore
import KDSKiosk
import KDSRender
import KDSSystem

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// `kds-bench render`: the renderer's speed on the lunch-rush fixture at
/// 1920x1080, single-threaded. Prints figures and their ratio to the targets;
/// never fails on a timing.
struct RenderBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "render",
    abstract: "Renderer benchmarks (full frame, one ticket changed, timer tick, first frame).")

  @Option(help: "The ticket list (default: Tests/Fixtures/tickets-lunch-rush.json).")
  var tickets: String?

  @Option(help: "Frame size WIDTHxHEIGHT.")
  var size: String = "1920x1080"

  @Option(help: "Repetitions of each measurement.")
  var iterations: Int = 300

  @Option(help: "A folder holding the fonts (default: located as the kiosk does).")
  var fonts: String?

  func run() throws {
    let parts = size.split(separator: "x").compactMap { Int($0) }
    guard parts.count == 2 else { throw ValidationError("--size must be WIDTHxHEIGHT") }
    let (w, h) = (parts[0], parts[1])
    let path = tickets ?? Self.defaultFixture()
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ValidationError("cannot read \(path)")
    }
    let list = try TicketBatch.decode(data).tickets
    let now = Timestamp(iso8601: "2025-11-21T13:00:00Z")!
    var snap = BoardSnapshot(
      station: "Grill", tickets: list, now: now, connection: .connected,
      lastSyncAt: now.adding(seconds: -3))

    // First frame: fonts loaded, nothing cached (median of fresh starts).
    var firsts: [Double] = []
    var coldHits = 0
    var coldMisses = 0
    for _ in 0..<max(5, iterations / 20) {
      let t0 = Self.clock()
      let renderer = BoardRenderer(
        width: w, height: h, fonts: try FontLocator.load(explicit: fonts))
      renderer.render(snap)
      firsts.append(Self.clock() - t0)
      coldHits = renderer.text.glyphCacheHits
      coldMisses = renderer.text.glyphCacheMisses
    }

    let renderer = BoardRenderer(width: w, height: h, fonts: try FontLocator.load(explicit: fonts))
    renderer.render(snap)
    let layout = renderer.layout
    let glyphs = Self.glyphCount(renderer, layout, snap)

    // Full frames with warm caches.
    renderer.text.resetCacheCounters()
    var full: [Double] = []
    for _ in 0..<iterations {
      renderer.invalidate()
      let t0 = Self.clock()
      renderer.render(snap)
      full.append(Self.clock() - t0)
    }
    let hits = renderer.text.glyphCacheHits
    let misses = renderer.text.glyphCacheMisses

    // One ticket changed: the oldest ticket (the first card) is alternately
    // bumped and back, so every card on the page moves. Each frame lays the
    // changed list out again, shapes its text and draws what changed: the
    // frame a chef sees most.
    var fewer = snap
    if let oldest = snap.tickets.min(by: { ($0.sentAt, $0.id) < ($1.sentAt, $1.id) }) {
      fewer.tickets.removeAll { $0.id == oldest.id }
    }
    renderer.render(fewer)
    var changed: [Double] = []
    for i in 0..<iterations {
      let t0 = Self.clock()
      renderer.render(i % 2 == 0 ? snap : fewer)
      changed.append(Self.clock() - t0)
    }
    renderer.render(snap)

    // One-second timer ticks.
    var ticks: [Double] = []
    var damaged = 0
    for _ in 0..<iterations {
      snap.now = snap.now.adding(seconds: 1)
      let t0 = Self.clock()
      let d = renderer.render(snap)
      ticks.append(Self.clock() - t0)
      damaged += d.area
    }

    // A frame's PNG (the snapshot output's cost).
    let t0 = Self.clock()
    let png = try PNG.encode(renderer.canvas, level: 3)
    let pngMs = Self.clock() - t0

    // VmHWM, not getrusage: ru_maxrss survives exec and would count `swift run`.
    let status = FileManager.default.contents(atPath: "/proc/self/status").map {
      String(decoding: $0, as: UTF8.self)
    }
    func statusKiB(_ key: String) -> Int {
      guard let line = status?.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") })
      else { return 0 }
      return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    func ms(_ v: Double) -> String { fixed(v, 3) + " ms" }
    func ratio(_ v: Double, _ target: Double) -> String {
      let verdict = v <= target ? "within" : "OVER"
      return fixed(v / target, 2) + "x target (" + verdict + " " + fixed(target, 1) + " ms)"
    }
    let fullMed = Self.percentile(full, 0.5)
    let changedMed = Self.percentile(changed, 0.5)
    let tickMed = Self.percentile(ticks, 0.5)
    let firstMed = Self.percentile(firsts, 0.5)
    let hitRate = 100 * Double(hits) / Double(max(1, hits + misses))
    let cards = layout.visibleFragments.count
    print(
      "bench render: \(w)x\(h), \(layout.tickets.count) tickets, \(cards) cards on page 1/"
        + "\(layout.pageCount), \(glyphs) glyphs, \(renderer.lastOperationCount) draw ops")
    print(
      "  full frame (warm caches): median \(ms(fullMed)), p95 "
        + "\(ms(Self.percentile(full, 0.95))), min \(ms(full.min()!)) - \(ratio(fullMed, 3))")
    print(
      "  one ticket changed:       median \(ms(changedMed)), p95 "
        + "\(ms(Self.percentile(changed, 0.95))), min \(ms(changed.min()!)) - "
        + "\(ratio(changedMed, 1.6)), goal <= 1.6 ms")
    print(
      "  timer tick (1 s):         median \(ms(tickMed)), p95 "
        + "\(ms(Self.percentile(ticks, 0.95))), \(damaged / max(1, iterations)) px repainted - "
        + ratio(tickMed, 0.3))
    print(
      "  first frame incl. fonts:  median \(ms(firstMed)), max \(ms(firsts.max()!)) - "
        + ratio(firstMed, 15))
    print(
      "  glyph cache: \(fixed(hitRate, 2))% hits (\(hits) hits, \(misses) misses) in warm frames; "
        + "\(renderer.text.glyphCacheCount) of \(renderer.text.glyphCacheCapacity) glyphs cached, "
        + "\(renderer.text.glyphCacheBytes / 1024) KiB")
    let coldRate = 100 * Double(coldHits) / Double(max(1, coldHits + coldMisses))
    print(
      "  glyph cache, first frame: \(fixed(coldRate, 2))% hits (\(coldMisses) glyphs rasterised)")
    print("  PNG encode (zlib level 3): \(ms(pngMs)), \(png.count / 1024) KiB")
    print(
      "  peak memory: \(fixed(Double(statusKiB("VmHWM")) / 1024, 1)) MiB resident at most, "
        + "\(fixed(Double(statusKiB("VmRSS")) / 1024, 1)) MiB now (frame buffer: "
        + "\(w * h * 4 / 1024) KiB)")
  }

  /// `v` with `digits` decimals (no Foundation formatting on the kiosk side).
  func fixed(_ v: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((abs(v) * scale).rounded())
    let whole = n / Int(scale)
    var frac = String(n % Int(scale))
    while frac.count < digits { frac = "0" + frac }
    return (v < 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + frac : "")
  }

  static func defaultFixture() -> String {
    var dir = FileManager.default.currentDirectoryPath
    while !dir.isEmpty && dir != "/" {
      let p = dir + "/Tests/Fixtures/tickets-lunch-rush.json"
      if FileManager.default.fileExists(atPath: p) { return p }
      dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
    }
    return "Tests/Fixtures/tickets-lunch-rush.json"
  }

  static func glyphCount(_ r: BoardRenderer, _ layout: BoardLayout, _ snap: BoardSnapshot) -> Int {
    var n = 0
    for f in layout.visibleFragments {
      for t in f.texts { n += r.text.run(t.text, t.style).glyphCount }
      n += 5  // timer
    }
    for t in layout.banner.texts { n += r.text.run(t.text, t.style).glyphCount }
    return n + BoardRenderer.statusText(snap).unicodeScalars.count + 5
  }

  /// CLOCK_MONOTONIC in milliseconds.
  static func clock() -> Double {
    Double(SystemClock.monotonicNanoseconds()) / 1_000_000
  }

  static func percentile(_ values: [Double], _ p: Double) -> Double {
    let s = values.sorted()
    return s[min(s.count - 1, Int(Double(s.count - 1) * p))]
  }
}
