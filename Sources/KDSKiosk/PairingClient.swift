import Dispatch
import KDSContract
import KDSCore
import KDSSync
import KDSSystem
import Logging
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// A token the kiosk got by pairing (docs/sync-contract.md, "Extension:
/// pairing"): kept in `paired-token` beside the database, mode 0600, never
/// in kds.txt or kiosk.conf.
public struct PairedToken: Codable, Hashable, Sendable {
  public var token: String
  public var station: String
  /// The server it was paired with: a token for another server is not used.
  public var server: String
  public var pairedAt: String

  public init(token: String, station: String, server: String, pairedAt: String) {
    self.token = token
    self.station = station
    self.server = server
    self.pairedAt = pairedAt
  }
}

/// Reads, writes (atomically, 0600) and deletes the paired token.
public enum PairedTokenStore {
  public static let fileName = "paired-token"

  /// `paired-token` in the database's folder.
  public static func path(forDatabase database: String) -> String {
    guard let slash = database.lastIndex(of: "/") else { return fileName }
    return String(database[..<slash]) + "/" + fileName
  }

  /// The stored token, or nil when there is none; a damaged file is an error.
  public static func load(path: String) throws -> PairedToken? {
    guard let data = FileManager.default.contents(atPath: path) else {
      if access(path, F_OK) == 0 { throw PairingError("cannot read \(path)") }
      return nil
    }
    do {
      let token = try JSONDecoder().decode(PairedToken.self, from: data)
      guard !token.token.isEmpty, StationName.isValid(token.station) else {
        throw PairingError("\(path) holds no usable token")
      }
      return token
    } catch let e as PairingError {
      throw e
    } catch {
      throw PairingError("\(path) is damaged (not the JSON the kiosk writes)")
    }
  }

  /// Writes `token` to `path` atomically: a 0600 temporary file, fsync,
  /// rename, fsync of the folder. A crash leaves the old file or the new one.
  public static func save(_ token: PairedToken, path: String) throws {
    let data = try JSONEncoder().encode(token)
    let temporary = path + ".tmp"
    unlink(temporary)
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw PairingError("cannot write \(temporary): \(SystemError("open"))") }
    let bytes = [UInt8](data) + [0x0A]
    var written = 0
    while written < bytes.count {
      let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        let error = SystemError("write")
        close(fd)
        unlink(temporary)
        throw PairingError("cannot write \(temporary): \(error)")
      }
      written += n
    }
    fchmod(fd, 0o600)
    guard fsync(fd) == 0 else {
      let error = SystemError("fsync")
      close(fd)
      unlink(temporary)
      throw PairingError("cannot write \(temporary): \(error)")
    }
    close(fd)
    guard rename(temporary, path) == 0 else {
      let error = SystemError("rename")
      unlink(temporary)
      throw PairingError("cannot store \(path): \(error)")
    }
    let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let dirFD = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dirFD >= 0 {
      _ = fsync(dirFD)
      close(dirFD)
    }
  }

  /// Deletes the stored token; true if there was one.
  @discardableResult
  public static func delete(path: String) -> Bool { unlink(path) == 0 }
}

public struct PairingError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// The kiosk's half of pairing, on a thread of its own: asks the server for
/// a code (`POST /kds/pairing`), long-polls the claim
/// (`POST /kds/pairing/claim?wait=25`) until a manager approves it, asks for
/// a new code when one expires, retries with backoff on network errors, and
/// stores the approved token. Its state is read by the setup loop, which
/// `changed` wakes. Never logs the token or the secret.
public final class PairingSession: Sendable {
  /// What the pairing screen shows.
  public struct State: Hashable, Sendable {
    public enum Phase: String, Hashable, Sendable {
      /// Asking for a code (or waiting to ask again after an error).
      case requesting
      /// A code is shown; the claim is long-polled.
      case waiting
      /// Approved: `approval` holds the token.
      case approved
      /// The server has no pairing (404 on POST /kds/pairing): a token must be set by hand.
      case unsupported
    }
    public var phase: Phase = .requesting
    public var code: String?
    /// The station the server proposed with the code.
    public var station: String?
    /// When the code expires, on the monotonic clock (ms).
    public var expiresAtMonotonicMillis: Int64?
    /// The code's expiry as the server wrote it (RFC 3339).
    public var expiresAt: String?
    /// The last failure in words (network error, refused answer), or nil.
    public var problem: String?
    /// The HTTP status of an `unsupported` answer.
    public var unsupportedStatus: Int?
    /// The server that issued the code (its claim goes there), with `server = a, b`.
    public var server: String?

    public init() {}
  }

  public struct Approval: Hashable, Sendable {
    public var token: String
    public var station: String
  }

  public struct Options: Sendable {
    public var serverURL: String
    public var caFile: String?
    public var station: String?
    public var deviceName: String
    /// Where the approved token is stored (nil: not stored, tests).
    public var tokenPath: String?
    public var requestTimeoutMillis = 10_000
    /// `wait=` of the claim (seconds); the request may last 5 s more.
    public var claimWaitSeconds = 25
    /// The first retry after a failure; doubled up to `maxRetryMillis`.
    public var firstRetryMillis = 1_000
    public var maxRetryMillis = 30_000
    /// How long to wait before asking again a server that has no pairing.
    public var unsupportedRetryMillis = 60_000

