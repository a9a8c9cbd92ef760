import Foundation
import KDSCore
import KDSTestSupport
import Testing

@testable import KDSRender

/// `kds-kiosk render`, run as the real binary next to the test bundle.
@Suite struct RenderCommandTests {
  static var binary: String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    var dir = exe
    // .../debug/kdsPackageTests.xctest (a file on Linux) -> .../debug
    while !dir.isEmpty, !FileManager.default.fileExists(atPath: dir + "/kds-kiosk") {
      guard let slash = dir.lastIndex(of: "/"), slash != dir.startIndex else { return "" }
      dir = String(dir[..<slash])
    }
    return dir + "/kds-kiosk"
  }

  func run(_ args: [String]) throws -> (status: Int32, stderr: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Self.binary)
    p.arguments = args
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    let data = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  func tempPath(_ name: String) -> String {
    NSTemporaryDirectory() + "kds-render-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-" + name
  }

  @Test func rendersARotatedFrameToPNG() throws {
    try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build kds-kiosk first")
    let out = tempPath("board.png")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try run([
      "render", "--tickets", TestPaths.fixture("tickets-lunch-rush.json"), "--size", "640x400",
      "--now", "2025-11-21T13:00:00Z", "--rotate", "90", "--banner", "offline", "--station",
      "Grill", "--zoom", "1.2", "--fonts", RenderTest.fontsDirectory, "--out", out,
    ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("31 tickets"))
    let img = try PNG.read(out)
    #expect(img.width == 640 && img.height == 400)
    // Turned clockwise: the banner (logical top) is the right-hand edge, and
    // the offline pill's red is there.
    let red = Theme.standard.offline.rgb
    #expect((0..<400).contains { y in (600..<640).contains { x in img.pixel(x: x, y: y) == red } })
    #expect(
      !(0..<400).contains { y in (0..<40).contains { x in img.pixel(x: x, y: y) == red && y < 60 } }
    )
  }

  @Test func badArgumentsFailWithAClearMessage() throws {
    try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build kds-kiosk first")
    let out = tempPath("never.png")
    let fixture = TestPaths.fixture("tickets-edge-cases.json")
    for (args, needle) in [
      (["--size", "12x"], "--size"), (["--rotate", "45"], "--rotate"),
      (["--banner", "sunny"], "--banner"), (["--now", "yesterday"], "--now"),
    ] {
      let r = try run(["render", "--tickets", fixture, "--out", out] + args)
      #expect(r.status != 0)
      #expect(r.stderr.contains(needle), "\(args): \(r.stderr)")
    }
    let r = try run(["render", "--tickets", "/etc/hostname", "--out", out])
    #expect(r.status != 0 && r.stderr.contains("not a JSON array"))
    #expect(!FileManager.default.fileExists(atPath: out))
  }
}

/// `kds-kiosk render --view all-day|recall` and `--expo` (issue 14).
@Suite struct RenderCommandViewTests {
  func render(_ extra: [String]) throws -> (status: Int32, stderr: String, png: DecodedImage?) {
    let cmd = RenderCommandTests()
    let out = cmd.tempPath("tools.png")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try cmd.run(
      [
        "render", "--tickets", TestPaths.fixture("tickets-kitchen-tools.json"), "--size",
        "1280x800", "--now", "2025-11-21T13:00:00Z", "--fonts", RenderTest.fontsDirectory,
        "--out", out,
      ] + extra)
    return (r.status, r.stderr, r.status == 0 ? try PNG.read(out) : nil)
  }

  @Test func rendersEachViewAndTheExpo() throws {
    try #require(
      FileManager.default.isExecutableFile(atPath: RenderCommandTests.binary),
      "build kds-kiosk first")
    let allDay = try render(["--view", "all-day", "--station", "Grill"])
    #expect(allDay.status == 0, "\(allDay.stderr)")
    #expect(allDay.stderr.contains("all-day dishes"))
    let recall = try render(["--view", "recall"])
    #expect(recall.status == 0, "\(recall.stderr)")
    // The file's four READY tickets, newest first.
    #expect(recall.stderr.contains("4 recall rows, 4 shown"))
    let selected = Theme.standard.listRowSelected.rgb
    #expect(
      recall.png.map { img in
        (0..<img.height).contains { img.pixel(x: img.width - 20, y: $0) == selected }
      }
        ?? false)
    let expo = try render(["--station", "expo"])
    #expect(expo.status == 0, "\(expo.stderr)")
    #expect(expo.stderr.contains("7 orders, 7 cards"))
    let expo2 = try render(["--expo"])
    #expect(expo2.stderr.contains("7 orders"))
    let tickets = try render(["--view", "tickets", "--item-marks-local"])
    #expect(tickets.status == 0, "\(tickets.stderr)")
    // HELD is drawn, READY is not: 6 open tickets and 1 held.
    #expect(tickets.stderr.contains("7 tickets"))
    let bad = try render(["--view", "everything"])
    #expect(bad.status != 0)
    #expect(bad.stderr.contains("--view must be tickets, all-day or recall"))
  }
}
