import KDSGeometry

// Rectangles, sizes, rotations and frames are KDSGeometry's `Rect`, `Size`,
// `Rotation` and `PixelFrame`. Damage rectangles are in the renderer's
// (logical) coordinates; the outputs rotate while they copy them, so the
// renderer always draws an upright frame of `DisplayOutput.size` (e.g.
// 1080x1920 for a 1920x1080 panel at 90 or 270) and never knows.

/// A requested mode: `WxH` or `WxH@Hz` (e.g. `1920x1080@60`).
public struct DisplayModeRequest: Equatable, Sendable, CustomStringConvertible {
  public var width: Int
  public var height: Int
  public var refresh: Int?

  public init(width: Int, height: Int, refresh: Int? = nil) {
    self.width = width
    self.height = height
    self.refresh = refresh
  }

  /// Parses `WxH[@Hz]`; throws `DisplayError` with the reason otherwise.
  public init(parsing text: String) throws {
    let trimmed = text.kdsTrimmed
    let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count <= 2 else {
      throw DisplayError.badConfiguration("mode \"\(text)\": expected WxH or WxH@Hz")
    }
    let dims = parts[0].lowercased().split(separator: "x", omittingEmptySubsequences: false)
    guard dims.count == 2, let w = Int(dims[0]), let h = Int(dims[1]), w > 0, h > 0,
      w <= 16384, h <= 16384
    else {
      throw DisplayError.badConfiguration("mode \"\(text)\": expected WxH or WxH@Hz")
    }
    var hz: Int?
    if parts.count == 2 {
      guard let r = Int(parts[1]), r > 0, r <= 1000 else {
        throw DisplayError.badConfiguration("mode \"\(text)\": refresh rate must be 1-1000 Hz")
      }
      hz = r
    }
    self.init(width: w, height: h, refresh: hz)
  }

  public var description: String {
    refresh.map { "\(width)x\(height)@\($0)" } ?? "\(width)x\(height)"
  }
}

/// `--display auto|drm[:DEVICE]|fbdev[:DEVICE]|snapshot:PATH.png|none`.
public enum DisplaySelection: Equatable, Sendable, CustomStringConvertible {
  /// DRM (the first usable /dev/dri/card*), then fbdev (/dev/fb0).
  case auto
  case drm(device: String?)
  case fbdev(device: String?)
  /// The renderer's PNG snapshot output (SnapshotOutput), not opened here.
  case snapshot(path: String)
  /// No display: the kiosk runs headless.
  case none

  public init(parsing text: String) throws {
    let trimmed = text.kdsTrimmed
    let (kind, arg): (Substring, String?) = {
      guard let colon = trimmed.firstIndex(of: ":") else { return (Substring(trimmed), nil) }
      return (trimmed[..<colon], String(trimmed[trimmed.index(after: colon)...]))
    }()
    if let arg, arg.isEmpty {
      throw DisplayError.badConfiguration("display \"\(text)\": empty device after ':'")
    }
    switch kind {
    case "auto" where arg == nil: self = .auto
    case "none" where arg == nil: self = .none
    case "drm": self = .drm(device: arg)
    case "fbdev": self = .fbdev(device: arg)
    case "snapshot":
      guard let arg else {
        throw DisplayError.badConfiguration("display \"\(text)\": snapshot needs :PATH.png")
      }
      self = .snapshot(path: arg)
    default:
      throw DisplayError.badConfiguration(
        "display \"\(text)\": expected auto, drm[:DEVICE], fbdev[:DEVICE], snapshot:PATH.png or none"
      )
    }
  }

  public var description: String {
    switch self {
    case .auto: return "auto"
    case .none: return "none"
    case .drm(let d): return d.map { "drm:\($0)" } ?? "drm"
    case .fbdev(let d): return d.map { "fbdev:\($0)" } ?? "fbdev"
    case .snapshot(let p): return "snapshot:\(p)"
    }
  }
}

/// Why a display could not be opened or driven.
public struct DisplayError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable {
    case badConfiguration, noDisplay, device, permission
  }
  public let kind: Kind
  public let message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }
  public static func badConfiguration(_ m: String) -> DisplayError { .init(.badConfiguration, m) }
  public static func device(_ m: String) -> DisplayError { .init(.device, m) }

  public var description: String { message }
}

