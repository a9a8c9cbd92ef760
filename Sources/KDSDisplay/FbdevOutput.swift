import CDRM
import Glibc
import KDSGeometry
import KDSSystem
import Logging

/// fbdev output (`/dev/fb0`): the screen info, the frame buffer memory-mapped,
/// unblanked. When the virtual height holds two screens and panning works it
/// double-buffers (copy into the hidden half, then FBIOPAN_DISPLAY);
/// otherwise it copies straight into the visible memory. 32 bpp (any channel
/// order) and 16 bpp (RGB565-like) are converted from XRGB8888 while copying.
public final class FbdevOutput: DisplayOutput {
  public private(set) var info: DisplayInfo
  public var size: Size { rotation.logicalSize(physical: physical) }
  public var pollDescriptor: Int32? { nil }
  public let timerInterval: Int32 = 1000
  public var canPresent: Bool { !closed }
  /// True after a failed pan (the damage waits for the next present).
  public var hasPendingDamage: Bool { unshown }
  /// The scan-out pixel format found in the screen info.
  public let format: ScanoutFormat
  /// 2 when panning between two pages, else 1.
  public let pages: Int

  private let fd: Int32
  private let device: String
  private let rotation: Rotation
  private let physical: Size
  private let lineLength: Int
  private let map: UnsafeMutableRawPointer
  private let mapLength: Int
  private var vinfo: fb_var_screeninfo
  private var visible = 0
  private var damage: DamageTracker
  private var frameCounter: UInt64 = 0
  private var closed = false
  private var unshown = false
  private let logger: Logger
  /// The console, switched to KD_GRAPHICS so fbcon (text, cursor) stops
  /// drawing over the picture; back to its old mode on close.
  private var console: (fd: Int32, mode: UInt) = (-1, 0)

