import CDRM
import Glibc

/// The kiosk's virtual terminal switched to graphics mode while it draws, so
/// the kernel's console shows no text, cursor or blanking over the picture;
/// the previous mode comes back on `restore()`. Under systemd the unit hands
/// the kiosk its terminal as standard input (`TTYPath=/dev/tty1`,
/// `StandardInput=tty-force`): that controlling terminal is what may be switched.
public final class ConsoleMode {
  private let fd: Int32
  private let previous: UInt
  private var restored = false

  /// nil when `fd` is not a virtual terminal this process may switch.
  public init?(fd: Int32 = 0) {
    guard isatty(fd) == 1 else { return nil }
    var mode: UInt32 = 0
    guard kds_ioctl_ptr(fd, UInt(KDGETMODE), &mode) == 0 else { return nil }
    guard kds_ioctl_int(fd, UInt(KDSETMODE), UInt(KD_GRAPHICS)) == 0 else { return nil }
    self.fd = fd
    previous = UInt(mode)
  }

  /// Puts the terminal back as it was (text mode, usually). Idempotent.
  public func restore() {
    guard !restored else { return }
    restored = true
    _ = kds_ioctl_int(fd, UInt(KDSETMODE), previous)
  }

  deinit { restore() }
}
