import Foundation
import KDSTestSupport
import Testing

/// One PostgreSQL database, several restaurants (issue 16): each restaurant's
/// data in its own schema, a token belongs to one restaurant, and a server
/// process serves one restaurant (`serve --restaurant NAME`).
@Suite("Restaurants on one PostgreSQL database")
struct TenancyTests {
  @Test func aTokenSeesOnlyItsRestaurant() async throws {
    let url = try ServerProcess.newPostgresDatabase()
    let binary = try ServerProcess.binaryPath()
    // The database's first restaurant is `default`; make a second one.
    let (created, createOut) = try ServerProcess.run(
      binary, ["restaurant", "create", "lagos", "--db", url])
    #expect(created == 0, "\(createOut)")
    #expect(createOut.contains("restaurant lagos created"))
    let (again, againOut) = try ServerProcess.run(
      binary, ["restaurant", "create", "lagos", "--db", url])
    #expect(again != 0 && againOut.contains("already a restaurant named lagos"), "\(againOut)")
    let (_, list) = try ServerProcess.run(binary, ["restaurant", "list", "--db", url])
    #expect(
      list.split(separator: "\n").map { $0.split(separator: "\t").last ?? "" } == [
        "default", "lagos",
      ])
    // A restaurant that does not exist is refused with the way out.
    let (missing, missingOut) = try ServerProcess.run(
      binary, ["token", "create", "--db", url, "--device", "x", "--restaurant", "abuja"])
    #expect(missing != 0 && missingOut.contains("restaurant create abuja"), "\(missingOut)")

    func token(_ restaurant: String, _ device: String, stations: [String] = []) throws -> String {
      var args = ["token", "create", "--db", url, "--device", device, "--restaurant", restaurant]
      for s in stations { args += ["--station", s] }
      let (status, out) = try ServerProcess.run(binary, args)
      guard status == 0, let last = out.split(separator: "\n").last else {
        throw ServerProcess.Failure.commandFailed("token create: \(out)")
      }
      return String(last)
    }
    let defaultPOS = try token("default", "pos-default")
    let lagosPOS = try token("lagos", "pos-lagos")
    let lagosGrill = try token("lagos", "grill-lagos", stations: ["grill"])

    let home = try ServerProcess(dbPath: url, arguments: ["--rate-limit", "off"])
    let lagos = try ServerProcess(
      dbPath: url, arguments: ["--rate-limit", "off", "--restaurant", "lagos"])
    #expect(lagos.log().contains("restaurant=lagos"))

    // An order in each restaurant; each POS sees its own only.
    let a = try await placeOrder(home.client(token: defaultPOS), table: "home-1")
    let b = try await placeOrder(lagos.client(token: lagosPOS), table: "lagos-1")
    let homeOrders = try await home.client(token: defaultPOS).get("/pos/orders")
    let lagosOrders = try await lagos.client(token: lagosPOS).get("/pos/orders")
    #expect(homeOrders.array?.compactMap { $0["id"] as? String } == [a.orderID])
    #expect(lagosOrders.array?.compactMap { $0["id"] as? String } == [b.orderID])
    // Order numbers are per restaurant: both start at the same number.
    #expect(
      homeOrders.array?.first?["orderNumber"] as? String
        == lagosOrders.array?.first?["orderNumber"] as? String)

    // A token is unknown on another restaurant's server: 401, nothing shown.
    expectError(try await home.client(token: lagosPOS).get("/pos/orders"), 401)
    expectError(try await lagos.client(token: defaultPOS).get("/pos/orders"), 401)
    expectError(
      try await home.client(token: lagosGrill).get("/kds/queue?station=grill"), 401)
    // Lagos's grill sees Lagos's ticket only.
    let queue = try await lagos.client(token: lagosGrill).get("/kds/queue?station=grill")
    #expect(queue.array?.compactMap { $0["id"] as? String } == [b.tickets["grill"]!])
    // A ticket of the other restaurant is not found, not bumped.
    expectError(
      try await lagos.client(token: lagosGrill).post(
        "/kds/tickets/\(a.tickets["grill"]!)/mark-ready", key: newKey()), 404)
    let homeQueue = try await home.client(token: defaultPOS).get("/kds/queue?station=grill")
    #expect(homeQueue.array?.first?["status"] as? String == "QUEUED")
  }

  @Test func sqliteHoldsOneRestaurant() throws {
    let dir = NSTemporaryDirectory() + "kds-tenancy-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let binary = try ServerProcess.binaryPath()
    let (status, out) = try ServerProcess.run(
      binary, ["restaurant", "create", "lagos", "--db", dir + "/kds.db"])
    #expect(status != 0 && out.contains("need --db postgres://"), "\(out)")
    let (tokenStatus, tokenOut) = try ServerProcess.run(
      binary,
      ["token", "create", "--db", dir + "/kds.db", "--device", "x", "--restaurant", "lagos"])
    #expect(tokenStatus != 0 && tokenOut.contains("needs PostgreSQL"), "\(tokenOut)")
  }
}
