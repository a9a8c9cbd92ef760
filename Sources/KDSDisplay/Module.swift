/// KDSDisplay: see docs/architecture.md for what this module owns.
public enum KDSDisplayModule {
  public static let name = "KDSDisplay"
}
