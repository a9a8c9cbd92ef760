import KDSRender

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A display that is a PNG file: `--display snapshot:PATH.png`. Each time the
/// frame changes it writes the whole frame to `path` atomically (temporary
/// file, fsync, rename), so a reader never sees half a picture. Used for
/// headless runs, tests, demos and `kdsctl screenshot`. Not thread-safe.
public final class SnapshotOutput {
  public let path: String
  /// zlib level: fast by default, the frame is rewritten on every change.
  public let compressionLevel: Int32
  /// How many frames were written.
  public private(set) var framesWritten = 0
  private var wroteOnce = false

  public init(path: String, compressionLevel: Int32 = 3) {
    self.path = path
    self.compressionLevel = compressionLevel
  }

  /// Parses `snapshot:PATH.png`, the daemon's `--display` value.
  public convenience init?(displaySpec spec: String) {
    let prefix = "snapshot:"
    guard spec.hasPrefix(prefix), spec.count > prefix.count else { return nil }
    self.init(path: String(spec.dropFirst(prefix.count)))
  }

  /// Shows `frame` (the final, rotated frame): writes it when `damage` is
  /// not empty or nothing was written yet. Returns whether it wrote.
  @discardableResult
  public func present(_ frame: Canvas, damage: [Rect]) throws -> Bool {
    guard !wroteOnce || damage.contains(where: { !$0.isEmpty }) else { return false }
    try PNG.write(frame, to: path, level: compressionLevel)
    wroteOnce = true
    framesWritten += 1
    return true
  }

  /// Writes `frame` now, whatever changed (e.g. for a screenshot request).
  public func write(_ frame: Canvas) throws {
    try PNG.write(frame, to: path, level: compressionLevel)
    wroteOnce = true
    framesWritten += 1
  }
}

@available(*, unavailable)
extension SnapshotOutput: Sendable {}