  /// `pan`: double-buffer by panning where the device allows it.
  public init(
    device: String, rotation: Rotation = .none, pan: Bool = true, logger: Logger
  ) throws {
    self.device = device
    self.rotation = rotation
    self.logger = logger
    switch openRetrying(device, O_RDWR | O_CLOEXEC) {
    case .success(let fd): self.fd = fd
    case .failure(let e) where e.code == EACCES || e.code == EPERM:
      throw DisplayError(.permission, "\(device): permission denied\(permissionHint(device))")
    case .failure(let e):
      throw DisplayError.device("\(device): \(e.reason)")
    }
    var v = fb_var_screeninfo()
    var f = fb_fix_screeninfo()
    guard kds_ioctl_ptr(fd, kds_FBIOGET_VSCREENINFO(), &v) == 0,
      kds_ioctl_ptr(fd, kds_FBIOGET_FSCREENINFO(), &f) == 0
    else {
      let e = errno
      Glibc.close(fd)
      throw DisplayError.device("\(device): not a frame buffer (screen info: \(errnoText(e)))")
    }
    let bpp = Int(v.bits_per_pixel)
    guard bpp == 32 || bpp == 16 else {
      Glibc.close(fd)
      throw DisplayError.device("\(device): \(bpp) bits per pixel is not supported (32 or 16)")
    }
    format = ScanoutFormat(
      bytesPerPixel: bpp / 8, redShift: Int(v.red.offset), redBits: Int(v.red.length),
      greenShift: Int(v.green.offset), greenBits: Int(v.green.length),
      blueShift: Int(v.blue.offset), blueBits: Int(v.blue.length))
    physical = Size(width: Int(v.xres), height: Int(v.yres))
    lineLength = Int(f.line_length)
    mapLength = Int(f.smem_len)
    guard let m = mmap(nil, mapLength, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
      m != UnsafeMutableRawPointer(bitPattern: -1)
    else {
      let e = errno
      Glibc.close(fd)
      throw DisplayError.device("\(device): mmap failed: \(errnoText(e))")
    }
    map = m
    vinfo = v
    // Two pages when the virtual screen holds them and the driver pans. Not
    // on DRM's fbdev emulation ("...drmfb"): there panning is up to the DRM
    // driver (bochs accepts FBIOPAN_DISPLAY and ignores it) and writes go
    // through a shadow copy anyway; the DRM output is the one to use there.
    let id = withUnsafeBytes(of: f.id) { raw in
      String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
    var twoPages = false
    let pageBytes = lineLength * physical.height
    if pan && !id.hasSuffix("drmfb") && Int(v.yres_virtual) >= 2 * physical.height
      && mapLength >= 2 * pageBytes && f.ypanstep > 0
    {
      var probe = v
      probe.yoffset = 0
      probe.xoffset = 0
      twoPages = kds_ioctl_ptr(fd, kds_FBIOPAN_DISPLAY(), &probe) == 0
    }
    visible = twoPages && v.yoffset >= UInt32(physical.height) ? 1 : 0
    pages = twoPages ? 2 : 1
    let logical = rotation.logicalSize(physical: physical)
    damage = DamageTracker(
      buffers: pages, bounds: Rect(size: logical))
    info = DisplayInfo(
      driver: "fbdev", device: device, connector: id.isEmpty ? "fb" : id,
      mode: "\(physical.width)x\(physical.height)-\(bpp)", physicalSize: physical,
      rotation: rotation)
    takeConsole()
    if kds_ioctl_int(fd, kds_FBIOBLANK(), UInt(FB_BLANK_UNBLANK)) != 0 {
      logger.debug("display: \(device): unblank not supported")
    }
    logger.info(
      "display: fbdev \(device) (\(info.connector)) \(info.mode) pitch \(lineLength) pages \(pages)"
    )
  }

  deinit {
    assert(closed, "FbdevOutput for \(device) was not closed")
    if !closed { close() }
  }

  public func present(_ frame: PixelFrame, damage rects: [Rect]) throws -> PresentResult {
    guard !closed else { throw DisplayError.device("\(device): closed") }
    damage.add(rects)
    let target = pages == 2 ? 1 - visible : 0
    let page = map + target * lineLength * physical.height
    for r in damage.take(target) {
      blit(
        frame, rect: r, into: page, pitch: lineLength, physical: physical, format: format,
        rotation: rotation)
    }
    if pages == 2 {
      var v = vinfo
      v.xoffset = 0
      v.yoffset = UInt32(target * physical.height)
      if kds_ioctl_ptr(fd, kds_FBIOPAN_DISPLAY(), &v) == 0 {
        visible = target
        unshown = false
      } else {
        unshown = true
        logger.warning("display: \(device): pan failed: \(errnoText(errno))")
        damage.addAll()
      }
    }
    frameCounter += 1
    return .shown(frame: frameCounter, monotonicNanoseconds: SystemClock.monotonicNanoseconds())
  }

  public func handleEvents() throws -> [DisplayEvent] { [] }

  private func takeConsole() {
    guard case .success(let tty) = openRetrying("/dev/tty0", O_RDWR | O_CLOEXEC) else { return }
    var old: UInt32 = 0
    if kds_ioctl_ptr(tty, UInt(KDGETMODE), &old) == 0
      && kds_ioctl_int(tty, UInt(KDSETMODE), UInt(KD_GRAPHICS)) == 0
    {
      console = (tty, UInt(old))
    } else {
      Glibc.close(tty)
    }
  }

  public func close() {
    guard !closed else { return }
    munmap(map, mapLength)
    Glibc.close(fd)
    if console.fd >= 0 {
      _ = kds_ioctl_int(console.fd, UInt(KDSETMODE), console.mode)
      Glibc.close(console.fd)
    }
    closed = true
  }

  /// `/dev/fb*`, in order.
  public static func candidates() -> [String] {
    deviceNodes(in: "/dev", prefix: "fb")
  }
}

@available(*, unavailable) extension FbdevOutput: Sendable {}
