import CDRM
import Glibc
import KDSGeometry
import KDSSystem
import Logging

/// DRM/KMS output: one connector, its CRTC, two dumb buffers and page flips.
///
/// `present` copies the damaged rectangles (rotated) from the caller's shadow
/// frame into the back dumb buffer and queues a page flip with an event; a
/// second flip is never queued before the first one's event (`.deferred`).
/// Losing DRM master (EACCES/EPERM from a master-only ioctl) pauses; the
/// timer in `handleEvents()` tries to take it back and then redraws fully. The
/// connector is re-read on the same timer: unplugged pauses, plugged back
/// sets the mode again (a new size is reported as `.resized`).
public final class DRMOutput: DisplayOutput {
  public private(set) var info: DisplayInfo
  public var size: Size { rotation.logicalSize(physical: physical) }
  public var pollDescriptor: Int32? { closed ? nil : fd }
  public let timerInterval: Int32 = 1000
  public var canPresent: Bool { !closed && !flipPending && pausedReason == nil }
  /// Damage that is on no screen yet (deferred, paused, or a resume's full
  /// redraw); the catch-up of the other buffer is not counted.
  public var hasPendingDamage: Bool { unshown }
  /// Why drawing is paused, or nil.
  public private(set) var pausedReason: String?

  private let fd: Int32
  private let device: String
  private let rotation: Rotation
  private let request: DisplayModeRequest?
  private let logger: Logger
  private var physical: Size { scanout.physical }
  private var connectorID: UInt32 = 0
  private var crtcID: UInt32 = 0
  private var mode = drmModeModeInfo()
  private var savedCrtc: UnsafeMutablePointer<drmModeCrtc>?
  private var scanout = ScanoutBuffers<DumbBuffer>()
  private var front = 0
  private var flipPending = false
  private var flipTarget = 0
  private var frameCounter: UInt64 = 0
  private var pendingFrame: UInt64 = 0
  private var damage: DamageTracker
  private var collected: [DisplayEvent] = []
  private var lastTimer: UInt64 = 0
  private var closed = false
  private var pausedForMaster = false
  private var unshown = false

  /// Opens `device` (e.g. /dev/dri/card0) and sets the mode: `request` or
  /// the connector's preferred one.
  public init(
    device: String, mode request: DisplayModeRequest? = nil, rotation: Rotation = .none,
    logger: Logger
  ) throws {
    self.device = device
    self.rotation = rotation
    self.request = request
    self.logger = logger
    switch openRetrying(device, O_RDWR | O_CLOEXEC | O_NONBLOCK) {
    case .success(let fd): self.fd = fd
    case .failure(let e) where e.code == EACCES || e.code == EPERM:
      throw DisplayError(.permission, "\(device): permission denied\(permissionHint(device))")
    case .failure(let e):
      throw DisplayError.device("\(device): \(e.reason)")
    }
    damage = DamageTracker(buffers: 2, bounds: .zero)
    info = DisplayInfo(
      driver: "drm", device: device, connector: "?", mode: "?", physicalSize: .zero,
      rotation: rotation)
    do {
      try setUp()
    } catch {
      if let savedCrtc { drmModeFreeCrtc(savedCrtc) }
      savedCrtc = nil
      scanout = ScanoutBuffers()
      Glibc.close(fd)
      closed = true
      throw error
    }
  }

  deinit {
    assert(closed, "DRMOutput for \(device) was not closed")
    if !closed { close() }
  }

  private func setUp() throws {
    var cap: UInt64 = 0
    guard drmGetCap(fd, UInt64(DRM_CAP_DUMB_BUFFER), &cap) == 0, cap != 0 else {
      throw DisplayError.device("\(device): no dumb buffer support (not a KMS device?)")
    }
    guard let res = drmModeGetResources(fd) else {
      throw DisplayError.device("\(device): not a KMS device (no mode-setting resources)")
    }
    defer { drmModeFreeResources(res) }
    var chosen: UnsafeMutablePointer<drmModeConnector>?
    var seen: [String] = []
    for i in 0..<Int(res.pointee.count_connectors) {
      guard let c = drmModeGetConnector(fd, res.pointee.connectors[i]) else { continue }
      let name = Self.connectorName(c)
      let connected = c.pointee.connection == DRM_MODE_CONNECTED && c.pointee.count_modes > 0
      seen.append("\(name)=\(connected ? "connected" : "disconnected")")
      if connected && chosen == nil {
        chosen = c
      } else {
        drmModeFreeConnector(c)
      }
    }
    guard let connector = chosen else {
      throw DisplayError.device(
        "\(device): no connected connector with modes (\(seen.joined(separator: ", ")))")
    }
    defer { drmModeFreeConnector(connector) }
    connectorID = connector.pointee.connector_id
    mode = try Self.pickMode(connector, request: request, device: device)
    crtcID = try findCrtc(connector, res)
    savedCrtc = drmModeGetCrtc(fd, crtcID)
    try createBuffers(for: mode)
    info.connector = Self.connectorName(connector)
    info.mode = Self.modeName(mode)
    info.physicalSize = physical
    logger.info(
      "display: drm \(device) connector \(info.connector) crtc \(crtcID) mode \(info.mode) rotation \(rotation.rawValue)"
    )
    try setCrtc(buffer: 0)
  }

