import ArgumentParser
import Glibc

/// `kds-devtest`: the device test tools the QEMU guest runs (scripts/test-qemu,
/// scripts/qemu/steps), kept out of the kiosk's binaries: a display and input
/// probe, virtual (uinput) touch screens and bump bars, and the key learner's
/// prompts as console lines.
@main
struct KDSDevTestCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kds-devtest",
    abstract: "Device test tools (QEMU guest).",
    subcommands: [ProbeCommand.self, VirtualDeviceCommand.self, LearnKeysCommand.self])
}

/// One line on stdout, flushed (the QEMU harness waits for these lines).
func emit(_ line: String) {
  print(line)
  fflush(nil)
}

func readFile(_ path: String) throws -> String {
  guard let f = fopen(path, "r") else {
    throw ValidationError("\(path): \(String(cString: strerror(errno)))")
  }
  defer { fclose(f) }
  var data: [UInt8] = []
  var buf = [UInt8](repeating: 0, count: 4096)
  while true {
    let n = fread(&buf, 1, buf.count, f)
    if n <= 0 { break }
    data.append(contentsOf: buf[0..<n])
  }
  return String(decoding: data, as: UTF8.self)
}
