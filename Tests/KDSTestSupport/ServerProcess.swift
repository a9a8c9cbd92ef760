// A real `kds-server` process for tests, and a small HTTP/1.1 client for
// talking to it over loopback.
//
//     let server = try ServerProcess()            // temp db, 127.0.0.1, port 0
//     let pos = try server.createToken(device: "pos-1")
//     let grill = try server.createToken(device: "kiosk-grill", stations: ["grill"])
//     let r = try await server.client(token: pos).post("/pos/orders", json: "...", key: "k1")
//     server.kill()                                // SIGKILL (or terminate(): SIGTERM)
//     try server.start()                           // same db, same port
//     server.pause(); server.resume()              // SIGSTOP/SIGCONT: a hung server
//
// The binary is the one `swift build` put next to the test bundle (override
// with KDS_SERVER_BIN). Start-up waits for the agreed line
// `kds-server listening on http://HOST:PORT` on stdout, with a deadline.
//
// On PostgreSQL: with KDS_TEST_BACKEND=postgres, the test process starts one
// throwaway cluster from Debian's packages (KDSPostgresCluster, on a private
// loopback port, stopped when the process ends), or uses the one
// KDS_TEST_POSTGRES_URL names; a server made without a database then gets a
// new database there and runs as TWO replicas on it, and its clients send
// their requests to the replicas in turn. `backend: .sqlite` keeps a test on
// SQLite (a test of the file itself).

import Foundation
import KDSPostgresCluster

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

private func posixKill(_ pid: Int32, _ signal: Int32) {
  #if canImport(Glibc)
    _ = Glibc.kill(pid, signal)
  #else
    _ = Darwin.kill(pid, signal)
  #endif
}

private func posixSend(_ fd: Int32, _ base: UnsafeRawPointer?, _ count: Int) -> Int {
  #if canImport(Glibc)
    return Glibc.send(fd, base, count, Int32(MSG_NOSIGNAL))
  #else
    return Darwin.send(fd, base, count, 0)
  #endif
}

/// A `kds-server serve` child process on 127.0.0.1 with its own database.
public final class ServerProcess: @unchecked Sendable {
  public enum Failure: Error, CustomStringConvertible {
    case binaryNotFound(String)
    case startFailed(String)
    case commandFailed(String)

    public var description: String {
      switch self {
      case .binaryNotFound(let s), .startFailed(let s), .commandFailed(let s): return s
      }
    }
  }

  /// The folder holding the database and the server's stderr log (removed
  /// when the object goes away, unless the database was given by the caller).
  public let directory: String
  /// The SQLite database the server uses (kept across restarts).
  public let dbPath: String
  /// stderr of every run of the server, appended.
  public let logPath: String
  public let host = "127.0.0.1"
  /// The bound port (chosen by the OS on the first start; reused on restart).
  public private(set) var port: Int
  /// Extra `serve` arguments, e.g. `["--rate-limit", "off"]`.
  public let extraArguments: [String]
  /// Lines the server printed on stdout before the listening line (for
  /// `--demo`: `kds-server demo token STATION TOKEN`).
  public private(set) var startupLines: [String] = []
  /// Every `kds-server listening on URL` line of the last start (one per
  /// `--listen`; start-up waits for all of them).
  public private(set) var listeningLines: [String] = []
  public let binary: String

