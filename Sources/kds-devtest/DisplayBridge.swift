import KDSDisplay
import KDSGeometry
import Logging

// The probe is written against KDSGeometry's types (Rect, Size, Rotation,
// PixelFrame), which KDSDisplay adopts in issue 10. Until it does, these
// overloads convert at the two calls into KDSDisplay. Delete this file when
// KDSDisplay's `DisplayOpener.open` and `DisplayOutput.present` take
// KDSGeometry's types (and the module qualification of `ShadowBuffer` in
// ProbeCommand.swift may go then too).

extension DisplayOpener {
  static func open(
    _ selection: DisplaySelection, mode: DisplayModeRequest?, rotation: Rotation, logger: Logger
  ) throws -> (any DisplayOutput)? {
    guard let displayRotation = DisplayRotation(rawValue: rotation.rawValue) else {
      preconditionFailure("the rotations have the same angles")
    }
    return try open(selection, mode: mode, rotation: displayRotation, logger: logger)
  }
}

extension DisplayOutput {
  func present(_ frame: KDSGeometry.PixelFrame, damage: [Rect]) throws -> PresentResult {
    try present(
      KDSDisplay.PixelFrame(
        base: frame.base, width: frame.width, height: frame.height, stride: frame.stride),
      damage: damage.map { DisplayRect(x: $0.x, y: $0.y, width: $0.width, height: $0.height) })
  }
}
