/// KDSKiosk: see docs/architecture.md for what this module owns.
public enum KDSKioskModule {
  public static let name = "KDSKiosk"
}
