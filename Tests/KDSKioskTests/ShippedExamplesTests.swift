import Foundation
import KDSCore
import KDSInput
import KDSTestSupport
import Testing

/// Every example the project ships parses (issue 13): the kiosk's sample
/// configuration (systemd/kiosk.conf.sample, installed as /etc/kds/kiosk.conf)
/// and the installer's kds.txt on the image's boot partition (image/esp/kds.txt).
///
/// An example line is a comment made of `#` directly followed by `key = value`
/// (`#rotation = 0`): the files tell their readers to remove the `#` to use
/// one. Indented comment lines (`#   map.default.KEY_NAME = action`) describe
/// the syntax and are not examples. Each file is read from the repository,
/// every example line uncommented, and the result parsed with the real
/// parsers: KioskConfiguration and KDSInput's InputConfig for kiosk.conf;
/// for kds.txt, first the image's own kds-boot-config (run as a process, files
/// only), which must report no bad line, then the kiosk's view of kds.txt it
/// writes, with the kiosk's parsers.
@Suite struct ShippedExamplesTests {
  static let kioskSample = TestPaths.repoRoot + "/systemd/kiosk.conf.sample"
  static let kdsTxt = TestPaths.repoRoot + "/image/esp/kds.txt"
  static let bootConfig = TestPaths.repoRoot + "/image/rootfs/usr/lib/kds/kds-boot-config"

  /// The text with every example line uncommented, and how many there were.
  static func uncommented(_ text: String) -> (text: String, examples: Int) {
    var examples = 0
    let lines = configurationLines(of: text).map { _, line -> Substring in
      guard line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { return line }
      let key = line[line.index(after: line.startIndex)..<eq].trimmingCharacters(in: .whitespaces)
      let isKey =
        !key.isEmpty && line.dropFirst().first != " " && line.dropFirst().first != "\t"
        && key.unicodeScalars.allSatisfy {
          CharacterSet.alphanumerics.contains($0) || "_.:-".unicodeScalars.contains($0)
        }
      guard isKey else { return line }
      examples += 1
      return line.dropFirst()
    }
    return (lines.joined(separator: "\n") + "\n", examples)
  }

  /// The actions a file's "Actions: a, b, ... or none." sentence names.
  static func listedActions(_ text: String) -> [String] {
    let comments = configurationLines(of: text).map { String($0.text.drop(while: { $0 == "#" })) }
    guard let start = comments.firstIndex(where: { $0.contains("Actions:") }) else { return [] }
    var sentence = ""
    for line in comments[start...] {
      sentence += " " + line
      if line.contains(".") { break }
    }
    let list = sentence.components(separatedBy: "Actions:")[1].components(separatedBy: ".")[0]
    return list.replacingOccurrences(of: " or ", with: ",")
      .split(separator: ",")
      .map { $0.trimmingCharacters(in: .whitespaces) }
      .map { $0.components(separatedBy: " (")[0] }
      .filter { !$0.isEmpty }
  }

  static func read(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
  }

  @Test func kioskConfSampleParsesWithEveryExampleUncommented() throws {
    let (text, examples) = Self.uncommented(try Self.read(Self.kioskSample))
    #expect(examples >= 10, "only \(examples) example lines found in kiosk.conf.sample")
    var c = KioskConfiguration()
    do {
      try c.apply(text: text, fileName: "kiosk.conf.sample (uncommented)")
    } catch {
      Issue.record("kiosk.conf.sample with its examples uncommented: \(error)")
    }
    do {
      let input = try InputConfig(parsing: c.inputText)
      #expect(!input.deviceMaps.isEmpty, "the sample's bump bar lines gave no device map")
    } catch {
      Issue.record("kiosk.conf.sample's key lines: \(error) (\(c.inputText))")
    }
    // The uncommented examples are what they say.
    #expect(c.station == "grill")
    #expect(c.mode == "1920x1080@60")
    #expect(c.inputLines.contains { $0.key == "map.default.KEY_F1" && $0.value == "bump" })
  }

  @Test func kdsTxtParsesWithEveryExampleUncommented() throws {
    let (text, examples) = Self.uncommented(try Self.read(Self.kdsTxt))
    #expect(examples >= 15, "only \(examples) example lines found in kds.txt")
    let dir = TempDir()
    let file = dir.file("kds.txt")
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(
      atPath: dir.file("data"), withIntermediateDirectories: true)
    // The image's reading of kds.txt: the system keys (network, Wi-Fi, SSH...)
    // and the kiosk's view of the file (/run/kds-boot/kds.txt).
    let (code, log) = try ServerProcess.run(
      "/usr/bin/env",
      [
        "KDS_BOOT_TXT=\(file)", "KDS_BOOT_RUN=\(dir.file("run"))", "KDS_DATA=\(dir.file("data"))",
        "KDS_SYSTEMD_RUN=\(dir.file("sd"))", "KDS_BOOT_DRY=1", "bash", Self.bootConfig,
      ])
    #expect(code == 0, "kds-boot-config exited \(code): \(log)")
    let errors = (try? Self.read(dir.file("run/errors"))) ?? ""
    #expect(
      errors.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
      "kds-boot-config found bad lines in kds.txt's examples: \(errors)")
    let view = try Self.read(dir.file("run/kds.txt"))
    var c = KioskConfiguration()
    do {
      try c.apply(text: view, fileName: "kds.txt (uncommented, kiosk view)")
    } catch {
      Issue.record("kds.txt with its examples uncommented: \(error)\n\(view)")
    }
    do {
      let input = try InputConfig(parsing: c.inputText)
      #expect(input.defaultMap[KeyNames.code("KEY_SPACE") ?? 0] == .nextTicket)
    } catch {
      Issue.record("kds.txt's key lines: \(error) (\(c.inputText))")
    }
    #expect(c.inputLines.contains { $0.key == "map.default.KEY_ENTER" && $0.value == "bump" })
  }

  /// Both files list the actions a key can have: exactly the real ones.
  @Test(arguments: [kioskSample, kdsTxt])
  func actionListsNameTheRealActions(_ path: String) throws {
    let listed = Self.listedActions(try Self.read(path))
    let real = KioskInputAction.allCases.map(\.rawValue)
    #expect(!listed.isEmpty, "\(path): no `Actions:` list")
    for name in listed where name != "none" {
      #expect(real.contains(name), "\(path) lists \"\(name)\", not an action (\(real))")
    }
    for name in real {
      #expect(listed.contains(name), "\(path) does not list the action \(name)")
    }
  }
}
