import Foundation
import KDSCore
import KDSTestSupport
import Testing

/// Issue 14's "Done when", with real processes: three station kiosks (grill,
/// fry, salad) and one expo kiosk on one kds-server. Each station bumps its
/// part; the expo sees the order complete, serves it, and the order leaves
/// every screen; then again with the expo's network cut in the middle.
/// Needs the server's kitchen-tools routes (issue 14).
@Suite(.serialized) struct ExpoScenarioTests {
  final class Kitchen {
    let r: Restaurant
    let dir = TempDir()
    var stations: [String: KioskProcess] = [:]
    var expo: KioskProcess!
    let proxy: FaultProxy

    init() throws {
      r = try Restaurant()
      proxy = try FaultProxy(upstreamPort: r.server.port)
      for station in ["grill", "fry", "salad"] {
        stations[station] = try KioskProcess(
          server: r.server.baseURL, token: try r.token(station, stations: [station]),
          db: dir.file("\(station).db"), socket: dir.file("\(station).sock"),
          log: dir.file("\(station).log"), station: station)
      }
      // The expo reaches the server through a proxy the test can cut.
      expo = try KioskProcess(
        server: proxy.baseURL, token: try r.token("expo", stations: ["expo"]),
        db: dir.file("expo.db"), socket: dir.file("expo.sock"), log: dir.file("expo.log"),
        station: "expo")
      for k in stations.values { try k.waitReady() }
      try expo.waitReady()
    }

    func stop() {
      for k in stations.values { _ = k.terminate() }
      _ = expo.terminate()
    }

    func ctl(_ kiosk: KioskProcess, _ args: [String]) throws -> String {
      let (code, out) = try KioskProcess.ctl(kiosk.socketPath, args)
      guard code == 0 else { throw RestaurantError("kdsctl \(args): exit \(code) \(out)") }
      return out
    }

    /// The expo's view of the order, nil when it is not on its screen.
    func expoOrder(_ id: String) -> OrderStatus? {
      (try? expo.status())?.orders?.first { $0.orderId == id }
    }

    /// Each station has its part on screen.
    func stationsShow(_ order: KitchenOrder) -> Bool {
      order.tickets.allSatisfy { t in (try? stations[t.station]!.status().tickets) == 1 }
    }

    func bump(_ order: KitchenOrder, at station: String) throws {
      _ = try ctl(stations[station]!, ["bump", order.ticket(station)])
    }

    func served(_ order: KitchenOrder) async throws -> Bool {
      for t in order.tickets where try await r.statuses(station: t.station)[t.id] != "SERVED" {
        return false
      }
      return true
    }
  }

