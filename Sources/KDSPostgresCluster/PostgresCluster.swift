import Foundation
import Synchronization

/// A throwaway PostgreSQL cluster for the tests and the benchmarks, made from
/// Debian's `postgresql` package (scripts/install-deps installs it).
///
/// `start()` makes a cluster in a new temporary folder (`initdb`, user `kds`,
/// `trust` authentication), starts it listening only on 127.0.0.1 on a free
/// port, with its Unix socket and its log in that folder and `fsync` on (the
/// durability of commits is what the server relies on), waits until it
/// accepts connections, and creates the database `kds`. `stop()` (also at
/// deinit) stops it (a fast shutdown) and removes the folder.
///
/// PostgreSQL refuses to run as root: as root, `initdb` and the server run as
/// the `postgres` user that Debian's package creates (or `nobody`), through
/// `setpriv`, and the folder is given to that user.
public final class PostgresCluster: Sendable {
  public enum ClusterError: Error, CustomStringConvertible {
    /// No `/usr/lib/postgresql/<version>/bin` with `initdb`, `pg_ctl`, `postgres`.
    case notInstalled(searched: String)
    /// A step failed; `output` is what it printed (and the server's log).
    case failed(step: String, output: String)

    public var description: String {
      switch self {
      case .notInstalled(let searched):
        return "PostgreSQL not installed: run scripts/install-deps (no initdb under \(searched))"
      case .failed(let step, let output):
        return "PostgreSQL test cluster: \(step) failed:\n\(output)"
      }
    }
  }

  /// The user the cluster's superuser role is called, and the database made.
  public static let role = "kds"
  public static let databaseName = "kds"

  /// `postgres://kds@127.0.0.1:PORT/kds`.
  public let url: String
  public let port: Int
  /// The temporary folder (data in `data/`, the socket, `server.log`).
  public let directory: URL
  /// Where `initdb`, `pg_ctl`, `psql` are.
  public let binDirectory: URL
  /// The unprivileged user the server runs as when this process is root.
  let runAs: String?
  let stopped = Mutex(false)
  /// The running `postgres` (a child of this process).
  let server = Mutex<ServerProcess?>(nil)

  struct ServerProcess: @unchecked Sendable {
    // Foundation's Process; used under the mutex only.
    var process: Process
    var watchdog: Process?
  }

  var dataDirectory: URL { directory.appendingPathComponent("data") }
  public var logFile: URL { directory.appendingPathComponent("server.log") }

  init(port: Int, directory: URL, binDirectory: URL, runAs: String?) {
    self.port = port
    self.directory = directory
    self.binDirectory = binDirectory
    self.runAs = runAs
    url = "postgres://\(Self.role)@127.0.0.1:\(port)/\(Self.databaseName)"
  }

  deinit { stop() }

  // MARK: finding the binaries

  /// The `bin` folder of the newest PostgreSQL under `/usr/lib/postgresql`
  /// (or `$KDS_POSTGRES_BIN`).
  public static func findBinaries(
    override: String? = ProcessInfo.processInfo.environment["KDS_POSTGRES_BIN"]
  ) throws -> URL {
    let fm = FileManager.default
    if let dir = override, !dir.isEmpty {
      let url = URL(fileURLWithPath: dir)
      guard hasBinaries(url) else { throw ClusterError.notInstalled(searched: dir) }
      return url
    }
    let root = "/usr/lib/postgresql"
    let versions = ((try? fm.contentsOfDirectory(atPath: root)) ?? [])
      .compactMap { name -> (Double, String)? in Double(name).map { ($0, name) } }
      .sorted { $0.0 > $1.0 }
    for (_, name) in versions {
      let bin = URL(fileURLWithPath: root).appendingPathComponent(name)
        .appendingPathComponent("bin")
      if hasBinaries(bin) { return bin }
    }
    throw ClusterError.notInstalled(searched: root)
  }

