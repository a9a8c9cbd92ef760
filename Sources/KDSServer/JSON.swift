/// A JSON document as the server reads and writes it.
///
/// Objects keep their keys in insertion order (so answers read naturally);
/// ``canonicalBytes`` sorts them for the idempotency fingerprint. Integers that
/// fit in 64 bits stay integers; every other number is a `Double`.
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (a: JSONValue, b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.int(let x), .int(let y)): return x == y
    case (.double(let x), .double(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.array(let x), .array(let y)): return x == y
    case (.object(let x), .object(let y)):
      guard x.count == y.count else { return false }
      for (l, r) in zip(x, y) where l.0 != r.0 || l.1 != r.1 { return false }
      return true
    default: return false
    }
  }

  /// The value of `key` when this is an object (the last one if repeated).
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.last(where: { $0.0 == key })?.1
  }

  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  public var isNull: Bool {
    if case .null = self { return true }
    return false
  }

  /// This object without `key` (unchanged for anything but an object).
  public func removing(key: String) -> JSONValue {
    guard case .object(let members) = self else { return self }
    return .object(members.filter { $0.0 != key })
  }

  // MARK: writing

  /// Compact JSON, keys in insertion order.
  public var bytes: [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(256)
    write(to: &out, sorted: false)
    return out
  }

  /// Canonical JSON: keys sorted by their UTF-8 bytes, no insignificant
  /// whitespace. Two documents that differ only in key order or layout have
  /// the same canonical bytes.
  public var canonicalBytes: [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(256)
    write(to: &out, sorted: true)
    return out
  }

  public var text: String { String(decoding: bytes, as: UTF8.self) }

  public func write(to out: inout [UInt8], sorted: Bool) {
    switch self {
    case .null: out.append(contentsOf: "null".utf8)
    case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
    case .int(let i): out.append(contentsOf: String(i).utf8)
    case .double(let d):
      if d.isFinite {
        if d == d.rounded(), abs(d) < 9.0e15 {
          out.append(contentsOf: String(Int64(d)).utf8)
        } else {
          out.append(contentsOf: "\(d)".utf8)
        }
      } else {
        out.append(contentsOf: "null".utf8)
      }
    case .string(let s): JSONValue.writeString(s, to: &out)
    case .array(let items):
      out.append(UInt8(ascii: "["))
      for (n, item) in items.enumerated() {
        if n > 0 { out.append(UInt8(ascii: ",")) }
        item.write(to: &out, sorted: sorted)
      }
      out.append(UInt8(ascii: "]"))
    case .object(let members):
      out.append(UInt8(ascii: "{"))
      let ordered: [(String, JSONValue)]
      if sorted {
        // Later duplicates win, as in lookups; then sort by UTF-8 bytes.
        var seen = Set<String>()
        var unique: [(String, JSONValue)] = []
        for member in members.reversed() where seen.insert(member.0).inserted {
          unique.append(member)
        }
        ordered = unique.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
      } else {
        ordered = members
      }
      for (n, member) in ordered.enumerated() {
        if n > 0 { out.append(UInt8(ascii: ",")) }
        JSONValue.writeString(member.0, to: &out)
        out.append(UInt8(ascii: ":"))
        member.1.write(to: &out, sorted: sorted)
      }
      out.append(UInt8(ascii: "}"))
    }
  }

  private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

  public static func writeString(_ s: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for c in s.utf8 {
      switch c {
      case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
      case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
      case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
      case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
      case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
      case 0..<0x20:
        out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(c >> 4)], hex[Int(c & 15)]])
      default: out.append(c)
      }
    }
    out.append(UInt8(ascii: "\""))
  }
}

/// Why a body is not JSON (answered with 400).
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
  public var offset: Int
  public var reason: String
  public var description: String { "malformed JSON at byte \(offset): \(reason)" }
}

extension JSONValue {
  /// Parses a complete JSON text (RFC 8259). Nesting deeper than 64 levels,
  /// trailing garbage and invalid UTF-8 are errors.
  public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
    var parser = JSONParser(bytes: Array(bytes))
    return try parser.parseDocument()
  }

  public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
    try parse(Array(text.utf8))
  }
}

private struct JSONParser {
  let bytes: [UInt8]
  var i = 0
  var depth = 0

  init(bytes: [UInt8]) { self.bytes = bytes }

