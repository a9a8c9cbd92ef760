import ArgumentParser
import KDSCore
import KDSInput

#if canImport(Glibc)
  import Glibc
#endif

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// `kdsctl config check FILE...`: the same checks the kiosk makes at start.
struct Config: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check configuration files.", subcommands: [Check.self])

  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Check kiosk.conf (and kds.txt after it) as the kiosk would; prints the first error with its file and line."
    )
    @Argument(help: "Files in the order the kiosk reads them (kiosk.conf, then kds.txt).")
    var files: [String]

    func run() throws {
      var config = KioskConfiguration()
      for file in files {
        guard let data = FileManager.default.contents(atPath: file) else {
          print("\(file): cannot read")
          throw ExitCode(1)
        }
        do {
          try config.apply(text: String(decoding: data, as: UTF8.self), fileName: file)
        } catch {
          print("\(error)")
          throw ExitCode(1)
        }
      }
      do {
        _ = try InputConfig(parsing: config.inputText)
      } catch let e as InputConfigError {
        print("\(config.inputSource(ofLine: e.line)): \(e.message)")
        throw ExitCode(1)
      }
      var missing: [String] = []
      if config.station == nil { missing.append("station") }
      if config.server == nil { missing.append("server") }
      if config.token == nil && config.tokenFile == nil { missing.append("token or token_file") }
      print(
        "ok: \(files.joined(separator: ", "))"
          + (missing.isEmpty
            ? "" : " (still to set before the kiosk can run: \(missing.joined(separator: ", ")))"))
    }
  }
}

/// `kdsctl learn-keys`: press each action's key on the bump bar; the map is
/// written to the configuration file.
struct LearnKeys: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "learn-keys",
    abstract: "Learn a bump bar's keys and write them to the configuration.",
    discussion: """
      Stop the kiosk first (systemctl stop kds-kiosk): it holds bump bars
      exclusively. Then press, on the bump bar, the key for each action as it
      is named. The lines `map.VVVV:PPPP.KEY = action` replace that device's
      earlier lines in the configuration file.
      """)

  @Option(help: "The bump bar: USB vendor:product (05f3:0007) or /dev/input/eventN.")
  var device: String

  @Option(help: "The configuration file to update.")
  var config: String = "/etc/kds/kiosk.conf"

  @Option(help: "Actions to learn, comma separated (default: all).")
  var actions: String?

  @Option(help: "Seconds to wait for each key.")
  var timeout: Int32 = 60

  @Flag(help: "Print the lines instead of writing the file.")
  var dryRun = false

  func run() throws {
    var node = device
    if !device.hasPrefix("/") {
      guard let id = InputDeviceID(device) else {
        throw ValidationError("--device must be VVVV:PPPP or /dev/input/eventN")
      }
      guard let found = InputDeviceID.findNode(id) else {
        throw ValidationError("no input device \(id) is plugged in")
      }
      node = found
    }
    var list = KioskInputAction.allCases
    if let actions {
      list = try actions.split(separator: ",").map {
        guard let a = KioskInputAction(rawValue: String($0)) else {
          throw ValidationError(
            "unknown action \($0); actions: "
              + KioskInputAction.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return a
      }
    }
    print("Learning keys from \(node). Press each key on the bump bar when asked.")
    let (learner, id) = try KeyLearner.learn(
      devicePath: node, actions: list, timeoutSeconds: timeout,
      prompt: { action in
        print("  key for \(action.rawValue)? ", terminator: "")
        fflush(nil)
      },
      report: { step in
        switch step {
        case .assigned(_, let code, _): print(KeyNames.name(code))
        case .duplicate(let code, let other):
          print(
            "\n  \(KeyNames.name(code)) already does \(other.rawValue); press another key: ",
            terminator: "")
          fflush(nil)
        default: break
        }
      })
    let lines = learner.configLines(device: id)
    if dryRun {
      for line in lines { print(line) }
      return
    }
    let prefix = "map.\(id)."
    let old =
      FileManager.default.contents(atPath: config).map { String(decoding: $0, as: UTF8.self) } ?? ""
    var kept = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter
    {
      !$0.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix(prefix)
    }
    while kept.last == "" { kept.removeLast() }
    kept.append("")
    kept.append("# Bump bar \(id), learnt by kdsctl learn-keys")
    kept += lines
    let text = kept.joined(separator: "\n") + "\n"
    let tmp = config + ".new"
    guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8)) else {
      throw ValidationError("cannot write \(tmp)")
    }
    guard rename(tmp, config) == 0 else { throw ValidationError("cannot replace \(config)") }
    print(
      "wrote \(lines.count) keys for \(id) to \(config); restart the kiosk (systemctl restart kds-kiosk)."
    )
  }
}