    public init(serverURL: String, station: String?, deviceName: String, tokenPath: String?) {
      self.serverURL = serverURL
      self.station = station
      self.deviceName = deviceName
      self.tokenPath = tokenPath
    }
  }

  public let options: Options
  /// Signalled whenever `state` changes (poll its `fd` in the setup loop).
  public let changed = WakeSignal()
  let stopSignal = WakeSignal()
  /// Code requests (a short timeout) and claims (the long poll's).
  let client: CurlHTTPClient
  let claimClient: CurlHTTPClient
  let logger: Logger
  let stateBox = Mutex(State())
  let approvalBox = Mutex<Approval?>(nil)
  let stopped = Atomic<Bool>(false)
  let started = Atomic<Bool>(false)
  let done = DispatchSemaphore(value: 0)

  public init(options: Options, logger: Logger = Logger(label: "kds.pairing")) {
    self.options = options
    self.logger = logger
    // No token: pairing requests carry no Authorization header.
    client = CurlHTTPClient(
      config: HTTPClientConfig(
        baseURL: options.serverURL, token: "",
        requestTimeoutMillis: options.requestTimeoutMillis, caFile: options.caFile,
        maxResponseBytes: 64 << 10))
    claimClient = CurlHTTPClient(
      config: HTTPClientConfig(
        baseURL: options.serverURL, token: "",
        connectTimeoutMillis: min(3_000, options.requestTimeoutMillis),
        requestTimeoutMillis: (options.claimWaitSeconds + 5) * 1000, caFile: options.caFile,
        maxResponseBytes: 64 << 10))
  }

  public var state: State { stateBox.withLock { $0 } }
  /// The approved token, once.
  public var approval: Approval? { approvalBox.withLock { $0 } }

  public func start() {
    guard !started.exchange(true, ordering: .sequentiallyConsistent) else { return }
    spawnThread { [self] in
      run()
      done.signal()
    }
  }

  /// Stops the session (the long poll is cancelled) and waits for its thread.
  public func stop() {
    guard !stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
    stopSignal.signal()
    client.cancelRequests()
    claimClient.cancelRequests()
    if started.load(ordering: .sequentiallyConsistent) { done.wait() }
  }

  var isStopped: Bool { stopped.load(ordering: .sequentiallyConsistent) }

  func update(_ body: (inout State) -> Void) {
    let changedState = stateBox.withLock { s -> Bool in
      let before = s
      body(&s)
      return s != before
    }
    if changedState { changed.signal() }
  }

  /// Sleeps `millis` unless stopped first; false when stopped.
  func pause(_ millis: Int) -> Bool {
    if isStopped { return false }
    stopSignal.wait(timeoutMillis: millis)
    return !isStopped
  }

  // MARK: the protocol

  struct CodeRequest: Encodable {
    var station: String?
    var deviceName: String
  }
  struct CodeAnswer: Decodable {
    var pairingId: String
    var code: String
    var secret: String
    var station: String?
    var expiresAt: String
  }
  struct ClaimRequest: Encodable {
    var pairingId: String
    var secret: String
  }
  struct ClaimAnswer: Decodable {
    var status: String
    var token: String?
    var station: String?
    var expiresAt: String?
  }

