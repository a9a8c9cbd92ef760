import KDSContract
import KDSTime

/// Reading request bodies into typed inputs. Every problem is a 422 that
/// names the field (`items[2].quantity: must be an integer from 1 to 999`).
/// Lengths are counted in Unicode scalars (what a client in any language
/// counts the same way), never in grapheme clusters: a name made of one
/// letter and a thousand combining marks is one "character" to Swift.
enum Validation {

  static let orderTypes = ["DINE_IN", "TAKEAWAY", "DELIVERY"]

  static func object(_ body: JSONValue) throws(APIError) -> JSONValue {
    guard case .object = body else { throw APIError(422, "body: must be a JSON object") }
    return body
  }

  static func string(
    _ v: JSONValue?, _ field: String, required: Bool, max: Int, allowEmpty: Bool = false
  ) throws(APIError) -> String? {
    guard let v, !v.isNull else {
      if required { throw APIError.invalid(field, "is required") }
      return nil
    }
    guard case .string(let s) = v else { throw APIError.invalid(field, "must be a string") }
    let trimmed = s.trimmingSpaces
    if trimmed.isEmpty && !allowEmpty {
      if required { throw APIError.invalid(field, "must not be empty") }
      return nil
    }
    guard s.unicodeScalars.count <= max else {
      throw APIError.invalid(field, "must be at most \(max) characters (Unicode scalars)")
    }
    return trimmed
  }

  static func integer(_ v: JSONValue?, _ field: String, range: ClosedRange<Int64>, required: Bool)
    throws(APIError) -> Int64?
  {
    guard let v, !v.isNull else {
      if required { throw APIError.invalid(field, "is required") }
      return nil
    }
    let n: Int64
    switch v {
    case .int(let i): n = i
    case .double(let d) where d == d.rounded() && abs(d) < 1e15: n = Int64(d)
    default:
      throw APIError.invalid(
        field, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
    }
    guard range.contains(n) else {
      throw APIError.invalid(
        field, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
    }
    return n
  }

  static func timestamp(_ v: JSONValue?, _ field: String, required: Bool) throws(APIError) -> Int64?
  {
    guard let v, !v.isNull else {
      if required { throw APIError.invalid(field, "is required") }
      return nil
    }
    guard case .string(let s) = v, let ms = RFC3339.parse(s) else {
      throw APIError.invalid(
        field, "must be an RFC 3339 timestamp such as 2025-11-21T14:35:00.123Z")
    }
    return ms
  }

  /// `items` of a POS order: `[{name, quantity, station, modifiers?, notes?, course?}]`.
  static func items(_ v: JSONValue?, field: String = "items", allowEmpty: Bool) throws(APIError)
    -> [NewItem]
  {
    guard let v, !v.isNull else { throw APIError.invalid(field, "is required") }
    guard case .array(let list) = v else { throw APIError.invalid(field, "must be an array") }
    if list.isEmpty && !allowEmpty { throw APIError.invalid(field, "must not be empty") }
    guard list.count <= 200 else { throw APIError.invalid(field, "must have at most 200 items") }
    var out: [NewItem] = []
    for (n, item) in list.enumerated() {
      let f = "\(field)[\(n)]"
      guard case .object = item else { throw APIError.invalid(f, "must be an object") }
      let name = try string(item["name"], "\(f).name", required: true, max: 200)!
      let quantity = try integer(item["quantity"], "\(f).quantity", range: 1...999, required: true)!
      let station = try string(item["station"], "\(f).station", required: true, max: 32)!
      guard StationName.isValid(station) else {
        throw APIError.invalid("\(f).station", "must be \(StationName.rule)")
      }
      var modifiers: [String] = []
      if let m = item["modifiers"], !m.isNull {
        guard case .array(let mods) = m else {
          throw APIError.invalid("\(f).modifiers", "must be an array of strings")
        }
        guard mods.count <= 30 else {
          throw APIError.invalid("\(f).modifiers", "must have at most 30 entries")
        }
        for (k, mod) in mods.enumerated() {
          guard let s = try string(mod, "\(f).modifiers[\(k)]", required: true, max: 100) else {
            continue
          }
          modifiers.append(s)
        }
      }
      let notes = try string(item["notes"], "\(f).notes", required: false, max: 500)
      let course = try integer(item["course"], "\(f).course", range: 1...20, required: false)
      out.append(
        NewItem(
          name: name, quantity: quantity, station: station, modifiers: modifiers, notes: notes,
          course: course))
    }
    return out
  }
}

struct NewItem: Sendable {
  var name: String
  var quantity: Int64
  var station: String
  var modifiers: [String]
  var notes: String?
  var course: Int64?
}

extension String {
  var trimmingSpaces: String {
    var s = Substring(self)
    while let f = s.first, f.isWhitespace { s.removeFirst() }
    while let l = s.last, l.isWhitespace { s.removeLast() }
    return String(s)
  }
}
