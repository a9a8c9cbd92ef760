import CEvdev
import Glibc
import KDSGeometry
import KDSInput
import Testing

@Suite struct KeyMapFiles {
  /// Found by the keymap fuzz target: Windows line ends read as LF ones.
  @Test func windowsLineEnds() throws {
    let c = try InputConfig(
      parsing: "map.default.KEY_F1 = bump   # a comment\r\nmap.default.KEY_F2 = nextTicket\r\n")
    #expect(c.defaultMap[code("KEY_F1")] == .bump)
    #expect(c.defaultMap[code("KEY_F2")] == .nextTicket)
    do {
      _ = try InputConfig(parsing: "map.default.KEY_F1 = bump\r\nmap.default.KEY_F2 = jump\r\n")
      Issue.record("parsed an unknown action")
    } catch let e as InputConfigError {
      #expect(e.line == 2)
    }
  }

  func code(_ name: String) -> UInt16 { KeyNames.code(name)! }

  @Test func defaultKeyboardMap() {
    let m = DefaultKeyMaps.keyboard
    #expect(m[code("KEY_LEFT")] == .previousTicket)
    #expect(m[code("KEY_RIGHT")] == .nextTicket)
    #expect(m[code("KEY_UP")] == .previousTicket)
    #expect(m[code("KEY_DOWN")] == .nextTicket)
    #expect(m[code("KEY_ENTER")] == .bump)
    #expect(m[code("KEY_KPENTER")] == .bump)
    #expect(m[code("KEY_BACKSPACE")] == .recallLast)
    #expect(m[code("KEY_PAGEUP")] == .previousPage)
    #expect(m[code("KEY_PAGEDOWN")] == .nextPage)
    #expect(m[code("KEY_S")] == .start)
    #expect(m[code("KEY_R")] == .retryFailed)
    #expect(m[code("KEY_A")] == nil)
    #expect(m[code("KEY_N")] == .nextItem)
    #expect(m[code("KEY_D")] == .itemDone)
    #expect(m[code("KEY_T")] == .allDay)
    #expect(m[code("KEY_L")] == .recallList)
    #expect(m[code("KEY_ESC")] == .back)
    #expect(Set(DefaultKeyMaps.bumpBar10.values) == Set(KioskInputAction.bumpBarActions))
  }

  @Test func parsesMapsGrabsAndTouchSettings() throws {
    let text = """
      # bump bar in the grill station
      map.default.KEY_F1 = bump
      map.default.KEY_S = none   # no start key on this keyboard
      map.05f3:0007.KEY_1 = bump
      map.05F3:0007.KEY_2 = recallLast
      map.1234:abcd = bumpbar
      map.1234:abcd.KEY_9 = start
      grab.05f3:0007 = no
      touch.calibrate = 200 3900 150 3950
      touch.swap_xy = yes
      touch.1111:2222.invert_y = true

      """
    let c = try InputConfig(parsing: text)
    let bar = InputDeviceID(vendor: 0x05F3, product: 0x0007)
    let preset = InputDeviceID(vendor: 0x1234, product: 0xABCD)
    let other = InputDeviceID(vendor: 1, product: 1)
    #expect(c.defaultMap[code("KEY_F1")] == .bump)
    #expect(c.defaultMap[code("KEY_S")] == nil)
    #expect(c.defaultMap[code("KEY_ENTER")] == .bump)
    #expect(c.keyMap(for: bar).bumpBar)
    #expect(c.keyMap(for: bar).map == [code("KEY_1"): .bump, code("KEY_2"): .recallLast])
    #expect(!c.shouldGrab(bar))
    #expect(c.shouldGrab(preset))
    #expect(!c.shouldGrab(other))
    #expect(c.keyMap(for: preset).map[code("KEY_4")] == .bump)
    #expect(c.keyMap(for: preset).map[code("KEY_9")] == .start)
    #expect(!c.keyMap(for: other).bumpBar)
    #expect(c.calibration.minX == 200 && c.calibration.maxY == 3950 && c.calibration.swapXY)
    #expect(c.calibration(for: InputDeviceID(vendor: 0x1111, product: 0x2222)).invertY)
    #expect(c.calibration(for: other).swapXY)
  }

