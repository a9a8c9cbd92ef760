import Foundation
import KDSCore
import KDSTestSupport
import Testing

/// The writable settings layer (issue 13): `kdsctl set` writes
/// `50-kdsctl.conf` in the kiosk's `--conf-dir` after checking the whole
/// configuration with the real parser, and the running kiosk (a real
/// process, headless) reloads and applies it; `kdsctl config show` names
/// where each value came from.
@Suite(.serialized) struct ConfigLayerTests {
  /// A kiosk reading `kiosk.conf` and the folder, the rest from flags.
  struct Setup {
    let dir = TempDir()
    var conf: String { dir.file("kiosk.conf") }
    var folder: String { dir.file("kiosk.conf.d") }
    var layerFile: String { folder + "/50-kdsctl.conf" }

    init(conf text: String) throws {
      try text.write(toFile: dir.file("kiosk.conf"), atomically: true, encoding: .utf8)
    }

    var files: [String] { ["--config", conf, "--conf-dir", folder] }

    func kiosk(_ r: Restaurant) throws -> KioskProcess {
      // A snapshot screen: the cards are laid out, so a key bumps the first one.
      let k = try KioskProcess(
        server: r.server.baseURL, token: try r.token("k", stations: ["grill"]),
        db: dir.file("kiosk.db"), socket: dir.file("ctl.sock"), log: dir.file("kiosk.log"),
        extra: [
          "--sync-interval", "0.2", "--request-timeout", "1", "--size", "800x480", "--fonts",
          TestPaths.repoRoot + "/Fonts",
        ] + files,
        display: "snapshot:" + dir.file("screen.png"))
      try k.waitReady()
      return k
    }

    /// kdsctl with the same files and socket; exit status and all its output.
    func ctl(
      _ args: [String], layers: Bool = true, socket: Bool = true
    ) throws -> (code: Int32, out: String) {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: try Binaries.kdsctl)
      p.arguments =
        args + (layers ? files : []) + (socket ? ["--socket", dir.file("ctl.sock")] : [])
      let out = Pipe()
      p.standardOutput = out
      p.standardError = out
      try p.run()
      let data = out.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
  }

  static let conf = """
    # the installer's file
    station = grill
    zoom = 1.25
    sla_orange_after = 300
    sla_red_after = 600

    """