  @Test func threeStationsAndExpoServeAnOrder() async throws {
    let k = try Kitchen()
    defer { k.stop() }
    let order = try await KitchenOrder.send(
      k.r, table: "T4", items: [("grill", nil), ("fry", nil), ("salad", nil)])
    #expect(waitFor("every station shows its part") { k.stationsShow(order) })
    // Without the server's expo queue (issue 14's routes) there is nothing more to see.
    try #require(waitFor("the expo shows the order") { k.expoOrder(order.orderId) != nil })
    #expect(k.expoOrder(order.orderId)?.parts.count == 3)
    #expect(k.expoOrder(order.orderId)?.allReady == false)
    #expect(try k.expo.status().view == "tickets")

    for station in ["grill", "fry", "salad"] {
      try k.bump(order, at: station)
      #expect(
        waitFor("\(station) is ready on the expo") {
          k.expoOrder(order.orderId)?.parts.first { $0.station == station }?.status == "READY"
        })
      #expect(
        waitFor("\(station)'s part left its screen") {
          (try? k.stations[station]!.status().tickets) == 0
        })
    }
    #expect(
      waitFor("the expo sees the order complete") { k.expoOrder(order.orderId)?.allReady == true })
    // Serving before every part was ready would have been refused; now it goes.
    let out = try k.ctl(k.expo, ["serve", order.orderId])
    #expect(out.contains("serve"))
    #expect(waitFor("the order left the expo") { k.expoOrder(order.orderId) == nil })
    #expect(waitFor("the expo's queue is empty") { (try? k.expo.status().pendingOps) == 0 })
    #expect(try await k.served(order))
    for (station, kiosk) in k.stations {
      #expect((try kiosk.status()).tickets == 0, "\(station) still shows a ticket")
    }
  }

  @Test func expoCutOffInTheMiddle() async throws {
    let k = try Kitchen()
    defer { k.stop() }
    let order = try await KitchenOrder.send(
      k.r, table: "T7", items: [("grill", nil), ("fry", nil), ("salad", nil)])
    #expect(waitFor("every station shows its part") { k.stationsShow(order) })
    // Without the server's expo queue (issue 14's routes) there is nothing more to see.
    try #require(waitFor("the expo shows the order") { k.expoOrder(order.orderId) != nil })
    try k.bump(order, at: "grill")
    try k.bump(order, at: "fry")
    #expect(
      waitFor("two parts ready on the expo") {
        k.expoOrder(order.orderId)?.parts.filter { $0.status == "READY" }.count == 2
      })

    // The expo's network goes; salad bumps meanwhile.
    k.proxy.refuse()
    #expect(waitFor("the expo is offline") { (try? k.expo.status().connection) != "connected" })
    try k.bump(order, at: "salad")
    #expect(
      waitFor("salad's part left its screen") { (try? k.stations["salad"]!.status().tickets) == 0 })
    #expect(k.expoOrder(order.orderId)?.allReady == false)  // it cannot know yet
    try k.proxy.resume()
    #expect(
      waitFor("the expo sees the order complete") { k.expoOrder(order.orderId)?.allReady == true })

    // Cut again, and serve offline: the order leaves the expo at once, queued.
    k.proxy.refuse()
    _ = try k.ctl(k.expo, ["serve", order.orderId])
    #expect(k.expoOrder(order.orderId) == nil)
    #expect(try k.expo.status().pendingOps == 1)
    #expect(try await !k.served(order))
    try k.proxy.resume()
    #expect(waitFor("the serve reached the server") { (try? k.expo.status().pendingOps) == 0 })
    #expect(try k.expo.status().failedOps == 0)
    #expect(try await k.served(order))
    #expect(try k.r.idempotencyRecords(path: "/kds/orders/\(order.orderId)/serve") == 1)
    #expect(k.expoOrder(order.orderId) == nil)
    for (station, kiosk) in k.stations {
      #expect((try kiosk.status()).tickets == 0, "\(station) still shows a ticket")
    }
  }

  /// `kdsctl view recall`, `kdsctl recall TICKET` and `status --json`'s
  /// view and recall list, on a station kiosk process (no extension needed).
  @Test func kdsctlRecallListAndView() async throws {
    let r = try Restaurant()
    let dir = TempDir()
    let ids = try await r.sendTickets(count: 2)
    let kiosk = try KioskProcess(
      server: r.server.baseURL, token: try r.token("k", stations: ["grill"]),
      db: dir.file("k.db"), socket: dir.file("k.sock"), log: dir.file("k.log"))
    defer { _ = kiosk.terminate() }
    try kiosk.waitReady()
    #expect(waitFor("synced") { (try? kiosk.status().tickets) == 2 })
    for id in ids { #expect(try KioskProcess.ctl(kiosk.socketPath, ["bump", id]).0 == 0) }
    #expect(waitFor("bumps sent") { (try? kiosk.status().pendingOps) == 0 })
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["view", "recall"]).0 == 0)
    var status = try kiosk.status()
    #expect(status.view == "recall")
    #expect(status.recallList?.map(\.ticketId) == ids.reversed())
    // The older one, not the last bumped.
    let (code, out) = try KioskProcess.ctl(kiosk.socketPath, ["recall", ids[0]])
    #expect(code == 0, "kdsctl recall: \(out)")
    #expect(waitFor("recall sent") { (try? kiosk.status().pendingOps) == 0 })
    #expect(try await r.statuses()[ids[0]] == "IN_PROGRESS")
    #expect(try await r.statuses()[ids[1]] == "READY")
    status = try kiosk.status()
    #expect(status.recallList?.map(\.ticketId) == [ids[1]])
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["view", "all-day"]).0 == 0)
    #expect(try kiosk.status().view == "all-day")
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["view", "nonsense"]).0 != 0)
    #expect(try KioskProcess.ctl(kiosk.socketPath, ["recall", "NO-SUCH-TICKET"]).0 != 0)
    #expect(try kiosk.status().orders == nil)  // not an expo
  }
}
