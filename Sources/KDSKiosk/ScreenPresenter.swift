import KDSCore
import KDSDisplay
import KDSGeometry
import KDSRender
import KDSSystem
import Logging

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
  /// The banner clock's offset from UTC; nil: the system's time zone.
  private let clockUTCOffsetSeconds: Int?

  /// Lays the board out in the output's logical size (after rotation), with
  /// the fonts `FontLocator` finds from `fontsDirectory`.
  public init(
    output: ScreenOutput, fontsDirectory: String?, clockUTCOffsetSeconds: Int? = nil,
    logger: Logger
  ) throws {
    self.output = output
    self.logger = logger
    self.clockUTCOffsetSeconds = clockUTCOffsetSeconds
    let width: Int
    let height: Int
    switch output {
    case .display(let d):
      width = d.size.width
      height = d.size.height
    case .snapshot(_, let w, let h, let rotation):
      let logical = rotation.logicalSize(physical: Size(width: w, height: h))
      (width, height) = (logical.width, logical.height)
      if rotation != .none {
        rotated = Canvas(width: w, height: h)
      }
    }
    renderer = BoardRenderer(
      width: width, height: height, fonts: try FontLocator.load(explicit: fontsDirectory))
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
    var snapshot = snapshot
    snapshot.clockUTCOffsetSeconds =
      clockUTCOffsetSeconds ?? SystemClock.localOffsetSeconds(atWallMillis: snapshot.now.millis)
    lastSnapshot = snapshot
    let damage = renderer.render(snapshot)
    onLayout?(renderer.layout)
    switch output {
    case .display(let d):
      if damage.isEmpty && !d.hasPendingDamage && firstFrameShown { return }
      show(on: d, damage: framesPresented == 0 ? [fullRect] : damage.rects)
    case .snapshot(let s, _, _, let rotation):
      if damage.isEmpty && firstFrameShown { return }
      do {
        let written: Bool
        if let rotated {
          rotated.copyRotated(from: renderer.canvas.frame, rotation: rotation, rects: damage.rects)
          written = try s.present(rotated, damage: [Rect(x: 0, y: 0, width: 1, height: 1)])
        } else {
          written = try s.present(
            renderer.canvas, damage: damage.rects.isEmpty ? [fullRect] : damage.rects)
        }
        if written {
          framesPresented += 1
          frameOnScreen(at: SystemClock.monotonicNanoseconds())
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
      try PNGFile.write(rotated, to: path)
    } else if case .display(let d) = output, d.info.rotation != .none {
      let size = d.info.rotation.physicalSize(logical: renderer.canvas.size)
      let out = Canvas(width: size.width, height: size.height)
      out.copyRotated(from: renderer.canvas.frame, rotation: d.info.rotation)
      try PNGFile.write(out, to: path)
    } else {
      try PNGFile.write(renderer.canvas, to: path)
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

  private var fullRect: Rect { renderer.canvas.bounds }

  private func show(on d: any DisplayOutput, damage: [Rect]) {
    do {
      switch try d.present(renderer.canvas.frame, damage: damage) {
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
