import KDSSystem

/// The demo menu (the model of Tests/Fixtures/menu.json, compiled in).
public enum DemoMenu {
  public struct Dish: Sendable {
    public var name: String
    public var station: String
    public var modifiers: [String]
  }

  public static let stations = ["grill", "hot", "cold", "bar", "fry"]

  public static let dishes: [Dish] = [
    Dish(
      name: "Beef burger", station: "grill",
      modifiers: ["no onion", "extra cheese", "medium rare", "well done", "no bun"]),
    Dish(name: "Chicken muchomo", station: "grill", modifiers: ["extra pili pili", "no salt"]),
    Dish(name: "Goat skewers", station: "grill", modifiers: ["spicy", "mild"]),
    Dish(
      name: "Grilled tilapia", station: "grill", modifiers: ["whole", "fillet", "lemon butter"]),
    Dish(
      name: "Rolex (chapati & egg roll)", station: "grill",
      modifiers: ["add avocado", "no tomato", "double egg"]),
    Dish(
      name: "Ribeye steak 300g", station: "grill",
      modifiers: ["rare", "medium", "well done", "pepper sauce"]),
    Dish(name: "Chips masala", station: "fry", modifiers: ["extra masala", "no chilli"]),
    Dish(name: "Cassava fries", station: "fry", modifiers: ["garlic mayo"]),
    Dish(name: "Samosa (beef) x3", station: "fry", modifiers: []),
    Dish(name: "Fried plantain (gonja)", station: "fry", modifiers: ["honey glaze"]),
    Dish(name: "Fish fingers", station: "fry", modifiers: ["tartare sauce"]),
    Dish(name: "Kachumbari salad", station: "cold", modifiers: ["no onion"]),
    Dish(name: "Avocado & mango salad", station: "cold", modifiers: ["dressing on side"]),
    Dish(name: "Crème brûlée", station: "cold", modifiers: []),
    Dish(name: "Fruit platter", station: "cold", modifiers: ["no pineapple"]),
    Dish(name: "Passion juice", station: "bar", modifiers: ["no sugar", "large"]),
    Dish(name: "African tea", station: "bar", modifiers: ["extra ginger"]),
    Dish(name: "Mango smoothie", station: "bar", modifiers: ["no ice"]),
    Dish(name: "Espresso", station: "bar", modifiers: ["double"]),
    Dish(name: "Luwombo (chicken)", station: "hot", modifiers: []),
    Dish(name: "Matoke with groundnut sauce", station: "hot", modifiers: ["extra sauce"]),
    Dish(name: "Pilau rice", station: "hot", modifiers: ["with kachumbari"]),
    Dish(name: "Beans & chapati", station: "hot", modifiers: []),
    Dish(name: "Jollof rice", station: "hot", modifiers: ["extra spicy 🌶️"]),
  ]

  /// Stores the menu in `menu_items` unless a menu is there already
  /// (`--demo`; `GET /pos/menu` serves it).
  public static func seed(_ store: ServerStore) async throws {
    try await store.write { db in
      guard try db.fetchOne(Int.self, sql: "SELECT COUNT(*) FROM menu_items") == 0 else { return }
      for (n, dish) in dishes.enumerated() {
        try Menu.insert(
          db, position: n,
          MenuItem(name: dish.name, station: dish.station, modifiers: dish.modifiers))
      }
    }
  }

  /// Course of a dish: starters and drinks 1, mains 2, desserts 3.
  static func course(of dish: Dish) -> Int64 {
    if dish.name == "Crème brûlée" || dish.name == "Fruit platter" { return 3 }
    if dish.station == "cold" || dish.station == "bar" || dish.name.hasPrefix("Samosa") { return 1 }
    return 2
  }
}

/// Live traffic for `--demo`: realistic orders through the server's own POS
/// logic (create, sometimes amend, send to kitchen), the expo clearing tickets
/// nobody bumped after a while, and cash closes, so the demo kiosks always
/// have a moving board.
struct DemoTraffic: Sendable {
  let service: KDSService

  static let waiters = ["Amina", "Brian", "Grace", "Joseph", "Nakato", "Peter", "Sarah", "Okello"]
  static let notes = [
    "allergy: peanuts", "allergy: shellfish", "gluten free", "no chilli please",
    "birthday - candle",
    "VIP table",
  ]

  func run() async {
    let perMinute = max(0.1, service.options.demoOrdersPerMinute)
    service.logger.info("demo traffic started orders_per_minute=\(perMinute)")
    var rng = SystemRandomNumberGenerator()
    while !Task.isCancelled {
      let mean = 60.0 / perMinute
      let delay = mean * Double.random(in: 0.5...1.5, using: &rng)
      do { try await Task.sleep(for: .milliseconds(Int64(delay * 1000))) } catch { return }
      do {
        try await tick(&rng)
      } catch {
        service.logger.error("demo traffic: \(error)")
      }
    }
  }