  static func connectorName(_ c: UnsafeMutablePointer<drmModeConnector>) -> String {
    let type = drmModeGetConnectorTypeName(c.pointee.connector_type).map { String(cString: $0) }
    return "\(type ?? "Unknown")-\(c.pointee.connector_type_id)"
  }

  static func modeName(_ m: drmModeModeInfo) -> String {
    "\(m.hdisplay)x\(m.vdisplay)@\(m.vrefresh)"
  }

  static func pickMode(
    _ c: UnsafeMutablePointer<drmModeConnector>, request: DisplayModeRequest?, device: String
  ) throws -> drmModeModeInfo {
    let modes = (0..<Int(c.pointee.count_modes)).map { c.pointee.modes[$0] }
    if let request {
      let match = modes.first {
        Int($0.hdisplay) == request.width && Int($0.vdisplay) == request.height
          && (request.refresh == nil || Int($0.vrefresh) == request.refresh)
      }
      guard let match else {
        let list = modes.map(modeName).joined(separator: " ")
        throw DisplayError.badConfiguration(
          "\(device): mode \(request) is not offered by \(connectorName(c)) (modes: \(list))")
      }
      return match
    }
    return modes.first { $0.type & UInt32(DRM_MODE_TYPE_PREFERRED) != 0 } ?? modes[0]
  }

  private func findCrtc(
    _ c: UnsafeMutablePointer<drmModeConnector>, _ res: UnsafeMutablePointer<drmModeRes>
  ) throws -> UInt32 {
    if c.pointee.encoder_id != 0, let enc = drmModeGetEncoder(fd, c.pointee.encoder_id) {
      defer { drmModeFreeEncoder(enc) }
      if enc.pointee.crtc_id != 0 { return enc.pointee.crtc_id }
    }
    for i in 0..<Int(c.pointee.count_encoders) {
      guard let enc = drmModeGetEncoder(fd, c.pointee.encoders[i]) else { continue }
      defer { drmModeFreeEncoder(enc) }
      for j in 0..<Int(res.pointee.count_crtcs) where enc.pointee.possible_crtcs & (1 << j) != 0 {
        return res.pointee.crtcs[j]
      }
    }
    throw DisplayError.device("\(device): no CRTC can drive connector \(Self.connectorName(c))")
  }

  /// New scan-out buffers for `newMode`, all of them or none: on failure the
  /// old buffers (and the mode they were made for) stay.
  private func createBuffers(for newMode: drmModeModeInfo) throws {
    let size = Size(width: Int(newMode.hdisplay), height: Int(newMode.vdisplay))
    try scanout.replace(size: size) { try DumbBuffer(fd: fd, size: size, device: device) }
    front = 0
    damage = DamageTracker(
      buffers: ScanoutBuffers<DumbBuffer>.count,
      bounds: Rect(size: rotation.logicalSize(physical: size)))
  }

  /// Shows buffer `index` with a (synchronous) mode set.
  private func setCrtc(buffer index: Int) throws {
    var conn = connectorID
    let rc = drmModeSetCrtc(fd, crtcID, scanout[index].framebuffer, 0, 0, &conn, 1, &mode)
    if rc == 0 {
      front = index
      return
    }
    let code = rc < 0 ? -rc : errno
    if code == EACCES || code == EPERM {
      pause("not DRM master (another process or VT holds the display)", master: true)
      return
    }
    throw DisplayError.device("\(device): SETCRTC failed: \(errnoText(code))")
  }

