import KDSGeometry

/// What a kiosk that cannot show tickets yet draws instead (issue 13): the
/// SETUP screen (a missing or bad configuration: what is wrong, what the
/// kiosk sees, what to do) or the PAIRING screen (a code a manager approves
/// on the server). A plain value: the kiosk builds it, `SetupScreenRenderer`
/// draws it, tests and `kds-kiosk render-setup` build it from fixed inputs.
public struct SetupScreen: Hashable, Sendable {
  public enum Kind: String, Hashable, Sendable {
    case setup, pairing
  }

  /// One "label: value" line of what the kiosk sees.
  public struct Fact: Hashable, Sendable {
    public var label: String
    public var value: String
    /// Drawn in the alert colour (a server that did not answer, say).
    public var isProblem: Bool

    public init(_ label: String, _ value: String, isProblem: Bool = false) {
      self.label = label
      self.value = value
      self.isProblem = isProblem
    }
  }

  /// The pairing screen's big panel.
  public struct Pairing: Hashable, Sendable {
    /// The six digits; nil while the kiosk is asking the server for one.
    public var code: String?
    /// The station the code proposes (the manager may pick another one).
    public var station: String?
    public var server: String
    /// Seconds until the code expires.
    public var secondsLeft: Int?
    /// What is happening now ("Waiting for approval", a network error).
    public var state: String
    public var stateIsProblem: Bool

    public init(
      code: String?, station: String?, server: String, secondsLeft: Int?, state: String,
      stateIsProblem: Bool = false
    ) {
      self.code = code
      self.station = station
      self.server = server
      self.secondsLeft = secondsLeft
      self.state = state
      self.stateIsProblem = stateIsProblem
    }
  }

  public var kind: Kind
  /// One line under the title ("The configuration has an error").
  public var headline: String
  /// What is wrong, one entry per problem, each naming its file and line.
  public var problems: [String]
  public var facts: [Fact]
  /// What to do next, in order.
  public var steps: [String]
  public var pairing: Pairing?
  /// The clock in the title bar (local time, `14:05:09`).
  public var clock: String

  public init(
    kind: Kind, headline: String, problems: [String] = [], facts: [Fact] = [],
    steps: [String] = [], pairing: Pairing? = nil, clock: String = ""
  ) {
    self.kind = kind
    self.headline = headline
    self.problems = problems
    self.facts = facts
    self.steps = steps
    self.pairing = pairing
    self.clock = clock
  }

  /// `482913` as `482 913`: easier to read out and to type.
  public static func spacedCode(_ code: String) -> String {
    guard code.count == 6 else { return code }
    return String(code.prefix(3)) + " " + String(code.suffix(3))
  }

  /// `9:05` for 545 seconds.
  public static func minutesSeconds(_ seconds: Int) -> String {
    let s = max(0, seconds)
    let rest = s % 60
    return "\(s / 60):\(rest < 10 ? "0" : "")\(rest)"
  }
}

/// Draws a `SetupScreen` into its own canvas, in type large enough to read
/// from two metres: the sizes scale with the shorter side of the screen (the
/// reference is 1280x800, where body text is 28 px and the pairing code 160 px).
public final class SetupScreenRenderer {
  public let canvas: Canvas
  public let text: TextEngine
  public private(set) var lastScreen: SetupScreen?

  let background = Color(rgb: 0x111418)
  let setupBar = Color(rgb: 0xF9A825)
  let setupBarText = Color(rgb: 0x111111)
  let pairingBar = Color(rgb: 0x1565C0)
  let pairingBarText = Color(rgb: 0xFFFFFF)
  let headlineColor = Color(rgb: 0xFFFFFF)
  let problemBand = Color(rgb: 0x4A1C1C)
  let problemEdge = Color(rgb: 0xFF5252)
  let problemText = Color(rgb: 0xFFE0E0)
  let sectionColor = Color(rgb: 0x8C96A5)
  let labelColor = Color(rgb: 0xAAB3BF)
  let valueColor = Color(rgb: 0xF2F4F7)
  let alertColor = Color(rgb: 0xFF8A80)
  let stepColor = Color(rgb: 0xFFD97A)
  let codeColor = Color(rgb: 0xFFFFFF)
  let codePanel = Color(rgb: 0x1F2D40)

  public init(width: Int, height: Int, text: TextEngine) {
    canvas = Canvas(width: width, height: height)
    self.text = text
  }

  public convenience init(width: Int, height: Int, fonts: FontSet) {
    self.init(width: width, height: height, text: TextEngine(fonts: fonts))
  }

  /// Scale of the type against the 1280x800 reference (never below 0.6).
  var scale: Double {
    max(0.6, min(Double(canvas.width) / 1280, Double(canvas.height) / 800))
  }

  func px(_ reference: Double) -> Int { max(10, Int((reference * scale).rounded())) }

