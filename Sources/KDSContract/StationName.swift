/// The station-name rule of the sync contract (`docs/sync-contract.md`), one
/// rule for the server (order items, tokens, `?station=`) and the kiosk
/// (`station =` in its configuration): 1 to 32 lowercase ASCII letters,
/// digits, '-' and '_'. Names travel in URLs and file names, so nothing else.
public enum StationName {
  /// The rule in words, for error messages.
  public static let rule = "lowercase letters, digits, '-' and '_' (1 to 32 characters)"

  /// The longest name, in bytes (all of them ASCII).
  public static let maxLength = 32

  /// Whether `name` follows the rule.
  public static func isValid(_ name: some StringProtocol) -> Bool {
    let bytes = name.utf8
    return !bytes.isEmpty && bytes.count <= maxLength
      && bytes.allSatisfy { c in
        (0x30...0x39).contains(c) || (0x61...0x7A).contains(c) || c == 0x2D || c == 0x5F
      }
  }
}