  /// With `--demo`: the tokens the server wrote to its `--demo-tokens` file,
  /// by station (`grill`, `hot`, `cold`, `bar`, `fry`) and `pos`.
  public var demoTokens: [String: String] {
    var tokens: [String: String] = [:]
    let text = (try? String(contentsOfFile: directory + "/demo-tokens", encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") where line.hasPrefix("kds-server demo token ") {
      let parts = line.split(separator: " ")
      if parts.count == 5 { tokens[String(parts[3])] = String(parts[4]) }
    }
    return tokens
  }

  private let lock = NSLock()
  private var process: Process?
  private let ownsDirectory: Bool
  private let startTimeout: TimeInterval

  /// `http://127.0.0.1:PORT`
  public var baseURL: String { "http://\(host):\(port)" }

  /// Which database a server made without one gets.
  public enum Backend: Sendable {
    /// PostgreSQL with two replicas when KDS_TEST_POSTGRES_URL is set, else SQLite.
    case automatic
    /// Always a SQLite file (a test of the file itself).
    case sqlite
  }

  /// The second kds-server process on the same PostgreSQL database (nil on
  /// SQLite). kill, terminate, pause, resume and restart act on both.
  public private(set) var replica: ServerProcess?

  /// Every replica's port, in the order clients take them.
  public var ports: [Int] { [port] + (replica.map { [$0.port] } ?? []) }

  /// True when this server runs on PostgreSQL.
  public var onPostgres: Bool { dbPath.hasPrefix("postgres://") }

  /// Whether this test process runs its servers on PostgreSQL.
  public static var testsOnPostgres: Bool {
    let env = ProcessInfo.processInfo.environment
    return env["KDS_TEST_BACKEND"] == "postgres" || !(env["KDS_TEST_POSTGRES_URL"] ?? "").isEmpty
  }

  /// The cluster the servers of this test process run on (nil: SQLite).
  /// Started once, at first use; a cluster that cannot start fails every
  /// test that needs it, with the reason.
  public static func postgresClusterURL() throws -> String? {
    guard testsOnPostgres else { return nil }
    if let url = ProcessInfo.processInfo.environment["KDS_TEST_POSTGRES_URL"], !url.isEmpty {
      return url
    }
    return try sharedCluster.get().url
  }

  private static let sharedCluster: Result<PostgresCluster, any Error> = Result {
    try PostgresCluster.start()
  }

  /// Starts a server. `dbPath` nil: a new database in a fresh temp folder
  /// (or on the test cluster, see `Backend`).
  public init(
    dbPath: String? = nil, arguments: [String] = [], port: Int = 0,
    startTimeout: TimeInterval = 60, backend: Backend = .automatic, replicas: Int = 2
  ) throws {
    binary = try Self.binaryPath()
    let dir = NSTemporaryDirectory() + "kds-server-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    directory = dir
    ownsDirectory = dbPath == nil
    var path = dbPath ?? dir + "/kds.db"
    if dbPath == nil, backend == .automatic, let cluster = try Self.postgresClusterURL() {
      path = try Self.createPostgresDatabase(cluster: cluster)
    }
    self.dbPath = path
    logPath = dir + "/server.log"
    _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    extraArguments =
      arguments.contains("--demo") && !arguments.contains("--demo-tokens")
      ? arguments + ["--demo-tokens", dir + "/demo-tokens"] : arguments
    self.port = port
    self.startTimeout = startTimeout
    try start()
    if dbPath == nil, onPostgres, replicas > 1 {
      replica = try ServerProcess(
        dbPath: path, arguments: arguments, startTimeout: startTimeout, backend: .sqlite)
    }
  }

  /// A new, empty PostgreSQL database for a test that asks for PostgreSQL
  /// whatever the run's backend (the test process's cluster, started on
  /// first use); its URL.
  public static func newPostgresDatabase() throws -> String {
    let cluster = try postgresClusterURL() ?? sharedCluster.get().url
    return try createPostgresDatabase(cluster: cluster)
  }

  /// A new, empty database on the cluster at `cluster`; its URL.
  static func createPostgresDatabase(cluster: String) throws -> String {
    let name =
      "kds_"
      + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
      .prefix(16)
    let (status, output) = try run("/usr/bin/psql", [cluster, "-qc", "CREATE DATABASE \(name)"])
    guard status == 0 else {
      throw Failure.startFailed(
        "cannot create a database on the test PostgreSQL (\(cluster)): \(output)")
    }
    guard let slash = cluster.lastIndex(of: "/") else {
      throw Failure.startFailed("KDS_TEST_POSTGRES_URL is not a postgres:// URL: \(cluster)")
    }
    return String(cluster[...slash]) + name
  }

  deinit {
    if let p = process, p.isRunning {
      posixKill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
    }
    if ownsDirectory { try? FileManager.default.removeItem(atPath: directory) }
  }

  /// Where the built `kds-server` is: $KDS_SERVER_BIN, else next to this
  /// test executable (the build's bin folder), else `.build/debug`.
  public static func binaryPath() throws -> String {
    let fm = FileManager.default
    if let env = ProcessInfo.processInfo.environment["KDS_SERVER_BIN"],
      fm.isExecutableFile(atPath: env)
    {
      return env
    }
    var candidates: [String] = []
    if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      var dir = (exe as NSString).deletingLastPathComponent
      // macOS: .../debug/kdsPackageTests.xctest/Contents/MacOS/kdsPackageTests
      while dir.contains(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
      candidates.append(dir + "/kds-server")
    }
    for arg in [CommandLine.arguments.first].compactMap({ $0 }) {
      var dir = (arg as NSString).deletingLastPathComponent
      while dir.contains(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
      candidates.append(dir + "/kds-server")
    }
    candidates.append(TestPaths.repoRoot + "/.build/debug/kds-server")
    for c in candidates where fm.isExecutableFile(atPath: c) { return c }
    throw Failure.binaryNotFound(
      "kds-server binary not found (tried \(candidates.joined(separator: ", "))); "
        + "run `swift build --product kds-server` or set KDS_SERVER_BIN")
  }

  public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

  /// The server's process id while it runs.
  public var pid: Int32? {
    lock.withLock { process?.isRunning == true ? process?.processIdentifier : nil }
  }

  /// Launches `kds-server serve` and waits for its listening line.
  public func start() throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments =
      ["serve", "--db", dbPath, "--host", host, "--port", String(port)]
      + (onPostgres ? ["--db-connections", "4"] : []) + extraArguments
    let out = Pipe()
    p.standardOutput = out
    let logHandle = FileHandle(forWritingAtPath: logPath)!
    logHandle.seekToEndOfFile()
    p.standardError = logHandle
    let waiter = LineWaiter(expected: max(1, extraArguments.filter { $0 == "--listen" }.count))
    let reader = out.fileHandleForReading
    let thread = Thread {
      var pending = Data()
      while true {
        let chunk = reader.availableData
        if chunk.isEmpty {
          waiter.finish()
          return
        }
        pending.append(chunk)
        while let nl = pending.firstIndex(of: 0x0A) {
          let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
          pending.removeSubrange(pending.startIndex...nl)
          waiter.add(line)
        }
      }
    }
    try p.run()
    thread.start()
    lock.withLock { process = p }
    guard let line = waiter.wait(timeout: startTimeout) else {
      let lines = waiter.lines.joined(separator: "\n")
      if p.isRunning { posixKill(p.processIdentifier, SIGKILL) }
      p.waitUntilExit()
      throw Failure.startFailed(
        "kds-server did not print its listening line within \(startTimeout) s; stdout:\n\(lines)\n"
          + "stderr:\n\(log(last: 20))")
    }
    guard let portText = line.split(separator: ":").last, let bound = Int(portText) else {
      throw Failure.startFailed("unexpected listening line: \(line)")
    }
    port = bound
    if let replica, !replica.isRunning { try replica.start() }
    startupLines = waiter.lines.filter { !$0.hasPrefix("kds-server listening on") }
    listeningLines = waiter.lines.filter { $0.hasPrefix("kds-server listening on") }
  }

  /// Runs SQL on this server's database with the database's own client
  /// (`sqlite3`, or `psql` in the default restaurant's schema); its exit
  /// status and its output, values only (one row per line, `|` between).
  public func sql(_ statement: String) throws -> (Int32, String) {
    if onPostgres {
      return try Self.run(
        "/usr/bin/psql",
        [
          dbPath, "-qtA", "-v", "ON_ERROR_STOP=1", "-c",
          "SET search_path TO r_1, public; " + statement,
        ])
    }
    return try Self.run("/usr/bin/sqlite3", [dbPath, statement])
  }

  /// SIGTERM, then waits for the process to exit; returns its exit status.
  @discardableResult
  public func terminate() -> Int32 {
    replica?.terminate()
    guard let p = lock.withLock({ process }) else { return 0 }
    if p.isRunning {
      posixKill(p.processIdentifier, SIGTERM)
      posixKill(p.processIdentifier, SIGCONT)  // in case it was paused
    }
    p.waitUntilExit()
    return p.terminationStatus
  }

  /// SIGKILL (no chance to clean up), then waits for the process to go.
  public func kill() {
    replica?.kill()
    guard let p = lock.withLock({ process }) else { return }
    if p.isRunning { posixKill(p.processIdentifier, SIGKILL) }
    p.waitUntilExit()
  }

  /// SIGSTOP: the server keeps its socket but answers nothing (a hung
  /// server, for client timeouts), until `resume()`.
  public func pause() {
    replica?.pause()
    guard let p = lock.withLock({ process }), p.isRunning else { return }
    posixKill(p.processIdentifier, SIGSTOP)
  }

  /// SIGCONT after `pause()`.
  public func resume() {
    replica?.resume()
    guard let p = lock.withLock({ process }), p.isRunning else { return }
    posixKill(p.processIdentifier, SIGCONT)
  }

  /// Stops the server if it runs (SIGTERM) and starts it again on the same
  /// database and port.
  public func restart() throws {
    if isRunning { terminate() }
    try start()
  }

  /// Creates a device token with `kds-server token create` on this server's
  /// database (works while the server runs). No stations: all stations.
  public func createToken(device: String, stations: [String] = []) throws -> String {
    var args = ["token", "create", "--db", dbPath, "--device", device]
    for s in stations { args += ["--station", s] }
    let (status, output) = try Self.run(binary, args)
    guard status == 0, let last = output.split(separator: "\n").last, !last.isEmpty else {
      throw Failure.commandFailed("token create failed (\(status)): \(output)")
    }
    return String(last)
  }

  /// Runs a program to completion; returns its exit status and stdout+stderr.
  public static func run(_ program: String, _ arguments: [String]) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program)
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  /// The server's stderr so far (and its replica's, after it).
  public func log() -> String {
    ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "") + (replica?.log() ?? "")
  }

  public func log(last n: Int) -> String {
    log().split(separator: "\n").suffix(n).joined(separator: "\n")
  }

  /// An HTTP client for this server with `token` as its bearer token.
  /// On PostgreSQL its requests go to the replicas in turn.
  public func client(token: String?) -> LoopbackHTTPClient {
    var c = LoopbackHTTPClient(port: port, token: token)
    if let replica { c.alternates = RoundRobin([port, replica.port]) }
    return c
  }
}

