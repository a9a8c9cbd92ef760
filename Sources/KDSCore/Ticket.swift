#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// A ticket's status on the wire. Values the kiosk does not know are kept as
/// `.unknown` so the ticket stays in the cache (and is not drawn).
public enum TicketStatus: Hashable, Sendable, Codable, CustomStringConvertible {
  case queued
  case inProgress
  case ready
  case cancelled
  /// A later course waiting to be fired (extension, issue 14): drawn grey, no timer.
  case held
  /// Handed to the guest by the expo (extension, issue 14): leaves every screen.
  case served
  case unknown(String)

  public init(wire: String) {
    switch wire {
    case "QUEUED": self = .queued
    case "IN_PROGRESS": self = .inProgress
    case "READY": self = .ready
    case "CANCELLED": self = .cancelled
    case "HELD": self = .held
    case "SERVED": self = .served
    default: self = .unknown(wire)
    }
  }

  public var wire: String {
    switch self {
    case .queued: "QUEUED"
    case .inProgress: "IN_PROGRESS"
    case .ready: "READY"
    case .cancelled: "CANCELLED"
    case .held: "HELD"
    case .served: "SERVED"
    case .unknown(let s): s
    }
  }

  public var description: String { wire }

  /// Whether a kitchen screen shows a ticket in this status.
  public var isActive: Bool { self == .queued || self == .inProgress }

  public init(from decoder: any Decoder) throws {
    self.init(wire: try decoder.singleValueContainer().decode(String.self))
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(wire)
  }
}

/// Dine-in, takeaway or delivery. Unknown values are kept as text.
public enum OrderType: Hashable, Sendable, Codable {
  case dineIn
  case takeaway
  case delivery
  case other(String)

  public init(wire: String) {
    switch wire {
    case "DINE_IN": self = .dineIn
    case "TAKEAWAY": self = .takeaway
    case "DELIVERY": self = .delivery
    default: self = .other(wire)
    }
  }

  public var wire: String {
    switch self {
    case .dineIn: "DINE_IN"
    case .takeaway: "TAKEAWAY"
    case .delivery: "DELIVERY"
    case .other(let s): s
    }
  }

  public init(from decoder: any Decoder) throws {
    self.init(wire: try decoder.singleValueContainer().decode(String.self))
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(wire)
  }
}

/// One line of a ticket: `2 x Beef burger`, its modifiers, notes and course.
public struct TicketItem: Hashable, Sendable, Codable {
  public var id: String?
  public var name: String
  public var quantity: Int
  public var modifiers: [String]
  public var notes: String?
  public var course: Int?
  /// When a cook marked this line done (item-level bump, extension, issue 14);
  /// nil while it is still to cook.
  public var doneAt: Timestamp?

  public init(
    id: String? = nil, name: String, quantity: Int, modifiers: [String] = [],
    notes: String? = nil, course: Int? = nil, doneAt: Timestamp? = nil
  ) {
    self.id = id
    self.name = name
    self.quantity = quantity
    self.modifiers = modifiers
    self.notes = notes
    self.course = course
    self.doneAt = doneAt
  }

  /// Marked done (struck through and dimmed on the card).
  public var isDone: Bool { doneAt != nil }

  enum CodingKeys: String, CodingKey { case id, name, quantity, modifiers, notes, course, doneAt }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    id = try c.decodeIfPresent(String.self, forKey: .id)
    name = DrawnText.clamp(try c.decode(String.self, forKey: .name), to: DrawnText.maxName)
    quantity = DrawnText.clamp(quantity: try c.decode(Int.self, forKey: .quantity))
    modifiers = (try c.decodeIfPresent([String].self, forKey: .modifiers) ?? [])
      .prefix(DrawnText.maxModifiers).map { DrawnText.clamp($0, to: DrawnText.maxModifier) }
    let rawNotes = try c.decodeIfPresent(String.self, forKey: .notes)
      .map { DrawnText.clamp($0, to: DrawnText.maxNotes) }
    notes = (rawNotes?.isEmpty ?? true) ? nil : rawNotes
    course = try c.decodeIfPresent(Int.self, forKey: .course)
    doneAt = try? c.decodeIfPresent(Timestamp.self, forKey: .doneAt)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encodeIfPresent(id, forKey: .id)
    try c.encode(name, forKey: .name)
    try c.encode(quantity, forKey: .quantity)
    if !modifiers.isEmpty { try c.encode(modifiers, forKey: .modifiers) }
    try c.encodeIfPresent(notes, forKey: .notes)
    try c.encodeIfPresent(course, forKey: .course)
    try c.encodeIfPresent(doneAt, forKey: .doneAt)
  }

  /// Whether the notes mention an allergen of the standard list (`AllergenList.standard`).
  public var isAllergyNote: Bool { AllergenList.standard.matchesNotes(of: self) }
}