  func tick(_ rng: inout SystemRandomNumberGenerator) async throws {
    let kitchen = service.kitchen
    let order = Self.randomOrder(&rng)
    let created = try await service.idempotency.perform(nil) { db in
      try kitchen.createOrder(db, order)
    }
    guard created.status == 201, let json = try? JSONValue.parse(created.body),
      let id = json["id"]?.stringValue
    else { return }
    if Int.random(in: 0..<8, using: &rng) == 0, let updatedAt = json["updatedAt"] {
      // The waiter adds a drink before sending.
      let dish = DemoMenu.dishes.filter { $0.station == "bar" }.randomElement(using: &rng)!
      var items =
        json["items"].flatMap { v -> [JSONValue]? in
          if case .array(let a) = v { return a }
          return nil
        } ?? []
      items.append(
        .object([
          ("name", .string(dish.name)), ("quantity", .int(1)), ("station", .string("bar")),
          ("course", .int(1)),
        ]))
      let patch = JSONValue.object([("updatedAt", updatedAt), ("items", .array(items))])
      _ = try await service.idempotency.perform(nil) { db in
        try kitchen.patchOrder(db, id: id, body: patch)
      }
    }
    let sent = try await service.idempotency.perform(nil) { db in
      try kitchen.sendToKitchen(db, id: id)
    }
    let stations = (try? JSONValue.parse(sent.body))?["tickets"].flatMap { v -> [String]? in
      guard case .array(let list) = v else { return nil }
      return list.compactMap { $0["station"]?.stringValue }
    }
    service.logger.info(
      "demo order \(json["orderNumber"]?.stringValue ?? "?") \(order.tableID) \(order.orderType) items=\(order.items.count) stations=\((stations ?? []).joined(separator: ","))"
    )
    // The expo clears a ticket nobody bumped for 12 minutes, and the cashier
    // closes an order whose food is all out.
    let stale = SystemClock.wallMillis() - 12 * 60_000
    let oldTicket = try await service.store.read { db in
      try db.fetchOne(
        String.self,
        sql:
          "SELECT id FROM tickets WHERE status IN ('QUEUED','IN_PROGRESS') AND sent_at < ? ORDER BY sent_at LIMIT 1",
        arguments: [stale])
    }
    if let oldTicket {
      let expo = DeviceToken(id: 0, device: "demo-expo", stations: [])
      _ = try await service.idempotency.perform(nil) { db in
        try kitchen.ticketAction(
          db, id: oldTicket, action: .markReady, body: .object([]), token: expo)
      }
    }
    // The expo fires an order's next course once the courses before it are
    // out of the kitchen (issue 14: later courses wait HELD).
    let next = try await service.store.read { db -> (String, Int64)? in
      try db.fetchOne(
        sql: """
          SELECT t.order_id, MIN(t.course) FROM tickets t WHERE t.status = 'HELD' AND NOT EXISTS (
            SELECT 1 FROM tickets u WHERE u.order_id = t.order_id AND u.status IN ('QUEUED','IN_PROGRESS'))
          GROUP BY t.order_id ORDER BY MIN(t.updated_at) LIMIT 1
          """
      ).map { ($0[0], $0[1]) }
    }
    if let (orderID, course) = next {
      let expo = DeviceToken(id: 0, device: "demo-expo", stations: [])
      _ = try await service.idempotency.perform(nil) { db in
        try kitchen.fireCourse(
          db, orderID: orderID, body: .object([("course", .int(course))]), token: expo)
      }
    }
    let done = try await service.store.read { db in
      try db.fetchOne(
        String.self,
        sql: """
          SELECT o.id FROM orders o WHERE o.status = 'SENT' AND NOT EXISTS (
            SELECT 1 FROM tickets t WHERE t.order_id = o.id AND t.status IN ('QUEUED','IN_PROGRESS','HELD'))
          ORDER BY o.updated_at LIMIT 1
          """)
    }
    if let done {
      // The expo hands the food over (SERVED), then the cashier closes.
      let expo = DeviceToken(id: 0, device: "demo-expo", stations: [])
      _ = try await service.idempotency.perform(nil) { db in
        try kitchen.serve(db, orderID: done, body: .object([]), token: expo)
      }
      let pay = JSONValue.object([
        (
          "payment",
          .object([("method", .string("CASH")), ("amount", .int(Int64.random(in: 10...90) * 1000))])
        )
      ])
      _ = try await service.idempotency.perform(nil) { db in
        try kitchen.closeOrder(db, id: done, body: pay)
      }
    }
  }

  static func randomOrder(_ rng: inout SystemRandomNumberGenerator) -> Kitchen.NewOrder {
    let typeRoll = Int.random(in: 0..<10, using: &rng)
    let type = typeRoll < 7 ? "DINE_IN" : typeRoll < 9 ? "TAKEAWAY" : "DELIVERY"
    let table: String
    switch type {
    case "DINE_IN": table = "table-\(Int.random(in: 1...24, using: &rng))"
    case "TAKEAWAY": table = "takeaway-\(Int.random(in: 1...99, using: &rng))"
    default: table = "delivery-\(Int.random(in: 1...99, using: &rng))"
    }
    var items: [NewItem] = []
    let count = Int.random(in: 1...5, using: &rng)
    for _ in 0..<count {
      let dish = DemoMenu.dishes.randomElement(using: &rng)!
      var modifiers: [String] = []
      if !dish.modifiers.isEmpty, Int.random(in: 0..<3, using: &rng) == 0 {
        modifiers.append(dish.modifiers.randomElement(using: &rng)!)
        if dish.modifiers.count > 2, Int.random(in: 0..<4, using: &rng) == 0 {
          let second = dish.modifiers.randomElement(using: &rng)!
          if second != modifiers[0] { modifiers.append(second) }
        }
      }
      let note: String? =
        Int.random(in: 0..<12, using: &rng) == 0 ? notes.randomElement(using: &rng) : nil
      items.append(
        NewItem(
          name: dish.name, quantity: Int64.random(in: 1...3, using: &rng) == 3 ? 2 : 1,
          station: dish.station, modifiers: modifiers, notes: note,
          course: DemoMenu.course(of: dish)))
    }
    return Kitchen.NewOrder(
      tableID: table, waiterName: waiters.randomElement(using: &rng), orderType: type, items: items,
      priority: Int.random(in: 0..<10, using: &rng) == 0 ? "RUSH" : nil)
  }
}
