import Foundation
import KDSCore
import KDSRender
import KDSTestSupport
import Testing

/// Issue 11, part A: the chef can trust the screen. A real kds-server, a
/// real kiosk drawing to a PNG "screen", driven through `kdsctl input`,
/// which takes the same path as the touch screen and the keyboard (hit
/// test, hold timer, key map).
@Suite(.serialized) struct TouchAndKeysTests {
  /// A kiosk on a snapshot screen with `tickets` grill tickets on it.
  func kiosk(
    _ r: Restaurant, _ dir: TempDir, size: String = "800x480", rotate: Int = 0,
    extra: [String] = []
  ) throws -> KioskProcess {
    let k = try KioskProcess(
      server: r.server.baseURL, token: try r.token("k", stations: ["grill"]),
      db: dir.file("kiosk.db"), socket: dir.file("ctl.sock"), log: dir.file("kiosk.log"),
      extra: [
        "--sync-interval", "0.2", "--request-timeout", "1", "--size", size, "--rotate",
        String(rotate), "--fonts", TestPaths.repoRoot + "/Fonts",
      ] + extra,
      display: "snapshot:" + dir.file("screen.png"))
    try k.waitReady()
    return k
  }

  /// `kdsctl --socket PATH ARGS...` (the leading form: `input` has subcommands).
  func ctl(_ k: KioskProcess, _ args: [String]) throws -> String {
    let (code, out, err) = try run(k, args)
    guard code == 0 else {
      throw RestaurantError("kdsctl \(args) failed: \(out)\(err)\n\(k.log)")
    }
    return out
  }