/// The allergens a kitchen must not miss (`allergens =` in kiosk.conf): a
/// note or a modifier naming one, as a whole word, any case, singular or
/// plural ("peanut", "Peanuts", "PEANUT-free"), gets the allergy band.
public struct AllergenList: Hashable, Sendable {
  /// The entries as configured, lower-cased; an entry may be several words ("tree nut").
  public let words: [String]
  let phrases: [[String]]

  /// The 14 allergen groups of EU Regulation 1169/2011 (cereals with gluten,
  /// crustaceans, eggs, fish, peanuts, soybeans, milk, nuts, celery, mustard,
  /// sesame, sulphur dioxide and sulphites, lupin, molluscs), the words
  /// kitchens write for them, and the words of an allergy note itself.
  public static let standardWords: [String] = [
    "gluten", "wheat", "rye", "barley", "oat", "spelt", "crustacean", "shellfish", "prawn",
    "shrimp", "crab", "lobster", "egg", "fish", "peanut", "soy", "soya", "soybean", "milk",
    "dairy", "lactose", "nut", "tree nut", "almond", "hazelnut", "walnut", "cashew", "pecan",
    "pistachio", "macadamia", "celery", "celeriac", "mustard", "sesame", "sulphite", "sulfite",
    "sulphur dioxide", "sulfur dioxide", "lupin", "lupine", "mollusc", "mollusk", "allergy",
    "allergic", "allergen", "anaphylaxis", "anaphylactic", "coeliac", "celiac",
  ]

  public static let standard = AllergenList(standardWords)

  /// Longest entry, in characters, and most entries `allergens =` may hold.
  public static let maxWordLength = 40
  public static let maxWords = 200

  public init(_ words: [String]) {
    var seen = Set<String>()
    var kept: [String] = []
    var phrases: [[String]] = []
    for w in words {
      let tokens = Self.tokens(w)
      guard !tokens.isEmpty else { continue }
      let key = tokens.joined(separator: " ")
      if seen.insert(key).inserted {
        kept.append(key)
        phrases.append(tokens)
      }
    }
    self.words = kept
    self.phrases = phrases
  }

  public static func == (a: AllergenList, b: AllergenList) -> Bool { a.words == b.words }
  public func hash(into h: inout Hasher) { h.combine(words) }

  /// Whether `text` names an allergen of the list as a whole word (or words).
  public func matches(_ text: String) -> Bool {
    let tokens = Self.tokens(text)
    guard !tokens.isEmpty else { return false }
    for phrase in phrases where phrase.count <= tokens.count {
      for start in 0...(tokens.count - phrase.count) {
        var all = true
        for (k, w) in phrase.enumerated() {
          let t = tokens[start + k]
          // Only the last word of an entry takes a plural: "tree nuts".
          if k == phrase.count - 1 ? !Self.isForm(t, of: w) : t != w {
            all = false
            break
          }
        }
        if all { return true }
      }
    }
    return false
  }

  /// The item's notes name an allergen.
  public func matchesNotes(of item: TicketItem) -> Bool {
    item.notes.map(matches) ?? false
  }

  /// The indexes of the item's modifiers that name an allergen.
  public func matchingModifiers(of item: TicketItem) -> [Int] {
    item.modifiers.indices.filter { matches(item.modifiers[$0]) }
  }

  /// Whether any note or modifier of the ticket names an allergen (the card
  /// has an allergy band).
  public func matches(_ ticket: Ticket) -> Bool {
    ticket.items.contains { matchesNotes(of: $0) || !matchingModifiers(of: $0).isEmpty }
  }

  /// `token` is `word` or a plural of it: -s, -es, -y to -ies.
  static func isForm(_ token: String, of word: String) -> Bool {
    if token == word || token == word + "s" || token == word + "es" { return true }
    if word.hasSuffix("y"), token == word.dropLast() + "ies" { return true }
    return false
  }

