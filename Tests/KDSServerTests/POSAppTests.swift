import Foundation
import KDSServer
import KDSTestSupport
import Testing

@Suite("The POS app: menu import, the static app shell, card closes")
struct POSAppTests {
  @Test func menuImportReplacesTheMenuWithCategoriesAndPrices() async throws {
    let f = try Fixture()
    let (status, output) = try ServerProcess.run(
      f.server.binary,
      ["menu", "import", "--db", f.server.dbPath, TestPaths.fixture("pos-menu.json")])
    #expect(status == 0, "\(output)")
    #expect(output.contains("imported 24 items"))
    let menu = try #require(try await f.pos.get("/pos/menu").array)
    #expect(menu.count == 24)
    #expect(menu.first?["name"] as? String == "Beef burger")
    #expect(menu.first?["category"] as? String == "Grill")
    #expect(menu.first?["price"] as? Int == 18000)
    #expect(
      menu.first?["modifiers"] as? [String] == [
        "no onion", "extra cheese", "medium rare", "well done", "no bun",
      ])

    // The fixture's format without category and price; the menu is replaced.
    let small = f.server.directory + "/small-menu.json"
    try #"[{"name":"Chai","station":"bar"},{"name":"Mandazi","station":"pastry","price":1500.5}]"#
      .write(toFile: small, atomically: true, encoding: .utf8)
    #expect(
      try ServerProcess.run(f.server.binary, ["menu", "import", "--db", f.server.dbPath, small]).0
        == 0)
    let replaced = try #require(try await f.pos.get("/pos/menu").array)
    #expect(replaced.map { $0["name"] as? String } == ["Chai", "Mandazi"])
    #expect(replaced[0]["category"] == nil && replaced[0]["price"] == nil)
    #expect(replaced[0]["modifiers"] as? [String] == [])
    #expect(replaced[1]["price"] as? Double == 1500.5)

    // A bad file names the entry and the field, and changes nothing.
    let bad = f.server.directory + "/bad-menu.json"
    try #"[{"name":"Tea","station":"bar"},{"name":"Soup","station":"Hot Line"}]"#
      .write(toFile: bad, atomically: true, encoding: .utf8)
    let (badStatus, badOutput) = try ServerProcess.run(
      f.server.binary, ["menu", "import", "--db", f.server.dbPath, bad])
    #expect(badStatus != 0)
    #expect(badOutput.contains("menu[1].station"), "\(badOutput)")
    #expect(try await f.pos.get("/pos/menu").array?.count == 2)
  }

  @Test func menuFileErrorsNameTheField() throws {
    func problem(_ text: String) -> String {
      do {
        _ = try Menu.parse(Array(text.utf8))
        return "accepted"
      } catch { return "\(error)" }
    }
    #expect(problem("{}").contains("JSON array"))
    #expect(problem("[]").contains("no items"))
    #expect(problem(#"[{"station":"bar"}]"#).contains("menu[0].name"))
    #expect(problem(#"[{"name":"A","station":"bar","price":-1}]"#).contains("menu[0].price"))
    #expect(
      problem(#"[{"name":"A","station":"bar","modifiers":[1]}]"#).contains("menu[0].modifiers[0]"))
    #expect(
      problem(#"[{"name":"A","station":"bar"},{"name":"A","station":"hot"}]"#).contains("twice"))
    #expect(problem(#"[{"name":"A","station":"bar","category":""}]"#).contains("menu[0].category"))
  }

  @Test func theAppShellLoadsWithoutATokenAndTheAPIDoesNot() async throws {
    let f = try Fixture()
    let anonymous = f.server.client(token: nil)
    let page = try await anonymous.get("/pos/")
    #expect(page.status == 200)
    #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
    #expect(page.text.contains(#"data-testid="new-order""#))
    let worker = try await anonymous.get("/pos/sw.js")
    #expect(worker.status == 200)
    #expect(worker.header("Content-Type")?.hasPrefix("text/javascript") == true)
    #expect(
      try await anonymous.get("/pos/manifest.webmanifest").header("Content-Type")
        == "application/manifest+json")
    let bare = try await anonymous.get("/pos")
    #expect(bare.status == 301 && bare.header("Location") == "/pos/")
    // The API under /pos/ still needs the token; nothing outside the app's folder is served.
    #expect(try await anonymous.get("/pos/menu").status == 401)
    #expect(try await anonymous.get("/pos/orders").status == 401)
    #expect(try await anonymous.get("/pos/..%2FPackage.swift").status == 401)
    #expect(try await anonymous.get("/pos/nothing-here.js").status == 401)
    #expect(try await f.pos.get("/pos/nothing-here.js").status == 404)
    #expect(try await f.pos.get("/pos/menu").status == 200)
  }

  @Test func cardAndMobileMoneyCloseWithTheTerminalsReference() async throws {
    let f = try Fixture()
    let order = try await placeOrder(f.pos)
    let closed = try await f.pos.post(
      "/pos/orders/\(order.orderID)/close",
      json: #"{"payment":{"method":"card","amount":25000,"reference":"TERM-4711"}}"#, key: newKey())
    #expect(closed.status == 200, "\(closed)")
    let payment = closed.object?["payment"] as? [String: Any]
    #expect(payment?["method"] as? String == "CARD")
    #expect(payment?["reference"] as? String == "TERM-4711")
    let other = try await placeOrder(f.pos, table: "table-9")
    let blank = try await f.pos.post(
      "/pos/orders/\(other.orderID)/close",
      json: #"{"payment":{"method":"MOBILE_MONEY","amount":1,"reference":"  "}}"#, key: newKey())
    #expect(blank.status == 422 && blank.text.contains("payment.reference"), "\(blank)")
  }
}
