/// KDSStore: see docs/architecture.md for what this module owns.
public enum KDSStoreModule {
  public static let name = "KDSStore"
}
