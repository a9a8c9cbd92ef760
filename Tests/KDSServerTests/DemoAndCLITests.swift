import Foundation
import KDSServer
import KDSTestSupport
import Testing

@Suite("Demo mode and the token command")
struct DemoAndCLITests {
  /// `--demo --demo-tokens FILE` writes a token per station and a POS token
  /// to a file only its user reads (never to stdout or the log), and
  /// generates live orders through the POS logic.
  @Test func demoWritesTokensToAPrivateFileAndGeneratesTraffic() async throws {
    let server = try ServerProcess(arguments: ["--demo", "--demo-rate", "1200"])
    let tokens = server.demoTokens
    #expect(Set(tokens.keys) == ["grill", "hot", "cold", "bar", "fry", "pos"])
    let attributes = try FileManager.default.attributesOfItem(
      atPath: server.directory + "/demo-tokens")
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    for token in tokens.values {
      #expect(!server.startupLines.joined().contains(token))
      #expect(!server.log().contains(token))
    }
    let pos = server.client(token: tokens["pos"])
    // The seeded menu.
    let menu = try await pos.get("/pos/menu")
    #expect(menu.array?.count == DemoMenu.dishes.count)
    #expect(menu.array?.first?["name"] as? String == "Beef burger")
    #expect(menu.array?.first?["modifiers"] as? [String] == DemoMenu.dishes[0].modifiers)
    try await waitUntil("demo orders to reach the kitchen") {
      let orders = try await pos.get("/pos/orders").array ?? []
      return orders.count >= 3 && orders.contains { $0["status"] as? String != "NEW" }
    }
    // Each station token sees its own queue, and only its own.
    var total = 0
    for station in ["grill", "hot", "cold", "bar", "fry"] {
      let kiosk = server.client(token: tokens[station])
      let queue = try await kiosk.get("/kds/queue?station=\(station)")
      #expect(queue.status == 200)
      for ticket in queue.array ?? [] {
        #expect(ticket["station"] as? String == station)
        #expect((ticket["items"] as? [Any])?.isEmpty == false)
        #expect(ticket["tableName"] is String)
        #expect(ticket["waiterName"] is String)
      }
      total += queue.array?.count ?? 0
      let other = station == "bar" ? "grill" : "bar"
      #expect(try await kiosk.get("/kds/queue?station=\(other)").status == 403)
    }
    #expect(total >= 1)
    #expect(server.terminate() == 0)
  }

  /// The demo menu compiled into the server is the fixture's menu.
  @Test func demoMenuMatchesTheFixture() throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("menu.json")))
    let fixture = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
    #expect(fixture.count == DemoMenu.dishes.count)
    for (dish, entry) in zip(DemoMenu.dishes, fixture) {
      #expect(dish.name == entry["name"] as? String)
      #expect(dish.station == entry["station"] as? String)
      #expect(dish.modifiers == entry["modifiers"] as? [String])
    }
    #expect(Set(DemoMenu.dishes.map(\.station)) == Set(DemoMenu.stations))
  }

  /// The harness can freeze the server (SIGSTOP) to stand for a hung server.
  @Test func pausedServerAnswersNothingUntilResumed() async throws {
    let f = try Fixture()
    f.server.pause()
    var impatient = f.server.client(token: f.grillToken)
    impatient.timeout = 0.5
    await #expect(throws: HTTPClientError.self) {
      try await impatient.get("/kds/queue?station=grill")
    }
    f.server.resume()
    #expect(try await f.grill.get("/kds/queue?station=grill").status == 200)
    f.server.pause()
    #expect(f.server.terminate() == 0, "SIGTERM reaches a paused server too")
  }

  @Test func tokenCreatePrintsTheTokenLastAndStoresOnlyItsHash() async throws {
    let server = try ServerProcess()
    let token = try server.createToken(device: "kiosk-hot", stations: ["hot", "fry"])
    #expect(token.hasPrefix("kds_") && token.count > 40)
    let (status, dump) = try server.sql("SELECT hash, device, stations FROM tokens")
    #expect(status == 0)
    #expect(!dump.contains(token), "the token itself is not stored")
    #expect(dump.contains("kiosk-hot|fry,hot"))
    let client = server.client(token: token)
    #expect(try await client.get("/kds/queue?station=hot").status == 200)
    #expect(try await client.get("/kds/queue?station=fry").status == 200)
    #expect(try await client.get("/kds/queue?station=grill").status == 403)
    // Bad input gets a clear error and a failing exit status.
    let (badStatus, output) = try ServerProcess.run(
      server.binary, ["token", "create", "--db", server.dbPath, "--device", "bad name!"])
    #expect(badStatus != 0)
    #expect(output.contains("device name"))
  }
}
