import KDSCore
import Testing

/// `hold_to_bump_ms`: how long a finger holds a card to bump it (issue 11).
@Suite struct HoldTimeConfigurationTests {
  @Test func defaultAndAcceptedValues() throws {
    #expect(KioskConfiguration().holdToBumpMillis == 600)
    for v in [300, 450, 2000] {
      var c = KioskConfiguration()
      try c.apply(text: "hold_to_bump_ms = \(v)\n", fileName: "kds.txt")
      #expect(c.holdToBumpMillis == v)
    }
  }

  @Test(arguments: ["299", "2001", "0", "-600", "0.6", "600ms", "fast", ""])
  func outOfRangeNamesFileAndLine(value: String) {
    var c = KioskConfiguration()
    do {
      try c.apply(
        text: "station = grill\n# touch\nhold_to_bump_ms = \(value)\n", fileName: "/boot/kds.txt")
      Issue.record("accepted hold_to_bump_ms = \(value)")
    } catch {
      #expect(error.description.hasPrefix("/boot/kds.txt:3: hold_to_bump_ms"), "\(error)")
      #expect(error.description.contains("300 to 2000"), "\(error)")
    }
    #expect(c.holdToBumpMillis == 600, "a bad value leaves the default")
  }
}
