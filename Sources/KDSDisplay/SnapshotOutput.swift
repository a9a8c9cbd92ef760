import KDSGeometry
import KDSRender
import KDSSystem

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
    try PNGFile.write(frame, to: path, level: compressionLevel)
    wroteOnce = true
    framesWritten += 1
    return true
  }

  /// Writes `frame` now, whatever changed (e.g. for a screenshot request).
  public func write(_ frame: Canvas) throws {
    try PNGFile.write(frame, to: path, level: compressionLevel)
    wroteOnce = true
    framesWritten += 1
  }
}

@available(*, unavailable)
extension SnapshotOutput: Sendable {}

/// PNG files: the renderer's encoder, written atomically. Used by the
/// snapshot output, screenshots and `kds-kiosk render`.
public enum PNGFile {
  /// Writes `canvas` as a PNG to `path` atomically. `level` is zlib's 0...9.
  public static func write(_ canvas: Canvas, to path: String, level: Int32 = 6) throws {
    try writeAtomically(try PNG.encode(canvas, level: level), to: path)
  }

  /// Writes `bytes` to `path` atomically: a temporary file in the same
  /// folder, fsync, rename over `path`, fsync of the folder. A reader never
  /// sees half a file.
  public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(SystemError) {
    let tmp = path + ".tmp-\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw SystemError("cannot create \(tmp)") }
    var ok = false
    defer {
      if !ok { unlink(tmp) }
    }
    do {
      defer { close(fd) }
      var written = 0
      while written < bytes.count {
        let n = bytes.withUnsafeBytes {
          Glibc.write(fd, $0.baseAddress! + written, bytes.count - written)
        }
        if n < 0 {
          if errno == EINTR { continue }
          throw SystemError("cannot write \(tmp)")
        }
        written += n
      }
      guard fsync(fd) == 0 else { throw SystemError("cannot fsync \(tmp)") }
    }
    guard rename(tmp, path) == 0 else { throw SystemError("cannot rename \(tmp) to \(path)") }
    ok = true
    let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
      _ = fsync(dfd)
      close(dfd)
    }
  }
}
