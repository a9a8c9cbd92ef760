import ArgumentParser
import KDSCore
import KDSSystem

#if canImport(Glibc)
  import Glibc
#endif

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// `kdsctl`: the operator's tool, talking to the kiosk over its control socket.
@main
struct KDSCtl: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kdsctl", abstract: "Control a running kds-kiosk.",
    subcommands: [
      Status.self, Bump.self, Start.self, Recall.self, Queue.self, Retry.self, Dismiss.self,
      Screenshot.self, Input.self, Config.self, LearnKeys.self,
    ])

  /// `kdsctl --socket PATH status` and `kdsctl status --socket PATH` both work:
  /// a leading `--socket` moves behind the subcommand that takes it.
  static func main() {
    var args = Array(CommandLine.arguments.dropFirst())
    var socket: [String] = []
    if args.count >= 2, args[0] == "--socket" {
      socket = Array(args[0...1])
      args.removeFirst(2)
    } else if let first = args.first, first.hasPrefix("--socket=") {
      socket = [first]
      args.removeFirst()
    }
    if !socket.isEmpty, let sub = args.first, !["config", "learn-keys"].contains(sub) {
      args += socket
    }
    self.main(args)
  }
}

struct SocketOption: ParsableArguments {
  @Option(help: "The kiosk's control socket.")
  var socket: String = "/run/kds/kiosk.sock"
}

struct Status: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Connection, queue and tickets.")
  @OptionGroup var options: SocketOption
  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    let response = try exchange(options.socket, ControlRequest(cmd: "status"))
    guard let s = response.status else { throw ExitCode(1) }
    if json {
      try printJSON(s)
      return
    }
    print("station:     \(s.station)")
    print("connection:  \(s.connection)")
    print("last sync:   \(s.lastSyncAt ?? "never")")
    print("tickets:     \(s.tickets) on screen, \(s.cachedTickets) cached")
    print("operations:  \(s.pendingOps) pending, \(s.failedOps) failed")
    for f in s.failures ?? [] {
      print(
        "failed:      \(f.kind) of ticket \(f.ticketId): \(f.reason) (kdsctl dismiss \(f.ticketId))"
      )
    }
    if let damaged = s.damagedRecords {
      print("damaged:     \(damaged) record\(damaged == 1 ? "" : "s") set aside (quarantine table)")
    }
    print(
      "clock:       server \(s.serverClockOffsetMillis >= 0 ? "+" : "")\(s.serverClockOffsetMillis) ms"
    )
    if !s.disabledActions.isEmpty {
      print("disabled:    \(s.disabledActions.joined(separator: ", "))")
    }
    for alert in s.alerts { print("alert:       \(alert)") }
    print("page:        \(s.page + 1)\(s.pageCount.map { " of \($0)" } ?? "")")
    if let selected = s.selected ?? s.selectedTicketId { print("selected:    \(selected)") }
    for f in s.failures ?? [] {
      print("failed:      \(f.kind) \(f.ticketId) (\(f.operationId)): \(f.reason)")
    }
    print("display:     \(s.display ?? "unknown")")
    let devices = s.inputDevices ?? []
    print("input:       \(devices.isEmpty ? "no devices" : devices.joined(separator: "; "))")
    print("version:     \(s.version ?? "unknown")")
  }
}

struct Screenshot: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write the kiosk's current screen to a PNG file.")
  @OptionGroup var options: SocketOption
  @Argument(help: "The PNG file to write.") var file: String
  func run() throws {
    let path =
      file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
    try act(options.socket, ControlRequest(cmd: "screenshot", path: path))
  }
}

struct Bump: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Mark a ticket ready.")
  @OptionGroup var options: SocketOption
  @Argument(help: "The ticket id.") var ticketId: String
  func run() throws { try act(options.socket, ControlRequest(cmd: "bump", ticket: ticketId)) }
}

