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
      Screenshot.self, Input.self, Config.self, LearnKeys.self, Item.self, View.self,
      Serve.self, Fire.self, Rush.self, SendBack.self, SetSetting.self,
      UnsetSetting.self,
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
    if !socket.isEmpty, let sub = args.first, sub != "config" {
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
    if let mode = s.mode, mode != "run", let setup = s.setup {
      // Issue 13: the SETUP or PAIRING screen.
      print("mode:        \(mode)")
      for p in setup.problems { print("problem:     \(p)") }
      if let pairing = setup.pairing {
        print("pairing:     \(pairing.state)\(pairing.code.map { ", code \($0)" } ?? "")")
        if let problem = pairing.problem { print("             \(problem)") }
      }
      print(
        "server:      \(setup.server ?? "not set")\(setup.serverAnswer.map { ": \($0)" } ?? "")")
      print(
        "addresses:   \(setup.addresses.isEmpty ? "none" : setup.addresses.joined(separator: ", "))"
      )
      print("clock:       \(setup.clockLocal ?? "") / \(setup.clockUTC ?? "")")
      print("display:     \(s.display ?? "unknown")")
      print("version:     \(s.version ?? "unknown")")
      return
    }
    print("station:     \(s.station)")
    print("connection:  \(s.connection)")
    if let servers = s.servers, servers.count > 1 {
      // `server = a, b`: the one in use, and each one's last error.
      for server in servers {
        let error = server.lastError.map { ", last error \($0) at \(server.lastErrorAt ?? "?")" }
        print(
          "server:      \(server.url)\(server.active ? " (in use)" : "")\(error ?? "")")
      }
    } else if let server = s.server {
      print("server:      \(server)")
    }
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
    if let view = s.view, view != "tickets" { print("view:        \(view)") }
    if s.itemMarksLocal == true {
      print("item marks:  on this screen only (the server lacks them)")
    }
    for o in s.orders ?? [] {
      let parts = o.parts.map { "\($0.station) \($0.status)" }.joined(separator: ", ")
      print(
        "order:       #\(o.orderNumber)\(o.rush ? " RUSH" : "")\(o.allReady ? " ALL READY" : ""): \(parts)"
      )
    }
    for (i, e) in (s.recallList ?? []).enumerated() {
      print("recall \(i + 1):    #\(e.orderNumber) \(e.tableName ?? "") \(e.ticketId)")
    }
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
  static let configuration = CommandConfiguration(
    abstract: "Un-bump a ticket of the recall list, or the one bumped last.")
  @OptionGroup var options: SocketOption
  @Argument(help: "The ticket id (default: the ticket bumped last).") var ticketId: String?
  func run() throws {
    try act(options.socket, ControlRequest(cmd: "recall", ticket: ticketId))
  }
}

struct Item: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Mark a line of a ticket done, or not done (toggles without a flag).")
  @OptionGroup var options: SocketOption
  @Argument(help: "The ticket id.") var ticketId: String
  @Argument(help: "The line, from 1.") var line: Int
  @Flag(help: "Mark it done.") var done = false
  @Flag(help: "Mark it not done.") var undone = false
  func validate() throws {
    guard line >= 1 else { throw ValidationError("the line counts from 1") }
    guard !(done && undone) else { throw ValidationError("--done or --undone, not both") }
  }
  func run() throws {
    var r = ControlRequest(cmd: "item", ticket: ticketId)
    r.item = line - 1
    r.done = done ? true : (undone ? false : nil)
    try act(options.socket, r)
  }
}

struct View: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show the tickets, the all-day counts or the recall list.")
  @OptionGroup var options: SocketOption
  @Argument(help: "tickets, all-day or recall.") var view: String
  func run() throws {
    var r = ControlRequest(cmd: "view")
    r.view = view
    try act(options.socket, r)
  }
}

struct Serve: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Expo: hand an order over (every station's part must be ready).")
  @OptionGroup var options: SocketOption
  @Argument(help: "The order id (or the id of one of its tickets).") var orderId: String
  func run() throws {
    var r = ControlRequest(cmd: "serve")
    r.order = orderId
    try act(options.socket, r)
  }
}

struct Fire: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Expo: fire a held course of an order.")
  @OptionGroup var options: SocketOption
  @Argument(help: "The order id (or the id of one of its tickets).") var orderId: String
  @Argument(help: "The course.") var course: Int
  func run() throws {
    var r = ControlRequest(cmd: "fire")
    r.order = orderId
    r.course = course
    try act(options.socket, r)
  }
}

struct Rush: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Expo: rush a ticket's order.")
  @OptionGroup var options: SocketOption
  @Argument(help: "The ticket id.") var ticketId: String
  @Flag(help: "Clear the rush.") var off = false
  func run() throws {
    var r = ControlRequest(cmd: "rush", ticket: ticketId)
    r.rush = !off
    try act(options.socket, r)
  }
}

struct SendBack: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "send-back", abstract: "Expo: send a station's ticket back to it.")
  @OptionGroup var options: SocketOption
  @Argument(help: "The ticket id.") var ticketId: String
  func run() throws { try act(options.socket, ControlRequest(cmd: "send-back", ticket: ticketId)) }
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
