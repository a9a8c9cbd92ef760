// Fuzz target: the key-map parser (KDSInput's InputConfig(parsing:), the
// `map.*`, `grab.*` and `touch.*` lines of kiosk.conf and kds.txt).
//
// Asserts that it never crashes and that:
//   - an error names a line of the text (1...number of lines);
//   - a comment line put in front moves an error down by exactly one line
//     (same message) and gives the same configuration on success;
//   - every mapped key code has a name that maps back to it;
//   - a text with Windows line ends (CR LF) reads as the same text with LF
//     (it found a bug in KeyMap.swift, now fixed: a CR LF file was read as one
//     line; InputTests.KeyMapFiles.windowsLineEnds is its regression test).

#if canImport(Glibc)
  import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeyMap(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
  // Lines as an editor counts them (LF or CR LF).
  let lines = max(
    1, text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.count)
  let first = parse(text)
  switch first {
  case .failure(let e):
    check((1...lines).contains(e.line), "error on line \(e.line) of \(lines): \(e)")
    check(!e.message.isEmpty, "error without a message")
  case .success(let c):
    for map in [c.defaultMap] + Array(c.deviceMaps.values) {
      for code in map.keys {
        let name = KeyNames.name(code)
        check(
          KeyNames.code(name) == code || name == "KEY_\(code)",
          "key \(code): name \(name) maps elsewhere")
      }
    }
  }
  let bytes = Array(text.utf8)
  if bytes.contains(13) {
    var lf: [UInt8] = []
    for (i, b) in bytes.enumerated() where !(b == 13 && i + 1 < bytes.count && bytes[i + 1] == 10) {
      lf.append(b)
    }
    let other = parse(String(decoding: lf, as: UTF8.self))
    switch (first, other) {
    case (.success(let a), .success(let b)):
      check(a == b, "CR LF line ends changed the configuration")
    case (.failure(let a), .failure(let b)):
      check(a.line == b.line, "CR LF line ends: \(b) became \(a)")
    default:
      fatalError("CR LF line ends changed the outcome: \(other) became \(first)")
    }
  }
  let shifted = parse("# a comment line\n" + text)
  switch (first, shifted) {
  case (.success(let a), .success(let b)):
    check(a == b, "a comment line in front changed the configuration")
  case (.failure(let a), .failure(let b)):
    check(
      b.line == a.line + 1 && a.message == b.message, "a comment line in front: \(a) became \(b)")
  default:
    fatalError("a comment line in front changed the outcome: \(first) became \(shifted)")
  }
  return 0
}

func parse(_ text: String) -> Result<InputConfig, InputConfigError> {
  do {
    return .success(try InputConfig(parsing: text))
  } catch let e as InputConfigError {
    return .failure(e)
  } catch {
    fatalError("not an InputConfigError: \(error)")
  }
}

func check(_ ok: Bool, _ message: @autoclosure () -> String) {
  if !ok { fatalError(message()) }
}
