import Foundation
import KDSTestSupport
import Testing

/// The mark-ready extension field `allergenCheckedAt` (docs/sync-contract.md,
/// "Kiosk: allergen check"): validated, recorded with the bump, returned with
/// the READY ticket, cleared by a recall.
@Suite struct AllergenCheckTests {
  @Test func recordedWithTheBumpAndClearedByRecall() async throws {
    let f = try Fixture()
    let (_, tickets) = try await placeOrder(f.pos)
    let id = try #require(tickets["grill"])
    let bad = try await f.grill.post(
      "/kds/tickets/\(id)/mark-ready", json: #"{"allergenCheckedAt":"yesterday"}"#, key: newKey())
    expectError(bad, 422, messageContains: "allergenCheckedAt")
    let bumped = try await f.grill.post(
      "/kds/tickets/\(id)/mark-ready",
      json:
        #"{"allergenCheckedAt":"2025-11-21T14:34:10.5+01:00","readyAt":"2025-11-21T13:35:00Z"}"#,
      key: newKey())
    #expect(bumped.status == 200)
    #expect(bumped.object?["status"] as? String == "READY")
    #expect(bumped.object?["allergenCheckedAt"] as? String == "2025-11-21T13:34:10.500Z")
    let queue = try await f.grill.get("/kds/queue?station=grill")
    let t = try #require(queue.array?.first { $0["id"] as? String == id })
    #expect(t["allergenCheckedAt"] as? String == "2025-11-21T13:34:10.500Z")
    let recalled = try await f.grill.post("/kds/tickets/\(id)/recall", key: newKey())
    #expect(recalled.status == 200)
    #expect(recalled.object?["allergenCheckedAt"] == nil)
    // A bump without the field (a kiosk without allergen_check) records none.
    let plain = try await f.grill.post("/kds/tickets/\(id)/mark-ready", key: newKey())
    #expect(plain.status == 200)
    #expect(plain.object?["allergenCheckedAt"] == nil)
  }
}
