import Glibc
import KDSGeometry
import Logging

/// Opens the output a `DisplaySelection` names.
public enum DisplayOpener {
  /// `.none` gives nil. `.snapshot` asks `snapshot` (the renderer's
  /// SnapshotOutput); without one it throws. `.auto` tries every
  /// /dev/dri/card* (first one that works), then /dev/fb0, and otherwise
  /// throws a `.noDisplay` error listing what it tried and why each failed.
  public static func open(
    _ selection: DisplaySelection, mode: DisplayModeRequest? = nil,
    rotation: Rotation = .none, logger: Logger,
    snapshot: ((String) throws -> any DisplayOutput)? = nil
  ) throws -> (any DisplayOutput)? {
    switch selection {
    case .none:
      return nil
    case .snapshot(let path):
      guard let snapshot else {
        throw DisplayError.badConfiguration("display snapshot:\(path) is not available here")
      }
      return try snapshot(path)
    case .drm(let device?):
      return try DRMOutput(device: device, mode: mode, rotation: rotation, logger: logger)
    case .fbdev(let device?):
      return try FbdevOutput(device: device, rotation: rotation, logger: logger)
    case .drm(nil):
      var tried: [String] = []
      if let out = try firstDRM(mode: mode, rotation: rotation, logger: logger, tried: &tried) {
        return out
      }
      throw noDisplay(tried)
    case .fbdev(nil):
      var tried: [String] = []
      if let out = firstFbdev(rotation: rotation, logger: logger, tried: &tried) { return out }
      throw noDisplay(tried)
    case .auto:
      var tried: [String] = []
      if let out = try firstDRM(mode: mode, rotation: rotation, logger: logger, tried: &tried) {
        return out
      }
      if let out = firstFbdev(rotation: rotation, logger: logger, tried: &tried) { return out }
      throw noDisplay(tried)
    }
  }

  private static func noDisplay(_ tried: [String]) -> DisplayError {
    DisplayError(.noDisplay, "no usable display: " + tried.joined(separator: "; "))
  }

  private static func firstDRM(
    mode: DisplayModeRequest?, rotation: Rotation, logger: Logger, tried: inout [String]
  ) throws -> (any DisplayOutput)? {
    let cards = DRMOutput.candidates()
    if cards.isEmpty {
      tried.append(
        access("/dev/dri", F_OK) == 0
          ? "drm: no /dev/dri/card* device"
          : "drm: no /dev/dri (no DRM driver loaded)")
    }
    for card in cards {
      do {
        return try DRMOutput(device: card, mode: mode, rotation: rotation, logger: logger)
      } catch let e as DisplayError where e.kind != .badConfiguration {
        tried.append("drm: \(e.message)")
      }
    }
    return nil
  }

  private static func firstFbdev(
    rotation: Rotation, logger: Logger, tried: inout [String]
  ) -> (any DisplayOutput)? {
    let fbs = FbdevOutput.candidates()
    if fbs.isEmpty { tried.append("fbdev: no /dev/fb* device") }
    for fb in fbs {
      do {
        return try FbdevOutput(device: fb, rotation: rotation, logger: logger)
      } catch {
        tried.append("fbdev: \(error)")
      }
    }
    return nil
  }
}
