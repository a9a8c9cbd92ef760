import KDSCore
import KDSDisplay
import KDSRender
import Logging

#if canImport(Glibc)
  import Glibc
#endif

/// Where the kiosk's frames go.
public enum ScreenOutput {
  /// DRM/KMS or fbdev: the output rotates while copying damaged rectangles.
  case display(any DisplayOutput)
  /// A PNG file rewritten (atomically) whenever the picture changes;
  /// `width` x `height` is the panel's size (before rotation).
  case snapshot(SnapshotOutput, width: Int, height: Int, rotation: Rotation)
}

/// Draws each `BoardSnapshot` with the renderer and hands the damaged
/// rectangles to the output. Runs on the daemon's event-loop thread.
public final class ScreenPresenter: BoardPresenter {
  public let renderer: BoardRenderer
  public let output: ScreenOutput
  /// Called once, when the first frame is on the screen (READY=1).
  public var onFirstFrame: (() -> Void)?
  /// Called after every render with the layout's page count.
  public var onLayout: ((BoardLayout) -> Void)?
  public private(set) var firstFrameShown = false
  /// Frames handed to the output.
  public private(set) var framesPresented = 0
  /// Monotonic time (ns) of the input event whose effect the next frame shows,
  /// for the latency figure; cleared when that frame is on screen.
  public var pendingInputTime: UInt64?
  /// Input-to-screen latencies measured so far (ns), newest last, at most 1000.
  public private(set) var latencies: [UInt64] = []
  private var rotated: Canvas?
  private var lastSnapshot: BoardSnapshot?
  private var inputTimeOfQueuedFrame: UInt64?
  private var loggedErrors: Set<String> = []
  private let logger: Logger

  /// `width`/`height` are the logical size (after rotation) the board is laid out in.
  public init(
    output: ScreenOutput, fontsDirectory: String?, clockUTCOffsetSeconds: Int? = nil,
    logger: Logger
  ) throws {
    self.output = output
    self.logger = logger
    let width: Int
    let height: Int
    switch output {
    case .display(let d):
      width = d.size.width
      height = d.size.height
    case .snapshot(_, let w, let h, let rotation):
      (width, height) = rotation.logicalSize(outputWidth: w, outputHeight: h)
      if rotation != .none {
        rotated = Canvas(width: w, height: h)
      }
    }
    renderer = try BoardRenderer(width: width, height: height, fontsDirectory: fontsDirectory)
    renderer.clockUTCOffset = clockUTCOffsetSeconds
  }

  /// What the output is, for `kdsctl status` and the server's status page.
  public var description: String {
    switch output {
    case .display(let d):
      return "\(d.info.driver) \(d.info.device) \(d.info.connector) \(d.info.mode)"
        + (d.info.rotation == .none ? "" : " rotated \(d.info.rotation.rawValue)")
    case .snapshot(let s, let w, let h, let rotation):
      return "snapshot \(s.path) \(w)x\(h)"
        + (rotation == .none ? "" : " rotated \(rotation.rawValue)")
    }
  }

  /// The descriptor to poll for page-flip events, if the output has one.
  public var pollDescriptor: Int32? {
    if case .display(let d) = output { return d.pollDescriptor }
    return nil
  }

  public func present(_ snapshot: BoardSnapshot) {
    lastSnapshot = snapshot
    let damage = renderer.render(snapshot)
    onLayout?(renderer.layout)
    switch output {
    case .display(let d):
      if damage.isEmpty && !d.hasPendingDamage && firstFrameShown { return }
      let rects = damage.rects.map {
        DisplayRect(x: $0.x, y: $0.y, width: $0.width, height: $0.height)
      }
      show(on: d, damage: framesPresented == 0 ? [fullRect] : rects)
    case .snapshot(let s, _, _, let rotation):
      if damage.isEmpty && firstFrameShown { return }
      do {
        let written: Bool
        if let rotated {
          _ = rotation.apply(from: renderer.canvas, to: rotated, rects: damage.rects)
          written = try s.present(rotated, damage: [Rect(x: 0, y: 0, width: 1, height: 1)])
        } else {
          written = try s.present(
            renderer.canvas, damage: damage.rects.isEmpty ? [fullRenderRect] : damage.rects)
        }
        if written {
          framesPresented += 1
          frameOnScreen(at: monotonicNow())
        }
      } catch {
        logOnce("snapshot", "cannot write the snapshot \(s.path): \(error)")
      }
    }
  }

