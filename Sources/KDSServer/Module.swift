/// KDSServer: see docs/architecture.md for what this module owns.
public enum KDSServerModule {
  public static let name = "KDSServer"
}
