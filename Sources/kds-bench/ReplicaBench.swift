import ArgumentParser
import Foundation
import KDSPostgresCluster
import KDSSync

/// `kds-bench replicas`: two kds-server replicas on one database, side by
/// side on SQLite (two processes on one file) and on PostgreSQL (a throwaway
/// cluster from Debian's packages, started here), in one run:
/// - idempotent writes (mark-ready, a new Idempotency-Key each) from 32
///   clients, the clients spread over the replicas: requests/s and p99;
/// - empty since polls from 16 clients: requests/s;
/// - a POS order sent on replica B to the ticket in a kiosk's cache that
///   talks to replica A: through the push stream (so across replicas: the
///   other process's commit must reach A's stream) and through the 5 s poll.
/// Goals (issue 16): ≥ 2,000 writes/s with p99 ≤ 25 ms, push p99 ≤ 250 ms.
struct ReplicaBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replicas",
    abstract: "Two kds-server replicas on SQLite and on PostgreSQL: writes, polls, push.")

  @Option(help: "Concurrent clients for the writes.")
  var clients = 32

  @Option(help: "Seconds per throughput measurement.")
  var seconds: Double = 5

  @Option(help: "Orders timed through the push stream, per database.")
  var pushSamples = 100

  @Option(help: "Orders timed through the poll alone, per database (each waits up to 5 s).")
  var pollSamples = 12

  @Option(
    help: "An empty PostgreSQL database to use (postgres://...) instead of a throwaway cluster.")
  var postgres: String?

  func run() async throws {
    let bin = BenchServer.binaryFolder
    let dir = try scratchFolder("replicas")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var figures: [(String, Figures)] = []
    figures.append(
      ("SQLite", try measure(bin: bin, dir: dir + "/sqlite", db: nil, label: "SQLite")))
    if let postgres {
      figures.append(
        ("PostgreSQL", try measure(bin: bin, dir: dir + "/pg", db: postgres, label: "PostgreSQL")))
    } else {
      let cluster = try PostgresCluster.start()
      defer { cluster.stop() }
      say(
        "bench replicas: a throwaway PostgreSQL cluster (\(cluster.binDirectory.path)) on 127.0.0.1:\(cluster.port), fsync on"
      )
      figures.append(
        (
          "PostgreSQL",
          try measure(bin: bin, dir: dir + "/pg", db: cluster.url, label: "PostgreSQL")
        ))
    }
    if figures.count == 2 {
      let (s, p) = (figures[0].1, figures[1].1)
      say(
        "bench replicas: PostgreSQL / SQLite: writes \(format(p.writes.rate / s.writes.rate))x, "
          + "write p99 \(format(p.writes.p99Ms / s.writes.p99Ms))x, "
          + "empty polls \(format(p.polls.rate / s.polls.rate))x, "
          + "push p99 \(format(p.pushP99 / s.pushP99))x")
    }
  }

  struct Figures {
    var writes: ServerBench.LoadResult
    var polls: ServerBench.LoadResult
    var pushP99: Double
  }

  func measure(bin: String, dir: String, db: String?, label: String) throws -> Figures {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let server = try BenchServer(bin: bin, dir: dir, db: db, replicas: 2)
    defer { server.stop() }
    let ports = server.ports
    say(
      "bench replicas: \(label): two kds-server replicas on 127.0.0.1:\(ports[0]) and :\(ports[1])")
    let bench = ServerBench()
    let tickets = try bench.seedTickets(port: ports[0], token: server.posToken, count: 500)
    let grill = server.kioskToken

    let keys = Counter()
    let writes = try bench.runLoad(ports: ports, clients: clients, seconds: seconds) { client, n in
      let ticket = tickets[(client * 7919 + n) % tickets.count]
      return ServerBench.request(
        "POST", "/kds/tickets/\(ticket)/mark-ready", token: grill, body: "{}",
        key: "bench-\(client)-\(n)-\(keys.next())")
    }
    say(
      "bench replicas: \(label): idempotent mark-ready (\(clients) clients on 2 replicas): "
        + "\(format(writes.rate)) req/s (target >= 2000/s, ratio \(format(writes.rate / 2000))), "
        + "p50 \(format(writes.p50Ms)) ms, p99 \(format(writes.p99Ms)) ms "
        + "(target p99 <= 25 ms, ratio \(format(writes.p99Ms / 25))), "
        + "non-2xx \(writes.failures) of \(writes.count)")

    let newest = try bench.newestStamp(port: ports[1], token: grill)
    let poll = ServerBench.request("GET", "/kds/queue?station=grill&since=\(newest)", token: grill)
    for port in ports {
      let answer = try ServerBench.single(port: port, poll)
      guard answer.bodyLength == 2 else {
        throw CleanExit.message("\(label): since poll on :\(port) was not empty")
      }
    }
    let polls = try bench.runLoad(ports: ports, clients: 16, seconds: seconds) { _, _ in poll }
    say(
      "bench replicas: \(label): empty since polls (16 clients on 2 replicas): "
        + "\(format(polls.rate)) req/s, p50 \(format(polls.p50Ms)) ms, p99 \(format(polls.p99Ms)) ms"
    )

    // The kiosk on replica A, the POS on replica B.
    let push = PushBench()
    let pos = CurlHTTPClient(
      config: HTTPClientConfig(baseURL: server.baseURLs[1], token: server.posToken))
    let pushed = try push.measure(
      "push-\(label)", dir: dir, baseURL: server.baseURLs[0], token: grill, pos: pos, mode: .auto,
      intervalMillis: 60_000, samples: pushSamples, jitterMillis: 0)
    let pushP99 = push.report(
      "push across replicas (\(label))", pushed, target: 250, bench: "replicas")
    let polled = try push.measure(
      "poll-\(label)", dir: dir, baseURL: server.baseURLs[0], token: grill, pos: pos, mode: .off,
      intervalMillis: 5_000, samples: pollSamples, jitterMillis: 5_000)
    push.report("5 s poll across replicas (\(label))", polled, target: nil, bench: "replicas")
    return Figures(writes: writes, polls: polls, pushP99: pushP99)
  }
}