struct Start: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Start a ticket (QUEUED → IN_PROGRESS).")
  @OptionGroup var options: SocketOption
  @Argument(help: "The ticket id.") var ticketId: String
  func run() throws { try act(options.socket, ControlRequest(cmd: "start", ticket: ticketId)) }
}

struct Recall: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Un-bump the ticket bumped last.")
  @OptionGroup var options: SocketOption
  func run() throws { try act(options.socket, ControlRequest(cmd: "recall")) }
}

struct Retry: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Queue a failed operation again.")
  @OptionGroup var options: SocketOption
  @Argument(help: "The operation id (see `kdsctl queue`).") var operationId: String
  func run() throws { try act(options.socket, ControlRequest(cmd: "retry", op: operationId)) }
}

struct Dismiss: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Dismiss a ticket's failed operations (the server's copy stands).")
  @OptionGroup var options: SocketOption
  @Argument(help: "The ticket id.") var ticketId: String
  @Flag(help: "The argument is an operation id (see `kdsctl queue`), not a ticket id.")
  var operation = false
  func run() throws {
    try act(
      options.socket,
      operation
        ? ControlRequest(cmd: "dismiss", op: ticketId)
        : ControlRequest(cmd: "dismiss", ticket: ticketId))
  }
}

struct Queue: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "The operation queue.")
  @OptionGroup var options: SocketOption
  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    let response = try exchange(options.socket, ControlRequest(cmd: "queue"))
    let ops = response.operations ?? []
    if json {
      try printJSON(ops)
      return
    }
    if ops.isEmpty { print("queue empty") }
    for op in ops {
      var line = "\(op.id)  \(op.kind)  \(op.ticketId)  \(op.state)  attempts \(op.attempts)"
      if let e = op.lastError { line += "  (\(e))" }
      print(line)
    }
  }
}

func act(_ socket: String, _ request: ControlRequest) throws {
  let response = try exchange(socket, request)
  print("ok: \(response.message ?? "done")")
}

func printJSON(_ value: some Encodable) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys]
  print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct CtlError: Error, CustomStringConvertible {
  let description: String
}

/// Sends one request line and reads one response line. Exits 1 with the
/// kiosk's error when it refused.
func exchange(_ path: String, _ request: ControlRequest) throws -> ControlResponse {
  let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw CtlError(description: SystemError("socket").description) }
  defer { close(fd) }
  var addr = sockaddr_un()
  addr.sun_family = sa_family_t(AF_UNIX)
  let bytes = Array(path.utf8)
  guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
    throw CtlError(description: "socket path too long: \(path)")
  }
  withUnsafeMutableBytes(of: &addr.sun_path) { raw in
    for (i, b) in bytes.enumerated() { raw[i] = b }
  }
  let connected = withUnsafePointer(to: &addr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
    }
  }
  guard connected == 0 else {
    throw CtlError(description: "cannot reach the kiosk at \(path): \(errnoText(errno))")
  }
  var line = try JSONEncoder().encode(request)
  line.append(0x0A)
  var offset = 0
  let out = [UInt8](line)
  while offset < out.count {
    let n = out[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard n > 0 else { throw CtlError(description: SystemError("write").description) }
    offset += n
  }
  var received: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 65_536)
  while !received.contains(0x0A) {
    let n = read(fd, &buffer, buffer.count)
    if n < 0 && errno == EINTR { continue }
    guard n > 0 else { throw CtlError(description: "the kiosk closed the connection") }
    received += buffer[0..<n]
  }
  let responseLine = received[..<received.firstIndex(of: 0x0A)!]
  let response = try JSONDecoder().decode(ControlResponse.self, from: Data(responseLine))
  guard response.ok else {
    var standardError = StandardError()
    print("error: \(response.error ?? "refused")", to: &standardError)
    throw ExitCode(1)
  }
  return response
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) {
    var bytes = Array(string.utf8)
    _ = Glibc.write(2, &bytes, bytes.count)
  }
}