  func run() {
    var retry = options.firstRetryMillis
    func failed(_ problem: String) -> Bool {
      update {
        $0.problem = problem
        $0.phase = $0.code == nil ? .requesting : $0.phase
      }
      let ok = pause(retry)
      retry = min(options.maxRetryMillis, retry * 2)
      return ok
    }
    outer: while !isStopped {
      // 1. Ask for a code.
      let body = try? JSONEncoder().encode(
        CodeRequest(station: options.station, deviceName: options.deviceName))
      // Each server of the list in order: the first that gives a code is
      // the one its claim goes to (a code is claimed where it was issued).
      let servers = client.config.servers.isEmpty ? [options.serverURL] : client.config.servers
      var answered: (response: HTTPResponse, server: Int)?
      var fallback: (response: HTTPResponse, server: Int)?
      var unreachable: [String] = []
      for i in servers.indices {
        let answer = client.send(method: "POST", path: "/kds/pairing", body: body, server: i)
        if isStopped { break outer }
        switch answer {
        case .failure(let f):
          logger.warning("pairing: cannot reach \(servers[i]): \(f)")
          unreachable.append(servers.count > 1 ? "\(servers[i]): \(f)" : "\(f)")
        case .success(let r)
        where FailoverDecision.of(answer) != .keep || [404, 405, 501].contains(r.status):
          // A replica in trouble, or one without pairing: the next may do.
          if servers.count > 1 {
            logger.warning("pairing: \(servers[i]) answered \(r.status) to POST /kds/pairing")
          }
          if fallback == nil { fallback = (r, i) }
        case .success(let r):
          answered = (r, i)
        }
        if answered != nil { break }
      }
      if answered == nil { answered = fallback }
      guard let (response, issuer) = answered else {
        if !failed("Cannot reach the server: \(unreachable.joined(separator: "; "))") {
          break outer
        }
        continue
      }
      let issuerURL = servers[issuer]
      switch response.status {
      case 201, 200: break
      case 401, 403, 404, 405, 501:
        logger.warning(
          "pairing: \(issuerURL) has no pairing (POST /kds/pairing answered \(response.status)): set a token in kds.txt"
        )
        update {
          $0 = State()
          $0.phase = .unsupported
          $0.unsupportedStatus = response.status
          $0.problem =
            "The server has no pairing (HTTP \(response.status)): set token = ... in kds.txt"
        }
        if !pause(options.unsupportedRetryMillis) { break outer }
        continue
      case 429:
        let wait = Int(response.retryAfterSeconds ?? 5)
        logger.warning("pairing: the server asks to wait \(wait) s (429)")
        update { $0.problem = "The server is busy: asking again in \(wait) s" }
        if !pause(max(1, wait) * 1000) { break outer }
        continue
      default:
        logger.warning("pairing: POST /kds/pairing answered \(response.status)")
        if !failed("The server answered HTTP \(response.status) to a pairing request") {
          break outer
        }
        continue
      }
      guard let code = try? JSONDecoder().decode(CodeAnswer.self, from: response.body),
        code.code.count == 6, code.code.allSatisfy(\.isASCII), code.code.allSatisfy(\.isNumber)
      else {
        logger.warning("pairing: POST /kds/pairing answered something that is not a pairing code")
        if !failed("The server's pairing answer was not understood") { break outer }
        continue
      }
      // The code's life in the server's time, counted on our monotonic clock
      // (the kiosk's own clock may be wrong: that is often why it is in setup).
      let serverNow = response.date?.millis ?? SystemClock.wallMillis()
      let lifeMillis =
        Timestamp(iso8601: code.expiresAt).map { $0.millis - serverNow } ?? 600_000
      let deadline = SystemClock.monotonicMillis() + max(10_000, min(lifeMillis, 3_600_000))
      logger.notice(
        "pairing: code \(code.code) for station \(code.station ?? options.station ?? "(any)") on \(issuerURL), waiting for approval"
      )
      update {
        $0 = State()
        $0.phase = .waiting
        $0.code = code.code
        $0.station = code.station ?? options.station
        $0.expiresAtMonotonicMillis = deadline
        $0.expiresAt = code.expiresAt
        $0.server = issuerURL
      }
      retry = options.firstRetryMillis
      // 2. Long-poll the claim until approved, expired or stopped.
      let claimBody = try? JSONEncoder().encode(
        ClaimRequest(pairingId: code.pairingId, secret: code.secret))
      while !isStopped {
        if SystemClock.monotonicMillis() >= deadline {
          logger.notice("pairing: code \(code.code) expired, asking for a new one")
          continue outer
        }
        let claim = claimClient.send(
          method: "POST", path: "/kds/pairing/claim?wait=\(options.claimWaitSeconds)",
          body: claimBody, server: issuer)
        if isStopped { break outer }
        guard case .success(let r) = claim else {
          if case .failure(let f) = claim {
            logger.warning("pairing: claim failed: \(f)")
            if !failed("Cannot reach the server: \(f)") { break outer }
          }
          continue
        }
        let answer = try? JSONDecoder().decode(ClaimAnswer.self, from: r.body)
        switch r.status {
        case 202:
          retry = options.firstRetryMillis
          update { $0.problem = nil }
        case 200:
          guard let answer, answer.status == "approved", let token = answer.token,
            !token.isEmpty, !token.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" }),
            let station = answer.station ?? code.station ?? options.station,
            StationName.isValid(station)
          else {
            logger.error("pairing: the approval answer was not understood; asking for a new code")
            continue outer
          }
          store(token: token, station: station)
          return
        case 410, 404:
          logger.notice(
            "pairing: code \(code.code) is no longer valid (\(r.status) \(answer?.status ?? "")), asking for a new one"
          )
          continue outer
        case 429:
          let wait = Int(r.retryAfterSeconds ?? 5)
          if !pause(max(1, wait) * 1000) { break outer }
        default:
          logger.warning("pairing: claim answered \(r.status)")
          if !failed("The server answered HTTP \(r.status) while waiting for approval") {
            break outer
          }
        }
      }
    }
  }

  func store(token: String, station: String) {
    var problem: String?
    if let path = options.tokenPath {
      do {
        try PairedTokenStore.save(
          PairedToken(
            token: token, station: station, server: options.serverURL,
            pairedAt: Timestamp(millis: SystemClock.wallMillis()).iso8601), path: path)
        logger.notice("pairing: approved for station \(station); token stored in \(path)")
      } catch {
        problem = "Approved, but the token could not be stored: \(error)"
        logger.error(
          "pairing: approved for station \(station), but the token could not be stored (\(error)): the kiosk will pair again after a restart"
        )
      }
    }
    approvalBox.withLock { $0 = Approval(token: token, station: station) }
    update {
      $0.phase = .approved
      $0.station = station
      $0.problem = problem
    }
  }
}
