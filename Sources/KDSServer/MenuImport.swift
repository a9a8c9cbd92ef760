import KDSContract

/// The POS menu: what `GET /pos/menu` lists and `kds-server menu import`
/// replaces. The file format is the one of `Tests/Fixtures/menu.json`: an
/// array of `{name, station, modifiers?, category?, price?}`.
public struct MenuItem: Sendable, Equatable {
  public var name: String
  public var station: String
  public var modifiers: [String]
  public var category: String?
  public var price: Double?

  public init(
    name: String, station: String, modifiers: [String] = [], category: String? = nil,
    price: Double? = nil
  ) {
    self.name = name
    self.station = station
    self.modifiers = modifiers
    self.category = category
    self.price = price
  }

  var json: JSONValue {
    var members: [(String, JSONValue)] = [
      ("name", .string(name)), ("station", .string(station)),
      ("modifiers", .array(modifiers.map(JSONValue.string))),
    ]
    if let category { members.append(("category", .string(category))) }
    if let price {
      members.append(
        (
          "price",
          price == price.rounded() && abs(price) < 1e15 ? .int(Int64(price)) : .double(price)
        ))
    }
    return .object(members)
  }
}

public struct MenuError: Error, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}

public enum Menu {
  /// Reads a menu file's bytes; every problem names the entry and the field.
  public static func parse(_ bytes: [UInt8]) throws -> [MenuItem] {
    let document: JSONValue
    do { document = try JSONValue.parse(bytes) } catch {
      throw MenuError("menu file is not valid JSON: \(error)")
    }
    guard case .array(let entries) = document else {
      throw MenuError(
        "menu file must be a JSON array of {name, station, modifiers?, category?, price?}")
    }
    var items: [MenuItem] = []
    var names = Set<String>()
    for (n, entry) in entries.enumerated() {
      func fail(_ message: String) -> MenuError { MenuError("menu[\(n)].\(message)") }
      guard case .object = entry else { throw MenuError("menu[\(n)]: must be an object") }
      guard let name = entry["name"]?.stringValue?.trimmingSpaces, !name.isEmpty,
        name.unicodeScalars.count <= 200
      else { throw fail("name: must be a string of 1 to 200 characters") }
      guard names.insert(name).inserted else { throw fail("name: \(name) is listed twice") }
      guard let station = entry["station"]?.stringValue, StationName.isValid(station) else {
        throw fail("station: must be \(StationName.rule)")
      }
      var modifiers: [String] = []
      switch entry["modifiers"] {
      case nil, .some(.null): break
      case .some(.array(let list)):
        for (m, value) in list.enumerated() {
          guard let text = value.stringValue, !text.trimmingSpaces.isEmpty else {
            throw fail("modifiers[\(m)]: must be a non-empty string")
          }
          modifiers.append(text)
        }
      default: throw fail("modifiers: must be an array of strings")
      }
      var category: String? = nil
      switch entry["category"] {
      case nil, .some(.null): break
      case .some(.string(let text))
      where !text.trimmingSpaces.isEmpty && text.unicodeScalars.count <= 80:
        category = text.trimmingSpaces
      default: throw fail("category: must be a string of 1 to 80 characters")
      }
      var price: Double? = nil
      switch entry["price"] {
      case nil, .some(.null): break
      case .some(.int(let i)) where i >= 0: price = Double(i)
      case .some(.double(let d)) where d >= 0 && d.isFinite: price = d
      default: throw fail("price: must be a number of at least 0")
      }
      items.append(
        MenuItem(
          name: name, station: station, modifiers: modifiers, category: category, price: price))
    }
    guard !items.isEmpty else { throw MenuError("menu file lists no items") }
    return items
  }

  /// Replaces the whole menu in one transaction.
  public static func replace(in store: ServerStore, with items: [MenuItem]) async throws {
    try await store.write { db in
      try db.execute(sql: "DELETE FROM menu_items")
      for (n, item) in items.enumerated() {
        try insert(db, position: n, item)
      }
    }
  }

  static func insert(_ db: any SQLConnection, position: Int, _ item: MenuItem) throws {
    try db.execute(
      sql: """
        INSERT INTO menu_items (position, name, station, modifiers_json, category, price)
        VALUES (?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        position, item.name, item.station,
        JSONValue.array(item.modifiers.map(JSONValue.string)).text, item.category, item.price,
      ])
  }

  /// The menu in its order.
  public static func items(in store: ServerStore) async throws -> [MenuItem] {
    try await store.read { db in
      try db.fetchAll(
        sql:
          "SELECT name, station, modifiers_json, category, price FROM menu_items ORDER BY position"
      ).map { row in
        let modifiers: String = row[2]
        let list = (try? JSONValue.parse(modifiers)).flatMap { value -> [String]? in
          guard case .array(let values) = value else { return nil }
          return values.compactMap(\.stringValue)
        }
        return MenuItem(
          name: row[0], station: row[1], modifiers: list ?? [], category: row[3], price: row[4])
      }
    }
  }

  /// `GET /pos/menu`.
  static func response(_ store: ServerStore) async throws -> APIResponse {
    APIResponse(status: 200, json: .array(try await items(in: store).map(\.json)))
  }
}