/// What an output says about itself (for logs and `kds-kiosk probe`).
public struct DisplayInfo: Sendable, CustomStringConvertible {
  /// "drm", "fbdev" or "snapshot".
  public var driver: String
  public var device: String
  /// e.g. "Virtual-1" (DRM), the fbdev id (fbdev).
  public var connector: String
  /// e.g. "1280x800@75".
  public var mode: String
  /// The panel's size in pixels (before rotation).
  public var physicalSize: Size
  public var rotation: Rotation

  public init(
    driver: String, device: String, connector: String, mode: String, physicalSize: Size,
    rotation: Rotation
  ) {
    self.driver = driver
    self.device = device
    self.connector = connector
    self.mode = mode
    self.physicalSize = physicalSize
    self.rotation = rotation
  }

  public var description: String {
    "driver=\(driver) device=\(device) connector=\(connector) mode=\(mode) "
      + "size=\(rotation.logicalSize(physical: physicalSize)) rotation=\(rotation.rawValue)"
  }
}

/// Something the output reports from `handleEvents()`.
public enum DisplayEvent: Equatable, Sendable {
  /// A presented frame is on the screen (page flip completed) at this
  /// CLOCK_MONOTONIC time in nanoseconds.
  case frameShown(frame: UInt64, monotonicNanoseconds: UInt64)
  /// Drawing stopped (lost DRM master, connector unplugged).
  case paused(reason: String)
  /// Drawing resumed; the output owes itself a full copy, so call `present`
  /// (the damage may be empty) to show the current frame.
  case resumed
  /// The logical size changed (a different mode after a replug): redraw at it.
  case resized(Size)
}

/// The outcome of `present`.
public enum PresentResult: Equatable, Sendable {
  /// Copied and a page flip queued; `.frameShown(frame:)` follows.
  case queued(frame: UInt64)
  /// Copied and on the screen already (fbdev), at this CLOCK_MONOTONIC time.
  case shown(frame: UInt64, monotonicNanoseconds: UInt64)
  /// A flip is still pending: the damage is kept; present again after the
  /// next `.frameShown` (`hasPendingDamage` says so).
  case deferred
  /// Drawing is paused: the damage is kept until `.resumed`.
  case paused
}

/// An output the kiosk draws to.
///
/// The caller owns the shadow frame (in RAM; the renderer's canvas), always at `size`, and passes it to `present` with the
/// rectangles that changed since the previous call. The output copies only
/// damaged pixels into its (possibly uncached) scan-out memory and never
/// keeps the pointer. Drive it from one thread: poll `pollDescriptor` (when
/// not nil) for reading, and call `handleEvents()` when it is readable and at
/// least every `timerInterval` milliseconds (re-probing, master recovery).
public protocol DisplayOutput: AnyObject {
  var info: DisplayInfo { get }
  /// The logical size: the frame passed to `present` must be this size.
  var size: Size { get }
  var pollDescriptor: Int32? { get }
  /// Milliseconds between `handleEvents()` calls when nothing is readable.
  var timerInterval: Int32 { get }
  /// True when `present` would copy and flip now (no flip pending, not paused).
  var canPresent: Bool { get }
  /// True when damage is waiting for a `present` (deferred, or after resume).
  var hasPendingDamage: Bool { get }
  func present(_ frame: PixelFrame, damage: [Rect]) throws -> PresentResult
  func handleEvents() throws -> [DisplayEvent]
  /// Waits for a pending flip, restores what was on the screen before and
  /// releases the device. Idempotent.
  func close()
}

extension StringProtocol {
  /// Without leading and trailing spaces and tabs.
  var kdsTrimmed: String {
    let chars = Array(self)
    var start = 0
    var end = chars.count
    while start < end && (chars[start] == " " || chars[start] == "\t") { start += 1 }
    while end > start && (chars[end - 1] == " " || chars[end - 1] == "\t") { end -= 1 }
    return String(chars[start..<end])
  }
}
