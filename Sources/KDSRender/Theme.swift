import KDSCore

/// The board's colours: a dark, calm board where lateness, allergies and
/// connection trouble are the loud things.
public struct Theme: Hashable, Sendable {
  public var background = Color(rgb: 0x111418)
  public var bannerBackground = Color(rgb: 0x1C2128)
  public var cardQueued = Color(rgb: 0x272C34)
  public var cardInProgress = Color(rgb: 0x1F2D40)
  public var headerGreen = Color(rgb: 0x2E7D32)
  public var headerOrange = Color(rgb: 0xF2A100)
  public var headerRed = Color(rgb: 0xC62828)
  public var headerTextGreen = Color(rgb: 0xFFFFFF)
  public var headerTextOrange = Color(rgb: 0x15171A)
  public var headerTextRed = Color(rgb: 0xFFFFFF)
  public var itemText = Color(rgb: 0xF2F4F7)
  public var quantityOne = Color(rgb: 0xAAB3BF)
  public var quantityMany = Color(rgb: 0xFFFFFF)
  public var modifier = Color(rgb: 0x9FD3FF)
  public var noteBand = Color(rgb: 0x3D3421)
  public var noteText = Color(rgb: 0xFFD97A)
  public var allergyBand = Color(rgb: 0xFFD600)
  public var allergyText = Color(rgb: 0x000000)
  public var courseText = Color(rgb: 0x8C96A5)
  public var courseRule = Color(rgb: 0x48505C)
  public var metaPlace = Color(rgb: 0xFFFFFF)
  public var metaWaiter = Color(rgb: 0xAAB3BF)
  public var metaTakeaway = Color(rgb: 0xD7A8FF)
  public var chipQueued = Color(rgb: 0x3C434E)
  public var chipQueuedText = Color(rgb: 0xD0D5DC)
  public var chipInProgress = Color(rgb: 0x1E88E5)
  public var chipInProgressText = Color(rgb: 0xFFFFFF)
  public var continued = Color(rgb: 0x9AA5B4)
  public var notSyncedStrip = Color(rgb: 0x5D6B7A)
  public var syncFailedStrip = Color(rgb: 0xD32F2F)
  public var stripText = Color(rgb: 0xFFFFFF)
  public var selection = Color(rgb: 0xFFFFFF)
  public var statusText = Color(rgb: 0xDFE3E8)
  public var connectedDot = Color(rgb: 0x43A047)
  public var reconnecting = Color(rgb: 0xF9A825)
  public var reconnectingText = Color(rgb: 0x111111)
  public var offline = Color(rgb: 0xC62828)
  public var offlineText = Color(rgb: 0xFFFFFF)
  public var station = Color(rgb: 0xFFFFFF)
  public var pageMore = Color(rgb: 0xFFD54F)
  public var pageOne = Color(rgb: 0xAAB3BF)
  public var clock = Color(rgb: 0xFFFFFF)
  public var recallBorder = Color(rgb: 0x8C96A5)
  public var recallText = Color(rgb: 0xFFFFFF)
  public var recallDisabled = Color(rgb: 0x545C68)
  public var alertUrgent = Color(rgb: 0xC62828)
  public var alertUrgentText = Color(rgb: 0xFFFFFF)
  public var alertNotice = Color(rgb: 0xF9A825)
  public var alertNoticeText = Color(rgb: 0x111111)
  public var empty = Color(rgb: 0x6B7480)
  // Issue 11: the marks. Loud, high contrast, readable across a kitchen.
  public var voidHeader = Color(rgb: 0xB71C1C)
  public var voidHeaderText = Color(rgb: 0xFFFFFF)
  public var voidBody = Color(rgb: 0x2A1D1F)
  public var voidStrike = Color(rgb: 0xFF5252)
  public var badgeVoid = Color(rgb: 0xFFFFFF)
  public var badgeVoidText = Color(rgb: 0xB71C1C)
  public var badgeNew = Color(rgb: 0xFFFFFF)
  public var badgeNewText = Color(rgb: 0x000000)
  public var badgeAdded = Color(rgb: 0x7B1FA2)
  public var badgeAddedText = Color(rgb: 0xFFFFFF)
  public var badgeChanged = Color(rgb: 0x00E5FF)
  public var badgeChangedText = Color(rgb: 0x000000)
  public var changedLine = Color(rgb: 0x0D4F5C)
  public var changedBar = Color(rgb: 0x00E5FF)
  /// The colour a NEW card's header pulses towards.
  public var pulse = Color(rgb: 0xFFFFFF)
  public var failureStrip = Color(rgb: 0xD32F2F)
  public var failureText = Color(rgb: 0xFFFFFF)
  public var failureHint = Color(rgb: 0xFFD6D6)
  public var allergyChecked = Color(rgb: 0x1B5E20)
  public var allergyCheckedText = Color(rgb: 0xFFFFFF)
  public var summaryStrip = Color(rgb: 0x1565C0)
  public var summaryText = Color(rgb: 0xFFFFFF)
  // Issue 14: the kitchen tools.
  /// A line marked done: dimmed text and the stroke through it.
  public var doneText = Color(rgb: 0x6B7480)
  public var doneStrike = Color(rgb: 0x8C96A5)
  /// The selected line of the selected card (bump bar: next item).
  public var selectedLine = Color(rgb: 0x3B4F6B)
  public var selectedLineBar = Color(rgb: 0xFFFFFF)
  public var allDone = Color(rgb: 0x2E7D32)
  public var allDoneText = Color(rgb: 0xFFFFFF)
  public var rush = Color(rgb: 0xFF1744)
  public var rushText = Color(rgb: 0xFFFFFF)
  public var heldHeader = Color(rgb: 0x5A616B)
  public var heldHeaderText = Color(rgb: 0xE6E9ED)
  public var heldBody = Color(rgb: 0x2B2E33)
  public var heldText = Color(rgb: 0xA4ACB7)
  public var localNote = Color(rgb: 0x4A3B12)
  public var localNoteText = Color(rgb: 0xFFD54F)
  public var toggleActive = Color(rgb: 0xFFD54F)
  public var toggleActiveText = Color(rgb: 0x111111)
  public var panelBackground = Color(rgb: 0x1A1F26)
  public var panelTitle = Color(rgb: 0xFFD54F)
  public var panelCount = Color(rgb: 0xFFFFFF)
  public var panelName = Color(rgb: 0xF2F4F7)
  public var panelVariant = Color(rgb: 0x9FD3FF)
  public var panelRule = Color(rgb: 0x39414C)
  public var listRow = Color(rgb: 0x222831)
  public var listRowSelected = Color(rgb: 0x1E88E5)
  public var listText = Color(rgb: 0xF2F4F7)
  public var listTextDim = Color(rgb: 0xAAB3BF)
  public var listHint = Color(rgb: 0xDFE3E8)
  public var expoHeader = Color(rgb: 0x37474F)
  public var expoHeaderText = Color(rgb: 0xFFFFFF)
  public var expoReadyHeader = Color(rgb: 0x2E7D32)
  public var expoReadyBody = Color(rgb: 0x1E3323)
  public var partQueued = Color(rgb: 0xD0D5DC)
  public var partInProgress = Color(rgb: 0x64B5F6)
  public var partReady = Color(rgb: 0x69F0AE)
  public var partHeld = Color(rgb: 0x8C96A5)

  public init() {}

  public static let standard = Theme()

  public func header(_ state: SLAState) -> Color {
    switch state {
    case .green: headerGreen
    case .orange: headerOrange
    case .red: headerRed
    }
  }

  public func headerText(_ state: SLAState) -> Color {
    switch state {
    case .green: headerTextGreen
    case .orange: headerTextOrange
    case .red: headerTextRed
    }
  }
}