  func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: i, reason: reason) }

  mutating func skipWhitespace() {
    while i < bytes.count {
      switch bytes[i] {
      case 0x20, 0x09, 0x0A, 0x0D: i += 1
      default: return
      }
    }
  }

  mutating func parseDocument() throws(JSONParseError) -> JSONValue {
    skipWhitespace()
    let value = try parseValue()
    skipWhitespace()
    guard i == bytes.count else { throw fail("unexpected data after the value") }
    return value
  }

  mutating func parseValue() throws(JSONParseError) -> JSONValue {
    guard i < bytes.count else { throw fail("unexpected end of input") }
    switch bytes[i] {
    case UInt8(ascii: "{"): return try parseObject()
    case UInt8(ascii: "["): return try parseArray()
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): try literal("true"); return .bool(true)
    case UInt8(ascii: "f"): try literal("false"); return .bool(false)
    case UInt8(ascii: "n"): try literal("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    default: throw fail("unexpected character")
    }
  }

  mutating func literal(_ word: StaticString) throws(JSONParseError) {
    let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
    guard i + w.count <= bytes.count, bytes[i..<(i + w.count)].elementsEqual(w) else {
      throw fail("invalid literal")
    }
    i += w.count
  }

  mutating func enter() throws(JSONParseError) {
    depth += 1
    if depth > 64 { throw fail("nested too deeply") }
  }

  mutating func parseObject() throws(JSONParseError) -> JSONValue {
    try enter()
    i += 1
    var members: [(String, JSONValue)] = []
    skipWhitespace()
    if closes(UInt8(ascii: "}")) { return .object(members) }
    while true {
      skipWhitespace()
      guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
      let key = try parseString()
      skipWhitespace()
      guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
      i += 1
      skipWhitespace()
      let value = try parseValue()
      members.append((key, value))
      if try nextOrEnd(UInt8(ascii: "}"), "object") { return .object(members) }
    }
  }

  mutating func parseArray() throws(JSONParseError) -> JSONValue {
    try enter()
    i += 1
    var items: [JSONValue] = []
    skipWhitespace()
    if closes(UInt8(ascii: "]")) { return .array(items) }
    while true {
      skipWhitespace()
      items.append(try parseValue())
      if try nextOrEnd(UInt8(ascii: "]"), "array") { return .array(items) }
    }
  }

  /// At `close`: steps over it and leaves the container (true).
  mutating func closes(_ close: UInt8) -> Bool {
    guard i < bytes.count, bytes[i] == close else { return false }
    i += 1
    depth -= 1
    return true
  }

  /// After a member of an object or array: steps over a ',' (false, another
  /// member follows) or over `close` (true, the container ends).
  mutating func nextOrEnd(_ close: UInt8, _ container: String) throws(JSONParseError) -> Bool {
    skipWhitespace()
    guard i < bytes.count else { throw fail("unterminated \(container)") }
    if bytes[i] == UInt8(ascii: ",") {
      i += 1
      return false
    }
    if closes(close) { return true }
    throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'")
  }

  mutating func hex4() throws(JSONParseError) -> UInt32 {
    guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[i]
      let d: UInt32
      switch c {
      case 48...57: d = UInt32(c - 48)
      case 65...70: d = UInt32(c - 55)
      case 97...102: d = UInt32(c - 87)
      default: throw fail("invalid \\u escape")
      }
      v = v << 4 | d
      i += 1
    }
    return v
  }

  mutating func parseString() throws(JSONParseError) -> String {
    i += 1
    var out: [UInt8] = []
    while true {
      guard i < bytes.count else { throw fail("unterminated string") }
      let c = bytes[i]
      if c == UInt8(ascii: "\"") {
        i += 1
        break
      }
      if c < 0x20 { throw fail("control character in string") }
      if c != UInt8(ascii: "\\") {
        out.append(c)
        i += 1
        continue
      }
      i += 1
      guard i < bytes.count else { throw fail("unterminated escape") }
      let e = bytes[i]
      i += 1
      switch e {
      case UInt8(ascii: "\""): out.append(34)
      case UInt8(ascii: "\\"): out.append(92)
      case UInt8(ascii: "/"): out.append(47)
      case UInt8(ascii: "b"): out.append(8)
      case UInt8(ascii: "f"): out.append(12)
      case UInt8(ascii: "n"): out.append(10)
      case UInt8(ascii: "r"): out.append(13)
      case UInt8(ascii: "t"): out.append(9)
      case UInt8(ascii: "u"):
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
          guard i + 6 <= bytes.count, bytes[i] == 92, bytes[i + 1] == UInt8(ascii: "u") else {
            throw fail("lone surrogate")
          }
          i += 2
          let low = try hex4()
          guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid surrogate pair") }
          scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
          throw fail("lone surrogate")
        }
        guard let u = Unicode.Scalar(scalar) else { throw fail("invalid code point") }
        out.append(contentsOf: Array(String(Character(u)).utf8))
      default: throw fail("invalid escape")
      }
    }
    guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8") }
    return s
  }

  mutating func parseNumber() throws(JSONParseError) -> JSONValue {
    let start = i
    var isInteger = true
    if bytes[i] == UInt8(ascii: "-") { i += 1 }
    guard i < bytes.count, (48...57).contains(bytes[i]) else { throw fail("invalid number") }
    if bytes[i] == 48 {
      i += 1
    } else {
      while i < bytes.count, (48...57).contains(bytes[i]) { i += 1 }
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
      isInteger = false
      i += 1
      guard i < bytes.count, (48...57).contains(bytes[i]) else { throw fail("invalid number") }
      while i < bytes.count, (48...57).contains(bytes[i]) { i += 1 }
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      isInteger = false
      i += 1
      if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
        i += 1
      }
      guard i < bytes.count, (48...57).contains(bytes[i]) else { throw fail("invalid number") }
      while i < bytes.count, (48...57).contains(bytes[i]) { i += 1 }
    }
    let text = String(decoding: bytes[start..<i], as: UTF8.self)
    if isInteger, let v = Int64(text) { return .int(v) }
    guard let d = Double(text), d.isFinite else { throw fail("number out of range") }
    return .double(d)
  }
}