  /// Draws `screen`; returns false (and draws nothing) when it is the one
  /// already drawn.
  @discardableResult
  public func render(_ screen: SetupScreen) -> Bool {
    if screen == lastScreen { return false }
    lastScreen = screen
    canvas.clip = canvas.bounds
    canvas.fill(canvas.bounds, background)
    let margin = px(40)
    let width = canvas.width - 2 * margin
    var y = drawTitleBar(screen)
    y += px(26)
    y = drawWrapped(
      screen.headline, .bold(px(40)), color: headlineColor, x: margin, y: y, width: width,
      maxLines: 2)
    y += px(14)
    if let pairing = screen.pairing {
      y = drawPairing(pairing, x: margin, y: y, width: width)
      y += px(14)
    }
    if !screen.problems.isEmpty {
      y = drawProblems(screen.problems, x: margin, y: y, width: width)
      y += px(18)
    }
    // Facts and steps: side by side on a wide screen, stacked on a narrow one.
    let bottom = canvas.height - px(20)
    if canvas.width >= canvas.height {
      let gap = px(40)
      let leftWidth = (width - gap) * 11 / 20
      let rightX = margin + leftWidth + gap
      drawFacts(screen.facts, x: margin, y: y, width: leftWidth, bottom: bottom)
      drawSteps(screen.steps, x: rightX, y: y, width: width - leftWidth - gap, bottom: bottom)
    } else {
      let after = drawFacts(screen.facts, x: margin, y: y, width: width, bottom: bottom)
      drawSteps(screen.steps, x: margin, y: after + px(18), width: width, bottom: bottom)
    }
    return true
  }

  // MARK: parts

  /// The coloured bar: SETUP or PAIRING, and the clock. Returns its bottom.
  func drawTitleBar(_ screen: SetupScreen) -> Int {
    let height = px(92)
    let (bar, ink) =
      screen.kind == .setup ? (setupBar, setupBarText) : (pairingBar, pairingBarText)
    canvas.fill(Rect(x: 0, y: 0, width: canvas.width, height: height), bar)
    let titleStyle = TextStyle.bold(px(58))
    let title = text.run(screen.kind == .setup ? "SETUP" : "PAIRING", titleStyle)
    let m = text.metrics(titleStyle)
    let baseline = (height + m.ascent - m.descent) / 2
    text.draw(title, on: canvas, x: px(40), baseline: baseline, color: ink)
    if !screen.clock.isEmpty {
      let clockStyle = TextStyle.bold(px(40))
      let clock = text.run(screen.clock, clockStyle)
      let cm = text.metrics(clockStyle)
      text.draw(
        clock, on: canvas, x: canvas.width - px(40) - clock.width,
        baseline: (height + cm.ascent - cm.descent) / 2, color: ink)
    }
    let subtitle = screen.kind == .setup ? "kitchen display" : "connect this screen"
    let subStyle = TextStyle.regular(px(28))
    let sub = text.run(subtitle, subStyle)
    let subX = px(40) + title.width + px(28)
    let clockWidth = screen.clock.isEmpty ? 0 : text.width(screen.clock, .bold(px(40))) + px(60)
    if subX + sub.width < canvas.width - clockWidth {
      let sm = text.metrics(subStyle)
      text.draw(
        sub, on: canvas, x: subX, baseline: (height + sm.ascent - sm.descent) / 2, color: ink)
    }
    return height
  }

  /// Lines of `string` wrapped to `width` from top `y`; returns the bottom.
  @discardableResult
  func drawWrapped(
    _ string: String, _ style: TextStyle, color: Color, x: Int, y: Int, width: Int,
    maxLines: Int = 8, bottom: Int? = nil
  ) -> Int {
    let m = text.metrics(style)
    let lineHeight = m.lineHeight + style.px / 8
    var lines = text.wrap(string, style, width: width)
    if lines.count > maxLines {
      lines = Array(lines.prefix(maxLines))
      lines[maxLines - 1] = text.ellipsize(lines[maxLines - 1] + " …", style, width: width)
    }
    var top = y
    for line in lines {
      if let bottom, top + lineHeight > bottom { break }
      text.draw(text.run(line, style), on: canvas, x: x, baseline: top + m.ascent, color: color)
      top += lineHeight
    }
    return top
  }

  func drawProblems(_ problems: [String], x: Int, y: Int, width: Int) -> Int {
    let style = TextStyle.bold(px(30))
    let pad = px(18)
    let shown = problems.prefix(3)
    var lines: [String] = []
    for p in shown { lines += text.wrap(p, style, width: width - 2 * pad - px(8)).prefix(3) }
    if problems.count > shown.count {
      lines.append("… and \(problems.count - shown.count) more (kdsctl config check)")
    }
    let m = text.metrics(style)
    let lineHeight = m.lineHeight + style.px / 8
    let height = lines.count * lineHeight + 2 * pad
    let band = Rect(x: x, y: y, width: width, height: height)
    canvas.fillRounded(band, radius: px(10), problemBand, outside: background)
    canvas.fill(Rect(x: x, y: y, width: px(8), height: height), problemEdge)
    var top = y + pad
    for line in lines {
      text.draw(
        text.run(line, style), on: canvas, x: x + pad + px(8), baseline: top + m.ascent,
        color: problemText)
      top += lineHeight
    }
    return y + height
  }

