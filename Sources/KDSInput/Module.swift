/// KDSInput: see docs/architecture.md for what this module owns.
public enum KDSInputModule {
  public static let name = "KDSInput"
}