  private func pause(_ reason: String, master: Bool) {
    guard pausedReason == nil else { return }
    pausedReason = reason
    pausedForMaster = master
    logger.warning("display: paused: \(reason)")
    collected.append(.paused(reason: reason))
  }

  private func resume() {
    pausedReason = nil
    pausedForMaster = false
    damage.addAll()
    unshown = true
    logger.info("display: resumed, full redraw")
    collected.append(.resumed)
  }

  public func present(_ frame: PixelFrame, damage rects: [Rect]) throws -> PresentResult {
    guard !closed else { throw DisplayError.device("\(device): closed") }
    damage.add(rects)
    if pausedReason != nil || flipPending {
      unshown = unshown || !rects.isEmpty
      return pausedReason != nil ? .paused : .deferred
    }
    let back = 1 - front
    let buffer = scanout[back]
    for r in damage.take(back) {
      blit(
        frame, rect: r, into: buffer.map, pitch: buffer.pitch, physical: physical,
        format: .xrgb8888, rotation: rotation)
    }
    frameCounter += 1
    let rc = drmModePageFlip(
      fd, crtcID, buffer.framebuffer, UInt32(DRM_MODE_PAGE_FLIP_EVENT),
      Unmanaged.passUnretained(self).toOpaque())
    if rc != 0 {
      let code = rc < 0 ? -rc : errno
      damage.addAll()
      unshown = true
      if code == EACCES || code == EPERM {
        pause("lost DRM master", master: true)
        return .paused
      }
      if code == EBUSY { return .deferred }
      throw DisplayError.device("\(device): PAGE_FLIP failed: \(errnoText(code))")
    }
    flipPending = true
    unshown = false
    flipTarget = back
    pendingFrame = frameCounter
    return .queued(frame: frameCounter)
  }

  fileprivate func flipCompleted(seconds: UInt32, microseconds: UInt32) {
    guard flipPending else { return }
    flipPending = false
    front = flipTarget
    let ns = UInt64(seconds) * 1_000_000_000 + UInt64(microseconds) * 1000
    collected.append(.frameShown(frame: pendingFrame, monotonicNanoseconds: ns))
  }

  /// Reads flip events (the descriptor is non-blocking) and runs the timer.
  public func handleEvents() throws -> [DisplayEvent] {
    guard !closed else { return [] }
    readFlipEvents()
    let now = SystemClock.monotonicNanoseconds()
    if now &- lastTimer >= UInt64(timerInterval) * 1_000_000 {
      lastTimer = now
      try timer()
    }
    defer { collected = [] }
    return collected
  }

  private func readFlipEvents() {
    var ctx = drmEventContext()
    ctx.version = 2
    ctx.page_flip_handler = { _, _, sec, usec, data in
      guard let data else { return }
      Unmanaged<DRMOutput>.fromOpaque(data).takeUnretainedValue()
        .flipCompleted(seconds: sec, microseconds: usec)
    }
    _ = drmHandleEvent(fd, &ctx)
  }

  private func timer() throws {
    guard let c = drmModeGetConnectorCurrent(fd, connectorID) else { return }
    let connected = c.pointee.connection == DRM_MODE_CONNECTED && c.pointee.count_modes > 0
    defer { drmModeFreeConnector(c) }
    if !connected {
      pause("connector \(info.connector) unplugged", master: false)
      return
    }
    guard pausedReason != nil else { return }
    if pausedForMaster {
      if drmIsMaster(fd) == 0 && drmSetMaster(fd) != 0 { return }
    } else {
      // Plugged back: the mode may have changed.
      let newMode = try Self.pickMode(c, request: request, device: device)
      if newMode.hdisplay != mode.hdisplay || newMode.vdisplay != mode.vdisplay {
        try createBuffers(for: newMode)
        mode = newMode
        info.mode = Self.modeName(mode)
        info.physicalSize = physical
        collected.append(.resized(size))
      }
      mode = newMode
      flipPending = false
    }
    let wasPaused = pausedReason
    pausedReason = nil
    try setCrtc(buffer: front)
    if pausedReason == nil {
      resume()
    } else if pausedReason != wasPaused {
      collected.removeLast()
    }
  }

