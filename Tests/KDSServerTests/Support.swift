import Foundation
import KDSTestSupport
import Testing

/// A running server with a POS token and a grill-station token.
struct Fixture {
  let server: ServerProcess
  let pos: LoopbackHTTPClient
  let grill: LoopbackHTTPClient
  let posToken: String
  let grillToken: String

  /// `replicas`: on PostgreSQL, how many server processes share the
  /// database (1 for what one process keeps in memory: rate limits, the
  /// screens' live state).
  init(
    arguments: [String] = [], backend: ServerProcess.Backend = .automatic, replicas: Int = 2
  ) throws {
    server = try ServerProcess(arguments: arguments, backend: backend, replicas: replicas)
    posToken = try server.createToken(device: "pos-1")
    grillToken = try server.createToken(device: "kiosk-grill", stations: ["grill"])
    pos = server.client(token: posToken)
    grill = server.client(token: grillToken)
  }

  /// The same clients, pointed at the server's current port (after restart).
  func clients() -> (pos: LoopbackHTTPClient, grill: LoopbackHTTPClient) {
    (server.client(token: posToken), server.client(token: grillToken))
  }
}

/// A fresh idempotency key (ULID-like, unique per call).
func newKey() -> String { "k-" + UUID().uuidString }

/// A POS order body with the given items `(name, station)`.
func orderJSON(table: String = "table-8", waiter: String = "Amina", items: [(String, String)])
  -> String
{
  let list = items.enumerated().map { n, item in
    #"{"name":"\#(item.0)","quantity":\#(n + 1),"station":"\#(item.1)","modifiers":["no onion"],"notes":null,"course":1}"#
  }
  return
    #"{"tableId":"\#(table)","waiterName":"\#(waiter)","orderType":"DINE_IN","items":[\#(list.joined(separator: ","))]}"#
}

/// Creates an order and sends it to the kitchen; returns the order id and
/// the tickets' ids by station.
func placeOrder(
  _ pos: LoopbackHTTPClient, items: [(String, String)] = [("Beef burger", "grill")],
  table: String = "table-8"
) async throws -> (orderID: String, tickets: [String: String]) {
  let created = try await pos.post(
    "/pos/orders", json: orderJSON(table: table, items: items), key: newKey())
  try #require(created.status == 201, "create: \(created)")
  let id = try #require(created.object?["id"] as? String)
  let sent = try await pos.post("/pos/orders/\(id)/send-to-kitchen", key: newKey())
  try #require(sent.status == 200, "send: \(sent)")
  var tickets: [String: String] = [:]
  for t in (sent.object?["tickets"] as? [[String: Any]]) ?? [] {
    tickets[t["station"] as! String] = (t["id"] as! String)
  }
  return (id, tickets)
}

/// Asserts the contract's error shape and returns the body.
@discardableResult
func expectError(
  _ r: HTTPResult, _ status: Int, conflictType: String? = nil, messageContains: String? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) -> [String: Any] {
  #expect(r.status == status, "expected \(status), got \(r)", sourceLocation: sourceLocation)
  let body = r.object ?? [:]
  #expect(body["statusCode"] as? Int == status, "body: \(r.text)", sourceLocation: sourceLocation)
  #expect(body["message"] is String, "body: \(r.text)", sourceLocation: sourceLocation)
  if let conflictType {
    #expect(
      body["conflictType"] as? String == conflictType, "body: \(r.text)",
      sourceLocation: sourceLocation)
  }
  if let messageContains {
    #expect(
      (body["message"] as? String ?? "").contains(messageContains), "body: \(r.text)",
      sourceLocation: sourceLocation)
  }
  #expect(r.header("Date") != nil, "every answer has a Date header", sourceLocation: sourceLocation)
  return body
}

/// Waits for `condition` with a deadline (polling a real condition).
func waitUntil(
  timeout: TimeInterval = 60, _ what: String, _ condition: () async throws -> Bool
) async throws {
  let deadline = Date(timeIntervalSinceNow: timeout)
  while Date() < deadline {
    if try await condition() { return }
    try await Task.sleep(for: .milliseconds(50))
  }
  Issue.record("timed out waiting for \(what)")
}