  /// Lower-cased words: runs of letters and digits (hyphens, spaces and
  /// punctuation separate them).
  static func tokens(_ text: String) -> [String] {
    var out: [String] = []
    var current = ""
    for ch in text.lowercased() {
      if ch.isLetter || ch.isNumber {
        current.append(ch)
      } else if !current.isEmpty {
        out.append(current)
        current = ""
      }
    }
    if !current.isEmpty { out.append(current) }
    return out
  }
}

/// A kitchen ticket as the server sends it (`GET /kds/queue`).
public struct Ticket: Hashable, Sendable, Codable, Identifiable {
  public var id: String
  public var orderId: String
  public var orderNumber: String?
  public var station: String
  public var status: TicketStatus
  public var sentAt: Timestamp
  public var updatedAt: Timestamp
  public var waiterName: String?
  public var tableName: String?
  public var orderType: OrderType?
  public var slaState: SLAState?
  public var items: [TicketItem]
  /// `"RUSH"` for a rush order (extension, issue 14); other values are kept.
  public var priority: String?
  /// The course this ticket carries (extension, issue 14): a HELD ticket of
  /// course 2 waits for `fire-course`.
  public var course: Int?

  public init(
    id: String, orderId: String, orderNumber: String? = nil, station: String,
    status: TicketStatus, sentAt: Timestamp, updatedAt: Timestamp, waiterName: String? = nil,
    tableName: String? = nil, orderType: OrderType? = nil, slaState: SLAState? = nil,
    items: [TicketItem], priority: String? = nil, course: Int? = nil
  ) {
    self.priority = priority
    self.course = course
    self.id = id
    self.orderId = orderId
    self.orderNumber = orderNumber
    self.station = station
    self.status = status
    self.sentAt = sentAt
    self.updatedAt = updatedAt
    self.waiterName = waiterName
    self.tableName = tableName
    self.orderType = orderType
    self.slaState = slaState
    self.items = items
  }

  enum CodingKeys: String, CodingKey {
    case id, orderId, orderNumber, station, status, sentAt, updatedAt, waiterName, tableName,
      orderType, slaState, items, priority, course
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    id = try c.decode(String.self, forKey: .id)
    orderId = try c.decode(String.self, forKey: .orderId)
    orderNumber = try c.decodeIfPresent(String.self, forKey: .orderNumber)
    station = try c.decode(String.self, forKey: .station)
    status = try c.decode(TicketStatus.self, forKey: .status)
    sentAt = try c.decode(Timestamp.self, forKey: .sentAt)
    updatedAt = try c.decode(Timestamp.self, forKey: .updatedAt)
    waiterName = try c.decodeIfPresent(String.self, forKey: .waiterName)
      .map { DrawnText.clamp($0, to: DrawnText.maxWaiter) }
    tableName = try c.decodeIfPresent(String.self, forKey: .tableName)
      .map { DrawnText.clamp($0, to: DrawnText.maxTable) }
    orderType = try c.decodeIfPresent(OrderType.self, forKey: .orderType)
    slaState = try? c.decodeIfPresent(SLAState.self, forKey: .slaState)
    items = try c.decode([TicketItem].self, forKey: .items)
    priority = (try? c.decodeIfPresent(String.self, forKey: .priority))
      .flatMap { $0 }.map { DrawnText.clamp($0, to: 20) }
    course = try? c.decodeIfPresent(Int.self, forKey: .course)
    guard !id.isEmpty else {
      throw DecodingError.dataCorruptedError(
        forKey: .id, in: c, debugDescription: "empty ticket id")
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(id, forKey: .id)
    try c.encode(orderId, forKey: .orderId)
    try c.encodeIfPresent(orderNumber, forKey: .orderNumber)
    try c.encode(station, forKey: .station)
    try c.encode(status, forKey: .status)
    try c.encode(sentAt, forKey: .sentAt)
    try c.encode(updatedAt, forKey: .updatedAt)
    try c.encodeIfPresent(waiterName, forKey: .waiterName)
    try c.encodeIfPresent(tableName, forKey: .tableName)
    try c.encodeIfPresent(orderType, forKey: .orderType)
    try c.encodeIfPresent(slaState, forKey: .slaState)
    try c.encode(items, forKey: .items)
    try c.encodeIfPresent(priority, forKey: .priority)
    try c.encodeIfPresent(course, forKey: .course)
  }

