/// The lines of a configuration text (kiosk.conf, kds.txt, a key map) as an
/// editor numbers them, from 1: split on LF or CR LF (`"\r\n"` is one
/// Character in Swift, so a plain split on `"\n"` would miss Windows files),
/// a stray trailing CR dropped, and a leading byte-order mark (which Windows
/// editors add) removed.
public func configurationLines(of text: String) -> [(number: Int, text: Substring)] {
  var body = Substring(text)
  if body.hasPrefix("\u{FEFF}") { body.removeFirst() }
  let lines = body.split(
    omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
  return lines.enumerated().map { index, raw in
    var line = Substring(raw)
    if line.hasSuffix("\r") { line = line.dropLast() }
    return (index + 1, line)
  }
}
