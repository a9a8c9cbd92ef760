import ArgumentParser
import KDSCore
import KDSDisplay
import KDSGeometry
import KDSKiosk
import KDSRender
import KDSSystem

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `kds-kiosk render`: a ticket list to PNG. Owned by the renderer work (issue 4).
struct RenderCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "render", abstract: "Render a ticket list (JSON) to a PNG file.")

  @Option(help: "A JSON array of tickets, as GET /kds/queue answers.")
  var tickets: String

  @Option(
    help: """
      The screen size WIDTHxHEIGHT as the panel reports it (e.g. 1920x1080); with \
      --rotate 90 or 270 the board is laid out on HEIGHTxWIDTH and turned.
      """)
  var size: String = "1920x1080"

  @Option(help: "The clock (RFC 3339); default: the latest time in the file.")
  var now: String?

  @Option(help: "Turn the frame clockwise: 0, 90, 180 or 270.")
  var rotate: Int = 0

  @Option(help: "Connection banner: connected, reconnecting or offline.")
  var banner: String = "connected"

  @Option(help: "The station name shown in the banner.")
  var station: String = "Kitchen"

  @Option(help: "Text size multiplier (1.0 = automatic).")
  var zoom: Double = 1.0

  @Option(help: "The page to draw (1-based).")
  var page: Int = 1

  @Option(help: "A folder holding DejaVuSans.ttf and DejaVuSans-Bold.ttf.")
  var fonts: String?

  @Option(
    help: """
      What to draw: tickets, all-day (the cards with the all-day counts beside them) or \
      recall (the list of the last bumped tickets: the file's READY ones, newest first).
      """)
  var view: String = "tickets"

  @Flag(help: "Draw the expo screen: one card per order (also with --station expo).")
  var expo = false

  @Flag(help: "Say in the banner that item marks stay on this screen (server without them).")
  var itemMarksLocal = false

  @Option(help: "The PNG file to write.")
  var out: String

  func run() throws {
    let parts = size.lowercased().split(separator: "x")
    guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w >= 64, h >= 64,
      w <= 8192, h <= 8192
    else {
      throw ValidationError("--size must be WIDTHxHEIGHT between 64 and 8192, got \(size)")
    }
    guard let rotation = Rotation(degrees: rotate), rotate % 90 == 0 else {
      throw ValidationError("--rotate must be 0, 90, 180 or 270, got \(rotate)")
    }
    guard let boardView = BoardView(rawValue: view) else {
      throw ValidationError("--view must be tickets, all-day or recall, got \(view)")
    }
    guard let connection = ConnectionState(rawValue: banner) else {
      throw ValidationError("--banner must be connected, reconnecting or offline, got \(banner)")
    }
    guard let data = FileManager.default.contents(atPath: tickets) else {
      throw ValidationError("cannot read \(tickets)")
    }
    let batch: TicketBatch
    do {
      batch = try TicketBatch.decode(data)
    } catch {
      throw ValidationError("\(tickets) is not a JSON array of tickets: \(describe(error))")
    }
    for skip in batch.skipped {
      RenderLog.write("kds-kiosk render: skipped ticket [\(skip.index)]: \(skip.reason)")
    }
    let clock: Timestamp
    if let now {
      guard let t = Timestamp(iso8601: now) else {
        throw ValidationError("--now must be an RFC 3339 timestamp, got \(now)")
      }
      clock = t
    } else {
      clock =
        batch.tickets.map { max($0.sentAt, $0.updatedAt) }.max() ?? Timestamp(millis: 0)
    }
    var snapshot = BoardSnapshot(
      station: station, tickets: batch.tickets, now: clock, connection: connection,
      page: max(0, page - 1), zoom: zoom,
      clockUTCOffsetSeconds: SystemClock.localOffsetSeconds(atWallMillis: clock.millis))
    snapshot.view = boardView
    snapshot.isExpo = expo || station.trimmingCharacters(in: .whitespaces).lowercased() == "expo"
    snapshot.itemMarksLocal = itemMarksLocal
    if boardView == .recall {
      // The file's READY tickets stand for the ones bumped here, newest first.
      snapshot.recallList = batch.tickets.filter { $0.status == .ready }
        .sorted { ($0.updatedAt, $0.id) > ($1.updatedAt, $1.id) }.prefix(50)
        .map {
          RecallEntry(
            ticketId: $0.id, orderNumber: cardNumber($0), tableName: $0.tableName,
            bumpedAt: $0.updatedAt)
        }
      snapshot.selectedRecallIndex = snapshot.recallList.isEmpty ? nil : 0
    }
    switch connection {
    case .connected: snapshot.lastSyncAt = clock.adding(seconds: -3)
    case .reconnecting: snapshot.pendingOperations = 2
    case .offline: snapshot.pendingOperations = 3
    }
    let logical = rotation.logicalSize(physical: Size(width: w, height: h))
    let renderer: BoardRenderer
    do {
      renderer = BoardRenderer(
        width: logical.width, height: logical.height, fonts: try FontLocator.load(explicit: fonts))
    } catch {
      throw ValidationError("\(error)")
    }
    renderer.render(snapshot)
    let frame: Canvas
    if rotation == .none {
      frame = renderer.canvas
    } else {
      frame = Canvas(width: w, height: h)
      frame.copyRotated(from: renderer.canvas.frame, rotation: rotation)
    }
    try PNGFile.write(frame, to: out)
    let layout = renderer.layout
    let drawn: String
    if layout.isExpo {
      drawn = "\(layout.expoCards.count) orders, \(layout.visibleExpoCards.count) cards"
    } else if boardView == .recall {
      drawn = "\(snapshot.recallList.count) recall rows, \(layout.panel?.rows.count ?? 0) shown"
    } else {
      drawn =
        "\(layout.tickets.count) tickets, \(layout.visibleFragments.count) cards"
        + (boardView == .allDay ? ", \(layout.panel?.groups.count ?? 0) all-day dishes" : "")
    }
    RenderLog.write(
      "kds-kiosk render: \(drawn), page \(layout.page + 1)/\(layout.pageCount), wrote \(out)")
  }
}

/// One log line to stderr.
enum RenderLog {
  static func write(_ line: String) {
    var text = line
    text.append("\n")
    _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
  }
}