  @discardableResult
  func drawFacts(_ facts: [SetupScreen.Fact], x: Int, y: Int, width: Int, bottom: Int) -> Int {
    guard !facts.isEmpty else { return y }
    var top = drawSection("WHAT THIS SCREEN SEES", x: x, y: y)
    let labelStyle = TextStyle.regular(px(24))
    let valueStyle = TextStyle.bold(px(28))
    let lm = text.metrics(labelStyle)
    let valueHeight = text.metrics(valueStyle).lineHeight + valueStyle.px / 8
    for fact in facts {
      // A label is drawn only with at least one line of its value.
      if top + lm.lineHeight + px(2) + valueHeight > bottom { break }
      text.draw(
        text.run(fact.label, labelStyle), on: canvas, x: x, baseline: top + lm.ascent,
        color: labelColor)
      top += lm.lineHeight + px(2)
      top = drawWrapped(
        fact.value, valueStyle, color: fact.isProblem ? alertColor : valueColor, x: x + px(16),
        y: top, width: width - px(16), maxLines: 2, bottom: bottom)
      top += px(8)
    }
    return top
  }

  @discardableResult
  func drawSteps(_ steps: [String], x: Int, y: Int, width: Int, bottom: Int) -> Int {
    guard !steps.isEmpty else { return y }
    var top = drawSection("WHAT TO DO", x: x, y: y)
    let style = TextStyle.regular(px(28))
    let numberStyle = TextStyle.bold(px(28))
    let m = text.metrics(style)
    let indent = text.width("8.", numberStyle) + px(12)
    for (i, step) in steps.enumerated() {
      if top + m.lineHeight + style.px / 8 > bottom { break }
      text.draw(
        text.run("\(i + 1).", numberStyle), on: canvas, x: x, baseline: top + m.ascent,
        color: stepColor)
      top = drawWrapped(
        step, style, color: valueColor, x: x + indent, y: top, width: width - indent, maxLines: 4,
        bottom: bottom)
      top += px(10)
    }
    return top
  }

  /// A small grey heading with a rule under it; returns the top of what follows.
  func drawSection(_ title: String, x: Int, y: Int) -> Int {
    let style = TextStyle.bold(px(22))
    let m = text.metrics(style)
    text.draw(text.run(title, style), on: canvas, x: x, baseline: y + m.ascent, color: sectionColor)
    return y + m.lineHeight + px(10)
  }

  func drawPairing(_ p: SetupScreen.Pairing, x: Int, y: Int, width: Int) -> Int {
    let codeStyle = TextStyle.bold(px(160))
    let cm = text.metrics(codeStyle)
    let pad = px(16)
    let infoStyle = TextStyle.bold(px(34))
    let im = text.metrics(infoStyle)
    let stateStyle = TextStyle.regular(px(28))
    let sm = text.metrics(stateStyle)
    let height = pad + cm.lineHeight + im.lineHeight + sm.lineHeight + px(20) + pad
    canvas.fillRounded(
      Rect(x: x, y: y, width: width, height: height), radius: px(14), codePanel,
      outside: background)
    let codeText = p.code.map(SetupScreen.spacedCode) ?? "— — —"
    let code = text.run(codeText, codeStyle)
    let codeX = x + (width - code.width) / 2
    text.draw(code, on: canvas, x: codeX, baseline: y + pad + cm.ascent, color: codeColor)
    var info: [String] = []
    info.append("Station: \(p.station ?? "chosen on the server")")
    if let left = p.secondsLeft { info.append("\(SetupScreen.minutesSeconds(left)) left") }
    let infoLine = text.ellipsize(info.joined(separator: "    "), infoStyle, width: width - 2 * pad)
    let infoRun = text.run(infoLine, infoStyle)
    var top = y + pad + cm.lineHeight
    text.draw(
      infoRun, on: canvas, x: x + (width - infoRun.width) / 2, baseline: top + im.ascent,
      color: stepColor)
    top += im.lineHeight + px(10)
    let stateLine = text.ellipsize(p.state, stateStyle, width: width - 2 * pad)
    let stateRun = text.run(stateLine, stateStyle)
    text.draw(
      stateRun, on: canvas, x: x + (width - stateRun.width) / 2, baseline: top + sm.ascent,
      color: p.stateIsProblem ? alertColor : labelColor)
    return y + height
  }
}

@available(*, unavailable)
extension SetupScreenRenderer: Sendable {}
