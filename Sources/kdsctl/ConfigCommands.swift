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
    abstract: "Check configuration files, or show the one the kiosk reads.",
    subcommands: [Check.self, ConfigShow.self])

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
/// written to the writable layer (`50-kdsctl.conf`) and the kiosk reloads.
struct LearnKeys: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "learn-keys",
    abstract: "Learn a bump bar's keys and write them to the configuration.",
    discussion: """
      With the kiosk running, the kiosk itself learns them (it holds bump bars
      exclusively): meanwhile that device's keys act on nothing. Without a
      kiosk, kdsctl reads the device. Press, on the bump bar, the key for each
      action as it is named. The lines `map.VVVV:PPPP.KEY = action` replace
      that device's earlier lines in 50-kdsctl.conf of the writable folder
      (kiosk.conf.d), and the running kiosk applies them at once.
      """)

  @Option(help: "The bump bar: USB vendor:product (05f3:0007) or /dev/input/eventN.")
  var device: String

  @OptionGroup var layers: LayerOptions
  @OptionGroup var socket: SocketOption

  @Option(
    help:
      "Actions to learn, comma separated (default: the bump bar's eight: next and previous ticket and page, bump, start, recall, retry)."
  )
  var actions: String?

  @Option(help: "Seconds to wait for each key.")
  var timeout: Int32 = 60

  @Flag(help: "Print the lines instead of writing them.")
  var dryRun = false

  func validate() throws {
    guard (1...3600).contains(timeout) else { throw ValidationError("--timeout: 1 to 3600") }
  }

  func run() throws {
    var list = KioskInputAction.bumpBarActions
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
    let learnt: (lines: [String], id: String)
    if FileManager.default.fileExists(atPath: socket.socket) {
      learnt = try learnOnKiosk(list)
    } else {
      learnt = try learnHere(list)
    }
    if dryRun {
      for line in learnt.lines { print(line) }
      return
    }
    let dir: String
    do {
      dir = try layers.folder()
    } catch {
      print("cannot write the keys: the configuration files are bad: \(error)")
      throw ExitCode(1)
    }
    let path = dir + "/" + ConfigurationLayers.kdsctlFileName
    let new = ConfigurationFileEdit.replacing(
      prefix: "map.\(learnt.id).", with: learnt.lines, in: readText(path) ?? "",
      note: "Bump bar \(learnt.id), learnt by kdsctl learn-keys")
    do {
      _ = try loadChecked(layers.layers, replacing: [path: new])
    } catch {
      print("refused, nothing written: \(error)")
      throw ExitCode(1)
    }
    try writeAtomically(new, to: path)
    print("wrote \(learnt.lines.count) keys for \(learnt.id) to \(path)")
    try reloadKiosk(socket.socket)
  }

  /// The running kiosk learns (it holds the device); kdsctl follows its
  /// state and prints each prompt and step.
  func learnOnKiosk(_ list: [KioskInputAction]) throws -> (lines: [String], id: String) {
    var start = ControlRequest(cmd: "learn-keys")
    start.learn = "start"
    start.device = device
    start.actions = list.map(\.rawValue)
    start.timeoutSeconds = Int(timeout)
    let first = try exchange(socket.socket, start)
    guard var state = first.learn else { throw CtlError(description: "the kiosk sent no state") }
    print("The kiosk learns keys from \(state.name) (\(state.device), \(state.node)).")
    print("Press each key on the bump bar when asked; its keys act on nothing meanwhile.")
    var shownSteps = 0
    var asked: String?
    var status = ControlRequest(cmd: "learn-keys")
    status.learn = "status"
    while true {
      for step in state.steps.dropFirst(shownSteps) { print("  \(step)") }
      shownSteps = state.steps.count
      if let error = state.error {
        print("learn-keys stopped: \(error)")
        throw ExitCode(1)
      }
      if state.finished { return (state.lines, state.device) }
      if let waiting = state.waitingFor, waiting != asked {
        print("  key for \(waiting)?")
        asked = waiting
      }
      // The kiosk answers at once; a tenth of a second between two looks.
      var pause = timespec(tv_sec: 0, tv_nsec: 100_000_000)
      nanosleep(&pause, nil)
      guard let next = try exchange(socket.socket, status).learn else {
        throw CtlError(description: "the kiosk sent no state")
      }
      state = next
    }
  }

  /// No kiosk running: kdsctl reads the device itself.
  func learnHere(_ list: [KioskInputAction]) throws -> (lines: [String], id: String) {
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
    return (learner.configLines(device: id), id.description)
  }
}
