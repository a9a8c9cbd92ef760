import CEvdev
import Glibc
import KDSSystem

/// One open evdev node: its descriptor and libevdev handle. Releasing the
/// last reference ungrabs the device (when `grab()` took it) and closes it,
/// so a device the code forgets cannot stay grabbed or leak its descriptor.
final class EvdevHandle {
  let fd: Int32
  let dev: OpaquePointer
  private(set) var grabbed = false

  /// Opens `path` (read-only, non-blocking). nil when the node is not an
  /// evdev device.
  init?(path: String) throws(SystemError) {
    let fd = try openRetrying(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC).get()
    var dev: OpaquePointer?
    guard libevdev_new_from_fd(fd, &dev) == 0, let dev else {
      Glibc.close(fd)
      return nil
    }
    self.fd = fd
    self.dev = dev
  }

  deinit {
    if grabbed { _ = libevdev_grab(dev, LIBEVDEV_UNGRAB) }
    libevdev_free(dev)
    Glibc.close(fd)
  }

  var name: String { libevdev_get_name(dev).map { String(cString: $0) } ?? "?" }

  var id: InputDeviceID {
    InputDeviceID(
      vendor: UInt16(truncatingIfNeeded: libevdev_get_id_vendor(dev)),
      product: UInt16(truncatingIfNeeded: libevdev_get_id_product(dev)))
  }

  func has(_ type: Int32, _ code: Int32) -> Bool {
    libevdev_has_event_code(dev, UInt32(type), UInt32(code)) != 0
  }

  /// Takes the device exclusively (EVIOCGRAB) until this handle goes.
  func grab() throws(SystemError) {
    let rc = libevdev_grab(dev, LIBEVDEV_GRAB)
    guard rc == 0 else { throw SystemError("grab", negativeReturn: rc) }
    grabbed = true
  }

  /// Releases the grab (`kdsctl learn-keys` took a device the map does not).
  func ungrab() {
    if grabbed { _ = libevdev_grab(dev, LIBEVDEV_UNGRAB) }
    grabbed = false
  }
}

@available(*, unavailable) extension EvdevHandle: Sendable {}