  @Test func setAppliesToTheRunningKioskWithoutARestart() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 2)
    let s = try Setup(conf: Self.conf)
    let k = try s.kiosk(r)
    defer { _ = k.terminate() }
    let before = try k.status()
    #expect(before.zoom == 1.25)
    #expect(before.slaOrangeAfter == 300)
    #expect(before.holdToBumpMs == 600)

    // Each setting is written, then reloaded by the kiosk at once.
    var (code, out) = try s.ctl(["set", "zoom", "1.5"])
    #expect(code == 0, "\(out)")
    #expect(out.contains("configuration reloaded"), "\(out)")
    #expect(try k.status().zoom == 1.5)
    (code, out) = try s.ctl(["set", "sla_orange_after", "120"])
    #expect(code == 0, "\(out)")
    (code, out) = try s.ctl(["set", "hold_to_bump_ms", "900"])
    #expect(code == 0, "\(out)")
    let after = try k.status()
    #expect(after.slaOrangeAfter == 120)
    #expect(after.slaRedAfter == 600)
    #expect(after.holdToBumpMs == 900)
    // A second set of the same key replaces its line.
    (code, out) = try s.ctl(["set", "zoom", "2"])
    #expect(code == 0, "\(out)")
    #expect(try k.status().zoom == 2)
    let text = try String(contentsOfFile: s.layerFile, encoding: .utf8)
    #expect(text == "zoom = 2\nsla_orange_after = 120\nhold_to_bump_ms = 900\n", "\(text)")

    // A key map line: F12 did nothing; after the set it bumps.
    #expect(try s.ctl(["input", "key", "KEY_F12"], layers: false).code == 1)
    (code, out) = try s.ctl(["set", "map.default.KEY_F12", "bump"])
    #expect(code == 0, "\(out)")
    _ = try #require(waitFor("the tickets on the kiosk") { (try? k.status())?.tickets == 2 })
    (code, out) = try s.ctl(["input", "key", "KEY_F12"], layers: false)
    #expect(code == 0, "\(out)")
    #expect(waitFor("F12 bumped a ticket") { (try? k.status())?.tickets == 1 })
    #expect(ids.count == 2)

    // A setting the kiosk cannot change while running says so.
    (code, out) = try s.ctl(["set", "rotation", "90"])
    #expect(code == 0, "\(out)")
    #expect(out.contains("applies when the kiosk restarts"), "\(out)")

    // unset: the installer's value again.
    (code, out) = try s.ctl(["unset", "zoom"])
    #expect(code == 0, "\(out)")
    #expect(try k.status().zoom == 1.25)
    #expect(k.log.contains("reload (control socket)"), "\(k.log)")
    #expect(k.terminate() == 0)
  }

  @Test func aBadValueIsRefusedAndNothingIsWritten() throws {
    let s = try Setup(conf: Self.conf)
    // No kiosk running: set still checks and writes.
    var (code, out) = try s.ctl(["set", "zoom", "9"])
    #expect(code == 1)
    #expect(out.contains("refused, nothing written"), "\(out)")
    #expect(out.contains("zoom"), "\(out)")
    #expect(!FileManager.default.fileExists(atPath: s.layerFile))
    (code, out) = try s.ctl(["set", "zoom", "1.5"])
    #expect(code == 0, "\(out)")
    #expect(out.contains("no kiosk running"), "\(out)")
    let good = try String(contentsOfFile: s.layerFile, encoding: .utf8)
    // Each refusal leaves the file as it was: a bad number, a red threshold
    // below the orange one, an unknown key, a bad key-map action.
    for (key, value) in [
      ("hold_to_bump_ms", "10"), ("sla_red_after", "100"), ("zoomm", "2"),
      ("map.default.KEY_F1", "explode"),
    ] {
      (code, out) = try s.ctl(["set", key, value])
      #expect(code == 1, "\(key) = \(value): \(out)")
      #expect(out.contains("refused"), "\(out)")
      #expect(try String(contentsOfFile: s.layerFile, encoding: .utf8) == good)
    }
    // No temporary file left behind in the folder.
    let names = try FileManager.default.contentsOfDirectory(atPath: s.folder)
    #expect(names == ["50-kdsctl.conf"], "\(names)")
  }

  @Test func configShowNamesWhereEachValueCameFromAndHidesTheToken() throws {
    let s = try Setup(conf: Self.conf + "token = s3cr3t-t0ken-value\nserver = http://127.0.0.1:1\n")
    try FileManager.default.createDirectory(atPath: s.folder, withIntermediateDirectories: true)
    // Files in name order, later wins; a file not ending in .conf is not read.
    try "zoom = 2\nrotation = 90\n".write(
      toFile: s.folder + "/10-site.conf", atomically: true, encoding: .utf8)
    try "zoom = 3\n".write(toFile: s.folder + "/90-late.conf", atomically: true, encoding: .utf8)
    try "zoom = 0.1\n".write(
      toFile: s.folder + "/README.txt", atomically: true, encoding: .utf8)
    let (code, out) = try s.ctl(["config", "show"], socket: false)
    #expect(code == 0, "\(out)")
    func line(_ key: String) -> String {
      out.split(separator: "\n").first { $0.hasPrefix(key + " = ") }.map(String.init) ?? ""
    }
    #expect(line("station").contains("grill"))
    #expect(line("station").hasSuffix("# \(s.conf):2"), "\(out)")
    #expect(line("zoom").hasPrefix("zoom = 3 "), "\(out)")
    #expect(line("zoom").hasSuffix("# \(s.folder)/90-late.conf:1"), "\(out)")
    #expect(line("rotation").hasSuffix("# \(s.folder)/10-site.conf:2"), "\(out)")
    #expect(line("display").hasSuffix("# default"), "\(out)")
    #expect(line("token").contains("not shown"), "\(out)")
    #expect(!out.contains("s3cr3t"), "the token is never printed")
    #expect(out.contains("# writable folder: \(s.folder)"), "\(out)")

    // A set of zoom is overridden by 90-late.conf: kdsctl says so.
    let (code2, out2) = try s.ctl(["set", "zoom", "1.5"])
    #expect(code2 == 0, "\(out2)")
    #expect(out2.contains("90-late.conf:1 sets zoom after it"), "\(out2)")
  }
}