/// Collects stdout lines; `wait` returns the listening line or nil.
private final class LineWaiter: @unchecked Sendable {
  private let condition = NSCondition()
  private(set) var lines: [String] = []
  private var listening: String?
  private var finished = false
  /// Listening lines to wait for (one per listener).
  private let expected: Int
  private var seen = 0

  init(expected: Int = 1) { self.expected = expected }

  func add(_ line: String) {
    condition.lock()
    lines.append(line)
    if line.hasPrefix("kds-server listening on ") {
      seen += 1
      if listening == nil && seen >= expected {
        listening = lines.first { $0.hasPrefix("kds-server listening on ") }
      }
    }
    condition.broadcast()
    condition.unlock()
  }

  func finish() {
    condition.lock()
    finished = true
    condition.broadcast()
    condition.unlock()
  }

  func wait(timeout: TimeInterval) -> String? {
    let deadline = Date(timeIntervalSinceNow: timeout)
    condition.lock()
    defer { condition.unlock() }
    while listening == nil && !finished {
      if !condition.wait(until: deadline) { break }
    }
    return listening
  }
}

/// An HTTP answer.
public struct HTTPResult: Sendable, CustomStringConvertible {
  public var status: Int
  /// Header names in lowercase.
  public var headers: [String: String]
  public var body: [UInt8]

