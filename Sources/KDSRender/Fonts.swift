import CFreeType

/// Why fonts could not be loaded.
public struct FontError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
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

/// A font file's contents, read by the caller (the renderer opens no files;
/// see KDSKiosk's `FontLocator`).
public struct FontFile: Sendable {
  /// Where it came from, for messages: the file's path.
  public var name: String
  public var bytes: [UInt8]

  public init(name: String, bytes: [UInt8]) {
    self.name = name
    self.bytes = bytes
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

/// One FreeType face, loaded from memory. Not thread-safe.
final class FontFace {
  let library: FreeTypeLibrary
  let face: FT_Face
  let id: UInt8
  let name: String
  /// The font file's bytes: FreeType reads them for as long as the face lives.
  private let memory: UnsafeMutableRawBufferPointer
  let unitsPerEM: Int
  let ascender: Int
  let descender: Int
  let hasKerning: Bool
  private var currentPx = 0
  private var charIndex: [UInt32: UInt32] = [:]

  init(library: FreeTypeLibrary, file: FontFile, id: UInt8) throws {
    let memory = UnsafeMutableRawBufferPointer.allocate(
      byteCount: max(1, file.bytes.count), alignment: 16)
    memory.copyBytes(from: file.bytes)
    var f: FT_Face?
    let err = FT_New_Memory_Face(
      library.handle, memory.baseAddress!.assumingMemoryBound(to: FT_Byte.self),
      FT_Long(file.bytes.count), 0, &f)
    guard err == 0, let f else {
      memory.deallocate()
      throw FontError("cannot load font \(file.name): FreeType error \(err)")
    }
    face = f
    self.memory = memory
    self.library = library
    self.id = id
    self.name = file.name
    unitsPerEM = max(1, Int(f.pointee.units_per_EM))
    ascender = Int(f.pointee.ascender)
    descender = Int(f.pointee.descender)
    hasKerning = (f.pointee.face_flags & FT_Long(FT_FACE_FLAG_KERNING)) != 0
  }

  deinit {
    FT_Done_Face(face)
    memory.deallocate()
  }

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

  /// The faces from the files' bytes: `regular` and `bold`, then up to
  /// eight `fallbacks` (a fallback FreeType cannot load is skipped).
  public init(regular: FontFile, bold: FontFile, fallbacks: [FontFile] = []) throws {
    let lib = try FreeTypeLibrary()
    var faces: [FontFace] = []
    faces.append(try FontFace(library: lib, file: regular, id: 0))
    faces.append(try FontFace(library: lib, file: bold, id: 1))
    for file in fallbacks.prefix(8) {
      if let face = try? FontFace(library: lib, file: file, id: UInt8(faces.count)) {
        faces.append(face)
      }
    }
    self.faces = faces
  }

  /// Names (paths) of the faces in fallback order.
  public var faceNames: [String] { faces.map(\.name) }

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
