import Foundation
import KDSCore
import KDSTestSupport

/// A real kds-server with a POS token, and helpers to send tickets to the
/// kitchen and to read the server's view of them.
final class Restaurant: @unchecked Sendable {
  let server: ServerProcess
  let posToken: String
  private var counter = 0

  /// `database`: a SQLite file or a postgres:// URL (nil: a new SQLite file).
  init(database: String? = nil) throws {
    server = try ServerProcess(
      dbPath: database, arguments: ["--rate-limit", "off"], backend: .sqlite)
    posToken = try server.createToken(device: "pos-1")
  }

  func token(_ device: String, stations: [String] = []) throws -> String {
    try server.createToken(device: device, stations: stations)
  }

  /// Sends `count` orders of one item each to `station`; returns the ticket ids.
  func sendTickets(station: String = "grill", count: Int, items: Int = 1) async throws -> [String] {
    let pos = server.client(token: posToken)
    var ids: [String] = []
    for _ in 0..<count {
      counter += 1
      let itemList = (0..<items).map { i in
        #"{"name":"Dish \#(i)","quantity":1,"station":"\#(station)"}"#
      }.joined(separator: ",")
      let order = try await pos.post(
        "/pos/orders",
        json: #"{"tableId":"T\#(counter)","waiterName":"Amina","items":[\#(itemList)]}"#,
        key: "order-\(UUID().uuidString)")
      guard order.status == 201, let orderId = order.object?["id"] as? String else {
        throw RestaurantError("create order: \(order)")
      }
      let sent = try await pos.post(
        "/pos/orders/\(orderId)/send-to-kitchen", key: "send-\(UUID().uuidString)")
      guard sent.status == 200, let tickets = sent.object?["tickets"] as? [[String: Any]],
        let id = tickets.first?["id"] as? String
      else { throw RestaurantError("send to kitchen: \(sent)") }
      ids.append(id)
    }
    return ids
  }

  /// Status of every ticket of `station` on the server.
  func statuses(station: String = "grill") async throws -> [String: String] {
    let r = try await server.client(token: posToken).get("/kds/queue?station=\(station)")
    guard r.status == 200, let array = r.array else { throw RestaurantError("queue: \(r)") }
    var out: [String: String] = [:]
    for t in array {
      if let id = t["id"] as? String, let s = t["status"] as? String { out[id] = s }
    }
    return out
  }

  func post(_ path: String, key: String) async throws -> HTTPResult {
    try await server.client(token: posToken).post(path, key: key)
  }

  /// How many idempotency records the server holds for a request path:
  /// one per distinct operation that reached it.
  func idempotencyRecords(path: String) throws -> Int {
    let out = try sqlite(
      "SELECT COUNT(*) FROM idempotency_keys WHERE path = '\(path)' AND method = 'POST';")
    return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
  }

  /// SQL on the server's database, with its own client (sqlite3 or psql).
  func sqlite(_ sql: String) throws -> String {
    let (status, output) = try server.sql(sql)
    guard status == 0 else { throw RestaurantError("sql: \(output)") }
    return output
  }
}

struct RestaurantError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
