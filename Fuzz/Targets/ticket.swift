// Fuzz target: the kiosk's ticket decoder (KDSCore).
//
// The input is a server answer: a `GET /kds/queue` body (a JSON array,
// decoded by TicketBatch.decode) and a mark-ready answer (one ticket, decoded
// as in QueuePolicy). Asserts, for every ticket that decodes:
//   - encoding it and decoding that again gives the same ticket (nothing the
//     kiosk stores and re-reads changes on the way: timestamps, unknown
//     statuses, empty notes, ...);
//   - the batch accounts for every element: decoded plus skipped = the array;
//     each skipped element has a reason.
import FoundationEssentials
import KDSCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTicket(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let data = Data(UnsafeBufferPointer(start: start, count: count))
  if let batch = try? TicketBatch.decode(data) {
    if let any = try? JSONDecoder().decode([FuzzAny].self, from: data) {
      check(
        batch.tickets.count + batch.skipped.count == any.count,
        "decoded \(batch.tickets.count) + skipped \(batch.skipped.count) != \(any.count) elements")
    }
    for s in batch.skipped {
      check(!s.reason.isEmpty, "skipped element \(s.index) without a reason")
    }
    for t in batch.tickets { roundTrip(t) }
  }
  if let t = try? JSONDecoder().decode(Ticket.self, from: data) { roundTrip(t) }
  return 0
}

/// Any JSON value (to count the array's elements).
struct FuzzAny: Decodable {
  init(from decoder: any Decoder) throws {}
}

func roundTrip(_ t: Ticket) {
  let encoded: Data
  do { encoded = try JSONEncoder().encode(t) } catch {
    fatalError("ticket \(t.id) does not encode: \(error)")
  }
  let again: Ticket
  do { again = try JSONDecoder().decode(Ticket.self, from: encoded) } catch {
    fatalError(
      "ticket \(t.id) does not decode after encoding: \(describe(error))\n"
        + String(decoding: encoded, as: UTF8.self))
  }
  check(again == t, "ticket changed by encode/decode:\n\(t)\n\(again)")
}

func check(_ ok: Bool, _ message: @autoclosure () -> String) {
  if !ok { fatalError(message()) }
}
