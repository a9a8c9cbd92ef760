import Foundation
import KDSTestSupport
import Testing

@Suite("Error paths: status codes and the contract's error body")
struct ErrorPathTests {
  @Test func authentication() async throws {
    let f = try Fixture()
    let health = try await f.server.client(token: nil).get("/health")
    #expect(health.status == 200)
    #expect(health.object?["status"] as? String == "ok")
    #expect(health.header("Date") != nil)
    expectError(try await f.server.client(token: nil).get("/kds/queue?station=grill"), 401)
    expectError(try await f.server.client(token: "kds_wrong").get("/kds/queue?station=grill"), 401)
    expectError(
      try await f.server.client(token: nil).send(
        "GET", "/kds/queue?station=grill", headers: ["Authorization": "Basic abc"]), 401)
    expectError(
      try await f.server.client(token: nil).post("/pos/orders", json: "{}", key: newKey()), 401)
    // The token is never written to the log.
    #expect(!f.server.log().contains(f.posToken))
    #expect(!f.server.log().contains(f.grillToken))
    #expect(f.server.log().contains("request POST /pos/orders status=401"))
    #expect(f.server.log().contains("request GET /health status=200"))
  }

  @Test func stationLimits() async throws {
    let f = try Fixture()
    let order = try await placeOrder(f.pos, items: [("Beef burger", "grill"), ("Espresso", "bar")])
    let bar = try #require(order.tickets["bar"])
    // Another station's queue and tickets.
    expectError(try await f.grill.get("/kds/queue?station=bar"), 403)
    // Another station's ticket: 404, as if it did not exist (HardeningTests).
    expectError(try await f.grill.post("/kds/tickets/\(bar)/mark-ready", key: newKey()), 404)
    // POS endpoints need a token without a station limit.
    expectError(
      try await f.grill.post(
        "/pos/orders", json: orderJSON(items: [("Espresso", "bar")]), key: newKey()),
      403)
    expectError(try await f.grill.get("/pos/orders"), 403)
    // The bar ticket was not touched.
    let barQueue = try await f.pos.get("/kds/queue?station=bar")
    #expect(barQueue.array?.first?["status"] as? String == "QUEUED")
  }

  @Test func notFoundAndMethodNotAllowed() async throws {
    let f = try Fixture()
    expectError(try await f.pos.get("/no/such/route"), 404)
    expectError(
      try await f.pos.post("/kds/tickets/01JD3Z8Q4WJ6T1M9K2R7V5XH0C/mark-ready", key: newKey()), 404
    )
    expectError(try await f.pos.post("/pos/orders/nope/send-to-kitchen", key: newKey()), 404)
    expectError(try await f.pos.get("/pos/orders/nope"), 404)
    let r = try await f.pos.send("DELETE", "/pos/orders")
    expectError(r, 405)
    #expect(r.header("Allow")?.contains("POST") == true)
  }

  @Test func stateConflictsCarryCurrentState() async throws {
    let f = try Fixture()
    let order = try await placeOrder(f.pos)
    let ticket = try #require(order.tickets["grill"])
    let body = expectError(
      try await f.grill.post("/kds/tickets/\(ticket)/recall", key: newKey()), 409,
      conflictType: "INVALID_STATE_TRANSITION", messageContains: "QUEUED")
    let state = body["currentState"] as? [String: Any]
    #expect(state?["id"] as? String == ticket)
    #expect(state?["status"] as? String == "QUEUED")
    #expect((state?["updatedAt"] as? String)?.count == 24)
    // Stale updatedAt on PATCH.
    let current = try await f.pos.get("/pos/orders/\(order.orderID)")
    let updatedAt = try #require(current.object?["updatedAt"] as? String)
    let stale = try await f.pos.patch(
      "/pos/orders/\(order.orderID)",
      json: #"{"updatedAt":"2020-01-01T00:00:00Z","waiterName":"Brian"}"#,
      key: newKey())
    let staleBody = expectError(stale, 409, conflictType: "INVALID_STATE_TRANSITION")
    #expect((staleBody["currentState"] as? [String: Any])?["updatedAt"] as? String == updatedAt)
    // Fingerprint mismatch.
    let key = newKey()
    #expect(
      try await f.grill.post("/kds/tickets/\(ticket)/start", json: "{}", key: key).status == 200)
    expectError(
      try await f.grill.post("/kds/tickets/\(ticket)/start", json: #"{"note":"x"}"#, key: key), 409,
      conflictType: "IDEMPOTENCY_FINGERPRINT_MISMATCH")
  }