  /// A rush order: sorted first, with a red RUSH band.
  public var isRush: Bool { priority == "RUSH" }

  /// Every line is marked done ("all done"); a bump is still the cook's call.
  public var allItemsDone: Bool { !items.isEmpty && items.allSatisfy(\.isDone) }

  /// The number a chef calls out: the order number, or the order id's tail.
  public var displayNumber: String {
    if let orderNumber, !orderNumber.isEmpty { return orderNumber }
    return String(orderId.suffix(6))
  }
}

/// Decodes a JSON array of tickets, keeping every ticket that decodes and
/// reporting the rest, so one malformed ticket never costs the whole answer.
public struct TicketBatch: Sendable {
  public var tickets: [Ticket]
  /// One entry per skipped element: its index and why it was skipped.
  public var skipped: [(index: Int, reason: String)]

  public init(tickets: [Ticket], skipped: [(index: Int, reason: String)]) {
    self.tickets = tickets
    self.skipped = skipped
  }
}

/// Wraps one array element: either a ticket, or why it could not be one.
struct LossyTicket: Decodable {
  var result: Result<Ticket, any Error>

  init(from decoder: any Decoder) throws {
    do {
      result = .success(try Ticket(from: decoder))
    } catch {
      result = .failure(error)
    }
  }
}

extension TicketBatch {
  /// Decodes a `GET /kds/queue` answer. Throws only when the body is not a JSON
  /// array at all; a bad element is skipped and named in `skipped`.
  public static func decode(_ data: Data) throws -> TicketBatch {
    let elements = try JSONDecoder().decode([LossyTicket].self, from: data)
    var batch = TicketBatch(tickets: [], skipped: [])
    batch.tickets.reserveCapacity(elements.count)
    for (index, element) in elements.enumerated() {
      switch element.result {
      case .success(let ticket): batch.tickets.append(ticket)
      case .failure(let error): batch.skipped.append((index, describe(error)))
      }
    }
    return batch
  }
}

/// A one-line description of a decoding error, naming the field at fault.
public func describe(_ error: any Error) -> String {
  guard let error = error as? DecodingError else { return String(describing: error) }
  func path(_ keys: [any CodingKey]) -> String {
    keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
  }
  switch error {
  case .keyNotFound(let key, let ctx):
    return "missing field \(path(ctx.codingPath + [key]))"
  case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx):
    return "wrong type at \(path(ctx.codingPath)): \(ctx.debugDescription)"
  case .dataCorrupted(let ctx):
    return "bad value at \(path(ctx.codingPath)): \(ctx.debugDescription)"
  @unknown default:
    return String(describing: error)
  }
}

/// What the kiosk draws from a server it may not control, clamped on decoding
/// (docs/sync-contract.md, Kiosk: what it draws): quantities to 1-999, texts
/// to a length in Unicode scalars, and no control or bidi-override character
/// (a control character becomes a space, a bidi override is dropped), so a
/// hostile or broken server cannot hide, reorder or overflow what a chef reads.
public enum DrawnText {
  public static let maxName = 200
  public static let maxNotes = 500
  public static let maxModifier = 100
  public static let maxModifiers = 50
  public static let maxWaiter = 100
  public static let maxTable = 100
  public static let quantityRange = 1...999

  public static func clamp(quantity: Int) -> Int {
    min(max(quantity, quantityRange.lowerBound), quantityRange.upperBound)
  }

  /// `text` without bidi overrides, with control characters as spaces, cut
  /// to `max` Unicode scalars (the last one an ellipsis when cut).
  public static func clamp(_ text: String, to max: Int) -> String {
    var scalars = String.UnicodeScalarView()
    var count = 0
    var cut = false
    for c in text.unicodeScalars {
      if isBidiControl(c) { continue }
      if count == max {
        cut = true
        break
      }
      scalars.append(isControl(c) ? " " : c)
      count += 1
    }
    if cut, max > 0 {
      scalars.removeLast()
      scalars.append("\u{2026}")
    }
    return String(scalars)
  }

  /// C0 controls, DEL and C1 controls.
  static func isControl(_ c: Unicode.Scalar) -> Bool {
    c.value < 0x20 || (0x7F...0x9F).contains(c.value)
  }

  /// The bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069).
  static func isBidiControl(_ c: Unicode.Scalar) -> Bool {
    (0x202A...0x202E).contains(c.value) || (0x2066...0x2069).contains(c.value)
  }
}
