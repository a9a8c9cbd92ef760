import ArgumentParser
import KDSInput

/// `kds-devtest learn-keys VVVV:PPPP|/dev/input/eventN`: the core of
/// `kdsctl learn-keys` (KeyLearner) with one console line per prompt, then the
/// learnt map as configuration lines.
struct LearnKeysCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "learn-keys", abstract: "Learn a key map, one line per prompt.")

  @Argument(help: "The device: a /dev/input/event* path or VVVV:PPPP.")
  var device: String
  @Option(
    help:
      "The actions to learn, comma separated (default: the bump bar's eight: next and previous ticket and page, bump, start, recall, retry)."
  )
  var actions: String?

  func run() throws {
    var list = KioskInputAction.bumpBarActions
    if let actions {
      list = try actions.split(separator: ",").map {
        guard let a = KioskInputAction(rawValue: String($0)) else {
          throw ValidationError("unknown action \($0)")
        }
        return a
      }
    }
    var path = device
    if let wanted = InputDeviceID(device) {
      guard let found = InputDeviceID.findNode(wanted) else {
        throw ValidationError("no input device \(wanted)")
      }
      path = found
    }
    let (learner, id) = try KeyLearner.learn(
      devicePath: path, actions: list,
      prompt: { emit("learn: press the key for \($0.rawValue)") },
      report: { step in
        if case .duplicate(let code, let other) = step {
          emit("learn: \(KeyNames.name(code)) already does \(other.rawValue), press another key")
        }
      })
    for line in learner.configLines(device: id) { emit(line) }
  }
}
