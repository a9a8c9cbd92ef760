import KDSCore
import KDSTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite struct KioskConfigurationTests {
  @Test func fileThenBootOverridesThenFlags() throws {
    var config = KioskConfiguration()
    try config.apply(
      text: """
        # kiosk.conf
        [kiosk]
        station = grill
        server = http://127.0.0.1:8080
        token = abc
        rotation = 90
        map.default.KEY_ENTER = bump
        """, fileName: "/etc/kds/kiosk.conf")
    try config.apply(
      text: "station = \"hot\"\r\nmap.05f3:0007.KEY_1 = bump\r\n", fileName: "/boot/efi/kds.txt")
    try config.set(key: "zoom", value: "1.5", source: ConfigSource(file: "--zoom", line: 0))
    #expect(config.station == "hot")
    #expect(config.rotation == 90)
    #expect(config.zoom == 1.5)
    #expect(config.inputLines.map(\.key) == ["map.default.KEY_ENTER", "map.05f3:0007.KEY_1"])
    #expect(config.inputLines[1].value == "bump")
    #expect(config.inputLines[1].source.description == "/boot/efi/kds.txt:2")
    #expect(config.inputText == "map.default.KEY_ENTER = bump\nmap.05f3:0007.KEY_1 = bump")
    try config.validateForRun()
  }

  @Test(arguments: [
    ("rotation = 45", "rotation"),
    ("zoom = lots", "zoom"),
    ("server = ftp://x", "server"),
    ("display = vga", "display"),
    ("statoin = grill", "unknown key"),
    ("just some words", "key = value"),
    ("sla_red_after = 100", "more than sla_orange_after"),
    ("mode = 1920x1080@abc", "mode"),
    ("database = relative/path", "absolute path"),
    ("station = Grill", "lowercase letters"),
    ("station = grill station", "lowercase letters"),
    ("server = http://kds example.com", "a space"),
    ("server = \"http://kds.example.com /\"", "a space"),
    ("server = http://kds.example.com/\u{7}", "U+7"),
    ("server = http://", "host"),
    ("server = \"http://x", "closing quote"),
    ("server = \"http://x\" extra", "only a `# comment`"),
  ])
  func badValueNamesFileLineAndExpectation(line: String, mention: String) {
    var config = KioskConfiguration()
    let text = "station = grill\n\n" + line + "\n"
    do {
      try config.apply(text: text, fileName: "kds.txt")
      Issue.record("accepted \(line)")
    } catch {
      #expect(error.source.description == "kds.txt:3")
      #expect(error.description.contains(mention), "\(error)")
    }
  }

  @Test func inlineCommentsFollowOneRule() throws {
    var config = KioskConfiguration()
    try config.apply(
      text: """
        station = grill   # the station this screen shows
        server = http://192.168.1.10:8080\t# the server
        token = ab#cd # a `#` inside a value stays
        display = "snapshot:/tmp/a #1.png"  # quoted: taken as written
        map.default.KEY_ENTER = bump # inline comments on input lines too
        """, fileName: "kiosk.conf")
    #expect(config.station == "grill")
    #expect(config.server == "http://192.168.1.10:8080")
    #expect(config.token == "ab#cd")
    #expect(config.display == "snapshot:/tmp/a #1.png")
    #expect(config.inputLines.map(\.value) == ["bump"])
  }

  @Test(arguments: [
    "token = s3cr3t-t0ken extra",
    "token s3cr3t-t0ken",
    "s3cr3t-t0ken",
    "token = \"s3cr3t-t0ken",
    "token = \"s3cr3t-t0ken\" s3cr3t-t0ken",
  ])
  func configErrorsNeverShowTheToken(line: String) {
    var config = KioskConfiguration()
    do {
      try config.apply(text: "station = grill\n" + line + "\nbogus = 1\n", fileName: "kds.txt")
      Issue.record("accepted \(line)")
    } catch {
      #expect(error.source.line == 2, "\(error)")
      #expect(!error.description.contains("s3cr3t"), "\(error)")
    }
  }

  @Test func unknownKeyNextToATokenDoesNotShowIt() {
    var config = KioskConfiguration()
    do {
      try config.apply(text: "token = s3cr3t-t0ken\ntokn = s3cr3t-t0ken\n", fileName: "kds.txt")
      Issue.record("accepted an unknown key")
    } catch {
      #expect(error.description.contains("unknown key"), "\(error)")
      #expect(!error.description.contains("s3cr3t"), "\(error)")
    }
  }

  @Test func repositoryFilesFollowTheCommentRule() throws {
    // Every `station =` / `server =` line of the docs and the kds.txt
    // template, comment and all, parses to a value without its comment.
    for path in [
      "/image/esp/kds.txt", "/docs/install.md", "/systemd/kiosk.conf.sample", "/README.md",
    ] {
      let text = try #require(readWholeFile(TestPaths.repoRoot + path))
      for line in text.split(separator: "\n") {
        let t = line.drop { $0 == " " || $0 == "#" }
        guard t.hasPrefix("station = ") || t.hasPrefix("server = ") else { continue }
        var config = KioskConfiguration()
        try config.apply(text: String(t), fileName: path)
        let value = config.station ?? config.server ?? ""
        #expect(!value.isEmpty && !value.contains("#") && !value.contains(" "), "\(path): \(t)")
      }
    }
  }

  @Test func byteOrderMarkAndInputLineSources() throws {
    var config = KioskConfiguration()
    try config.apply(
      text: "\u{FEFF}station = grill\nmap.default.KEY_F1 = bump\n", fileName: "kds.txt")
    #expect(config.station == "grill")
    #expect(config.inputSource(ofLine: 1) == "kds.txt:2")
    #expect(config.inputSource(ofLine: 9) == "input settings")
  }

  @Test func missingEssentialsAreNamed() throws {
    // Each missing essential is named, in turn, with an example of the line to add.
    let steps: [(String, String)] = [
      ("", "no station set (station = grill)"),
      ("station = grill\n", "no server set (server = http://127.0.0.1:8080)"),
      (
        "station = grill\nserver = http://127.0.0.1:8080\n",
        "no token set (token = ... or token_file = /path)"
      ),
    ]
    for (text, expected) in steps {
      var config = KioskConfiguration()
      try config.apply(text: text, fileName: "kiosk.conf")
      let error = #expect(throws: ConfigError.self) { try config.validateForRun() }
      #expect(error.map { "\($0)" }?.contains(expected) == true, "\(String(describing: error))")
    }
    var complete = KioskConfiguration()
    try complete.apply(
      text: "station = grill\nserver = http://127.0.0.1:8080\ntoken = abc\n", fileName: "kiosk.conf"
    )
    try complete.validateForRun()
  }

  @Test func sampleConfigurationInTheRepositoryIsValid() throws {
    let path = TestPaths.repoRoot + "/systemd/kiosk.conf.sample"
    let text = try #require(readWholeFile(path))
    var config = KioskConfiguration()
    try config.apply(text: text, fileName: path)
    // Every known key is documented in the sample.
    for (key, _) in KioskConfiguration.knownKeys {
      #expect(text.contains(key), "sample does not explain \(key)")
    }
  }
}

func readWholeFile(_ path: String) -> String? {
  guard let f = fopen(path, "rb") else { return nil }
  defer { fclose(f) }
  var bytes: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = fread(&buffer, 1, buffer.count, f)
    if n <= 0 { break }
    bytes.append(contentsOf: buffer[0..<n])
  }
  return String(decoding: bytes, as: UTF8.self)
}
