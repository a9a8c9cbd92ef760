import CZlib
import KDSGeometry

/// Why a PNG could not be encoded or decoded.
public struct PNGError: Error, CustomStringConvertible {
  public let description: String
  init(_ description: String) { self.description = description }
}

/// A decoded image: XRGB8888 pixels, row after row.
public struct DecodedImage: Sendable {
  public var width: Int
  public var height: Int
  public var pixels: [UInt32]

  public func pixel(x: Int, y: Int) -> UInt32 { pixels[y * width + x] }
}

/// PNG images of canvases, as bytes (writing files is the output layer's
/// job: KDSDisplay's `PNGFile`): an encoder (8-bit RGB, adaptive row
/// filters, zlib) and a decoder for the 8-bit RGB/RGBA/gray non-interlaced
/// files it and other common tools write (enough to read back goldens).
public enum PNG {
  static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

  /// Encodes `rect` of `canvas` (all of it by default). `level` is zlib's 0...9.
  public static func encode(_ canvas: Canvas, rect: Rect? = nil, level: Int32 = 6) throws
    -> [UInt8]
  {
    let r = (rect ?? canvas.bounds).intersection(canvas.bounds)
    guard !r.isEmpty else { throw PNGError("nothing to encode: empty rectangle") }
    let rowBytes = r.width * 3
    let stride = rowBytes + 1
    var raw = [UInt8](repeating: 0, count: stride * r.height)
    // Fast levels use the Up filter on every row (identical rows, common on
    // a board, become zeros); others pick per row the filter with the
    // smallest sum of absolute values (libpng's heuristic).
    let adaptive = level > 3
    let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: rowBytes * 7)
    defer { scratch.deallocate() }
    scratch.initialize(repeating: 0, count: rowBytes * 7)
    var prev = scratch
    var cur = scratch + rowBytes
    let trials = scratch + 2 * rowBytes
    raw.withUnsafeMutableBufferPointer { out in
      for y in 0..<r.height {
        let src = canvas.pixels + (r.y + y) * canvas.stride + r.x
        for x in 0..<r.width {
          let p = src[x]
          cur[x * 3] = UInt8(truncatingIfNeeded: p >> 16)
          cur[x * 3 + 1] = UInt8(truncatingIfNeeded: p >> 8)
          cur[x * 3 + 2] = UInt8(truncatingIfNeeded: p)
        }
        let row = out.baseAddress! + y * stride
        if !adaptive {
          row[0] = 2
          for i in 0..<rowBytes { row[1 + i] = cur[i] &- prev[i] }
        } else {
          var bestType = 0
          var bestScore = Int.max
          for type in 0...4 {
            let t = trials + type * rowBytes
            filterRow(UInt8(type), cur, prev, into: t, count: rowBytes, bpp: 3)
            var score = 0
            for i in 0..<rowBytes {
              let b = t[i]
              score &+= b < 128 ? Int(b) : 256 - Int(b)
            }
            if score < bestScore {
              bestScore = score
              bestType = type
            }
          }
          row[0] = UInt8(bestType)
          (row + 1).update(from: trials + bestType * rowBytes, count: rowBytes)
        }
        swap(&prev, &cur)
      }
    }
    var out = signature
    var ihdr: [UInt8] = []
    appendBE(&ihdr, UInt32(r.width))
    appendBE(&ihdr, UInt32(r.height))
    ihdr += [8, 2, 0, 0, 0]  // 8 bits, RGB, deflate, adaptive filters, no interlace
    appendChunk(&out, "IHDR", ihdr)
    appendChunk(&out, "IDAT", try deflate(raw, level: level))
    appendChunk(&out, "IEND", [])
    return out
  }

  static func filterRow(
    _ type: UInt8, _ cur: UnsafePointer<UInt8>, _ prev: UnsafePointer<UInt8>,
    into out: UnsafeMutablePointer<UInt8>, count n: Int, bpp: Int
  ) {
    switch type {
    case 0:
      out.update(from: cur, count: n)
    case 1:
      for i in 0..<n { out[i] = cur[i] &- (i >= bpp ? cur[i - bpp] : 0) }
    case 2:
      for i in 0..<n { out[i] = cur[i] &- prev[i] }
    case 3:
      for i in 0..<n {
        let a = i >= bpp ? Int(cur[i - bpp]) : 0
        out[i] = cur[i] &- UInt8((a + Int(prev[i])) / 2)
      }
    default:
      for i in 0..<n {
        let a = i >= bpp ? cur[i - bpp] : 0
        let c = i >= bpp ? prev[i - bpp] : 0
        out[i] = cur[i] &- paeth(a, prev[i], c)
      }
    }
  }

  @inline(__always)
  static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
    let p = Int(a) + Int(b) - Int(c)
    let pa = abs(p - Int(a))
    let pb = abs(p - Int(b))
    let pc = abs(p - Int(c))
    if pa <= pb && pa <= pc { return a }
    return pb <= pc ? b : c
  }

  static func appendBE(_ out: inout [UInt8], _ v: UInt32) {
    out += [
      UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8),
      UInt8(truncatingIfNeeded: v),
    ]
  }

  static func appendChunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
    appendBE(&out, UInt32(data.count))
    let typeBytes = Array(type.utf8)
    var crc = crc32(0, typeBytes, UInt32(typeBytes.count))
    if !data.isEmpty {
      crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, UInt32($0.count)) }
    }
    out += typeBytes
    out += data
    appendBE(&out, UInt32(truncatingIfNeeded: crc))
  }

  static func deflate(_ raw: [UInt8], level: Int32) throws -> [UInt8] {
    var bound = compressBound(uLong(raw.count))
    var out = [UInt8](repeating: 0, count: Int(bound))
    let rc = out.withUnsafeMutableBufferPointer { dst in
      raw.withUnsafeBufferPointer { src in
        compress2(dst.baseAddress, &bound, src.baseAddress, uLong(src.count), level)
      }
    }
    guard rc == Z_OK else { throw PNGError("zlib compress failed: \(rc)") }
    out.removeSubrange(Int(bound)...)
    return out
  }

  // MARK: decoding

  /// Decodes an 8-bit, non-interlaced gray, RGB, gray+alpha or RGBA PNG
  /// (alpha is dropped).
  public static func decode(_ bytes: [UInt8]) throws -> DecodedImage {
    guard bytes.count > 8, Array(bytes[0..<8]) == signature else {
      throw PNGError("not a PNG file")
    }
    func be32(_ i: Int) -> Int {
      Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
    }
    var i = 8
    var width = 0
    var height = 0
    var colorType = -1
    var idat: [UInt8] = []
    while i + 12 <= bytes.count {
      let len = be32(i)
      guard len >= 0, i + 12 + len <= bytes.count else { throw PNGError("truncated chunk") }
      let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
      let data = bytes[(i + 8)..<(i + 8 + len)]
      let stored = UInt32(be32(i + 8 + len))
      let crc = bytes.withUnsafeBufferPointer {
        UInt32(truncatingIfNeeded: crc32(0, $0.baseAddress! + i + 4, UInt32(len + 4)))
      }
      guard crc == stored else { throw PNGError("bad CRC in \(type) chunk") }
      switch type {
      case "IHDR":
        guard len == 13 else { throw PNGError("bad IHDR") }
        width = be32(i + 8)
        height = be32(i + 12)
        let depth = bytes[i + 16]
        colorType = Int(bytes[i + 17])
        guard depth == 8, bytes[i + 20] == 0, [0, 2, 4, 6].contains(colorType) else {
          throw PNGError("unsupported PNG: depth \(depth), colour type \(colorType), interlaced")
        }
      case "IDAT": idat += data
      case "IEND": i = bytes.count
      default: break
      }
      i += 12 + len
    }
    guard width > 0, height > 0, width < 1 << 15, height < 1 << 15 else {
      throw PNGError("bad size \(width)x\(height)")
    }
    let bpp = [0: 1, 2: 3, 4: 2, 6: 4][colorType]!
    let rowBytes = width * bpp
    var raw = [UInt8](repeating: 0, count: (rowBytes + 1) * height)
    var rawLen = uLong(raw.count)
    let rc = raw.withUnsafeMutableBufferPointer { dst in
      idat.withUnsafeBufferPointer { src in
        uncompress(dst.baseAddress, &rawLen, src.baseAddress, uLong(src.count))
      }
    }
    guard rc == Z_OK, Int(rawLen) == raw.count else { throw PNGError("bad image data: zlib \(rc)") }
    var pixels = [UInt32](repeating: 0, count: width * height)
    var prev = [UInt8](repeating: 0, count: rowBytes)
    var cur = [UInt8](repeating: 0, count: rowBytes)
    for y in 0..<height {
      let o = y * (rowBytes + 1)
      let type = raw[o]
      for k in 0..<rowBytes {
        let x = raw[o + 1 + k]
        let a = k >= bpp ? cur[k - bpp] : 0
        let b = prev[k]
        let c = k >= bpp ? prev[k - bpp] : 0
        switch type {
        case 0: cur[k] = x
        case 1: cur[k] = x &+ a
        case 2: cur[k] = x &+ b
        case 3: cur[k] = x &+ UInt8((Int(a) + Int(b)) / 2)
        case 4: cur[k] = x &+ paeth(a, b, c)
        default: throw PNGError("bad filter type \(type) in row \(y)")
        }
      }
      for x in 0..<width {
        let p = x * bpp
        let (r, g, bl): (UInt8, UInt8, UInt8) =
          bpp <= 2 ? (cur[p], cur[p], cur[p]) : (cur[p], cur[p + 1], cur[p + 2])
        pixels[y * width + x] = UInt32(r) << 16 | UInt32(g) << 8 | UInt32(bl)
      }
      swap(&prev, &cur)
    }
    return DecodedImage(width: width, height: height, pixels: pixels)
  }
}
