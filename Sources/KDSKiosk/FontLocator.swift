import KDSRender

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where the font files are, and reading them for the renderer: the first
/// folder that holds both `regularFile` and `boldFile`. Shared by the daemon,
/// `kds-kiosk render`, the benchmark and the tests.
public enum FontLocator {
  public static let regularFile = "DejaVuSans.ttf"
  public static let boldFile = "DejaVuSans-Bold.ttf"
  /// Where packages install the fonts.
  public static let installDirectory = "/usr/share/kds/fonts"
  /// The environment variable naming a fonts folder (checked first).
  public static let environmentVariable = "KDS_FONTS_DIR"

  /// The folders searched, in order: `explicit`, `$KDS_FONTS_DIR`, the install
  /// path, then `Fonts/` in every folder above the running executable (the
  /// source tree, for binaries under `.build/`).
  public static func candidates(explicit: String? = nil) -> [String] {
    var dirs: [String] = []
    if let explicit, !explicit.isEmpty { dirs.append(explicit) }
    if let env = getenv(environmentVariable) {
      let value = String(cString: env)
      if !value.isEmpty { dirs.append(value) }
    }
    dirs.append(installDirectory)
    var exe = executablePath()
    while let slash = exe.lastIndex(of: "/"), slash != exe.startIndex {
      exe = String(exe[..<slash])
      dirs.append(exe + "/Fonts")
    }
    return dirs
  }

  /// The first candidate folder that holds both faces.
  /// An explicit folder must hold the fonts: a wrong setting is an error,
  /// not a silent fallback.
  public static func locate(explicit: String? = nil) throws -> String {
    if let explicit, !explicit.isEmpty {
      guard hasFonts(explicit) else {
        throw FontError(
          "fonts not found in \(explicit): need \(regularFile) and \(boldFile) there")
      }
      return explicit
    }
    let dirs = candidates(explicit: explicit)
    for dir in dirs where hasFonts(dir) { return dir }
    throw FontError(
      "fonts not found: no folder with \(regularFile) and \(boldFile) among "
        + dirs.prefix(6).joined(separator: ", ")
        + " (set \(environmentVariable) or install to \(installDirectory))")
  }

  /// The renderer's fonts from the folder `locate(explicit:)` finds: the two
  /// faces, and the folder's other `.ttf`/`.otf` files as fallbacks.
  public static func load(explicit: String? = nil) throws -> FontSet {
    let dir = try locate(explicit: explicit)
    return try FontSet(
      regular: try read(dir + "/" + regularFile), bold: try read(dir + "/" + boldFile),
      fallbacks: extraFaces(in: dir).prefix(8).compactMap { try? read($0) })
  }

  static func read(_ path: String) throws -> FontFile {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw FontError("cannot read font \(path)")
    }
    return FontFile(name: path, bytes: [UInt8](data))
  }

  static func hasFonts(_ dir: String) -> Bool {
    access(dir + "/" + regularFile, R_OK) == 0 && access(dir + "/" + boldFile, R_OK) == 0
  }

  static func executablePath() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if n > 0 {
      return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return CommandLine.arguments.first ?? ""
  }

  /// Other `.ttf` and `.otf` files in `dir`, sorted: fallbacks for
  /// characters the main faces lack.
  static func extraFaces(in dir: String) -> [String] {
    guard let d = opendir(dir) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let entry = readdir(d) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if name.hasSuffix(".ttf") || name.hasSuffix(".otf"),
        name != regularFile, name != boldFile
      {
        names.append(dir + "/" + name)
      }
    }
    return names.sorted()
  }
}