  public var text: String { String(decoding: body, as: UTF8.self) }
  public var description: String { "\(status) \(text.prefix(500))" }

  /// The body parsed with JSONSerialization (nil if it is not JSON).
  public var json: Any? {
    try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
  }
  public var object: [String: Any]? { json as? [String: Any] }
  public var array: [[String: Any]]? { json as? [[String: Any]] }

  public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

public enum HTTPClientError: Error, CustomStringConvertible {
  case connect(Int32)
  case io(String)
  case malformed(String)
  public var description: String {
    switch self {
    case .connect(let e): return "connect to 127.0.0.1 failed: errno \(e)"
    case .io(let s): return "I/O error: \(s)"
    case .malformed(let s): return "malformed HTTP answer: \(s)"
    }
  }
}

/// A small HTTP/1.1 client for 127.0.0.1: one connection per request
/// (`Connection: close`), blocking sockets run on a GCD thread so many
/// requests really are concurrent.
public struct LoopbackHTTPClient: Sendable {
  public var port: Int
  public var token: String?
  /// How long to wait for an answer before failing with `.io`.
  public var timeout: TimeInterval
  /// A loopback address to send from (`127.0.0.2`: another client address
  /// for the server's per-address limits); nil: the system's choice.
  public var sourceAddress: String?
  /// Replicas' ports taken in turn, one per request (instead of `port`).
  public var alternates: RoundRobin?

  public init(port: Int, token: String?, timeout: TimeInterval = 30, sourceAddress: String? = nil) {
    self.port = port
    self.token = token
    self.timeout = timeout
    self.sourceAddress = sourceAddress
  }

  public func get(_ path: String) async throws -> HTTPResult {
    try await send("GET", path)
  }

  /// POST with a JSON body and optionally an `Idempotency-Key`.
  public func post(_ path: String, json: String = "{}", key: String? = nil) async throws
    -> HTTPResult
  {
    try await send(
      "POST", path, body: Array(json.utf8), headers: key.map { ["Idempotency-Key": $0] } ?? [:])
  }

  public func patch(_ path: String, json: String, key: String? = nil) async throws -> HTTPResult {
    try await send(
      "PATCH", path, body: Array(json.utf8), headers: key.map { ["Idempotency-Key": $0] } ?? [:])
  }

