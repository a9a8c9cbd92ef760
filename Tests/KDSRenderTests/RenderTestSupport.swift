import Foundation
import KDSCore
import KDSDisplay
import KDSKiosk
import KDSTestSupport
import Testing

@testable import KDSRender

/// Shared helpers of the renderer tests.
enum RenderTest {
  static let fontsDirectory = TestPaths.repoRoot + "/Fonts"
  static let goldenDirectory = TestPaths.repoRoot + "/Tests/KDSRenderTests/Golden"
  static let artifactsDirectory = TestPaths.repoRoot + "/build/test-artifacts"
  /// The fixtures' "now": a minute after the last update in the lunch rush.
  static let fixtureNow = Timestamp(iso8601: "2025-11-21T13:00:00Z")!

  static func engine(glyphCapacity: Int = 2048) throws -> TextEngine {
    TextEngine(fonts: try FontLocator.load(explicit: fontsDirectory), glyphCapacity: glyphCapacity)
  }

  static func tickets(_ fixture: String) throws -> [Ticket] {
    let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture(fixture)))
    return try TicketBatch.decode(data).tickets
  }

  static func snapshot(
    _ tickets: [Ticket], now: Timestamp = fixtureNow, connection: ConnectionState = .connected
  ) -> BoardSnapshot {
    BoardSnapshot(
      station: "Grill", tickets: tickets, now: now, connection: connection,
      lastSyncAt: now.adding(seconds: -3))
  }

  /// Compares `canvas` with the golden PNG `name`; with KDS_UPDATE_GOLDENS=1
  /// writes it instead. On a mismatch writes the frame and a diff image to
  /// build/test-artifacts/.
  static func expectGolden(
    _ canvas: Canvas, _ name: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let path = goldenDirectory + "/" + name + ".png"
    if ProcessInfo.processInfo.environment["KDS_UPDATE_GOLDENS"] == "1" {
      try PNGFile.write(canvas, to: path, level: 9)
      return
    }
    guard FileManager.default.fileExists(atPath: path) else {
      Issue.record(
        "golden \(name).png missing: run with KDS_UPDATE_GOLDENS=1 to create it",
        sourceLocation: sourceLocation)
      return
    }
    let golden = try PNG.read(path)
    #expect(
      golden.width == canvas.width && golden.height == canvas.height, sourceLocation: sourceLocation
    )
    guard golden.width == canvas.width, golden.height == canvas.height else { return }
    // Tolerance: a channel may differ by 3 levels (rasteriser rounding); at
    // most 0.05% of pixels may differ by more.
    let diff = Canvas(width: canvas.width, height: canvas.height)
    var bad = 0
    for y in 0..<canvas.height {
      for x in 0..<canvas.width {
        let a = canvas.pixel(x: x, y: y)
        let b = golden.pixel(x: x, y: y)
        var worst: UInt32 = 0
        for shift in [UInt32(0), 8, 16] {
          let ca = Int((a >> shift) & 0xFF)
          let cb = Int((b >> shift) & 0xFF)
          worst = max(worst, UInt32(abs(ca - cb)))
        }
        if worst > 3 {
          bad += 1
          diff.setPixel(x: x, y: y, 0xFF0000)
        } else {
          // Dimmed frame where it matches, to locate the differences.
          let g = ((a >> 16 & 0xFF) + (a >> 8 & 0xFF) + (a & 0xFF)) / 12
          diff.setPixel(x: x, y: y, g << 16 | g << 8 | g)
        }
      }
    }
    let allowed = canvas.width * canvas.height / 2000
    if bad > allowed {
      try FileManager.default.createDirectory(
        atPath: artifactsDirectory, withIntermediateDirectories: true)
      try PNGFile.write(canvas, to: artifactsDirectory + "/\(name)-actual.png")
      try PNGFile.write(diff, to: artifactsDirectory + "/\(name)-diff.png")
      let message =
        "\(name): \(bad) pixels differ from the golden (allowed \(allowed)); see "
        + "\(artifactsDirectory)/\(name)-diff.png (KDS_UPDATE_GOLDENS=1 to accept)"
      Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
  }
}

/// A small, seeded random number generator (SplitMix64): the same seed gives
/// the same ticket sets on every machine.
struct SeededRandom: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// Random but plausible tickets, including long names, many items, notes,
/// allergies, missing fields, foreign scripts and emoji.
enum TicketGenerator {
  static let names = [
    "Beef burger", "Ribeye steak 300g", "Goat skewers", "Chicken muchomo", "Grilled tilapia",
    "Rolex (chapati & egg roll)", "Pilau rice", "Luwombo (chicken)", "Cassava fries",
    "Crème brûlée", "Jalapeño-lime soda", "Matoke with groundnut sauce", "Fish fingers",
    "Slow-roasted whole Ankole goat leg with matoke, groundnut sauce, greens and pilau",
    "Супа дня", "Ψητό κοτόπουλο", "Café au lait 🥛", "Supercalifragilisticexpialidociousburger",
    "Ñandú", "W",
  ]
  static let modifiers = [
    "no onion", "extra cheese", "rare", "well done", "no bun", "garlic mayo", "½ sugar",
    "sauce on the side, and please no coriander at all whatsoever",
  ]
  static let notes = [
    "allergy: peanuts", "serve with starters", "rush: VIP table", "🎂 birthday",
    "ALLERGY: shellfish - anaphylaxis risk, use clean pans and utensils", "gluten free please",
  ]
  static let statuses = [
    "QUEUED", "IN_PROGRESS", "IN_PROGRESS", "QUEUED", "READY", "CANCELLED", "ON_HOLD",
  ]

  static func tickets(count: Int, rng: inout SeededRandom, now: Timestamp) -> [Ticket] {
    (0..<count).map { i in
      let shape = Int.random(in: 0..<20, using: &rng)
      let itemCount =
        shape == 0
        ? 0 : shape < 3 ? Int.random(in: 12...40, using: &rng) : Int.random(in: 1...6, using: &rng)
      let items = (0..<itemCount).map { k in
        TicketItem(
          id: "i\(i)-\(k)", name: names.randomElement(using: &rng)!,
          quantity: Int.random(in: 0..<8, using: &rng) == 0
            ? Int.random(in: 10...150, using: &rng)
            : Int.random(in: 1...4, using: &rng),
          modifiers: (0..<Int.random(in: 0...2, using: &rng)).map { _ in
            modifiers.randomElement(using: &rng)!
          },
          notes: Bool.random(using: &rng) && Bool.random(using: &rng)
            ? notes.randomElement(using: &rng) : nil,
          course: Bool.random(using: &rng) ? Int.random(in: 1...3, using: &rng) : nil)
      }
      let types: [OrderType?] = [.dineIn, .takeaway, .delivery, nil, .other("CATERING")]
      return Ticket(
        id: "T\(i)", orderId: "order-\(2000 + i)",
        orderNumber: Bool.random(using: &rng) || Bool.random(using: &rng) ? "\(2000 + i)" : nil,
        station: "grill",
        status: TicketStatus(wire: statuses.randomElement(using: &rng)!),
        sentAt: now.adding(seconds: -Int64.random(in: 0...5000, using: &rng)),
        updatedAt: now, waiterName: Bool.random(using: &rng) ? "Zoë Nakawunde-Ssebunya" : nil,
        tableName: Bool.random(using: &rng) ? "Table \(Int.random(in: 1...40, using: &rng))" : nil,
        orderType: types.randomElement(using: &rng)!, items: items)
    }
  }
}
