/// KDSSync: see docs/architecture.md for what this module owns.
public enum KDSSyncModule {
  public static let name = "KDSSync"
}
