// Fuzz target: the kiosk configuration parser (KDSCore's
// KioskConfiguration.apply(text:fileName:), for kiosk.conf and kds.txt).
//
// Asserts that it never crashes and that:
//   - an error names the file and a line of the text (1...number of lines);
//   - a comment line put in front moves an error down by exactly one line
//     (same message) and changes nothing else: the line count is right;
//   - input lines (map.*, ...) keep their line numbers, in order;
//   - applying the same text twice gives the same settings (no hidden state).
import KDSCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
  let lines = max(
    1, text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.count)
  let first = parse(text)
  switch first {
  case .failure(let e):
    check(e.source.file == "kds.txt", "error names \(e.source.file), not kds.txt")
    check((1...lines).contains(e.source.line), "error on line \(e.source.line) of \(lines): \(e)")
  case .success(let c):
    var last = 0
    for l in c.inputLines {
      check(
        l.source.line > last && l.source.line <= lines,
        "input line \(l.source) out of order or range")
      last = l.source.line
    }
    var twice = c
    do throws(ConfigError) {
      try twice.apply(text: text, fileName: "kds.txt")
    } catch {
      fatalError("the same text fails when applied again: \(error)")
    }
    twice.inputLines = c.inputLines
    check(twice == c, "applying the text twice changed the settings")
  }
  if !text.hasPrefix("\u{FEFF}") {
    let shifted = parse("# a comment line\n" + text)
    switch (first, shifted) {
    case (.success(var a), .success(let b)):
      a.inputLines = a.inputLines.map {
        var l = $0
        l.source.line += 1
        return l
      }
      // Where each value came from moves down a line too (`kdsctl config show`).
      a.sources = a.sources.mapValues {
        var source = $0
        source.line += 1
        return source
      }
      check(a == b, "a comment line in front changed the settings")
    case (.failure(let a), .failure(let b)):
      check(
        b.source.line == a.source.line + 1 && a.message == b.message,
        "a comment line in front: \(a) became \(b)")
    default:
      fatalError("a comment line in front changed the outcome: \(first) became \(shifted)")
    }
  }
  return 0
}

func parse(_ text: String) -> Result<KioskConfiguration, ConfigError> {
  var c = KioskConfiguration()
  do throws(ConfigError) {
    try c.apply(text: text, fileName: "kds.txt")
    return .success(c)
  } catch {
    return .failure(error)
  }
}

func check(_ ok: Bool, _ message: @autoclosure () -> String) {
  if !ok { fatalError(message()) }
}