  func run(_ k: KioskProcess, _ args: [String]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try Binaries.kdsctl)
    p.arguments = ["--socket", k.socketPath] + args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (
      p.terminationStatus, String(decoding: data, as: UTF8.self),
      String(decoding: errData, as: UTF8.self)
    )
  }

  func operations(_ k: KioskProcess) throws -> [OperationInfo] {
    try JSONDecoder().decode(
      [OperationInfo].self, from: Data(try ctl(k, ["queue", "--json"]).utf8))
  }

  /// The status once `count` cards are drawn.
  func drawn(_ k: KioskProcess, tickets count: Int) throws -> KioskStatus {
    var last: KioskStatus?
    let ok = waitFor("\(count) tickets on screen") {
      last = try? k.status()
      return last?.tickets == count && !(last?.cards ?? []).isEmpty
    }
    guard ok, let last else { throw RestaurantError("not drawn: \(String(describing: last))") }
    return last
  }

  func center(_ c: CardStatus) -> [String] {
    [String(c.x + c.width / 2), String(c.y + c.height / 2)]
  }

  @Test func threeTapsBumpNothingOnARotatedScreen() async throws {
    let r = try Restaurant()
    _ = try await r.sendTickets(count: 4)
    let dir = TempDir()
    // The panel is 480x800, mounted turned: cards and taps are in panel pixels.
    let k = try kiosk(r, dir, size: "480x800", rotate: 90)
    defer { _ = k.terminate() }
    let status = try drawn(k, tickets: 4)
    #expect(status.pageCount == 1)
    #expect(status.cards?.count == 4)
    for c in status.cards ?? [] {
      #expect(c.x >= 0 && c.y >= 0 && c.x + c.width <= 480 && c.y + c.height <= 800, "\(c)")
      #expect(c.height > c.width, "a card on a turned panel is tall: \(c)")
    }
    let card = try #require(status.cards?.last)
    for _ in 0..<3 { _ = try ctl(k, ["input", "tap"] + center(card)) }
    let after = try k.status()
    #expect(after.selected == card.id)
    #expect(after.selectedTicketId == card.id)
    #expect(after.tickets == 4)
    #expect(try operations(k).isEmpty, "a tap never bumps")
    // A tap on each card in turn selects each, and still bumps nothing.
    for c in status.cards ?? [] {
      _ = try ctl(k, ["input", "tap"] + center(c))
      #expect(try k.status().selected == c.id)
    }
    #expect(try operations(k).isEmpty)
    #expect(k.terminate() == 0)
  }

  @Test func aHoldBumpsExactlyOneAndAShortHoldNothing() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 3)
    let dir = TempDir()
    let k = try kiosk(r, dir)
    defer { _ = k.terminate() }
    let status = try drawn(k, tickets: 3)
    let first = try #require(status.cards?.first)
    #expect(first.id == ids[0])

    // Lifted after 150 ms of the 600 a bump needs: it was a tap, it selects.
    let reply = try ctl(k, ["input", "hold"] + center(first) + ["--ms", "150"])
    #expect(reply.contains("holding"), "\(reply)")
    #expect(
      waitFor("the short hold lifted (it selects)") { (try? k.status())?.selected == first.id })
    #expect(try k.status().tickets == 3)
    #expect(try operations(k).isEmpty, "a short hold does nothing")

    // Held 1.5 s: one bump, on the daemon's own timer, and only one (the
    // card sliding into its place under the finger is not bumped).
    _ = try ctl(k, ["input", "hold"] + center(first) + ["--ms", "1500"])
    #expect(waitFor("bumped") { (try? k.status())?.tickets == 2 })
    #expect(
      waitFor("the bump reached the server") {
        (try? syncStatuses(r))?[ids[0]] == "READY"
      })
    // The lift comes after the bump: wait for the selection that follows.
    let ops = try operations(k)
    #expect(ops.map(\.kind) == ["bump"])
    #expect(ops.map(\.ticketId) == [ids[0]])
    let states = try syncStatuses(r)
    #expect(states[ids[1]] == "QUEUED" && states[ids[2]] == "QUEUED", "\(states)")
    #expect(try k.status().tickets == 2)
    #expect(k.log.contains("hold card \(ids[0])"), "\(k.log)")
    #expect(k.terminate() == 0)
  }

  @Test func holdOnTheStatusChipStartsTheTicket() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 2)
    let dir = TempDir()
    let k = try kiosk(r, dir)
    defer { _ = k.terminate() }
    let status = try drawn(k, tickets: 2)
    let card = try #require(status.cards?.first { $0.id == ids[1] })
    // The chip is right-aligned on the line under the header (the layout's
    // metrics for this screen say where).
    let m = BoardMetrics(width: 800, height: 480)
    let chipY = card.y + m.headerHeight + m.metaHeight / 2
    let chipX = card.x + card.width - m.pad - 8
    _ = try ctl(k, ["input", "hold", String(chipX), String(chipY), "--ms", "1200"])
    #expect(
      waitFor("started on the server") { (try? syncStatuses(r))?[ids[1]] == "IN_PROGRESS" },
      "\(k.log)")
    let ops = try operations(k)
    #expect(ops.map(\.kind) == ["start"])
    #expect(try k.status().tickets == 2, "a start leaves the card on screen")
  }

  @Test func enterOnPageTwoBumpsAPageTwoTicket() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 20, items: 3)
    let dir = TempDir()
    let k = try kiosk(r, dir)
    defer { _ = k.terminate() }
    let page1 = try drawn(k, tickets: 20)
    let pageCount = try #require(page1.pageCount)
    #expect(pageCount >= 2, "20 tickets need two pages at 800x480: \(page1)")
    let firstPageIds = Set((page1.cards ?? []).map(\.id))
    _ = try ctl(k, ["input", "key", "KEY_PAGEDOWN"])
    var page2 = try k.status()
    #expect(
      waitFor("page 2 drawn") {
        page2 = (try? k.status()) ?? page2
        return page2.page == 1 && Set((page2.cards ?? []).map(\.id)) != firstPageIds
      })
    let target = try #require(page2.cards?.first { !firstPageIds.contains($0.id) })
    #expect(page2.selected == nil)
    // Nothing selected: Enter bumps the first card of the page shown, never
    // the oldest ticket (which is on page 1, out of sight).
    let shownFirst = try #require(page2.cards?.first)
    let reply = try ctl(k, ["input", "key", "KEY_ENTER"])
    #expect(reply.contains("KEY_ENTER"), "\(reply)")
    let ops = try operations(k)
    #expect(ops.count == 1)
    #expect(ops.first?.ticketId == shownFirst.id)
    #expect(ops.first?.ticketId != ids[0])
    #expect(!firstPageIds.contains(target.id))
    // A key with no action in the map is refused, and says so.
    let (code, _, why) = try run(k, ["input", "key", "KEY_F12"])
    #expect(code == 1)
    #expect(why.contains("KEY_F12 is not mapped"), "\(why)")
    let (code2, _, why2) = try run(k, ["input", "key", "KEY_NOSUCH"])
    #expect(code2 == 1)
    #expect(why2.contains("unknown key KEY_NOSUCH"), "\(why2)")
  }

  @Test func arrowPastTheLastCardTurnsThePage() async throws {
    let r = try Restaurant()
    _ = try await r.sendTickets(count: 20, items: 3)
    let dir = TempDir()
    let k = try kiosk(r, dir)
    defer { _ = k.terminate() }
    let page1 = try drawn(k, tickets: 20)
    #expect((page1.pageCount ?? 0) >= 2)
    let cards = try #require(page1.cards)
    // The first Down selects the first card; one per card reaches the last.
    for _ in 0..<cards.count { _ = try ctl(k, ["input", "key", "KEY_DOWN"]) }
    var s = try k.status()
    #expect(s.page == 0)
    #expect(s.selected == cards.last?.id)
    _ = try ctl(k, ["input", "key", "KEY_DOWN"])
    #expect(
      waitFor("page 2 with the selection on it") {
        s = (try? k.status()) ?? s
        return s.page == 1 && (s.cards ?? []).contains { $0.id == s.selected }
          && s.selected != cards.last?.id
      }, "\(s)")
    // Back up past its first card: page 1 again, its last card selected.
    let selectedOnPage2 = s.selected
    let index = (s.cards ?? []).firstIndex { $0.id == selectedOnPage2 } ?? 0
    for _ in 0...index { _ = try ctl(k, ["input", "key", "KEY_UP"]) }
    s = try k.status()
    #expect(s.page == 0)
    #expect(s.selected == cards.last?.id || cards.contains { $0.id == s.selected })
    #expect(try operations(k).isEmpty, "moving never bumps")
  }

  @Test func withoutAScreenKeysWorkAndTouchesAreRefused() async throws {
    let r = try Restaurant()
    let ids = try await r.sendTickets(count: 3)
    let dir = TempDir()
    let k = try KioskProcess(
      server: r.server.baseURL, token: try r.token("k", stations: ["grill"]),
      db: dir.file("kiosk.db"), socket: dir.file("ctl.sock"), log: dir.file("kiosk.log"))
    defer { _ = k.terminate() }
    try k.waitReady()
    #expect(waitFor("synced") { (try? k.status().tickets) == 3 })
    let s = try k.status()
    #expect(s.cards == [])
    #expect(s.pageCount == nil)
    let (code, _, why) = try run(k, ["input", "tap", "10", "10"])
    #expect(code == 1)
    #expect(why.contains("no screen"), "\(why)")
    _ = try ctl(k, ["input", "key", "KEY_DOWN"])
    _ = try ctl(k, ["input", "key", "KEY_DOWN"])
    #expect(try k.status().selected == ids[1])
    _ = try ctl(k, ["input", "key", "KEY_ENTER"])
    #expect(try operations(k).map(\.ticketId) == [ids[1]])
  }
}