  static func hasBinaries(_ bin: URL) -> Bool {
    ["initdb", "pg_ctl", "postgres", "pg_isready", "psql"].allSatisfy {
      FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent($0).path)
    }
  }

  /// The user to run PostgreSQL as: nil when this process is not root.
  static func unprivilegedUser() -> String? {
    guard getuid() == 0 else { return nil }
    for name in ["postgres", "nobody"] where getpwnam(name) != nil { return name }
    return "nobody"
  }

  // MARK: start and stop

  /// Makes and starts a new cluster; throws ``ClusterError`` with the reason
  /// when it cannot (not installed, initdb or the start failed, not ready
  /// within `timeout`).
  public static func start(timeout: Duration = .seconds(60)) throws -> PostgresCluster {
    let bin = try findBinaries()
    let runAs = unprivilegedUser()
    let dir = try makeDirectory(owner: runAs)
    do {
      let initdb = try run(
        bin.appendingPathComponent("initdb").path,
        [
          "-D", dir.appendingPathComponent("data").path, "-U", role, "--auth=trust",
          "--encoding=UTF8", "--locale=C",
          // The cluster is new and thrown away: no need to fsync initdb's files.
          // The server itself runs with fsync on.
          "--no-sync",
        ], as: runAs)
      guard initdb.status == 0 else {
        throw ClusterError.failed(step: "initdb", output: initdb.output)
      }
      // The port is free when picked; another process may take it before the
      // server binds it, so a start that fails is retried on another port.
      var lastError: (any Error)?
      for _ in 0..<3 {
        let cluster = PostgresCluster(
          port: try freePort(), directory: dir, binDirectory: bin, runAs: runAs)
        do {
          try cluster.startServer(timeout: timeout)
          try cluster.createDatabase()
          return cluster
        } catch {
          lastError = error
          cluster.stopServer()
          cluster.stopped.withLock { $0 = true }  // keep the folder for the next try
        }
      }
      throw lastError ?? ClusterError.failed(step: "start", output: "")
    } catch {
      try? FileManager.default.removeItem(at: dir)
      throw error
    }
  }

  func startServer(timeout: Duration) throws {
    // `postgres` itself, as a child of this process (through setpriv, which
    // execs it): pg_ctl's daemonised server would inherit the descriptors
    // Foundation watches to learn that pg_ctl ended.
    let conf = [
      "listen_addresses=127.0.0.1", "port=\(port)",
      "unix_socket_directories=\(directory.path)", "fsync=on", "synchronous_commit=on",
      "max_connections=1000", "logging_collector=off",
    ]
    let process = try Self.spawn(
      binDirectory.appendingPathComponent("postgres").path,
      ["-D", dataDirectory.path] + conf.flatMap { ["-c", $0] }, as: runAs, output: logFile)
    // If this process dies without stop() (a crash, kill -9), a watchdog
    // stops the server and removes the folder, so no cluster outlives its test.
    let watchdog = try? Self.spawn(
      "/bin/sh",
      [
        "-c",
        """
        trap '' INT HUP
        while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
        kill -INT \(process.processIdentifier) 2>/dev/null
        while kill -0 \(process.processIdentifier) 2>/dev/null; do sleep 0.2; done
        rm -rf '\(directory.path)'
        """,
      ], as: nil, output: URL(fileURLWithPath: "/dev/null"), truncate: false)
    server.withLock { $0 = ServerProcess(process: process, watchdog: watchdog) }
    let deadline = ContinuousClock.now.advanced(by: timeout)
    var last = ""
    while ContinuousClock.now < deadline {
      guard process.isRunning else {
        throw ClusterError.failed(step: "server start (it exited)", output: log())
      }
      let ready = try Self.run(
        binDirectory.appendingPathComponent("pg_isready").path,
        ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.role, "-d", "postgres", "-t", "2"],
        as: nil)
      if ready.status == 0 { return }
      last = ready.output
      // A refused connection returns at once: pace the polls on the clock.
      Thread.sleep(forTimeInterval: 0.05)
    }
    throw ClusterError.failed(
      step: "waiting for the server (\(timeout))", output: last + "\n" + log())
  }

  func createDatabase() throws {
    let out = try psql("CREATE DATABASE \(Self.databaseName)", database: "postgres")
    guard out.status == 0 else {
      throw ClusterError.failed(step: "CREATE DATABASE", output: out.output)
    }
  }

  /// Runs SQL with `psql` as the superuser `kds` (for tests that poke at the
  /// cluster from outside: terminating backends, looking at catalogs).
  @discardableResult
  public func psql(_ sql: String, database: String = PostgresCluster.databaseName) throws -> (
    status: Int32, output: String
  ) {
    try Self.run(
      binDirectory.appendingPathComponent("psql").path,
      [
        "-h", "127.0.0.1", "-p", "\(port)", "-U", Self.role, "-d", database, "-X", "-q", "-A",
        "-t", "-v", "ON_ERROR_STOP=1", "-c", sql,
      ], as: nil)
  }

  /// The server's log so far (the last 8 KiB).
  public func log() -> String {
    guard let data = FileManager.default.contents(atPath: logFile.path) else { return "" }
    return String(decoding: data.suffix(8192), as: UTF8.self)
  }

  /// Stops the server (fast: open transactions roll back) and removes the
  /// folder. Idempotent.
  public func stop() {
    let first = stopped.withLock { s -> Bool in
      defer { s = true }
      return !s
    }
    guard first else { return }
    stopServer()
    try? FileManager.default.removeItem(at: directory)
  }

  func stopServer() {
    guard let running = server.withLock({ s in s.take() }) else { return }
    if let watchdog = running.watchdog, watchdog.isRunning {
      kill(watchdog.processIdentifier, SIGKILL)
      watchdog.waitUntilExit()
    }
    let process = running.process
    guard process.isRunning else { return }
    // SIGINT: fast shutdown (open transactions roll back, then a checkpoint).
    kill(process.processIdentifier, SIGINT)
    process.waitUntilExit()
  }

  // MARK: helpers

  static func makeDirectory(owner: String?) throws -> URL {
    let base = FileManager.default.temporaryDirectory.path
    var template = Array("\(base)/kds-pg.XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
      throw ClusterError.failed(
        step: "mkdtemp in \(base)", output: String(cString: strerror(errno)))
    }
    let path = String(cString: made)
    if let owner, let pw = getpwnam(owner) {
      guard chown(path, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0 else {
        throw ClusterError.failed(
          step: "chown \(path) to \(owner)", output: String(cString: strerror(errno)))
      }
    }
    return URL(fileURLWithPath: path)
  }

  /// A TCP port on 127.0.0.1 that nothing listens on right now.
  static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else {
      throw ClusterError.failed(step: "socket", output: String(cString: strerror(errno)))
    }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
        bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
      }
    }
    guard bound else {
      throw ClusterError.failed(step: "bind 127.0.0.1:0", output: String(cString: strerror(errno)))
    }
    return Int(UInt16(bigEndian: addr.sin_port))
  }

  /// A process for `path` (as `user`, through setpriv, when given).
  static func makeProcess(_ path: String, _ arguments: [String], as user: String?) -> Process {
    let process = Process()
    if let user, let pw = getpwnam(user) {
      process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
      process.arguments =
        [
          "--reuid=\(pw.pointee.pw_uid)", "--regid=\(pw.pointee.pw_gid)", "--clear-groups",
          "--", path,
        ] + arguments
    } else {
      process.executableURL = URL(fileURLWithPath: path)
      process.arguments = arguments
    }
    var env = ProcessInfo.processInfo.environment
    env["LC_ALL"] = "C"
    env["PGCONNECT_TIMEOUT"] = "5"
    if let user, let pw = getpwnam(user) { env["HOME"] = String(cString: pw.pointee.pw_dir) }
    process.environment = env
    process.currentDirectoryURL = URL(fileURLWithPath: "/")
    process.standardInput = FileHandle.nullDevice
    return process
  }

  /// Starts a long-running program with its output appended to `output`.
  static func spawn(
    _ path: String, _ arguments: [String], as user: String?, output: URL, truncate: Bool = true
  ) throws -> Process {
    let process = makeProcess(path, arguments, as: user)
    guard !truncate || FileManager.default.createFile(atPath: output.path, contents: nil),
      let out = FileHandle(forWritingAtPath: output.path)
    else { throw ClusterError.failed(step: "creating \(output.path)", output: "") }
    defer { try? out.close() }
    process.standardOutput = out
    process.standardError = out
    do { try process.run() } catch {
      throw ClusterError.failed(step: "running \(path)", output: "\(error)")
    }
    return process
  }

  /// Runs a program (as `user` when given) to its end and returns its exit
  /// status and its output (stdout and stderr together).
  static func run(_ path: String, _ arguments: [String], as user: String?) throws -> (
    status: Int32, output: String
  ) {
    let process = makeProcess(path, arguments, as: user)
    let outPath = FileManager.default.temporaryDirectory
      .appendingPathComponent("kds-pg-out.\(UUID().uuidString)").path
    guard FileManager.default.createFile(atPath: outPath, contents: nil),
      let out = FileHandle(forWritingAtPath: outPath)
    else { throw ClusterError.failed(step: "creating \(outPath)", output: "") }
    defer {
      try? out.close()
      try? FileManager.default.removeItem(atPath: outPath)
    }
    process.standardOutput = out
    process.standardError = out
    do { try process.run() } catch {
      throw ClusterError.failed(step: "running \(path)", output: "\(error)")
    }
    process.waitUntilExit()
    let text = FileManager.default.contents(atPath: outPath).map {
      String(decoding: $0, as: UTF8.self)
    }
    return (process.terminationStatus, text ?? "")
  }
}
