import KDSCore
import KDSInput
import KDSSystem

/// `kdsctl learn-keys` on a running kiosk: the kiosk holds its bump bars
/// exclusively (EVIOCGRAB), so instead of stopping it, kdsctl asks it to learn
/// the keys itself over the control socket:
///
/// - `{"cmd":"learn-keys","learn":"start","device":"05f3:0007","actions":[...]}`
///   opens the device if the kiosk does not use it yet (a new bump bar), grabs
///   it, and from then on its presses act on nothing: they are fed to
///   KDSInput's `KeyLearner`, one action after the other;
/// - `"learn":"status"` answers the state (`LearnKeysState`): the action
///   awaited, the steps so far, the configuration lines once finished;
/// - `"learn":"cancel"` stops it.
///
/// kdsctl then writes the lines into the writable layer and asks for a
/// reload, which applies the new map at once. A learning nobody finishes
/// stops by itself after the timeout per key (kdsctl killed halfway, say),
/// and the device's keys act again.
final class KeyLearnSession {
  var learner: KeyLearner
  var state: LearnKeysState
  let id: InputDeviceID
  let path: String
  let timeoutMillis: Int64
  var lastStepMillis: Int64

  init(
    learner: KeyLearner, info: InputDeviceInfo, timeoutSeconds: Int, nowMillis: Int64
  ) {
    self.learner = learner
    id = info.id
    path = info.path
    state = LearnKeysState(device: info.id.description, node: info.path, name: info.name)
    state.waitingFor = learner.current?.rawValue
    timeoutMillis = Int64(timeoutSeconds) * 1000
    lastStepMillis = nowMillis
  }

  var isActive: Bool { !state.finished && state.error == nil }
}

extension InputBridge {
  /// The control socket's `learn-keys` command.
  func learnKeys(_ request: ControlRequest) -> ControlResponse {
    switch request.learn ?? "status" {
    case "start": return startLearning(request)
    case "status":
      guard let learning else { return .failure("no learn-keys started") }
      var r = ControlResponse(ok: true)
      r.learn = learning.state
      return r
    case "cancel":
      guard let learning, learning.isActive else {
        return .failure("no learn-keys in progress")
      }
      stopLearning(error: "cancelled")
      var r = ControlResponse(ok: true, message: "learn-keys cancelled")
      r.learn = learning.state
      return r
    default:
      return .failure("learn-keys: start, status or cancel")
    }
  }

  private func startLearning(_ request: ControlRequest) -> ControlResponse {
    if let learning, learning.isActive {
      return .failure(
        "learn-keys is already in progress on \(learning.state.device) (kdsctl learn-keys --cancel)"
      )
    }
    var actions = KioskInputAction.allCases
    if let names = request.actions, !names.isEmpty {
      var list: [KioskInputAction] = []
      for name in names {
        guard let a = KioskInputAction(rawValue: name) else {
          return .failure(
            "unknown action \(name); actions: "
              + KioskInputAction.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard !list.contains(a) else { return .failure("action \(name) is named twice") }
        list.append(a)
      }
      actions = list
    }
    let timeout = request.timeoutSeconds ?? 60
    guard (1...3600).contains(timeout) else {
      return .failure("learn-keys: the timeout is 1 to 3600 seconds")
    }
    guard let device = request.device, !device.isEmpty else {
      return .failure("learn-keys needs a device: VVVV:PPPP or /dev/input/eventN")
    }
    var node = device
    if !device.hasPrefix("/") {
      guard let wanted = InputDeviceID(device) else {
        return .failure(
          "the device must be VVVV:PPPP or /dev/input/eventN, not \(device.prefix(40))")
      }
      guard let found = manager.openNode(of: wanted) ?? InputDeviceID.findNode(wanted) else {
        return .failure("no input device \(wanted) is plugged in")
      }
      node = found
    }
    let info: InputDeviceInfo
    do {
      info = try manager.beginLearning(path: node)
    } catch {
      return .failure("cannot learn from \(node): \(error)")
    }
    rewatch()
    let session = KeyLearnSession(
      learner: KeyLearner(actions: actions), info: info, timeoutSeconds: timeout,
      nowMillis: SystemClock.monotonicMillis())
    learning = session
    logger.notice(
      "learn-keys: learning \(actions.count) keys from \(info) (its keys act on nothing meanwhile)")
    var r = ControlResponse(ok: true, message: "learning keys from \(info.id) at \(info.path)")
    r.learn = session.state
    return r
  }

  /// A key press reported by the manager (only the learnt device's, or all
  /// when raw keys are on).
  func learnt(code: UInt16, device: String) {
    guard let session = learning, session.isActive, session.path == device else { return }
    let step = session.learner.feed(code: code, value: 1)
    switch step {
    case .ignored: return
    case .assigned(let action, let code, let next):
      session.state.steps.append("\(KeyNames.name(code)) = \(action.rawValue)")
      session.state.waitingFor = next?.rawValue
    case .duplicate(let code, let other):
      session.state.steps.append(
        "\(KeyNames.name(code)) already does \(other.rawValue): press another key")
    }
    session.lastStepMillis = SystemClock.monotonicMillis()
    if session.learner.isFinished {
      session.state.lines = session.learner.configLines(device: session.id)
      session.state.finished = true
      manager.endLearning()
      logger.notice("learn-keys: \(session.state.lines.count) keys learnt from \(session.id)")
    }
  }

  func learningDeviceGone(_ path: String) {
    guard let session = learning, session.isActive, session.path == path else { return }
    stopLearning(error: "the device \(session.id) was unplugged")
  }

  func learningTick(atMonotonicMillis now: Int64) {
    guard let session = learning, session.isActive,
      now - session.lastStepMillis > session.timeoutMillis
    else { return }
    stopLearning(
      error:
        "no key pressed for \(session.state.waitingFor ?? "the next action") within \(session.timeoutMillis / 1000) s"
    )
  }

  private func stopLearning(error: String) {
    guard let session = learning else { return }
    session.state.error = error
    session.state.waitingFor = nil
    manager.endLearning()
    logger.notice("learn-keys stopped: \(error)")
  }
}
