// Fuzz target: the server's JSON parser and the idempotency fingerprint's
// input (KDSServer/JSON.swift: JSONValue.parse, bytes, canonicalBytes; the
// fingerprint is SHA-256 of canonicalBytes, Idempotency.fingerprint).
//
// Asserts, for every input that parses:
//   - what the server writes parses again to the same canonical form
//     (parse(v.bytes) and parse(v.canonicalBytes));
//   - the canonical form is a fixed point (canonical of its own parse);
//   - the canonical form, so the fingerprint, does not change when the members
//     of every object are reordered (duplicates keep their order: the last
//     one wins);
// and that a parse error names an offset inside the input.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: start, count: count))
  let value: JSONValue
  do {
    value = try JSONValue.parse(bytes)
  } catch {
    check(
      error.offset >= 0 && error.offset <= count,
      "error offset \(error.offset) outside 0...\(count)")
    check(!error.reason.isEmpty, "error without a reason")
    return 0
  }
  let canonical = value.canonicalBytes
  for (name, written) in [("bytes", value.bytes), ("canonicalBytes", canonical)] {
    let again: JSONValue
    do { again = try JSONValue.parse(written) } catch {
      fatalError(
        "\(name) do not parse again: \(error)\n\(String(decoding: written, as: UTF8.self))")
    }
    check(
      again.canonicalBytes == canonical,
      "\(name) parse to another canonical form:\n\(text(canonical))\n\(text(again.canonicalBytes))")
  }
  var seed = UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15 | 1
  let shuffled = reorder(value, &seed)
  check(
    shuffled.canonicalBytes == canonical,
    "canonical form changed by reordering keys:\n\(text(canonical))\n\(text(shuffled.canonicalBytes))"
  )
  return 0
}

/// Reorders every object's members by a pseudo-random key per distinct name;
/// the members with one name keep their relative order (stable sort).
func reorder(_ v: JSONValue, _ seed: inout UInt64) -> JSONValue {
  switch v {
  case .array(let items): return .array(items.map { reorder($0, &seed) })
  case .object(let members):
    var rank: [String: UInt64] = [:]
    for (k, _) in members where rank[k] == nil {
      seed ^= seed << 13
      seed ^= seed >> 7
      seed ^= seed << 17
      rank[k] = seed
    }
    let moved = members.enumerated().sorted { a, b in
      let (ra, rb) = (rank[a.element.0]!, rank[b.element.0]!)
      return ra != rb ? ra < rb : a.offset < b.offset
    }
    return .object(moved.map { ($0.element.0, reorder($0.element.1, &seed)) })
  default: return v
  }
}

func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

func check(_ ok: Bool, _ message: @autoclosure () -> String) {
  if !ok { fatalError(message()) }
}
