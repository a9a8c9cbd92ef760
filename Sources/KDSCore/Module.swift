/// KDSCore: see docs/architecture.md for what this module owns.
public enum KDSCoreModule {
  public static let name = "KDSCore"
}