  @Test func tooLargeMalformedAndInvalidBodies() async throws {
    let f = try Fixture()
    let big = #"{"tableId":"t","pad":""# + String(repeating: "x", count: (1 << 20) + 10) + #""}"#
    expectError(try await f.pos.post("/pos/orders", json: big, key: newKey()), 413)
    // The same without Content-Length (chunked): stopped at 1 MiB.
    var chunked: [UInt8] = []
    let bigBytes = Array(big.utf8)
    for start in stride(from: 0, to: bigBytes.count, by: 65_536) {
      let chunk = bigBytes[start..<min(start + 65_536, bigBytes.count)]
      chunked += Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + [13, 10]
    }
    chunked += Array("0\r\n\r\n".utf8)
    expectError(
      try await f.pos.send(
        "POST", "/pos/orders", body: chunked,
        headers: ["Transfer-Encoding": "chunked", "Idempotency-Key": newKey()]), 413)
    expectError(try await f.pos.post("/pos/orders", json: #"{"tableId": "#, key: newKey()), 400)
    expectError(try await f.pos.post("/pos/orders", json: "{'a':1}", key: newKey()), 400)
    expectError(
      try await f.pos.post(
        "/pos/orders", json: #"{"items":[{"name":"x","quantity":1,"station":"grill"}]}"#,
        key: newKey()),
      422, messageContains: "tableId")
    expectError(
      try await f.pos.post(
        "/pos/orders",
        json: #"{"tableId":"t1","items":[{"name":"Beef burger","quantity":0,"station":"grill"}]}"#,
        key: newKey()), 422, messageContains: "items[0].quantity")
    expectError(
      try await f.pos.post(
        "/pos/orders", json: #"{"tableId":"t1","items":[{"name":"Beef burger","quantity":1}]}"#,
        key: newKey()),
      422, messageContains: "items[0].station")
    expectError(
      try await f.pos.post(
        "/pos/orders",
        json:
          #"{"tableId":"t1","orderType":"PICNIC","items":[{"name":"a","quantity":1,"station":"bar"}]}"#,
        key: newKey()), 422, messageContains: "orderType")
    expectError(try await f.grill.get("/kds/queue"), 422, messageContains: "station")
    expectError(
      try await f.grill.get("/kds/queue?station=grill&since=yesterday"), 422,
      messageContains: "since")
    let order = try await placeOrder(f.pos)
    let ticket = try #require(order.tickets["grill"])
    expectError(
      try await f.grill.post(
        "/kds/tickets/\(ticket)/mark-ready", json: #"{"readyAt":"soon"}"#, key: newKey()),
      422, messageContains: "readyAt")
    #expect(
      try await f.pos.get("/pos/orders").array?.count == 1, "nothing was created by bad requests")
  }

  @Test func cardAndMobileMoneyNeedTheOnlineFlow() async throws {
    let f = try Fixture()
    let order = try await placeOrder(f.pos)
    for method in ["CARD", "MOBILE_MONEY"] {
      let r = try await f.pos.post(
        "/pos/orders/\(order.orderID)/close",
        json: #"{"payment":{"method":"\#(method)","amount":25000}}"#,
        key: newKey())
      expectError(r, 422, messageContains: "online payment flow")
    }
    let still = try await f.pos.get("/pos/orders/\(order.orderID)")
    #expect(still.object?["status"] as? String == "SENT")
    let cash = try await f.pos.post(
      "/pos/orders/\(order.orderID)/close", json: #"{"payment":{"method":"CASH","amount":25000}}"#,
      key: newKey())
    #expect(cash.status == 200)
    #expect(cash.object?["status"] as? String == "CLOSED")
    expectError(
      try await f.pos.post(
        "/pos/orders/\(order.orderID)/close", json: #"{"payment":{"method":"CASH","amount":1}}"#,
        key: newKey()),
      409, conflictType: "INVALID_STATE_TRANSITION")
    expectError(
      try await f.pos.patch(
        "/pos/orders/\(order.orderID)",
        json: #"{"updatedAt":"2100-01-01T00:00:00Z","tableId":"t2"}"#,
        key: newKey()), 409, conflictType: "INVALID_STATE_TRANSITION", messageContains: "CLOSED")
  }

  @Test func rateLimitAnswers429WithRetryAfter() async throws {
    // One request per 1000 s after a burst of 3: however slow the machine,
    // no refill can come between the requests below.
    // Limits are per process (docs/deploy.md): one replica.
    let f = try Fixture(arguments: ["--rate-limit", "0.001/s", "--rate-burst", "3"], replicas: 1)
    var statuses: [Int] = []
    var limited: HTTPResult?
    for _ in 0..<6 {
      let r = try await f.grill.get("/kds/queue?station=grill")
      statuses.append(r.status)
      if r.status == 429 { limited = r }
    }
    #expect(statuses == [200, 200, 200, 429, 429, 429], "\(statuses)")
    let r = try #require(limited, "\(statuses)")
    expectError(r, 429)
    #expect(Int(r.header("Retry-After") ?? "") ?? 0 >= 1)
    // The limit is per token: the POS token is not limited by the grill's use.
    #expect(try await f.pos.get("/kds/queue?station=grill").status == 200)
  }

  @Test func aRefusedRequestIsNotStoredAndRunsOnceTheBucketRefills() async throws {
    // One request per 2 s, no burst: empty the bucket, then send the order.
    // On a machine slow enough for a refill to slip in between, try again
    // with a fresh key (that attempt's order is simply another order).
    let f = try Fixture(arguments: ["--rate-limit", "0.5/s", "--rate-burst", "1"], replicas: 1)
    let body = orderJSON(items: [("Espresso", "bar")])
    var refusedKey: String?
    for _ in 0..<10 where refusedKey == nil {
      for _ in 0..<20 {
        if try await f.pos.get("/kds/queue?station=grill").status == 429 { break }
      }
      let key = newKey()
      let first = try await f.pos.post("/pos/orders", json: body, key: key)
      if first.status == 429 {
        expectError(first, 429)
        refusedKey = key
      } else {
        #expect(first.status == 201, "\(first)")
      }
    }
    let key = try #require(refusedKey, "never saw an order refused with 429")
    var retried: HTTPResult?
    try await waitUntil("the bucket to refill") {
      let r = try await f.pos.post("/pos/orders", json: body, key: key)
      retried = r
      return r.status != 429
    }
    #expect(retried?.status == 201)
    #expect(retried?.header("Idempotent-Replayed") == nil)
  }
}