  @Test(arguments: [
    ("map.default.KEY_ENTER = bump\nnonsense\n", 2, "expected `key = value`"),
    ("\n\nmap.default.KEY_NOPE = bump", 3, "unknown key name \"KEY_NOPE\""),
    ("map.default.KEY_ENTER = fly", 1, "unknown action \"fly\""),
    ("map.zz:1.KEY_1 = bump", 1, "neither default nor a USB vendor:product"),
    ("# c\nmap.05f3:0007 = piano", 2, "unknown preset"),
    ("touch.calibrate = 1 2 3", 1, "four integers"),
    ("touch.swap_xy = maybe", 1, "expected yes or no"),
    ("color = red", 1, "unknown setting"),
    ("map.default.KEY_ENTER =", 1, "expected `key = value`"),
  ])
  func errorsNameTheLine(text: String, line: Int, message: String) {
    do {
      _ = try InputConfig(parsing: text)
      Issue.record("parsed bad input")
    } catch let e as InputConfigError {
      #expect(e.line == line)
      #expect(e.message.contains(message), "\(e)")
      #expect(e.description.hasPrefix("line \(line): "))
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test func deviceIDs() {
    #expect(InputDeviceID("05f3:0007") == InputDeviceID(vendor: 0x05F3, product: 7))
    #expect(InputDeviceID("05f3:0007")?.description == "05f3:0007")
    #expect(InputDeviceID("05f3") == nil)
    #expect(InputDeviceID("12345:1") == nil)
    #expect(InputDeviceID(":1") == nil)
  }
}

@Suite struct KeyLearning {
  @Test func learnsEachActionInTurn() {
    var l = KeyLearner(actions: [.bump, .recallLast, .nextTicket])
    let k1 = KeyNames.code("KEY_1")!
    let k2 = KeyNames.code("KEY_2")!
    let k3 = KeyNames.code("KEY_3")!
    #expect(l.current == .bump)
    #expect(l.feed(code: k1, value: 1) == .assigned(.bump, code: k1, next: .recallLast))
    #expect(l.feed(code: k1, value: 0) == .ignored)  // release
    #expect(l.feed(code: k1, value: 1) == .duplicate(code: k1, assignedTo: .bump))
    #expect(l.feed(code: k2, value: 2) == .ignored)  // auto-repeat
    #expect(l.feed(code: k2, value: 1) == .assigned(.recallLast, code: k2, next: .nextTicket))
    #expect(l.feed(code: k3, value: 1) == .assigned(.nextTicket, code: k3, next: nil))
    #expect(l.isFinished)
    #expect(l.feed(code: KeyNames.code("KEY_4")!, value: 1) == .ignored)
    let lines = l.configLines(device: InputDeviceID("05f3:0007"))
    #expect(
      lines == [
        "map.05f3:0007.KEY_1 = bump", "map.05f3:0007.KEY_2 = recallLast",
        "map.05f3:0007.KEY_3 = nextTicket",
      ])
    // What it writes reads back as the same map.
    let config = try? InputConfig(parsing: lines.joined(separator: "\n"))
    #expect(config?.keyMap(for: InputDeviceID("05f3:0007")!).map == l.map)
  }
}

/// Real input_event sequences (as `evtest` shows them) for the recognizer.
struct EventScript {
  var events: [(UInt16, UInt16, Int32, UInt64)] = []
  var t: UInt64 = 1_000_000_000

  mutating func ev(_ type: Int32, _ code: Int32, _ value: Int32) {
    events.append((UInt16(type), UInt16(code), value, t))
  }
  mutating func syn(after ms: UInt64 = 10) {
    ev(EV_SYN, SYN_REPORT, 0)
    t += ms * 1_000_000
  }
  mutating func mtDown(slot: Int32 = 0, id: Int32, x: Int32, y: Int32) {
    ev(EV_ABS, ABS_MT_SLOT, slot)
    ev(EV_ABS, ABS_MT_TRACKING_ID, id)
    ev(EV_ABS, ABS_MT_POSITION_X, x)
    ev(EV_ABS, ABS_MT_POSITION_Y, y)
  }
  mutating func mtMove(slot: Int32 = 0, x: Int32, y: Int32) {
    ev(EV_ABS, ABS_MT_SLOT, slot)
    ev(EV_ABS, ABS_MT_POSITION_X, x)
    ev(EV_ABS, ABS_MT_POSITION_Y, y)
  }
  mutating func mtUp(slot: Int32 = 0) {
    ev(EV_ABS, ABS_MT_SLOT, slot)
    ev(EV_ABS, ABS_MT_TRACKING_ID, -1)
  }

  func run(_ r: inout TouchRecognizer) -> [String] {
    events.compactMap { e in
      r.feed(type: e.0, code: e.1, value: e.2, time: e.3).map(describe)
    }
  }

}

@Suite struct InputManagerFolder {
  /// A folder standing in for /dev/input: a node that is not an evdev device
  /// is logged and ignored, a missing folder is retried, nothing crashes.
  @Test func notEvdevNodesAreIgnored() throws {
    var template = Array("/tmp/kds-input-XXXXXX".utf8CString)
    let folder = try #require(mkdtemp(&template).map { String(cString: $0) })
    defer {
      unlink(folder + "/event3")
      rmdir(folder)
    }
    let m = InputManager(
      screen: TouchScreen(physicalWidth: 100, physicalHeight: 100), folder: folder,
      logger: .init(label: "test"))
    #expect(try m.start().isEmpty)
    #expect(m.pollDescriptors.count == 1)  // inotify only
    let fd = creat(folder + "/event3", 0o600)
    #expect(fd >= 0)
    close(fd)
    #expect(m.handleEvents().isEmpty)
    #expect(m.openDevices.isEmpty)
    m.close()
  }

  @Test func aMissingFolderIsWatchedLater() throws {
    let m = InputManager(
      screen: TouchScreen(physicalWidth: 100, physicalHeight: 100),
      folder: "/nonexistent/kds-input", logger: .init(label: "test"))
    #expect(try m.start().isEmpty)
    #expect(m.timerInterval == 1000)
    m.close()
  }
}