  public func send(
    _ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:]
  ) async throws -> HTTPResult {
    let port = alternates?.next() ?? self.port
    let token = self.token
    let timeout = self.timeout
    let source = self.sourceAddress
    return try await withCheckedThrowingContinuation { cont in
      DispatchQueue.global().async {
        cont.resume(
          with: Result {
            try Self.exchange(
              port: port, method: method, path: path, token: token, body: body, headers: headers,
              timeout: timeout, source: source)
          })
      }
    }
  }

  static func exchange(
    port: Int, method: String, path: String, token: String?, body: [UInt8]?,
    headers: [String: String], timeout: TimeInterval, source: String? = nil
  ) throws -> HTTPResult {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HTTPClientError.connect(errno) }
    defer { close(fd) }
    var tv = timeval(
      tv_sec: .init(timeout), tv_usec: .init((timeout - Double(Int(timeout))) * 1_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    if let source {
      var local = sockaddr_in()
      local.sin_family = sa_family_t(AF_INET)
      local.sin_addr.s_addr = inet_addr(source)
      let bound = withUnsafePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      guard bound == 0 else { throw HTTPClientError.connect(errno) }
    }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard rc == 0 else { throw HTTPClientError.connect(errno) }
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    if let token { head += "Authorization: Bearer \(token)\r\n" }
    for (k, v) in headers { head += "\(k): \(v)\r\n" }
    if let body {
      if headers.keys.contains(where: { $0.lowercased() == "content-type" }) == false {
        head += "Content-Type: application/json\r\n"
      }
      // A caller that sets Transfer-Encoding sends the body already encoded.
      if !headers.keys.contains(where: { $0.lowercased() == "transfer-encoding" }) {
        head += "Content-Length: \(body.count)\r\n"
      }
    }
    head += "\r\n"
    var request = Array(head.utf8)
    if let body { request += body }
    // A server may answer (413) and close before the whole body is sent:
    // a failed write is not fatal, the answer is read below.
    var sent = 0
    while sent < request.count {
      let n = request[sent...].withUnsafeBytes { posixSend(fd, $0.baseAddress, $0.count) }
      if n <= 0 { break }
      sent += n
    }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n > 0 {
        response.append(contentsOf: buffer[0..<n])
        if let r = try? parse(response), r.complete { return r.result }
        continue
      }
      if n == 0 { break }
      if errno == EINTR { continue }
      if !response.isEmpty { break }
      throw HTTPClientError.io("recv errno \(errno)")
    }
    let parsed = try parse(response)
    return parsed.result
  }

  static func parse(_ bytes: [UInt8]) throws -> (result: HTTPResult, complete: Bool) {
    let crlf2: [UInt8] = [13, 10, 13, 10]
    guard let headEnd = bytes.firstRange(of: crlf2) else {
      throw HTTPClientError.malformed("no header end in \(bytes.count) bytes")
    }
    let headText = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
    var lines = headText.components(separatedBy: "\r\n")
    let statusLine = lines.removeFirst()
    let parts = statusLine.split(separator: " ")
    guard parts.count >= 2, let status = Int(parts[1]) else {
      throw HTTPClientError.malformed(statusLine)
    }
    var headers: [String: String] = [:]
    for line in lines {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let name = line[..<colon].lowercased()
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      headers[name] = headers[name].map { $0 + ", " + value } ?? value
    }
    var body = Array(bytes[headEnd.upperBound...])
    var complete = false
    if let length = headers["content-length"].flatMap({ Int($0) }) {
      complete = body.count >= length
      if complete { body = Array(body.prefix(length)) }
    } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
      var out: [UInt8] = []
      var i = 0
      while true {
        guard let lineEnd = body[i...].firstRange(of: [13, 10]) else { break }
        let sizeText = String(decoding: body[i..<lineEnd.lowerBound], as: UTF8.self)
        guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else { break }
        let start = lineEnd.upperBound
        if size == 0 {
          complete = true
          break
        }
        guard start + size + 2 <= body.count else { break }
        out += body[start..<(start + size)]
        i = start + size + 2
      }
      body = out
    }
    return (HTTPResult(status: status, headers: headers, body: body), complete)
  }
}

/// Ports taken in turn, shared by the copies of a client.
public final class RoundRobin: @unchecked Sendable {
  public let ports: [Int]
  private let lock = NSLock()
  private var index = 0

  public init(_ ports: [Int]) { self.ports = ports }

  public func next() -> Int {
    lock.withLock {
      defer { index = (index + 1) % ports.count }
      return ports[index]
    }
  }
}