  /// Reads the output's events (page flips done, master lost or regained,
  /// connector gone or back) and presents what is owed.
  public func handleDisplayEvents() {
    guard case .display(let d) = output else { return }
    let events: [DisplayEvent]
    do {
      events = try d.handleEvents()
    } catch {
      logOnce("events", "display events: \(error)")
      return
    }
    for event in events {
      switch event {
      case .frameShown(_, let ns):
        frameOnScreen(at: ns)
      case .paused(let reason):
        logger.warning("display paused: \(reason)")
      case .resumed:
        logger.notice("display resumed: redrawing everything")
        renderer.invalidate()
        if let lastSnapshot { present(lastSnapshot) }
      default:
        break
      }
    }
    if d.hasPendingDamage && d.canPresent {
      show(on: d, damage: [])
    }
  }

  /// Writes the current frame (as the screen shows it, rotation included) to a PNG.
  public func screenshot(to path: String) throws {
    if let rotated {
      try PNG.write(rotated, to: path)
    } else if case .display(let d) = output, d.info.rotation != .none,
      let r = Rotation(degrees: d.info.rotation.rawValue)
    {
      let size = r.outputSize(width: renderer.width, height: renderer.height)
      let out = Canvas(width: size.width, height: size.height)
      _ = r.apply(from: renderer.canvas, to: out)
      try PNG.write(out, to: path)
    } else {
      try PNG.write(renderer.canvas, to: path)
    }
  }

  /// The terminal held in graphics mode while this screen draws, if any.
  public var console: ConsoleMode?

  /// Closes the output (restores the saved CRTC on DRM) and gives the
  /// terminal back its text mode.
  public func close() {
    if case .display(let d) = output { d.close() }
    console?.restore()
  }

  // MARK: internals

  private var fullRect: DisplayRect {
    DisplayRect(x: 0, y: 0, width: renderer.width, height: renderer.height)
  }

  private var fullRenderRect: Rect {
    Rect(x: 0, y: 0, width: renderer.width, height: renderer.height)
  }

  private func show(on d: any DisplayOutput, damage: [DisplayRect]) {
    let canvas = renderer.canvas
    let frame = PixelFrame(
      base: UnsafePointer(canvas.pixels), width: canvas.width, height: canvas.height,
      stride: canvas.stride)
    do {
      switch try d.present(frame, damage: damage) {
      case .queued:
        framesPresented += 1
        inputTimeOfQueuedFrame = pendingInputTime
        pendingInputTime = nil
      case .shown(_, let ns):
        framesPresented += 1
        inputTimeOfQueuedFrame = pendingInputTime
        pendingInputTime = nil
        frameOnScreen(at: ns)
      default:
        break  // deferred or paused: the output keeps the damage
      }
    } catch {
      logOnce("present", "cannot present a frame: \(error)")
    }
  }

  private func frameOnScreen(at ns: UInt64) {
    if let t = inputTimeOfQueuedFrame ?? (framesPresented > 0 ? pendingInputTime : nil), ns >= t {
      latencies.append(ns - t)
      if latencies.count > 1000 { latencies.removeFirst(latencies.count - 1000) }
      if pendingInputTime == t { pendingInputTime = nil }
      inputTimeOfQueuedFrame = nil
    }
    if !firstFrameShown {
      firstFrameShown = true
      onFirstFrame?()
    }
  }

  private func logOnce(_ kind: String, _ message: String) {
    if loggedErrors.insert(kind).inserted { logger.error("\(message)") }
  }
}

/// CLOCK_MONOTONIC now, in nanoseconds (the clock of evdev and page-flip times).
func monotonicNow() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
