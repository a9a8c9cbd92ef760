import CFreeType

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why fonts could not be loaded.
public struct FontError: Error, CustomStringConvertible {
  public let description: String
  init(_ description: String) { self.description = description }
}

/// Regular or bold: two real font files, never a synthetic bold.
public enum FontWeight: UInt8, Hashable, Sendable {
  case regular = 0
  case bold = 1
}

/// A face and a pixel size.
public struct TextStyle: Hashable, Sendable {
  public var weight: FontWeight
  /// The em size in pixels.
  public var px: Int

  public init(_ weight: FontWeight, _ px: Int) {
    self.weight = weight
    self.px = max(4, min(px, 400))
  }

  public static func regular(_ px: Int) -> TextStyle { TextStyle(.regular, px) }
  public static func bold(_ px: Int) -> TextStyle { TextStyle(.bold, px) }
}

/// Where the font files are: the first folder that holds both faces of
/// `FontLocator.regularFile` and `FontLocator.boldFile`.
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

  /// Other `.ttf` files in `dir`, used as fallbacks for characters the main
  /// faces lack.
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

/// The FreeType library handle; freed after the last face that uses it.
final class FreeTypeLibrary {
  let handle: FT_Library

  init() throws {
    var lib: FT_Library?
    let err = FT_Init_FreeType(&lib)
    guard err == 0, let lib else { throw FontError("FreeType failed to start: error \(err)") }
    handle = lib
  }

  deinit { FT_Done_FreeType(handle) }
}

/// One FreeType face. Not thread-safe.
final class FontFace {
  let library: FreeTypeLibrary
  let face: FT_Face
  let id: UInt8
  let path: String
  let unitsPerEM: Int
  let ascender: Int
  let descender: Int
  let hasKerning: Bool
  private var currentPx = 0
  private var charIndex: [UInt32: UInt32] = [:]

  init(library: FreeTypeLibrary, path: String, id: UInt8) throws {
    var f: FT_Face?
    let err = FT_New_Face(library.handle, path, 0, &f)
    guard err == 0, let f else {
      throw FontError("cannot load font \(path): FreeType error \(err)")
    }
    face = f
    self.library = library
    self.id = id
    self.path = path
    unitsPerEM = max(1, Int(f.pointee.units_per_EM))
    ascender = Int(f.pointee.ascender)
    descender = Int(f.pointee.descender)
    hasKerning = (f.pointee.face_flags & FT_Long(FT_FACE_FLAG_KERNING)) != 0
  }

  deinit { FT_Done_Face(face) }

  /// The glyph index of a character, 0 when the face lacks it.
  func glyphIndex(_ scalar: UInt32) -> UInt32 {
    if let g = charIndex[scalar] { return g }
    let g = UInt32(FT_Get_Char_Index(face, FT_ULong(scalar)))
    charIndex[scalar] = g
    return g
  }

  /// Kerning between two glyphs, in font units.
  func kerning(_ left: UInt32, _ right: UInt32) -> Int {
    guard hasKerning, left != 0, right != 0 else { return 0 }
    var v = FT_Vector()
    // 2 = FT_KERNING_UNSCALED: font units, independent of the current size.
    guard FT_Get_Kerning(face, FT_UInt(left), FT_UInt(right), 2, &v) == 0 else { return 0 }
    return Int(v.x)
  }

  func setSize(_ px: Int) {
    if px != currentPx {
      FT_Set_Pixel_Sizes(face, 0, FT_UInt(px))
      currentPx = px
    }
  }
}

/// The fonts the renderer draws with: a regular and a bold face plus any
/// fallback faces, each character drawn by the first face that has it.
/// Not thread-safe.
public final class FontSet {
  let faces: [FontFace]
  public let directory: String

  /// Loads the faces from `directory`, or from the first folder
  /// `FontLocator.locate` finds.
  public init(directory: String? = nil) throws {
    let dir = try FontLocator.locate(explicit: directory)
    let lib = try FreeTypeLibrary()
    self.directory = dir
    var faces: [FontFace] = []
    faces.append(try FontFace(library: lib, path: dir + "/" + FontLocator.regularFile, id: 0))
    faces.append(try FontFace(library: lib, path: dir + "/" + FontLocator.boldFile, id: 1))
    for path in FontLocator.extraFaces(in: dir).prefix(8) {
      if let face = try? FontFace(library: lib, path: path, id: UInt8(faces.count)) {
        faces.append(face)
      }
    }
    self.faces = faces
  }

  /// Paths of the faces in fallback order.
  public var facePaths: [String] { faces.map(\.path) }

  /// The face to draw `scalar` in `weight` with and its glyph index, or nil
  /// when no face has it.
  func resolve(_ scalar: UInt32, _ weight: FontWeight) -> (FontFace, UInt32)? {
    let first = faces[Int(weight.rawValue)]
    let g = first.glyphIndex(scalar)
    if g != 0 { return (first, g) }
    for face in faces where face.id != first.id {
      let g = face.glyphIndex(scalar)
      if g != 0 { return (face, g) }
    }
    return nil
  }

  func face(_ weight: FontWeight) -> FontFace { faces[Int(weight.rawValue)] }
}

@available(*, unavailable)
extension FontSet: Sendable {}
