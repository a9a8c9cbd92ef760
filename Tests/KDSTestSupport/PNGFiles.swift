import Foundation
import KDSRender

extension PNG {
  /// Reads and decodes a PNG file (goldens, snapshots, screenshots).
  public static func read(_ path: String) throws -> DecodedImage {
    try decode([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
  }
}