  public func close() {
    guard !closed else { return }
    // A flip cannot be cancelled: wait (bounded) for its event first.
    let deadline = SystemClock.monotonicNanoseconds() + 2_000_000_000
    while flipPending && SystemClock.monotonicNanoseconds() < deadline {
      var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      if poll(&p, 1, 100) > 0 { readFlipEvents() }
    }
    if let saved = savedCrtc {
      if saved.pointee.mode_valid != 0 {
        var conn = connectorID
        var savedMode = saved.pointee.mode
        let rc = drmModeSetCrtc(
          fd, saved.pointee.crtc_id, saved.pointee.buffer_id, saved.pointee.x, saved.pointee.y,
          &conn, 1, &savedMode)
        let code = rc < 0 ? -rc : errno
        if rc == 0 {
          logger.info("display: restored the saved CRTC \(saved.pointee.crtc_id)")
        } else if code == ENOENT {
          // The saved frame buffer belonged to a process that has exited.
          logger.info(
            "display: the saved CRTC's frame buffer is gone; the kernel restores its console")
        } else {
          logger.warning("display: could not restore the saved CRTC: \(errnoText(code))")
        }
      }
      drmModeFreeCrtc(saved)
      savedCrtc = nil
    }
    scanout = ScanoutBuffers()
    Glibc.close(fd)
    closed = true
  }

  /// `/dev/dri/card*`, in order.
  public static func candidates() -> [String] {
    deviceNodes(in: "/dev/dri", prefix: "card")
  }
}

@available(*, unavailable) extension DRMOutput: Sendable {}

/// One DRM dumb buffer, its frame buffer and its mapping: made together,
/// freed together (unmap, RMFB, DESTROY_DUMB) when the last reference goes.
/// The DRM descriptor must outlive it.
final class DumbBuffer {
  let fd: Int32
  let handle: UInt32
  let pitch: Int
  let byteCount: Int
  let framebuffer: UInt32
  let map: UnsafeMutableRawPointer

  /// A black XRGB8888 buffer of `size`.
  init(fd: Int32, size: Size, device: String) throws(DisplayError) {
    var handle: UInt32 = 0
    var pitch: UInt32 = 0
    var byteCount: UInt64 = 0
    var rc = kds_drm_create_dumb(
      fd, UInt32(size.width), UInt32(size.height), 32, &handle, &pitch, &byteCount)
    guard rc == 0 else {
      throw DisplayError.device("\(device): CREATE_DUMB failed: \(errnoText(-rc))")
    }
    var fb: UInt32 = 0
    guard
      drmModeAddFB(fd, UInt32(size.width), UInt32(size.height), 24, 32, pitch, handle, &fb) == 0
    else {
      let e = errno
      _ = kds_drm_destroy_dumb(fd, handle)
      throw DisplayError.device("\(device): ADDFB failed: \(errnoText(e))")
    }
    var offset: UInt64 = 0
    rc = kds_drm_map_dumb(fd, handle, &offset)
    let map =
      rc == 0
      ? mmap(nil, Int(byteCount), PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(offset)) : nil
    guard let map, map != UnsafeMutableRawPointer(bitPattern: -1) else {
      drmModeRmFB(fd, fb)
      _ = kds_drm_destroy_dumb(fd, handle)
      throw DisplayError.device("\(device): cannot map a dumb buffer")
    }
    // Cleared once (black); afterwards only damaged pixels are written.
    memset(map, 0, Int(byteCount))
    self.fd = fd
    self.handle = handle
    self.pitch = Int(pitch)
    self.byteCount = Int(byteCount)
    self.framebuffer = fb
    self.map = map
  }

  deinit {
    munmap(map, byteCount)
    drmModeRmFB(fd, framebuffer)
    _ = kds_drm_destroy_dumb(fd, handle)
  }
}

@available(*, unavailable) extension DumbBuffer: Sendable {}

/// The scan-out buffers and the panel size they were made for, replaced all
/// together or not at all: a failed `replace` keeps the old set (the new
/// buffers made so far are released), so there is always a full set to show
/// once there was one.
struct ScanoutBuffers<Buffer: AnyObject> {
  /// Double buffering.
  static var count: Int { 2 }
  private(set) var buffers: [Buffer] = []
  private(set) var physical: Size = .zero

  /// Makes `count` new buffers of `size` with `make`, then drops the old ones.
  mutating func replace<E: Error>(size: Size, make: () throws(E) -> Buffer) throws(E) {
    var fresh: [Buffer] = []
    fresh.reserveCapacity(Self.count)
    for _ in 0..<Self.count { fresh.append(try make()) }
    buffers = fresh
    physical = size
  }

  subscript(index: Int) -> Buffer { buffers[index] }
}
