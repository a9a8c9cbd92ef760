/// What a key on a keyboard or bump bar does on the kitchen screen. The raw
/// values are the names used in key-map files.
public enum KioskInputAction: String, CaseIterable, Sendable, Hashable {
  case nextTicket
  case previousTicket
  case bump
  case start
  case recallLast
  case nextPage
  case previousPage
  case retryFailed
  /// Issue 14: the selected card's next line (the expo: the order's next part).
  case nextItem
  /// Toggles the highlighted line done (item-level bump).
  case itemDone
  /// Shows or hides the all-day counts.
  case allDay
  /// Opens (or closes) the recall list: arrows move, bump recalls.
  case recallList
  /// Closes the recall list or the all-day counts; drops the line highlight.
  case back
  /// Expo: sends the highlighted part of the order back to its station.
  case sendBack
  /// Expo: fires the order's next held course.
  case fireCourse
  /// Expo: rushes the selected order (again: clears the rush).
  case rush
}

extension KioskInputAction {
  /// The actions a bump bar has keys for: what `learn-keys` asks for unless
  /// told otherwise, and what the 10-key preset maps.
  public static let bumpBarActions: [KioskInputAction] = [
    .nextTicket, .previousTicket, .bump, .start, .recallLast, .nextPage, .previousPage,
    .retryFailed,
  ]
}

/// A USB vendor:product pair (`05f3:0007` in key-map files).
public struct InputDeviceID: Hashable, Sendable, CustomStringConvertible {
  public var vendor: UInt16
  public var product: UInt16

  public init(vendor: UInt16, product: UInt16) {
    self.vendor = vendor
    self.product = product
  }

  /// Parses `vvvv:pppp` (hexadecimal).
  public init?(_ text: some StringProtocol) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, (1...4).contains(parts[0].count), (1...4).contains(parts[1].count),
      let v = UInt16(parts[0], radix: 16), let p = UInt16(parts[1], radix: 16)
    else { return nil }
    self.init(vendor: v, product: p)
  }

  public var description: String { hex4(vendor) + ":" + hex4(product) }
}

func hex4(_ v: UInt16) -> String {
  let s = String(v, radix: 16)
  return String(repeating: "0", count: max(0, 4 - s.count)) + s
}

/// What the kiosk gets from the input layer.
public enum InputEvent: Equatable, Sendable {
  /// One finger came down at logical screen coordinates (the renderer's,
  /// rotation applied); `time` is the kernel timestamp (CLOCK_MONOTONIC, ns).
  case touchDown(x: Int, y: Int, time: UInt64)
  /// The finger moved.
  case touchMove(x: Int, y: Int, time: UInt64)
  /// The finger lifted, last seen at (x, y).
  case touchUp(x: Int, y: Int, time: UInt64)
  /// The touch in progress (if any) is void: more than one contact at once
  /// (a palm, two fingers) or lost events. Nothing more comes from this
  /// gesture; the next `touchDown` starts afresh once every contact lifted.
  case touchCancel(reason: TouchCancelReason, time: UInt64)
  /// A mapped key press; `time` is its kernel timestamp (CLOCK_MONOTONIC, ns).
  case action(KioskInputAction, time: UInt64, device: String)
  /// Any key press, mapped or not (only when the manager reports raw keys:
  /// the learn mode).
  case keyPress(code: UInt16, time: UInt64, device: String)
  case deviceAdded(InputDeviceInfo)
  case deviceRemoved(path: String, name: String)
}

/// Why a touch was cancelled.
public enum TouchCancelReason: Equatable, Sendable, CustomStringConvertible {
  /// This many contacts at once (MT slots active): a palm or several fingers.
  case contacts(Int)
  /// SYN_DROPPED: the kernel's buffer overflowed and events were lost.
  case eventsDropped

  public var description: String {
    switch self {
    case .contacts(let n): "\(n) contacts at once"
    case .eventsDropped: "events dropped"
    }
  }
}

/// An input device the manager opened.
public struct InputDeviceInfo: Equatable, Sendable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    case touch, keyboard, bumpBar
  }
  public var path: String
  public var name: String
  public var id: InputDeviceID
  public var kind: Kind
  public var grabbed: Bool

  public init(path: String, name: String, id: InputDeviceID, kind: Kind, grabbed: Bool) {
    self.path = path
    self.name = name
    self.id = id
    self.kind = kind
    self.grabbed = grabbed
  }

  public var description: String {
    "\(path) \"\(name)\" \(id) kind=\(kind.rawValue)\(grabbed ? " grabbed" : "")"
  }
}

/// A kernel timestamp (struct timeval) in nanoseconds.
@inline(__always)
func nanoseconds(seconds: Int, microseconds: Int) -> UInt64 {
  UInt64(seconds) * 1_000_000_000 + UInt64(microseconds) * 1000
}
