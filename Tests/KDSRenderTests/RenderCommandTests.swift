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
