import KDSCore
import KDSTestSupport
import Testing

@testable import KDSRender

/// Issue 13: the SETUP and PAIRING screens at 1280x800, from fixed values
/// (the kiosk fills them from its configuration, getifaddrs and its clock).
@Suite struct SetupScreenGoldenTests {
  static let setup = SetupScreen(
    kind: .setup, headline: "This screen cannot start: fix its configuration",
    problems: [
      "kds.txt line 12: hold_to_bump_ms = `fast`: expected milliseconds a finger holds a card to bump it, 300 to 2000"
    ],
    facts: [
      .init("This screen's addresses", "eth0 192.168.1.23, wlan0 10.0.0.7"),
      .init("Server", "http://192.168.1.10:8080: answers (HTTP 200)"),
      .init("Clock", "2026-12-01 14:05:09 (UTC+01:00)  ·  2026-12-01 13:05:09 UTC"),
    ],
    steps: [
      "Edit kds.txt on the USB/boot partition (KDSBOOT), or run kdsctl set KEY VALUE on this screen",
      "Check a file before saving it: kdsctl config check FILE",
      "The screen updates on its own when a file changes",
    ], clock: "14:05:09")

  static let pairing = SetupScreen(
    kind: .pairing, headline: "Approve this code on the server",
    facts: [
      .init("This screen's addresses", "eth0 192.168.1.23"),
      .init("Server", "http://192.168.1.10:8080: pairing code received"),
      .init("Clock", "2026-12-01 14:05:09 (UTC+01:00)  ·  2026-12-01 13:05:09 UTC"),
    ],
    steps: [
      "Approve 482 913 on http://192.168.1.10:8080/status",
      "Or on the server: kds-server pair 482913 --station grill",
      "Or set token = ... in kds.txt",
    ],
    pairing: .init(
      code: "482913", station: "grill", server: "http://192.168.1.10:8080", secondsLeft: 545,
      state: "Waiting for a manager to approve the code"),
    clock: "14:05:09")

  @Test func setupScreenAt1280x800() throws {
    let renderer = SetupScreenRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    #expect(renderer.render(Self.setup))
    // The same screen again draws nothing.
    #expect(!renderer.render(Self.setup))
    // The amber SETUP bar, the dark body.
    #expect(renderer.canvas.pixel(x: 5, y: 5) & 0xFF_FFFF == 0xF9A825)
    #expect(renderer.canvas.pixel(x: 5, y: 790) & 0xFF_FFFF == 0x111418)
    try RenderTest.expectGolden(renderer.canvas, "setup-1280x800")
  }

  @Test func pairingScreenAt1280x800() throws {
    let renderer = SetupScreenRenderer(width: 1280, height: 800, text: try RenderTest.engine())
    renderer.render(Self.pairing)
    #expect(renderer.canvas.pixel(x: 5, y: 5) & 0xFF_FFFF == 0x1565C0)
    try RenderTest.expectGolden(renderer.canvas, "pairing-1280x800")
  }

  @Test func smallAndPortraitScreensKeepTheCodeOnScreen() throws {
    for (w, h) in [(800, 480), (1080, 1920)] {
      let renderer = SetupScreenRenderer(width: w, height: h, text: try RenderTest.engine())
      renderer.render(Self.pairing)
      // The code's white glyphs are drawn somewhere in the upper half.
      var white = 0
      for y in 0..<(h / 2) {
        for x in stride(from: 0, to: w, by: 2)
        where renderer.canvas.pixel(x: x, y: y) & 0xFF_FFFF == 0xFF_FFFF {
          white += 1
        }
      }
      #expect(white > 1000, "\(w)x\(h)")
    }
  }

  @Test func codeAndTimeFormats() {
    #expect(SetupScreen.spacedCode("482913") == "482 913")
    #expect(SetupScreen.minutesSeconds(545) == "9:05")
    #expect(SetupScreen.minutesSeconds(-3) == "0:00")
  }
}
